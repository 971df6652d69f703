"""The example's relying party: a small OAuth client of the example's own server.

It does what a real client does, server-side with ``requests`` and ``jwcrypto``:
reads the discovery document, pushes the authorization request (RFC 9126)
authenticated as the flow's client, and later verifies what comes back (JARM
responses and ID tokens against the server's published JWKS) and redeems the
code. Nothing here is django_par: it is the other side of the protocol.

Under ``runserver`` the push is an HTTP request from one of the server's threads
to the server itself: runserver serves each request in its own thread, so the
waiting view blocks nobody. A single-threaded server (``runserver --nothreading``)
would deadlock here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

import requests
from jwcrypto import jwk, jwt

# Bounds every back-channel call: a stuck server shows an error instead of hanging the page.
HTTP_TIMEOUT = 20
SCOPE = "openid read"
# What the example server signs with (its OIDC RSA key): JARM responses and ID tokens.
SERVER_ALGS = ["RS256", "PS256"]
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_ALG = "PS256"  # the demo-private-key-jwt client's RSA key signs assertions and request objects


class RPError(Exception):
    """Something the relying party could not do or could not verify; shown on the page."""


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None = None  # client_secret_basic
    signs: bool = False  # private_key_jwt with the key of settings.DEMO_RP_PRIVATE_KEY
    name: str = ""
    dpop: bool = False  # proves a DPoP key (RFC 9449) at the PAR, token and API endpoints

    @property
    def method(self) -> str:
        return "client_secret_basic" if self.secret else "private_key_jwt" if self.signs else "none (public, PKCE)"


CONFIDENTIAL = Client("demo-confidential", secret="demo-confidential-secret", name="Demo confidential client")
PUBLIC = Client("demo-public", name="Demo public client")
KEY_CLIENT = Client("demo-private-key-jwt", signs=True, name="Demo private_key_jwt client")
DPOP = Client("demo-dpop", name="Demo DPoP client", dpop=True)
CLIENTS = {client.client_id: client for client in (CONFIDENTIAL, PUBLIC, KEY_CLIENT, DPOP)}
# RFC 9396 §2: one payment, the example's authorization_details type (example_project.demo.details).
PAYMENT = {
    "type": "payment_initiation",
    "actions": ["initiate"],
    "instructedAmount": {"currency": "EUR", "amount": "123.50"},
    "creditorName": "Merchant A",
}


@dataclass(frozen=True)
class Flow:
    slug: str
    title: str
    what: str
    client: Client
    parameters: dict[str, str] = field(default_factory=dict)
    signed_request: bool = False


FLOWS = [
    Flow("confidential", "Confidential client", "client_secret_basic, PKCE, the code in the query.", CONFIDENTIAL),
    Flow("public", "Public client with PKCE", "No secret: the PKCE verifier protects the code.", PUBLIC),
    Flow("private-key-jwt", "private_key_jwt", "The client authenticates with a signed JWT assertion.", KEY_CLIENT),
    Flow(
        "signed-request",
        "Signed request object",
        "The parameters pushed inside a JWT signed by the client (RFC 9101).",
        KEY_CLIENT,
        signed_request=True,
    ),
    Flow(
        "form-post",
        "form_post",
        "The code comes back in an auto-submitted POST.",
        CONFIDENTIAL,
        {"response_mode": "form_post"},
    ),
    Flow(
        "jwt",
        "JARM: jwt",
        "One signed JWT carries the response (query for a code).",
        CONFIDENTIAL,
        {"response_mode": "jwt"},
    ),
    Flow(
        "query-jwt",
        "JARM: query.jwt",
        "The signed response JWT in the query.",
        CONFIDENTIAL,
        {"response_mode": "query.jwt"},
    ),
    Flow(
        "fragment-jwt",
        "JARM: fragment.jwt",
        "The signed response JWT in the fragment; the page's script posts it here.",
        CONFIDENTIAL,
        {"response_mode": "fragment.jwt"},
    ),
    Flow(
        "form-post-jwt",
        "JARM: form_post.jwt",
        "The signed response JWT in an auto-submitted POST.",
        CONFIDENTIAL,
        {"response_mode": "form_post.jwt"},
    ),
    Flow("prompt-login", "prompt=login", "Sign in again even with a live session.", CONFIDENTIAL, {"prompt": "login"}),
    Flow(
        "dpop",
        "DPoP-bound tokens",
        "A DPoP proof (RFC 9449) on the push, the token request and the API call: the tokens work with its key only.",
        DPOP,
    ),
    Flow(
        "authorization-details",
        "Authorization details",
        "A payment pushed as authorization_details (RFC 9396): shown on the consent page, returned with the token.",
        CONFIDENTIAL,
        {"authorization_details": json.dumps([PAYMENT])},
    ),
]
FLOWS_BY_SLUG = {flow.slug: flow for flow in FLOWS}


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise RPError(f"Could not reach {url}: {exc}") from None
    if response.status_code != 200:
        raise RPError(f"{url} answered {response.status_code}.")
    return dict(response.json())


def discovery(issuer: str) -> dict[str, Any]:
    """The server's OpenID Connect discovery document: its endpoints, as a real client reads them."""
    document = _get_json(f"{issuer}/.well-known/openid-configuration")
    if document.get("issuer") != issuer:
        raise RPError(f"The discovery document names the issuer {document.get('issuer')!r}, not {issuer!r}.")
    return document


