"""Verifying DPoP proofs (RFC 9449 §4.3), for the PAR, token and resource endpoints.

:func:`verify_proof` is the one check of a ``DPoP`` request header. The JWS is read
and its signature checked by :mod:`django_par.jose.jwt` (jwcrypto underneath), with
the key the proof carries in its header; the claim rules are here. A proof's
``jti`` is recorded in the replay store of client assertions
(:func:`django_par.clients.assertions.use_once`), shared by every process.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from jwcrypto import jwk
from jwcrypto.common import JWException, base64url_encode

from .. import fapi2
from ..clients.assertions import use_once
from ..conf import par_settings
from ..errors import InvalidDPoPProof, UseDPoPNonce
from ..jose.jwt import JwtError, UnverifiedJwt, check_signature, number_claim, parse
from . import nonces

__all__ = ["Proof", "allowed_algorithms", "endpoint_uri", "verify_proof"]

PROOF_TYPE = "dpop+jwt"
# RFC 9449 §4.2: asymmetric keys only; kty "oct" (a shared secret) cannot sign a proof.
KEY_TYPES = frozenset({"EC", "RSA", "OKP"})
# RFC 7517 / RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2: members that only a private or secret key has.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Proof:
    """A verified DPoP proof."""

    jkt: str  # RFC 7638 SHA-256 thumbprint, base64url, of the header jwk
    jti: str
    claims: dict[str, Any]


def allowed_algorithms() -> list[str]:
    """``DPOP_SIGNING_ALGS``, never ``none`` nor an HMAC (§4.2), narrowed by FAPI 2.0."""
    algs = [alg for alg in par_settings.DPOP_SIGNING_ALGS if alg != "none" and not alg.startswith("HS")]
    return fapi2.signing_algorithms(algs)


def endpoint_uri(request: HttpRequest) -> str:
    """The URI of the endpoint ``request`` was sent to, without query and fragment: its ``htu``."""
    return request.build_absolute_uri(request.path)


def verify_proof(
    request: HttpRequest,
    *,
    htm: str,
    htu: str,
    access_token: str | None = None,
    require_nonce: bool | None = None,
) -> Proof | None:
    """None when the request carries no DPoP header; raises InvalidDPoPProof / UseDPoPNonce.

    ``access_token``: the token the request presents; the proof must then carry its hash
    (``ath``, §4.3 step 12). ``require_nonce``: whether a server nonce is required
    (§8); None means the ``DPOP_NONCES`` setting.
    """
    value = request.META.get("HTTP_DPOP")
    if value is None:
        return None
    if "," in value:
        # §4.3 step 1: exactly one DPoP header. Servers join repeated headers with a comma,
        # which a compact JWS never contains.
        raise InvalidDPoPProof("Exactly one DPoP header is allowed.")
    try:
        parsed = parse(value.strip())
    except JwtError as exc:
        raise InvalidDPoPProof(f"Invalid DPoP proof: {exc}") from None
    key, jkt = _header_key(parsed.header)
    _check_signature(parsed, key)
    claims = parsed.claims
    jti, iat = _check_claims(claims, htm=htm, htu=htu, access_token=access_token)
    nonce_required = nonces.enabled() if require_nonce is None else require_nonce
    # §8: refused with the nonce to use; after the signature, so only a well-formed proof gets one.
    if nonce_required and not nonces.is_valid(claims.get("nonce")):
        raise UseDPoPNonce("The DPoP proof must carry the server's current nonce.", nonce=nonces.current_nonce())
    # §11.1: a proof is used once. Kept until it would be refused as too old anyway.
    until = iat + par_settings.DPOP_PROOF_MAX_AGE + 2 * par_settings.CLOCK_SKEW
    if not use_once(f"\x00dpop\x00{jkt}\x00{jti}", until):
        raise InvalidDPoPProof("The DPoP proof was used before (jti).")
    return Proof(jkt=jkt, jti=jti, claims=dict(claims))


def _header_key(header: dict[str, Any]) -> tuple[jwk.JWK, str]:
    """§4.3 steps 4-7: typ, alg and the public key in the header; the key and its thumbprint."""
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() != PROOF_TYPE:
        raise InvalidDPoPProof(f"The DPoP proof's typ must be {PROOF_TYPE}.")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in allowed_algorithms():
        raise InvalidDPoPProof(f"The DPoP proof's algorithm {alg!r} is not allowed.")
    members = header.get("jwk")
    if not isinstance(members, dict):
        raise InvalidDPoPProof("The DPoP proof must carry its public key in the jwk header.")
    kty = members.get("kty")
    if not isinstance(kty, str) or kty not in KEY_TYPES:
        raise InvalidDPoPProof("The DPoP proof's jwk must be an EC, RSA or OKP public key.")
    if PRIVATE_MEMBERS.intersection(members):
        # §4.3 step 7: the key must not be private; one that is was leaked by its sender.
        raise InvalidDPoPProof("The DPoP proof's jwk must not contain a private key.")
    try:
        key = jwk.JWK(**members)
        if kty == "RSA" and key.get_op_key("verify").key_size < MIN_RSA_BITS:
            raise InvalidDPoPProof(f"The DPoP proof's RSA key is shorter than {MIN_RSA_BITS} bits.")
        jkt = str(key.thumbprint())  # RFC 7638, SHA-256
    except (JWException, ValueError, TypeError, KeyError, AttributeError):
        raise InvalidDPoPProof("The DPoP proof's jwk is not a valid public key.") from None
    return key, jkt


def _check_signature(parsed: UnverifiedJwt, key: jwk.JWK) -> None:
    # One key, not a JWKSet: adding to a set hashes the key by its thumbprint again (~25 µs).
    # The key is the one the header carries: kid (if any) has nothing to select.
    header = {name: value for name, value in parsed.header.items() if name != "kid"}
    unkeyed = UnverifiedJwt(parsed.token, header, parsed.claims)
    try:
        check_signature(unkeyed, [header["alg"]], lambda refresh: (key,))
    except JwtError:
        raise InvalidDPoPProof("The DPoP proof's signature does not verify with its jwk.") from None


def _check_claims(claims: dict[str, Any], *, htm: str, htu: str, access_token: str | None) -> tuple[str, float]:
    """§4.3 steps 8-12; the proof's jti and iat."""
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise InvalidDPoPProof("The DPoP proof must carry a jti.")
    if claims.get("htm") != htm:
        raise InvalidDPoPProof(f"The DPoP proof's htm must be {htm}.")
    if not _same_uri(claims.get("htu"), htu):
        raise InvalidDPoPProof(f"The DPoP proof's htu must be {htu}.")
    try:
        iat = number_claim(claims, "iat")
    except JwtError as exc:
        raise InvalidDPoPProof(f"Invalid DPoP proof: {exc}") from None
    if iat is None:
        raise InvalidDPoPProof("The DPoP proof must carry iat.")
    now, skew = time.time(), par_settings.CLOCK_SKEW
    if iat > now + skew:
        raise InvalidDPoPProof("The DPoP proof was issued in the future (iat).")
    if iat < now - par_settings.DPOP_PROOF_MAX_AGE - skew:
        raise InvalidDPoPProof("The DPoP proof is too old (iat).")
    if access_token is not None:
        # §4.3 step 12: the proof names the token it is sent with.
        expected = str(base64url_encode(hashlib.sha256(access_token.encode()).digest()))
        ath = claims.get("ath")
        if not isinstance(ath, str) or not hmac.compare_digest(ath.encode(), expected.encode()):
            raise InvalidDPoPProof("The DPoP proof's ath does not match the access token.")
    return jti, iat


def _same_uri(claimed: object, expected: str) -> bool:
    """§4.3 step 9: ``htu`` names the endpoint, ignoring query and fragment (RFC 3986 §6.2.3)."""
    if not isinstance(claimed, str):
        return False
    left, right = _normalized(claimed), _normalized(expected)
    return left is not None and left == right


def _normalized(uri: str) -> tuple[str, str, int | None, str] | None:
    """Scheme and host in lower case, the default port dropped, an empty path as "/"."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    return scheme, parts.hostname, port, parts.path or "/"
