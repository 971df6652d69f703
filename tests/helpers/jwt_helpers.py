"""Helpers for the JWT tests: client keys, client assertions, request objects.

Every key is generated here with jwcrypto (nothing is read from disk), once per
kind and kid for the whole run: RSA key generation is slow on a small machine.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.cache import caches
from django.test import Client
from jwcrypto import jwk, jws

from django_par.flow.request_uri import request_uri_digest
from django_par.models import ClientMetadata, PushedRequest
from tests.conftest import CODE_CHALLENGE, FORM_CONTENT_TYPE, par_url
from tests.helpers.client_failures import assert_authentication_failed
from tests.helpers.factories import REDIRECT_URI, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import CODE_CHALLENGE as FLOW_CHALLENGE
from tests.helpers.flow_helpers import CODE_VERIFIER, NONCE, STATE, authorization_response, authorize_url, login_next

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The issuer and endpoint URLs as the test client sees them (tests/urls.py mounts DOT under o/).
ISSUER = "http://testserver/o"
TOKEN_ENDPOINT = "http://testserver/o/token/"
PAR_ENDPOINT = "http://testserver/o/par/"

# The algorithms django_par accepts by default, and the key type each needs.
KEY_KINDS = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}
ASYMMETRIC_ALGS = tuple(KEY_KINDS)
# The state carried inside request objects, distinct from any form value.
RO_STATE = "state-in-the-request-object"


@functools.cache
def _generate(kind: str, kid: str) -> jwk.JWK:
    if kind == "RSA":
        return jwk.JWK.generate(kty="RSA", size=2048, kid=kid)
    if kind == "EC":
        return jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    if kind == "OKP":
        return jwk.JWK.generate(kty="OKP", crv="Ed25519", kid=kid)
    raise ValueError(kind)


def private_key(kind: str = "EC", kid: str | None = None) -> jwk.JWK:
    """A private key of this kind (RSA, EC P-256, OKP Ed25519); the same one for the same kid."""
    return _generate(kind, kid or f"{kind.lower()}-key-1")


def key_for(alg: str, kid: str | None = None) -> jwk.JWK:
    return private_key(KEY_KINDS[alg], kid)


def public_jwk(key: jwk.JWK) -> dict[str, Any]:
    return dict(json.loads(key.export_public()))


def public_jwks(*keys: jwk.JWK) -> dict[str, Any]:
    """A JWK Set (RFC 7517 §5) of the public halves."""
    return {"keys": [public_jwk(key) for key in keys]}


def sign(claims: dict[str, Any] | str, key: jwk.JWK, alg: str, **header: Any) -> str:
    """A compact JWS of ``claims``; the key's kid goes in the header unless ``kid=None`` is given."""
    protected: dict[str, Any] = {"alg": alg}
    if key.get("kid"):
        protected["kid"] = key.get("kid")
    protected.update(header)
    protected = {name: value for name, value in protected.items() if value is not None}
    payload = claims if isinstance(claims, str) else json.dumps(claims)
    token = jws.JWS(payload.encode())
    token.add_signature(key, alg=alg, protected=json.dumps(protected))
    return str(token.serialize(compact=True))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned_jwt(claims: dict[str, Any], **header: Any) -> str:
    """An ``alg: none`` JWT (RFC 7519 §6): header and payload, empty signature."""
    protected = {"alg": "none", **header}
    return f"{b64url(json.dumps(protected).encode())}.{b64url(json.dumps(claims).encode())}."


def hmac_with_public_key(claims: dict[str, Any], key: jwk.JWK) -> str:
    """The key-confusion attack: HS256 keyed with the bytes of the client's *public* key.

    A verifier that feeds a registered public key to HMAC would accept it.
    """
    header = {"alg": "HS256", "kid": key.get("kid")}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    secret = key.export_to_pem(private_key=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def with_payload(token: str, claims: dict[str, Any]) -> str:
    """``token`` with its payload swapped for ``claims``, the signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"


def decode_payload(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _claims(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``overrides``; an override of None removes the claim."""
    claims = {**base, **overrides}
    return {name: value for name, value in claims.items() if value is not None}


def assertion_claims(client_id: str, aud: Any = ISSUER, lifetime: int = 60, **overrides: Any) -> dict[str, Any]:
    """The claims of a client assertion (RFC 7523 §3) with a fresh jti."""
    now = int(time.time())
    base = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + lifetime, "jti": str(uuid.uuid4())}
    return _claims(base, overrides)


def client_assertion(
    client_id: str, key: jwk.JWK | None = None, alg: str = "ES256", aud: Any = ISSUER, **overrides: Any
) -> str:
    return sign(assertion_claims(client_id, aud=aud, **overrides), key or key_for(alg), alg)


def assertion_params(token: str, assertion_type: str = JWT_BEARER) -> dict[str, str]:
    return {"client_assertion_type": assertion_type, "client_assertion": token}


