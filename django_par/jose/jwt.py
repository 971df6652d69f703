"""Verifying the signed JWTs clients send: client assertions (RFC 7523) and request objects (RFC 9101).

One verification serves both. jwcrypto reads the compact JWS (:class:`jwcrypto.jws.JWS`)
and :class:`jwcrypto.jwt.JWT` checks the signature: only with the one allowed ``alg``,
``expected_type="JWS"``, refusing keys whose ``use`` or ``key_ops`` exclude verifying,
trying each candidate key of a :class:`~jwcrypto.jwk.JWKSet`. This module adds only
what jwcrypto does not do, or does not do safely on hostile input:

- the header and the claims *before* verification, for routing (``alg`` picks
  the client authentication method, ``sub`` names the client to load);
- the compact form only (jwcrypto also reads a JSON serialization with two dots);
- ``crit`` and ``b64`` refused (jwcrypto understands ``b64`` and accepts it);
- which keys are candidates: by ``kid``, and a key's ``alg`` member (jwcrypto leaves
  it unchecked), with one refresh of the key set for an unknown ``kid`` (jwcrypto
  raises the same exception for an unknown ``kid`` and for a bad signature);
- the claim rules, with ``check_claims=False``: jwcrypto's own claim checks
  raise ``OverflowError`` or ``TypeError`` on an ``exp`` of ``Infinity``, a
  string or a list, do not look at ``iat`` or a maximum lifetime, and refuse
  registered claims (``sub``, ``jti``, ``typ``) that a request object may
  carry today.

What differs between the two kinds of JWT is a :class:`Profile`, kept by the
module that owns those rules. DPoP proofs (RFC 9449) carry their key in the
header and have neither ``aud`` nor ``exp``, which a Profile requires: they use
:func:`parse`, :func:`check_signature` and :func:`number_claim` directly, the
claim rules living in :mod:`django_par.dpop.proofs`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException, base64url_decode
from jwcrypto.jws import JWS
from jwcrypto.jwt import JWT

from ..bounded_json import InvalidJson, JsonSyntaxError, client_json
from ..conf import par_settings
from .fetch import KeyLookupError

__all__ = [
    "ClientClaims",
    "JwtError",
    "KeySource",
    "Profile",
    "UnverifiedJwt",
    "VerifiedJwt",
    "check_signature",
    "number_claim",
    "parse",
    "verify",
]

# ``key_set(refresh)``: the keys that may sign (a JWKSet, or any iterable of JWKs); called with
# ``refresh=True`` once for an unknown kid.
KeySource = Callable[[bool], Iterable[jwk.JWK]]

# RFC 7515 §7.1: BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature), unpadded (§2).
# Checked first: jwcrypto would also take the JSON serialization (§7.2), which a JWT never uses (RFC 7519 §1).
_COMPACT = re.compile(r"[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


class JwtError(Exception):
    """The JWT is not acceptable; the message says why."""


@dataclass(frozen=True)
class UnverifiedJwt:
    """A compact JWS read by jwcrypto, its signature not yet checked."""

    token: str
    header: dict[str, Any]
    claims: dict[str, Any]


@dataclass(frozen=True)
class VerifiedJwt:
    claims: dict[str, Any]
    exp: float  # finite


@dataclass(frozen=True)
class ClientClaims:
    """Claims that must each be the client_id, and the error when one is not."""

    names: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class Profile:
    """The claim rules of one kind of client JWT, checked in this order after the signature."""

    client_claims: tuple[ClientClaims, ...]
    audience_error: str  # aud names none of the accepted audiences
    required: tuple[str, ...] = ()  # claims that must be non-empty strings
    forbidden: tuple[str, ...] = ()
    forbidden_error: str = ""


def parse(token: object) -> UnverifiedJwt:
    """The header and claims of a compact JWS, read once for routing and for verification."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JwtError("The JWT is not a compact signed JWT.")
    if not _COMPACT.fullmatch(token):
        raise JwtError("The JWT is malformed.")
    # The header and payload are read here, within bounds, before jwcrypto reads the header with
    # Python's unbounded json module (RecursionError at ~1,000 deep). jwcrypto's own reading of
    # them is no better for routing: its jose_header property raises TypeError on some malformed
    # crit values, its payload property refuses before verification.
    header_segment, payload_segment, _signature = token.split(".")
    try:
        header = client_json(base64url_decode(header_segment), what="The JWT header")
    except JsonSyntaxError:
        raise JwtError("The JWT is malformed.") from None
    except InvalidJson as exc:  # too large, too deep, not Unicode text
        raise JwtError(str(exc)) from None
    except ValueError:  # binascii.Error: not base64url
        raise JwtError("The JWT is malformed.") from None
    if not isinstance(header, dict):
        raise JwtError("The JWT header is malformed.")
    if "crit" in header or "b64" in header:
        # RFC 7515 §4.1.11: a JWS with extensions the recipient does not understand is invalid;
        # RFC 7797 §3 (b64) is one jwcrypto understands but that a JWT never needs.
        raise JwtError("The JWT header uses an extension this server does not support.")
    try:
        claims = client_json(base64url_decode(payload_segment), what="The JWT payload")
    except JsonSyntaxError:
        raise JwtError("The JWT payload is not JSON.") from None
    except InvalidJson as exc:
        raise JwtError(str(exc)) from None
    except ValueError:
        raise JwtError("The JWT payload is not JSON.") from None
    try:
        _deserialized(token)  # what verify() checks the signature of; jwcrypto may refuse it already
    except (JWException, ValueError):
        raise JwtError("The JWT is malformed.") from None
    if not isinstance(claims, dict):
        # RFC 7519 §7.2 step 10: the claims are a JSON object.
        raise JwtError("The JWT payload is not a JSON object.")
    return UnverifiedJwt(token, header, claims)


