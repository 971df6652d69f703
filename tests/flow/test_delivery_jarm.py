"""JWT-secured authorization responses (JARM) of pushed requests, the push-time
rules on response_mode, and their discovery metadata.

Every JARM response is verified as a client would: with the server's keys
fetched from its jwks_uri, the issuer from its discovery document, aud = the
client_id, and exp in the near future (JARM §2.4). A tampered JWT must fail
that same verification, so the checks are known to be able to fail.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from django.test import Client, override_settings
from jwcrypto import jwk, jws

from django_par.conf import par_settings
from django_par.models import PushedRequest
from django_par.views.metadata import ServerMetadataView
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ClientMetadataFactory, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    ISSUER,
    NONCE,
    STATE,
    Browser,
    authorize_url,
    exchange_code,
    location,
    push_request,
    response_parameters,
)
from tests.helpers.response_mode_helpers import (
    VerifiedResponse,
    assert_form_post,
    form_post_page,
    jose_header,
    server_issuer,
    server_jwks,
    verify_response_jwt,
)

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.helpers.flow_fixtures"]

JARM_MODES = ("query.jwt", "fragment.jwt", "form_post.jwt", "jwt")
ALL_MODES = {"query", "fragment", "form_post", *JARM_MODES}


@pytest.fixture
def server_keys(db: None) -> jwk.JWKSet:
    return server_jwks()


@pytest.fixture
def issuer(db: None) -> str:
    value = server_issuer()
    assert value == ISSUER
    return value


@pytest.fixture
def implicit_app(db: None) -> Any:
    return ConfidentialApplicationFactory(authorization_grant_type="implicit", skip_authorization=True)


@pytest.fixture
def skip_consent_hybrid_app(db: None) -> Any:
    return ConfidentialApplicationFactory(authorization_grant_type="openid-hybrid", skip_authorization=True)


def jarm_token(response: Any, where: str) -> str:
    """The ``response`` JWT of an authorization response, which must carry nothing else."""
    if where == "form_post":
        fields = assert_form_post(form_post_page(response), REDIRECT_URI)
        assert set(fields) == {"response"}, fields
        return fields["response"]
    base, query, fragment = response_parameters(location(response))
    assert base == REDIRECT_URI
    carried, other = (query, fragment) if where == "query" else (fragment, query)
    assert set(carried) == {"response"}, carried  # no plain code, state or iss beside the JWT
    assert other == {}, other
    return carried["response"]


def verify(token: str, application: Any, keys: jwk.JWKSet, issuer: str, **kwargs: Any) -> VerifiedResponse:
    return verify_response_jwt(
        token,
        keys,
        issuer=issuer,
        client_id=application.client_id,
        lifetime=par_settings.AUTHORIZATION_RESPONSE_LIFETIME,
        **kwargs,
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# -- code responses in each JARM mode ----------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "where"),
    [("query.jwt", "query"), ("fragment.jwt", "fragment"), ("form_post.jwt", "form_post"), ("jwt", "query")],
)
def test_code_after_consent_in_a_verified_jwt(
    mode: str, where: str, logged_in_browser: Browser, confidential_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(confidential_app, response_mode=mode)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    token = jarm_token(logged_in_browser.consent(url, allow=True), where)

    verified = verify(token, confidential_app, server_keys, issuer)
    assert verified.header["alg"] == "RS256"  # the default without client metadata
    assert verified.header["kid"] in [key.get("kid") for key in server_keys]
    assert set(verified.claims) == {"iss", "aud", "exp", "code", "state"}
    assert verified.claims["state"] == STATE
    # The code inside is a real one.
    token_response = exchange_code(confidential_app, verified.claims["code"])
    assert token_response.status_code == 200, token_response.content


@pytest.mark.parametrize(
    ("mode", "where"), [("query.jwt", "query"), ("fragment.jwt", "fragment"), ("form_post.jwt", "form_post")]
)
def test_code_without_consent_page_in_a_verified_jwt(
    mode: str, where: str, logged_in_browser: Browser, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(skip_consent_app, response_mode=mode)
    token = jarm_token(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), where)
    claims = verify(token, skip_consent_app, server_keys, issuer).claims
    assert claims["code"]
    assert claims["state"] == STATE


def test_exp_follows_the_authorization_response_lifetime_setting(
    logged_in_browser: Browser, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(skip_consent_app, response_mode="query.jwt")
    with override_settings(DJANGO_PAR={"AUTHORIZATION_RESPONSE_LIFETIME": 30}):
        token = jarm_token(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), "query")
        assert par_settings.AUTHORIZATION_RESPONSE_LIFETIME == 30
        claims = verify(token, skip_consent_app, server_keys, issuer).claims
    assert claims["exp"] > time.time() + 25


# -- jwt: the default for the response type ------------------------------------------------


def test_jwt_with_token_uses_the_fragment(
    logged_in_browser: Browser, implicit_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(
        implicit_app,
        response_type="token",
        response_mode="jwt",
        scope="read",
        code_challenge=None,
        code_challenge_method=None,
    )
    token = jarm_token(logged_in_browser.get(authorize_url(implicit_app, request_uri)), "fragment")
    claims = verify(token, implicit_app, server_keys, issuer).claims
    assert claims["access_token"]
    assert claims["token_type"] == "Bearer"
    assert claims["state"] == STATE


def test_jwt_with_a_hybrid_response_type_uses_the_fragment(
    logged_in_browser: Browser, skip_consent_hybrid_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(skip_consent_hybrid_app, response_type="code id_token", response_mode="jwt")
    token = jarm_token(logged_in_browser.get(authorize_url(skip_consent_hybrid_app, request_uri)), "fragment")
    claims = verify(token, skip_consent_hybrid_app, server_keys, issuer).claims
    assert claims["code"]
    assert claims["id_token"]
    assert claims["state"] == STATE


# -- error responses ----------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "where"), [("query.jwt", "query"), ("form_post.jwt", "form_post"), ("jwt", "query")])
def test_a_denied_consent_gives_access_denied_in_a_verified_jwt(
    mode: str, where: str, logged_in_browser: Browser, confidential_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(confidential_app, response_mode=mode)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    token = jarm_token(logged_in_browser.consent(url, allow=False), where)
    claims = verify(token, confidential_app, server_keys, issuer).claims
    assert claims["error"] == "access_denied"
    assert claims["state"] == STATE
    assert "code" not in claims


@pytest.mark.parametrize(
    ("mode", "where"), [("fragment.jwt", "fragment"), ("query.jwt", "query"), ("form_post.jwt", "form_post")]
)
def test_prompt_none_gives_login_required_in_a_verified_jwt(
    mode: str, where: str, browser: Browser, confidential_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    request_uri = push_request(confidential_app, response_mode=mode, prompt="none")
    token = jarm_token(browser.get(authorize_url(confidential_app, request_uri)), where)
    claims = verify(token, confidential_app, server_keys, issuer).claims
    assert claims["error"] == "login_required"
    assert claims["error_description"]
    assert claims["state"] == STATE
    assert set(claims) == {"iss", "aud", "exp", "error", "error_description", "state"}


# -- the client's signing algorithm ----------------------------------------------------------


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_the_clients_authorization_signed_response_alg_is_used(
    alg: str, logged_in_browser: Browser, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    ClientMetadataFactory(application=skip_consent_app, authorization_signed_response_alg=alg)
    request_uri = push_request(skip_consent_app, response_mode="query.jwt")
    token = jarm_token(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), "query")
    # The key's published alg is checked by the next test.
    verified = verify(token, skip_consent_app, server_keys, issuer, algs=(alg,), honour_jwk_alg=False)
    assert verified.header["alg"] == alg
    assert verified.claims["state"] == STATE
    # The signature holds for that algorithm only.
    other = "RS256" if alg == "PS256" else "PS256"
    signed = jws.JWS()
    signed.deserialize(token)
    with pytest.raises(jws.InvalidJWSSignature):
        signed.verify(server_keys.get_key(verified.header["kid"]), alg=other)


@pytest.mark.parametrize(
    "alg",
    ["PS256", "RS256"],
)
def test_the_key_that_signs_the_response_is_published_for_its_alg(
    alg: str, logged_in_browser: Browser, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    ClientMetadataFactory(application=skip_consent_app, authorization_signed_response_alg=alg)
    request_uri = push_request(skip_consent_app, response_mode="query.jwt")
    token = jarm_token(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), "query")
    assert verify(token, skip_consent_app, server_keys, issuer, algs=(alg,)).header["alg"] == alg


# -- the verification can fail -----------------------------------------------------------------


@pytest.fixture
def genuine_token(logged_in_browser: Browser, skip_consent_app: Any) -> str:
    request_uri = push_request(skip_consent_app, response_mode="query.jwt")
    return jarm_token(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), "query")


def test_a_genuine_token_verifies(
    genuine_token: str, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    assert verify(genuine_token, skip_consent_app, server_keys, issuer).claims["state"] == STATE


def test_a_changed_claim_fails_verification(
    genuine_token: str, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    header, payload, signature = genuine_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["state"] = "state-chosen-by-an-attacker"
    forged = ".".join([header, b64url(json.dumps(claims).encode()), signature])
    with pytest.raises(jws.InvalidJWSSignature):
        verify(forged, skip_consent_app, server_keys, issuer)


def test_a_changed_signature_fails_verification(
    genuine_token: str, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    header, payload, signature = genuine_token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(jws.InvalidJWSSignature):
        verify(".".join([header, payload, b64url(bytes(raw))]), skip_consent_app, server_keys, issuer)


def test_a_token_signed_with_another_key_under_the_servers_kid_fails(
    genuine_token: str, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    header = jose_header(genuine_token)
    impostor = jwk.JWK.generate(kty="RSA", size=2048)
    payload = genuine_token.split(".")[1]
    claims = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = jws.JWS(claims)
    forged.add_signature(impostor, alg="RS256", protected=json.dumps(header))
    with pytest.raises(jws.InvalidJWSSignature):
        verify(forged.serialize(compact=True), skip_consent_app, server_keys, issuer)


def test_a_key_published_for_another_alg_fails_verification(
    genuine_token: str, skip_consent_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    published = [json.loads(key.export_public()) | {"alg": "PS256"} for key in server_keys]
    keys = jwk.JWKSet.from_json(json.dumps({"keys": published}))
    with pytest.raises(AssertionError, match="publishes key"):
        verify(genuine_token, skip_consent_app, keys, issuer)
    verify(genuine_token, skip_consent_app, keys, issuer, honour_jwk_alg=False)


def test_the_wrong_audience_or_issuer_fails_verification(
    genuine_token: str, skip_consent_app: Any, confidential_app: Any, server_keys: jwk.JWKSet, issuer: str
) -> None:
    with pytest.raises(AssertionError):
        verify(genuine_token, confidential_app, server_keys, issuer)
    with pytest.raises(AssertionError):
        verify(genuine_token, skip_consent_app, server_keys, "https://other-issuer.example.org")
    with pytest.raises(AssertionError):
        verify_response_jwt(
            genuine_token, server_keys, issuer=issuer, client_id=skip_consent_app.client_id, lifetime=10
        )  # exp further away than a 10 s lifetime allows


# -- push-time rules on response_mode -------------------------------------------------------------


def push_for(application: Any, **overrides: str | None) -> Any:
    authorization = basic_auth(application.client_id, CLIENT_SECRET)
    return push(Client(), code_request(application, **overrides), authorization=authorization)


IMPLICIT = {"code_challenge": None, "code_challenge_method": None, "nonce": NONCE}


@pytest.mark.parametrize("mode", ["query", "query.jwt"])
@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token"])
def test_query_modes_are_refused_for_implicit_tokens(mode: str, response_type: str, implicit_app: Any) -> None:
    response = push_for(implicit_app, response_type=response_type, response_mode=mode, **IMPLICIT)
    assert_oauth_error(response, 400, "invalid_request", "response_mode")
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize("mode", ["query", "query.jwt"])
@pytest.mark.parametrize("response_type", ["code token", "code id_token", "code id_token token"])
def test_query_modes_are_refused_for_hybrid_tokens(mode: str, response_type: str, hybrid_app: Any) -> None:
    response = push_for(hybrid_app, response_type=response_type, response_mode=mode, nonce=NONCE)
    assert_oauth_error(response, 400, "invalid_request", "response_mode")
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize("mode", ["fragment", "fragment.jwt", "form_post", "form_post.jwt", "jwt"])
def test_other_modes_are_accepted_for_tokens(mode: str, implicit_app: Any, hybrid_app: Any) -> None:
    response = push_for(implicit_app, response_type="token", response_mode=mode, **IMPLICIT)
    assert response.status_code == 201, response.content
    response = push_for(hybrid_app, response_type="code id_token", response_mode=mode, nonce=NONCE)
    assert response.status_code == 201, response.content
    assert PushedRequest.objects.count() == 2


@pytest.mark.parametrize("mode", sorted(ALL_MODES))
def test_every_mode_is_accepted_for_code(mode: str, confidential_app: Any) -> None:
    response = push_for(confidential_app, response_mode=mode)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("mode", ["web_message", "Query", "query.JWT", "jwt.query", "form_post.jwe", "query.jwt.jwt"])
def test_an_unknown_response_mode_is_refused(mode: str, confidential_app: Any) -> None:
    response = push_for(confidential_app, response_mode=mode)
    assert_oauth_error(response, 400, "invalid_request", "response_mode")
    assert not PushedRequest.objects.exists()


def test_implicit_tokens_in_the_fragment_end_to_end(logged_in_browser: Browser, implicit_app: Any) -> None:
    request_uri = push_request(
        implicit_app,
        response_type="token",
        response_mode="fragment",
        scope="read",
        code_challenge=None,
        code_challenge_method=None,
    )
    answer = logged_in_browser.get(authorize_url(implicit_app, request_uri))
    base, query, fragment = response_parameters(location(answer))
    assert base == REDIRECT_URI
    assert query == {}
    assert fragment["access_token"]
    assert fragment["state"] == STATE
    assert fragment["iss"] == ISSUER


# -- discovery ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/o/.well-known/openid-configuration",
        pytest.param(
            "/o/.well-known/oauth-authorization-server",
            marks=pytest.mark.skipif(ServerMetadataView is None, reason="RFC 8414 metadata needs DOT 3.2 or later"),
        ),
    ],
)
def test_discovery_lists_the_response_modes_and_signing_algorithms(path: str, db: None) -> None:
    response = Client().get(path)
    assert response.status_code == 200, response.content
    document = response.json()
    assert sorted(document["response_modes_supported"]) == sorted(ALL_MODES)
    assert sorted(document["authorization_signing_alg_values_supported"]) == ["PS256", "RS256"]
    assert document["authorization_response_iss_parameter_supported"] is True
    assert document["issuer"] == ISSUER
    assert document["jwks_uri"] == "http://testserver/o/.well-known/jwks.json"