def request_object_claims(client_id: str, /, lifetime: int = 60, **overrides: Any) -> dict[str, Any]:
    """Claims of a request object (RFC 9101 §4) for a valid code request, with iss, aud and times."""
    now = int(time.time())
    base: dict[str, Any] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid read",
        "state": RO_STATE,
        "code_challenge": CODE_CHALLENGE,
        "code_challenge_method": "S256",
        "iss": client_id,
        "aud": ISSUER,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    return _claims(base, overrides)


def push_form(client: Client, data: dict[str, str], **headers: str) -> Any:
    return client.post(par_url(), data=urlencode(data), content_type=FORM_CONTENT_TYPE, headers=headers)


def assert_invalid_client(response: Any, reason_part: str) -> dict[str, Any]:
    """A 401 invalid_client with a WWW-Authenticate challenge, and nothing stored.

    The client reads the one generic description; ``reason_part`` is in the reason
    the server logs and signals.
    """
    body = assert_authentication_failed(response, reason_part)
    assert response["WWW-Authenticate"].startswith("Basic realm="), response["WWW-Authenticate"]
    assert not PushedRequest.objects.exists()
    return body


def assert_pushed(response: Any) -> PushedRequest:
    """A 201 with a request_uri; the stored row."""
    assert response.status_code == 201, response.content
    request_uri = response.json()["request_uri"]
    assert request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    return PushedRequest.objects.get(request_uri_digest=request_uri_digest(request_uri))


def jwt_client(*keys: jwk.JWK, method: str = "private_key_jwt", application: Any = None, **metadata: Any) -> Any:
    """A confidential application whose ClientMetadata registers ``keys`` (public halves) as jwks."""
    application = application or ConfidentialApplicationFactory()
    fields: dict[str, Any] = {"token_endpoint_auth_method": method}
    if keys:
        fields["jwks"] = public_jwks(*keys)
    fields.update(metadata)
    ClientMetadata.objects.create(application=application, **fields)
    return application


@pytest.fixture
def clear_jwks_cache() -> Any:
    """Fetched key sets live in Django's cache (locmem in the tests): start and end empty."""
    caches["default"].clear()
    yield
    caches["default"].clear()


# -- the authorization flow of a JWT client --------------------------------------------


def pkj_push(
    client: Client,
    application: Any,
    key: jwk.JWK,
    alg: str = "ES256",
    aud: Any = PAR_ENDPOINT,
    assertion: str | None = None,
    **overrides: str | None,
) -> str:
    """Push a code request (flow_helpers' PKCE pair, state, nonce) with a JWT assertion; the request_uri.

    The assertion is made with ``key``, ``alg`` and ``aud`` unless one is given.
    """
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid read",
        "state": STATE,
        "nonce": NONCE,
        "code_challenge": FLOW_CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    form = {name: value for name, value in params.items() if value is not None}
    form.update(assertion_params(assertion or client_assertion(application.client_id, key, alg, aud=aud)))
    response = push_form(client, form)
    assert_pushed(response)
    return str(response.json()["request_uri"])


def log_in_and_consent(browser: Any, user: Any, application: Any, request_uri: str) -> str:
    """The user logs in and approves at the authorization endpoint; the code sent to the client."""
    url = authorize_url(application, request_uri)
    next_url = login_next(browser.get(url))
    logged_in = browser.log_in(user, next_url)
    assert logged_in.status_code == 302, logged_in.content[:500]
    consent_page = browser.get(next_url)
    assert consent_page.status_code == 200, consent_page.content[:500]
    return authorization_response(browser.consent(next_url))["code"]


def token_request(client: Client, data: dict[str, str], **headers: str) -> Any:
    """POST ``data`` to DOT's token endpoint as a form."""
    return client.post("/o/token/", data=urlencode(data), content_type=FORM_CONTENT_TYPE, headers=headers)


def code_grant(code: str, **extra: str) -> dict[str, str]:
    """The form of an authorization_code token request with flow_helpers' PKCE verifier."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": CODE_VERIFIER,
        **extra,
    }


DJANGO_PAR_VALIDATOR = "django_par.clients.validator.OAuth2Validator"


def _forget_oauthlib_cores() -> None:
    """DOT caches an oauthlib core (with its validator) on each view class that asked for one."""
    from oauth2_provider.views.mixins import OAuthLibMixin

    pending: list[type] = [OAuthLibMixin]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "_oauthlib_core" in vars(cls):
            delattr(cls, "_oauthlib_core")


@contextmanager
def dot_validator(settings: Any, validator_class: str) -> Iterator[None]:
    """DOT runs with ``validator_class`` (a dotted path) inside the block.

    Changing OAUTH2_PROVIDER reloads DOT's settings (setting_changed); the
    oauthlib cores cached on the view classes are dropped before and after, so
    that no other test meets this validator.
    """
    _forget_oauthlib_cores()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OAUTH2_VALIDATOR_CLASS": validator_class}
    try:
        yield
    finally:
        _forget_oauthlib_cores()


@pytest.fixture
def assertion_validator(settings: Any) -> Any:
    """DOT runs with django_par's validator: JWT client assertions at the token endpoint."""
    from oauth2_provider.settings import oauth2_settings

    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        assert oauth2_settings.OAUTH2_VALIDATOR_CLASS.__module__ == "django_par.clients.validator"
        yield
