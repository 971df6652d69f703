"""Verifying signed JWTs from clients: client assertions and request objects."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

from .conf import par_settings
from .keys import KeyLookupError


class JwtError(Exception):
    """The JWT is not acceptable; the message says why."""


def unverified_header_and_claims(parsed: jws.JWS) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a parsed JWS, before any check: to route it only."""
    try:
        claims = json.loads(parsed.objects["payload"])
    except (ValueError, KeyError, TypeError):
        raise JwtError("The JWT payload is not JSON.") from None
    if not isinstance(claims, dict):
        raise JwtError("The JWT payload is not a JSON object.")
    return parsed.jose_header, claims


def parse(token: str) -> jws.JWS:
    """A compact JWS, parsed once for routing and for verification."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise JwtError("The JWT is not a compact signed JWT.")
    parsed = jws.JWS()
    try:
        parsed.deserialize(token)
    except (JWException, ValueError, TypeError):
        raise JwtError("The JWT is malformed.") from None
    if not isinstance(parsed.jose_header, dict):
        raise JwtError("The JWT header is malformed.")
    return parsed


def verify_signature(
    parsed: jws.JWS, algorithms: list[str], key_set: Callable[[bool], jwk.JWKSet]
) -> dict[str, Any]:
    """The claims of a parsed JWS once its signature checks out with one of the keys.

    ``key_set(refresh)`` gives the candidate keys; it is called again with
    ``refresh=True`` once when the header names a ``kid`` that is not there.
    """
    header = parsed.jose_header
    alg = header.get("alg")
    if alg not in algorithms:  # also refuses "none"
        raise JwtError(f"The signing algorithm {alg!r} is not allowed.")
    kid = header.get("kid")
    try:
        candidates = _candidates(key_set(False), kid, alg)
        if kid is not None and not candidates:
            candidates = _candidates(key_set(True), kid, alg)
    except KeyLookupError as exc:
        raise JwtError(str(exc)) from None
    parsed.allowed_algs = [alg]
    for key in candidates:
        try:
            parsed.verify(key, alg=alg)
        except (JWException, ValueError, TypeError):
            continue
        return dict(json.loads(parsed.payload))
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
