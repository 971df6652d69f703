"""DPoP proofs (RFC 9449 §4.2) as a client makes them, for the DPoP tests."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from typing import Any

from jwcrypto import jwk, jws

from tests.helpers.jwt_helpers import PAR_ENDPOINT, b64url, private_key

TOKEN_ENDPOINT = "http://testserver/o/token/"
PAR_URI = PAR_ENDPOINT


def dpop_key(kid: str = "dpop-1", kind: str = "EC") -> jwk.JWK:
    """A client's DPoP key (EC P-256 unless another kind is asked for); the same one per kid."""
    return private_key(kind, f"dpop-{kind}-{kid}")


def thumbprint(key: jwk.JWK) -> str:
    return str(key.thumbprint())


def ath(access_token: str) -> str:
    return b64url(hashlib.sha256(access_token.encode()).digest())


def proof(
    key: jwk.JWK | None = None,
    *,
    alg: str = "ES256",
    htm: str = "POST",
    htu: str = PAR_URI,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A signed DPoP proof; a claim given as None is left out, ``header`` entries override (None removes)."""
    key = key or dpop_key()
    protected: dict[str, Any] = {"typ": "dpop+jwt", "alg": alg, "jwk": json.loads(key.export_public())}
    protected.update(header or {})
    protected = {name: value for name, value in protected.items() if value is not None}
    body: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": htm, "htu": htu, "iat": int(time.time())}
    body.update(claims)
    body = {name: value for name, value in body.items() if value is not None}
    token = jws.JWS(json.dumps(body).encode())
    token.add_signature(key, alg=alg, protected=json.dumps(protected))
    return str(token.serialize(compact=True))