def verify(
    token: UnverifiedJwt | str,
    profile: Profile,
    *,
    client_id: str,
    audiences: Collection[str],
    algorithms: Collection[str],
    key_set: KeySource,
    max_lifetime: int,
) -> VerifiedJwt:
    """The claims of a JWT a client signed, once its signature and claims are acceptable.

    ``audiences`` are the values ``aud`` may name, without a trailing slash.
    """
    parsed = parse(token) if isinstance(token, str) else token
    _check_signature(parsed, algorithms, key_set)
    # The claims read before verification are those of the payload jwcrypto has now verified.
    claims = dict(parsed.claims)
    exp = _check_claims(claims, profile, client_id, audiences, max_lifetime)
    return VerifiedJwt(claims, exp)


def check_signature(parsed: UnverifiedJwt, algorithms: Collection[str], key_set: KeySource) -> None:
    """Raise JwtError unless one of the keys signed ``parsed`` with its ``alg``, one of ``algorithms``."""
    _check_signature(parsed, algorithms, key_set)


def number_claim(claims: dict[str, Any], name: str) -> float | None:
    """A finite numeric claim (a NumericDate, RFC 7519 §2), or None when absent; JwtError otherwise."""
    return _number(claims, name)


def _check_signature(parsed: UnverifiedJwt, algorithms: Collection[str], key_set: KeySource) -> None:
    alg = parsed.header.get("alg")
    # RFC 8725 §3.1: only the algorithms allowed for this JWT, never "none".
    if not isinstance(alg, str) or alg == "none" or alg not in algorithms:
        raise JwtError(f"The signing algorithm {alg!r} is not allowed.")
    kid = parsed.header.get("kid")
    try:
        candidates = _candidates(key_set(False), kid, alg)
        if kid is not None and not candidates:
            # RFC 7515 §4.1.4: kid names the key; one the cached set lacks may have been added since.
            candidates = _candidates(key_set(True), kid, alg)
    except KeyLookupError as exc:
        raise JwtError(str(exc)) from None
    if not candidates:
        raise JwtError("The JWT signature does not verify with the client's keys.")
    keys: jwk.JWK | jwk.JWKSet = candidates[0]
    if len(candidates) > 1:
        keys = jwk.JWKSet()
        for key in candidates:
            keys.add(key)
    try:
        signed = _deserialized(parsed.token)
        # jwcrypto checks the signature only with an algorithm in this (never empty) list.
        signed.allowed_algs = [alg]
        jwt = JWT(expected_type="JWS", check_claims=False)
        jwt.token = signed
        jwt.validate(keys)
    except (JWException, ValueError, TypeError):
        raise JwtError("The JWT signature does not verify with the client's keys.") from None


