"""DPoP through the whole flow (RFC 9449 §5, §8, §10): push, authorize, token, refresh, with the test client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from django_par.dpop import binding, nonces
from django_par.models import ClientMetadata, PushedRequest
from tests.conftest import basic_auth, code_request, push
from tests.dpop.helpers import TOKEN_ENDPOINT, dpop_key, proof, thumbprint
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory, PublicApplicationFactory
from tests.helpers.flow_helpers import (
    CODE_CHALLENGE,
    CODE_VERIFIER,
    REDIRECT_URI,
    TOKEN_PATH,
    Browser,
    authorization_response,
    authorize_url,
    plain_url,
)
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.helpers.flow_fixtures"]


@pytest.fixture(autouse=True)
def validator(settings: Any) -> Any:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


@pytest.fixture
def public_app() -> Any:
    return PublicApplicationFactory(skip_authorization=True)


@pytest.fixture
def confidential_app() -> Any:
    return ConfidentialApplicationFactory(skip_authorization=True)


def client_headers(application: Any) -> dict[str, str]:
    if application.client_type == application.CLIENT_PUBLIC:
        return {}
    return {"authorization": basic_auth(application.client_id, CLIENT_SECRET)}


def dpop_push(application: Any, dpop: str | None = None, **params: str | None) -> Any:
    data = code_request(application, code_challenge=CODE_CHALLENGE, **params)
    headers = client_headers(application)
    if dpop is not None:
        headers["DPoP"] = dpop
    return push(Client(), data, **headers)


def pushed_code(application: Any, browser: Browser, dpop: str | None = None, **params: str | None) -> str:
    response = dpop_push(application, dpop, **params)
    assert response.status_code == 201, response.content
    answer = browser.get(authorize_url(application, response.json()["request_uri"]))
    return authorization_response(answer)["code"]


def token_request(application: Any, data: dict[str, str], dpop: str | None = None) -> Any:
    headers = client_headers(application)
    if application.client_type == application.CLIENT_PUBLIC:
        data = {**data, "client_id": application.client_id}
    if dpop is not None:
        headers["DPoP"] = dpop
    return Client().post(TOKEN_PATH, urlencode(data), content_type="application/x-www-form-urlencoded", headers=headers)


def redeem(application: Any, code: str, dpop: str | None = None) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    return token_request(application, {**data, "code_verifier": CODE_VERIFIER}, dpop)


def refresh(application: Any, refresh_token: str, dpop: str | None = None) -> Any:
    return token_request(application, {"grant_type": "refresh_token", "refresh_token": refresh_token}, dpop)


def token_proof(key: Any = None, **claims: Any) -> str:
    return proof(key, htu=TOKEN_ENDPOINT, **claims)


def assert_dpop_error(response: Any, error: str = "invalid_dpop_proof", part: str = "") -> dict[str, Any]:
    assert response.status_code == 400, response.content
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert part in body.get("error_description", ""), body
    return body


# -- the PAR endpoint ----------------------------------------------------------


def test_push_with_proof_binds_the_request(public_app: Any) -> None:
    response = dpop_push(public_app, proof())
    assert response.status_code == 201, response.content
    assert "DPoP-Nonce" not in response
    assert PushedRequest.objects.get().parameters["dpop_jkt"] == thumbprint(dpop_key())


def test_push_with_dpop_jkt_binds_without_proof(confidential_app: Any) -> None:
    jkt = thumbprint(dpop_key("other"))
    response = dpop_push(confidential_app, dpop_jkt=jkt)
    assert response.status_code == 201, response.content
    assert PushedRequest.objects.get().parameters["dpop_jkt"] == jkt


def test_push_with_matching_proof_and_dpop_jkt(public_app: Any) -> None:
    response = dpop_push(public_app, proof(), dpop_jkt=thumbprint(dpop_key()))
    assert response.status_code == 201, response.content


def test_push_with_proof_and_another_dpop_jkt_refused(public_app: Any) -> None:
    response = dpop_push(public_app, proof(), dpop_jkt=thumbprint(dpop_key("other")))
    assert_dpop_error(response, part="dpop_jkt is not the thumbprint")
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize("value", ["short", "x" * 44, "a+b/" * 11])
def test_push_with_malformed_dpop_jkt_refused(public_app: Any, value: str) -> None:
    assert_dpop_error(dpop_push(public_app, dpop_jkt=value), "invalid_request", "dpop_jkt must be")
    assert not PushedRequest.objects.exists()


def test_push_with_invalid_proof_refused(public_app: Any) -> None:
    assert_dpop_error(dpop_push(public_app, proof(htu=TOKEN_ENDPOINT)), part="htu")
    assert_dpop_error(dpop_push(public_app, "not-a-jwt"))
    assert not PushedRequest.objects.exists()


def test_push_proof_replay_refused(public_app: Any) -> None:
    once = proof()
    assert dpop_push(public_app, once).status_code == 201
    assert_dpop_error(dpop_push(public_app, once), part="used before")
    assert PushedRequest.objects.count() == 1


def test_push_without_dpop_is_unbound(public_app: Any) -> None:
    assert dpop_push(public_app).status_code == 201
    assert "dpop_jkt" not in PushedRequest.objects.get().parameters


@override_settings(DJANGO_PAR={"DPOP_NONCES": True})
def test_push_nonce(public_app: Any) -> None:
    first = dpop_push(public_app, proof())
    body = assert_dpop_error(first, "use_dpop_nonce")
    assert body["error_description"]
    nonce = first["DPoP-Nonce"]
    assert first["Cache-Control"] == "no-store"
    second = dpop_push(public_app, proof(nonce=nonce))
    assert second.status_code == 201, second.content
    assert second["DPoP-Nonce"] == nonces.current_nonce()
    # No proof at all: nothing to require a nonce of.
    assert dpop_push(public_app).status_code == 201


# -- code binding and the token endpoint ------------------------------------------


def test_whole_flow_public_client(public_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    code = pushed_code(public_app, logged_in_browser, proof(key))
    grant = get_grant_model().objects.get(code=code)
    assert binding.grant_jkt(grant) == thumbprint(key)
    response = redeem(public_app, code, token_proof(key))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    assert "DPoP-Nonce" not in response
    access = get_access_token_model().objects.get(token=body["access_token"])
    assert binding.access_token_jkt(access) == thumbprint(key)
    refresh_token = get_refresh_token_model().objects.get(token=body["refresh_token"])
    assert binding.refresh_token_jkt(refresh_token) == thumbprint(key)  # §5: a public client's
    # Refresh with the same key: a new DPoP-bound token.
    again = refresh(public_app, body["refresh_token"], token_proof(key))
    assert again.status_code == 200, again.content
    assert again.json()["token_type"] == "DPoP"
    new_access = get_access_token_model().objects.get(token=again.json()["access_token"])
    assert binding.access_token_jkt(new_access) == thumbprint(key)


def test_public_refresh_with_another_key_or_none_refused(public_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    code = pushed_code(public_app, logged_in_browser, proof(key))
    body = redeem(public_app, code, token_proof(key)).json()
    assert_dpop_error(refresh(public_app, body["refresh_token"], token_proof(dpop_key("other"))), part="bound to")
    assert_dpop_error(refresh(public_app, body["refresh_token"]), part="proof of its key is required")
    # Still usable by its key.
    assert refresh(public_app, body["refresh_token"], token_proof(key)).status_code == 200


def test_confidential_refresh_token_not_bound(confidential_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    code = pushed_code(confidential_app, logged_in_browser, proof(key))
    body = redeem(confidential_app, code, token_proof(key)).json()
    assert body["token_type"] == "DPoP"
    refresh_token = get_refresh_token_model().objects.get(token=body["refresh_token"])
    assert binding.refresh_token_jkt(refresh_token) is None
    # §5: the client authenticates; a proof of a new key binds the new access token to it.
    again = refresh(confidential_app, body["refresh_token"], token_proof(dpop_key("rotated")))
    assert again.status_code == 200, again.content
    access = get_access_token_model().objects.get(token=again.json()["access_token"])
    assert binding.access_token_jkt(access) == thumbprint(dpop_key("rotated"))


def test_bound_code_needs_the_same_key_and_is_not_spent(public_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    code = pushed_code(public_app, logged_in_browser, proof(key))
    assert_dpop_error(redeem(public_app, code, token_proof(dpop_key("thief"))), part="bound to")
    assert_dpop_error(redeem(public_app, code), part="proof of its key is required")
    assert_dpop_error(redeem(public_app, code, "garbage"))
    # A proof refused for anything else spends no code either.
    assert_dpop_error(redeem(public_app, code, proof(key)), part="htu")
    assert redeem(public_app, code, token_proof(key)).status_code == 200


def test_dpop_jkt_bound_code(confidential_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key("later")
    code = pushed_code(confidential_app, logged_in_browser, dpop_jkt=thumbprint(key))
    assert_dpop_error(redeem(confidential_app, code, token_proof()), part="bound to")
    assert redeem(confidential_app, code, token_proof(key)).json()["token_type"] == "DPoP"


def test_plain_request_with_dpop_jkt_binds_the_code(confidential_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    url = plain_url(confidential_app, dpop_jkt=thumbprint(key))
    code = authorization_response(logged_in_browser.get(url))["code"]
    assert_dpop_error(redeem(confidential_app, code), part="proof of its key is required")
    assert redeem(confidential_app, code, token_proof(key)).status_code == 200


def test_plain_request_with_malformed_dpop_jkt(confidential_app: Any, logged_in_browser: Browser) -> None:
    answer = authorization_response(logged_in_browser.get(plain_url(confidential_app, dpop_jkt="x" * 60)))
    assert answer["error"] == "invalid_request" and "code" not in answer
    assert not get_grant_model().objects.exists()


def test_unbound_code_with_proof_gets_dpop_token(confidential_app: Any, logged_in_browser: Browser) -> None:
    code = pushed_code(confidential_app, logged_in_browser)
    response = redeem(confidential_app, code, token_proof())
    assert response.json()["token_type"] == "DPoP"


def test_without_dpop_bearer_as_before(confidential_app: Any, logged_in_browser: Browser) -> None:
    code = pushed_code(confidential_app, logged_in_browser)
    body = redeem(confidential_app, code).json()
    assert body["token_type"] == "Bearer"
    access = get_access_token_model().objects.get(token=body["access_token"])
    assert binding.access_token_jkt(access) is None


def test_token_proof_replay_refused(confidential_app: Any, logged_in_browser: Browser) -> None:
    once = token_proof()
    code = pushed_code(confidential_app, logged_in_browser)
    assert redeem(confidential_app, code, once).status_code == 200
    code = pushed_code(confidential_app, logged_in_browser)
    assert_dpop_error(redeem(confidential_app, code, once), part="used before")


@override_settings(DJANGO_PAR={"DPOP_NONCES": True})
def test_token_nonce(public_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    code = pushed_code(public_app, logged_in_browser, proof(key, nonce=nonces.current_nonce()))
    first = redeem(public_app, code, token_proof(key))
    assert_dpop_error(first, "use_dpop_nonce")
    response = redeem(public_app, code, token_proof(key, nonce=first["DPoP-Nonce"]))
    assert response.status_code == 200, response.content
    assert response["DPoP-Nonce"] == nonces.current_nonce()


def test_client_requiring_dpop(confidential_app: Any, logged_in_browser: Browser) -> None:
    ClientMetadata.objects.create(application=confidential_app, dpop_bound_access_tokens=True)
    code = pushed_code(confidential_app, logged_in_browser)
    assert_dpop_error(redeem(confidential_app, code), part="must send a DPoP proof")
    assert redeem(confidential_app, code, token_proof()).json()["token_type"] == "DPoP"


@override_settings(DJANGO_PAR={"DPOP_BOUND_ACCESS_TOKENS": True})
def test_server_requiring_dpop(confidential_app: Any, logged_in_browser: Browser) -> None:
    code = pushed_code(confidential_app, logged_in_browser)
    assert_dpop_error(redeem(confidential_app, code), part="must send a DPoP proof")
    assert redeem(confidential_app, code, token_proof()).status_code == 200


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(max_size=60))
def test_push_with_any_dpop_jkt_is_201_or_400(public_app: Any, value: str) -> None:
    response = dpop_push(public_app, dpop_jkt=value)
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"] == "invalid_request"
        assert response["Cache-Control"] == "no-store"


def test_browser_cannot_rebind_a_pushed_request(public_app: Any, logged_in_browser: Browser) -> None:
    key = dpop_key()
    response = dpop_push(public_app, proof(key))
    url = authorize_url(public_app, response.json()["request_uri"], dpop_jkt=thumbprint(dpop_key("browser")))
    code = authorization_response(logged_in_browser.get(url))["code"]
    assert binding.grant_jkt(get_grant_model().objects.get(code=code)) == thumbprint(key)


def test_refresh_again_within_dot_s_grace_period(public_app: Any, logged_in_browser: Browser, settings: Any) -> None:
    """DOT hands out the access token of the first refresh again: still a DPoP token."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 60}
    key = dpop_key()
    code = pushed_code(public_app, logged_in_browser, proof(key))
    refresh_token = redeem(public_app, code, token_proof(key)).json()["refresh_token"]
    first = refresh(public_app, refresh_token, token_proof(key))
    again = refresh(public_app, refresh_token, token_proof(key))
    assert first.status_code == again.status_code == 200, again.content
    assert again.json()["access_token"] == first.json()["access_token"]
    assert again.json()["token_type"] == "DPoP"
