"""Verifying signed JWTs from clients: client assertions and request objects."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any

from jwcrypto import jwk
from jwcrypto.common import JWException, base64url_decode
from jwcrypto.jws import JWSCore

from ..conf import par_settings
from .fetch import KeyLookupError


class JwtError(Exception):
    """The JWT is not acceptable; the message says why."""


@dataclass(frozen=True)
class ParsedJwt:
    """A compact JWS split and decoded, its signature not yet checked."""

    header: dict[str, Any]
    claims: dict[str, Any]
    protected: str  # the header's JSON text, as signed
    payload: bytes  # the claims' JSON, as signed
    signature: bytes


def parse(token: str) -> ParsedJwt:
    """A compact JWS (RFC 7515 §7.1), parsed once for routing and for verification."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JwtError("The JWT is not a compact signed JWT.")
    encoded_header, encoded_payload, encoded_signature = token.split(".")
    try:
        protected = base64url_decode(encoded_header).decode("utf-8")
        header = json.loads(protected)
        payload = base64url_decode(encoded_payload)
        signature = base64url_decode(encoded_signature)
    except (ValueError, TypeError):  # also binascii.Error, UnicodeDecodeError
        raise JwtError("The JWT is malformed.") from None
    if not isinstance(header, dict):
        raise JwtError("The JWT header is malformed.")
    if "crit" in header or "b64" in header:
        # RFC 7515 §4.1.11: a JWS with extensions the recipient does not understand is invalid.
        raise JwtError("The JWT header uses an extension this server does not support.")
    try:
        claims = json.loads(payload)
    except (ValueError, TypeError):
        raise JwtError("The JWT payload is not JSON.") from None
    if not isinstance(claims, dict):
        raise JwtError("The JWT payload is not a JSON object.")
    return ParsedJwt(header, claims, protected, payload, signature)


def verify_signature(
    parsed: ParsedJwt, algorithms: list[str], key_set: Callable[[bool], jwk.JWKSet]
) -> dict[str, Any]:
    """The claims of a parsed JWS once its signature checks out with one of the keys.

    ``key_set(refresh)`` gives the candidate keys; it is called again with
    ``refresh=True`` once when the header names a ``kid`` that is not there.
    """
    alg = parsed.header.get("alg")
    if alg not in algorithms:  # also refuses "none"
        raise JwtError(f"The signing algorithm {alg!r} is not allowed.")
    kid = parsed.header.get("kid")
    try:
        candidates = _candidates(key_set(False), kid, alg)
        if kid is not None and not candidates:
            candidates = _candidates(key_set(True), kid, alg)
    except KeyLookupError as exc:
        raise JwtError(str(exc)) from None
    for key in candidates:
        try:
            # jwcrypto's signature check, without its JWS object (which copies its header registry).
            JWSCore(alg, key, parsed.protected, parsed.payload, [alg]).verify(parsed.signature)
        except (JWException, ValueError, TypeError):
            continue
        return dict(parsed.claims)
    raise JwtError("The JWT signature does not verify with the client's keys.")


def _candidates(keys: jwk.JWKSet, kid: str | None, alg: str) -> list[jwk.JWK]:
    """The keys named by ``kid`` (all without one) that are not bound to another algorithm.

    RFC 7517 §4.4: a key's ``alg`` is the algorithm it is meant for. (jwcrypto
    itself refuses keys whose ``use`` or ``key_ops`` exclude verification.)
    """
    return [
        key
        for key in keys["keys"]
        if (kid is None or key.get("kid") == kid) and key.get("alg", alg) == alg
    ]


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


def check_times(claims: dict[str, Any], max_lifetime: int) -> float:
    """Check exp, nbf and iat against the clock; return exp."""
    now, skew = time.time(), par_settings.CLOCK_SKEW
    exp = _number(claims, "exp")
    if exp is None:
        raise JwtError("The exp claim is required.")
    if exp <= now - skew:
        raise JwtError("The JWT has expired.")
    nbf, iat = _number(claims, "nbf"), _number(claims, "iat")
    if nbf is not None and nbf > now + skew:
        raise JwtError("The JWT is not valid yet (nbf).")
    if iat is not None and iat > now + skew:
        raise JwtError("The JWT was issued in the future (iat).")
    start = min(value for value in (iat, nbf, now) if value is not None)
    if exp - start > max_lifetime + skew:
        raise JwtError(f"The JWT lives longer than the allowed {max_lifetime} seconds.")
    return exp


def audiences(claims: dict[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return aud
    raise JwtError("The aud claim is missing or malformed.")