_local = threading.local()


def _deserialized(token: str) -> JWS:
    """``token`` read into this thread's jwcrypto JWS object.

    A new JWS deep-copies jwcrypto's header registry (about 55 µs, more than an
    RS256 signature check), and ``deserialize`` discards whatever the object held
    before, so one object per thread is reused. ``verify`` right after ``parse``
    of the same token finds it read already; any other token is read again.
    """
    signed: JWS | None = getattr(_local, "jws", None)
    if signed is None:
        signed = _local.jws = JWS()
    if getattr(_local, "token", None) is not token:
        _local.token = None
        signed.deserialize(token)
        _local.token = token
    return signed


def _candidates(keys: Iterable[jwk.JWK], kid: Any, alg: str) -> list[jwk.JWK]:
    """The keys named by ``kid`` (every key without one) that are not bound to another algorithm.

    RFC 7517 §4.4: a key's ``alg`` is the algorithm it is meant for; jwcrypto does
    not check it. (It does refuse keys whose ``use`` or ``key_ops`` exclude verifying.)
    ``JWKSet.get_keys(kid)`` would hash every matching key by its thumbprint (~9 µs each).
    """
    return [key for key in keys if (kid is None or key.get("kid") == kid) and key.get("alg", alg) == alg]


def _check_claims(
    claims: dict[str, Any], profile: Profile, client_id: str, audiences: Collection[str], max_lifetime: int
) -> float:
    for rule in profile.client_claims:
        if any(claims.get(name) != client_id for name in rule.names):
            raise JwtError(rule.error)
    # RFC 7519 §4.1.3: one audience or a list; a trailing slash does not make another one.
    named = {aud.rstrip("/") for aud in _audiences(claims)}
    if named.isdisjoint(audiences):
        raise JwtError(profile.audience_error)
    for name in profile.required:
        if not isinstance(claims.get(name), str) or not claims[name]:
            raise JwtError(f"The {name} claim is required.")
    if any(name in claims for name in profile.forbidden):
        raise JwtError(profile.forbidden_error)
    return _check_times(claims, max_lifetime)


def _audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return aud
    raise JwtError("The aud claim is missing or malformed.")


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise JwtError(f"The {name} claim must be a number.")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    # Python's json module also reads NaN and Infinity; NaN would pass every comparison.
    if not math.isfinite(number):
        raise JwtError(f"The {name} claim must be a finite number.")
    return number


def _check_times(claims: dict[str, Any], max_lifetime: int) -> float:
    """Check exp, nbf and iat against the clock, allowing CLOCK_SKEW; return exp."""
    now, skew = time.time(), par_settings.CLOCK_SKEW
    exp = _number(claims, "exp")
    if exp is None:
        # RFC 7523 §3 requires exp of an assertion; a request object's is required here too.
        raise JwtError("The exp claim is required.")
    if exp <= now - skew:  # RFC 7519 §4.1.4
        raise JwtError("The JWT has expired.")
    nbf, iat = _number(claims, "nbf"), _number(claims, "iat")
    if nbf is not None and nbf > now + skew:  # RFC 7519 §4.1.5
        raise JwtError("The JWT is not valid yet (nbf).")
    if iat is not None and iat > now + skew:
        raise JwtError("The JWT was issued in the future (iat).")
    start = min(value for value in (iat, nbf, now) if value is not None)
    if exp - start > max_lifetime + skew:
        raise JwtError(f"The JWT lives longer than the allowed {max_lifetime} seconds.")
    return exp