def server_keys(metadata: dict[str, Any]) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(json.dumps(_get_json(metadata["jwks_uri"])))


def client_private_key(pem: str) -> jwk.JWK:
    return jwk.JWK.from_pem(pem.encode())


def client_public_jwks(pem: str) -> dict[str, Any]:
    """The JWK Set the server registers for the demo-private-key-jwt client."""
    key = client_private_key(pem)
    public = json.loads(key.export_public())
    return {"keys": [{**public, "kid": key.thumbprint(), "alg": CLIENT_ALG, "use": "sig"}]}


def _signed(claims: dict[str, Any], key_pem: str, typ: str | None = None) -> str:
    key = client_private_key(key_pem)
    header = {"alg": CLIENT_ALG, "kid": key.thumbprint(), **({"typ": typ} if typ else {})}
    token = jwt.JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def dpop_proof(key: jwk.JWK, method: str, url: str, access_token: str | None = None) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2) for one request; with ``ath`` for a protected-resource call (§7)."""
    claims: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": int(time.time())}
    if access_token is not None:
        claims["ath"] = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode()).digest()).rstrip(b"=").decode()
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": json.loads(key.export_public())}
    token = jwt.JWT(header=header, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def client_authentication(client: Client, issuer: str, key_pem: str) -> tuple[Any, dict[str, str]]:
    """(requests auth, extra form fields) for the client's method."""
    if client.secret:
        return (client.client_id, client.secret), {}
    if client.signs:
        now = int(time.time())
        # RFC 7523 §3: iss = sub = client_id, aud = the issuer, a fresh jti.
        claims = {"iss": client.client_id, "sub": client.client_id, "aud": issuer, "jti": str(uuid.uuid4())}
        assertion = _signed({**claims, "iat": now, "exp": now + 60}, key_pem)
        return None, {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": assertion}
    return None, {"client_id": client.client_id}


@dataclass
class Started:
    authorize_url: str
    pending_state: str
    pending: dict[str, Any]  # what the callback needs, kept in the session under the state


def start(flow: Flow, issuer: str, redirect_uri: str, key_pem: str) -> Started:
    """Push the flow's authorization request; the URL to send the browser to."""
    metadata = discovery(issuer)
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    parameters = {
        "response_type": "code",
        "client_id": flow.client.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **flow.parameters,
    }
    if flow.signed_request:
        now = int(time.time())
        # RFC 9101 §4: iss is the client, aud the server; RFC 9126 §3: client_id beside it.
        claims = {**parameters, "iss": flow.client.client_id, "aud": issuer, "iat": now, "nbf": now, "exp": now + 60}
        body = {"client_id": flow.client.client_id, "request": _signed(claims, key_pem, typ="oauth-authz-req+jwt")}
    else:
        body = parameters
    auth, extra = client_authentication(flow.client, issuer, key_pem)
    endpoint = metadata["pushed_authorization_request_endpoint"]
    headers = {}
    dpop_key = jwk.JWK.generate(kty="EC", crv="P-256") if flow.client.dpop else None
    if dpop_key is not None:
        # RFC 9449 §10: the pushed request, then its code, are bound to this key.
        headers["DPoP"] = dpop_proof(dpop_key, "POST", endpoint)
    try:
        response = requests.post(endpoint, data={**body, **extra}, auth=auth, headers=headers, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise RPError(f"The push to {endpoint} failed: {exc}") from None
    if response.status_code != 201:
        raise RPError(f"The push was refused ({response.status_code}): {response.text[:500]}")
    request_uri = response.json()["request_uri"]
    query = urlencode({"client_id": flow.client.client_id, "request_uri": request_uri})
    pending = {
        "flow": flow.slug,
        "client_id": flow.client.client_id,
        "issuer": issuer,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "nonce": nonce,
        "started": int(time.time()),
        # A demo keeps the key in the session; a real client keeps it where its tokens are.
        "dpop_key": dpop_key.export_private() if dpop_key is not None else None,
    }
    return Started(f"{metadata['authorization_endpoint']}?{query}", state, pending)


TIME_CLAIMS = frozenset({"iat", "exp", "nbf", "auth_time"})


@dataclass
class Verified:
    header: dict[str, Any]
    claims: dict[str, Any]
    checks: list[str]

    @property
    def readable_claims(self) -> list[tuple[str, str]]:
        """The claims in a stable order, times also as dates (UTC)."""
        rows = []
        for name, value in sorted(self.claims.items()):
            shown = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
            if name in TIME_CLAIMS and isinstance(value, int):
                shown += datetime.fromtimestamp(value, timezone.utc).strftime("  (%Y-%m-%d %H:%M:%S UTC)")
            rows.append((name, shown))
        return rows


def verify_jwt(token: str, keys: jwk.JWKSet, issuer: str, audience: str | None) -> Verified:
    """A JWT signed by the server: signature by a key of its JWKS, iss, aud (when known), exp."""
    try:
        header = _header(token)
        check: dict[str, Any] = {"iss": issuer, "exp": None}
        if audience is not None:
            check["aud"] = audience
        verified = jwt.JWT(jwt=token, key=keys, algs=SERVER_ALGS, check_claims=check, expected_type="JWS")
    except Exception as exc:  # jwcrypto raises many types: all mean "not valid"
        raise RPError(f"The JWT did not verify: {exc}") from None
    claims = json.loads(verified.claims)
    checks = [
        f"signature: {header.get('alg')} with the server's key {header.get('kid')!r} from its JWKS",
        f"iss is {issuer}",
        "exp is in the future",
    ]
    if audience is not None:
        checks.append(f"aud is {audience}")
    return Verified(header, claims, checks)


def _header(token: str) -> dict[str, Any]:
    encoded = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims before verification: only to find which flow (state) a JARM response answers."""
    try:
        encoded = token.split(".")[1]
        return dict(json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))))
    except Exception:
        raise RPError("The response is not a JWT.") from None


def exchange(pending: dict[str, Any], code: str, key_pem: str) -> dict[str, Any]:
    """Redeem the code at the token endpoint (RFC 6749 §4.1.3 with the PKCE verifier)."""
    client = CLIENTS[pending["client_id"]]
    issuer = pending["issuer"]
    metadata = discovery(issuer)
    auth, extra = client_authentication(client, issuer, key_pem)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": pending["redirect_uri"],
        "code_verifier": pending["code_verifier"],
        **extra,
    }
    headers = {}
    if pending.get("dpop_key"):
        # RFC 9449 §5: the proof of the key the code is bound to; the tokens are bound to it too.
        headers["DPoP"] = dpop_proof(jwk.JWK.from_json(pending["dpop_key"]), "POST", metadata["token_endpoint"])
    try:
        response = requests.post(
            metadata["token_endpoint"], data=data, auth=auth, headers=headers, timeout=HTTP_TIMEOUT
        )
    except requests.RequestException as exc:
        raise RPError(f"The token request failed: {exc}") from None
    if response.status_code != 200:
        raise RPError(f"The token request was refused ({response.status_code}): {response.text[:500]}")
    return dict(response.json())


@dataclass
class ApiCall:
    url: str
    scheme: str
    status: int
    answer: dict[str, Any]


def call_api(url: str, tokens: dict[str, Any], pending: dict[str, Any]) -> ApiCall:
    """GET the example's protected API with the access token: Bearer, or DPoP with a proof (RFC 9449 §7)."""
    access_token = str(tokens.get("access_token", ""))
    headers = {"Authorization": f"Bearer {access_token}"}
    scheme = "Bearer"
    if str(tokens.get("token_type", "")).lower() == "dpop" and pending.get("dpop_key"):
        scheme = "DPoP"
        key = jwk.JWK.from_json(pending["dpop_key"])
        headers = {"Authorization": f"DPoP {access_token}", "DPoP": dpop_proof(key, "GET", url, access_token)}
    try:
        response = requests.get(url, headers=headers, timeout=HTTP_TIMEOUT)
    except requests.RequestException as exc:
        raise RPError(f"The API call failed: {exc}") from None
    try:
        answer = dict(response.json())
    except ValueError:
        answer = {"body": response.text[:500]}
    return ApiCall(url, scheme, response.status_code, answer)


def verify_id_token(id_token: str, pending: dict[str, Any]) -> Verified:
    """OIDC Core §3.1.3.7: signature, iss, aud, exp, and the nonce the flow sent."""
    metadata = discovery(pending["issuer"])
    verified = verify_jwt(id_token, server_keys(metadata), pending["issuer"], pending["client_id"])
    if verified.claims.get("nonce") != pending["nonce"]:
        raise RPError("The ID token's nonce is not the one this flow sent.")
    verified.checks.append("nonce is the one this flow sent")
    return verified
