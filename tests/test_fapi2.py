"""DJANGO_PAR["FAPI2_SECURITY_PROFILE"]: the FAPI 2.0 Security Profile rules (§5.3.2).

PAR is required at the authorization endpoint, only response_type=code, PKCE
with S256 only, private_key_jwt only with the issuer as the assertion audience,
redirect_uri required, and request URIs that live under 600 seconds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from jwcrypto import jwk

from django_par import checks
from django_par.models import PushedRequest
from tests.conftest import assert_oauth_error, basic_auth, code_request
from tests.dpop.helpers import dpop_key, proof, thumbprint
from tests.helpers.factories import CLIENT_SECRET, PlainSecretApplicationFactory, PublicApplicationFactory, UserFactory
from tests.helpers.flow_helpers import (
    AUTHORIZE_PATH,
    HASHED_PASSWORD,
    Browser,
    assert_error_page,
    authorize_url,
    login_next,
)
from tests.helpers.jwt_helpers import (
    ISSUER,
    PAR_ENDPOINT,
    TOKEN_ENDPOINT,
    assert_invalid_client,
    assert_pushed,
    assertion_params,
    assertion_validator,  # noqa: F401  (fixture)
    b64url,
    client_assertion,
    code_grant,
    jwt_client,
    log_in_and_consent,
    pkj_push,
    private_key,
    push_form,
    request_object_claims,
    sign,
    token_request,
)

pytestmark = pytest.mark.django_db

KEY = private_key("EC")
FAPI2 = {"FAPI2_SECURITY_PROFILE": True}
# FAPI 2.0 binds every code to a DPoP key (RFC 9449 §10): the client's, named at the push.
DPOP_KEY = dpop_key("fapi2")
DPOP_JKT = thumbprint(DPOP_KEY)


@pytest.fixture(autouse=True)
def fapi2() -> Any:
    with override_settings(DJANGO_PAR=FAPI2):
        yield


@pytest.fixture
def app(db: None) -> Any:
    return jwt_client(KEY)


def fapi_push(client: Client, application: Any, aud: str = ISSUER, **overrides: str | None) -> Any:
    """A push authenticated with private_key_jwt; ``overrides`` change the code request (None drops)."""
    params = code_request(application, **{"dpop_jkt": DPOP_JKT, **overrides})
    return push_form(client, {**params, **assertion_params(client_assertion(application.client_id, KEY, aud=aud))})


class TestPush:
    def test_compliant_push_is_accepted(self, client, app):
        row = assert_pushed(fapi_push(client, app))

        assert row.parameters["code_challenge_method"] == "S256"

    def test_compliant_request_object_is_accepted(self, client, app):
        form = {"request": sign(request_object_claims(app.client_id, dpop_jkt=DPOP_JKT), KEY, "ES256")}
        form.update(assertion_params(client_assertion(app.client_id, KEY)))

        assert_pushed(push_form(client, form))

    @pytest.mark.parametrize("response_type", ["code id_token", "token", "id_token"])
    def test_only_response_type_code(self, client, app, response_type):
        response = fapi_push(client, app, response_type=response_type, nonce="nonce-0123456789")

        assert_oauth_error(response, 400, "unsupported_response_type", "FAPI 2.0 allows only response_type=code")
        assert not PushedRequest.objects.exists()

    def test_pkce_plain_is_refused(self, client, app):
        response = fapi_push(client, app, code_challenge_method="plain")

        assert_oauth_error(response, 400, "invalid_request", "FAPI 2.0 requires PKCE with code_challenge_method=S256")

    def test_pkce_method_left_out_means_plain_and_is_refused(self, client, app):
        response = fapi_push(client, app, code_challenge_method=None)

        assert_oauth_error(response, 400, "invalid_request", "FAPI 2.0 requires PKCE with code_challenge_method=S256")

    def test_missing_pkce_is_refused(self, client, app):
        response = fapi_push(client, app, code_challenge=None, code_challenge_method=None)

        assert_oauth_error(response, 400, "invalid_request", "FAPI 2.0 requires PKCE with code_challenge_method=S256")

    def test_missing_pkce_is_accepted_without_the_profile(self, client, app):
        with override_settings(DJANGO_PAR={}):
            assert_pushed(fapi_push(client, app, code_challenge=None, code_challenge_method=None))

    def test_redirect_uri_is_required(self, client, app):
        response = fapi_push(client, app, redirect_uri=None)

        assert_oauth_error(response, 400, "invalid_request", "FAPI 2.0 requires redirect_uri")

    def test_request_object_with_plain_pkce_is_refused(self, client, app):
        claims = request_object_claims(app.client_id, code_challenge_method="plain")
        form = {"request": sign(claims, KEY, "ES256"), **assertion_params(client_assertion(app.client_id, KEY))}

        response = push_form(client, form)

        assert_oauth_error(response, 400, "invalid_request", "FAPI 2.0 requires PKCE with code_challenge_method=S256")


class TestClientAuthentication:
    def test_client_secret_basic_is_refused(self, client):
        application = PlainSecretApplicationFactory()  # no metadata: any method would do without FAPI 2.0

        response = push_form(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    def test_client_secret_post_is_refused(self, client):
        application = PlainSecretApplicationFactory()

        response = push_form(client, {**code_request(application), "client_secret": CLIENT_SECRET})

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    def test_client_registered_for_client_secret_basic_is_refused(self, client):
        application = jwt_client(KEY, method="client_secret_basic", application=PlainSecretApplicationFactory())

        response = push_form(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    def test_client_secret_jwt_is_refused(self, client):
        secret = "a-client-secret-long-enough-for-HS256-0123456789"
        application = PlainSecretApplicationFactory(client_secret=secret)
        token = client_assertion(application.client_id, jwk.JWK(kty="oct", k=b64url(secret.encode())), "HS256")

        response = push_form(client, {**code_request(application), **assertion_params(token)})

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    def test_public_client_is_refused(self, client):
        application = PublicApplicationFactory()

        response = push_form(client, code_request(application))

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    @pytest.mark.parametrize("aud", [TOKEN_ENDPOINT, PAR_ENDPOINT])
    def test_assertion_audience_must_be_the_issuer(self, client, app, aud):
        response = fapi_push(client, app, aud=aud)

        assert_invalid_client(response, "The aud claim does not name this server")


class TestAuthorizationEndpoint:
    @pytest.fixture
    def user(self, db: None) -> Any:
        return UserFactory(password=HASHED_PASSWORD)

    def plain_request_url(self, application: Any) -> str:
        return AUTHORIZE_PATH + "?" + urlencode(code_request(application))

    def test_plain_request_is_an_error_page(self, client, app):
        response = client.get(self.plain_request_url(app))

        assert_error_page(response, "invalid_request")
        assert "This client must use pushed authorization requests" in response.content.decode()

    def test_plain_request_of_a_logged_in_user_is_an_error_page(self, app, user):
        browser = Browser()
        browser.force_login(user)

        response = browser.get(self.plain_request_url(app))

        assert_error_page(response, "invalid_request")

    def test_plain_request_is_served_without_the_profile(self, client, app):
        with override_settings(DJANGO_PAR={}):
            response = client.get(self.plain_request_url(app))

        # Not logged in: DOT sends the browser to log in.
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_pushed_request_is_served(self, client, app):
        request_uri = pkj_push(client, app, KEY, aud=ISSUER, dpop_jkt=DPOP_JKT)

        response = client.get(authorize_url(app, request_uri))

        assert login_next(response) == authorize_url(app, request_uri)

    @pytest.mark.usefixtures("assertion_validator")
    def test_full_flow_with_private_key_jwt_at_the_token_endpoint(self, client, app, user):
        request_uri = pkj_push(client, app, KEY, aud=ISSUER, dpop_jkt=DPOP_JKT)
        code = log_in_and_consent(Browser(), user, app, request_uri)

        token = client_assertion(app.client_id, KEY, aud=ISSUER)
        dpop = proof(DPOP_KEY, htu=TOKEN_ENDPOINT)
        response = token_request(client, code_grant(code, **assertion_params(token)), DPoP=dpop)

        assert response.status_code == 200, response.content
        assert response.json()["access_token"]
        assert response.json()["token_type"] == "DPoP"


@pytest.mark.usefixtures("assertion_validator")
class TestChecks:
    def test_request_uri_lifetime_of_600_is_e006(self):
        with override_settings(DJANGO_PAR={**FAPI2, "REQUEST_URI_LIFETIME": 600}):
            errors = checks.check_settings()

        assert [error.id for error in errors] == ["django_par.E006"]
        assert "REQUEST_URI_LIFETIME under 600 seconds" in errors[0].msg

    def test_request_uri_lifetime_of_599_passes(self):
        with override_settings(DJANGO_PAR={**FAPI2, "REQUEST_URI_LIFETIME": 599}):
            assert checks.check_settings() == []

    def test_default_lifetime_passes(self):
        assert checks.check_settings() == []

    def test_long_lifetime_without_the_profile_passes(self):
        with override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 600}):
            assert checks.check_settings() == []


def test_the_profile_with_dot_s_own_validator_is_e007():
    # DOT's validator cannot check private_key_jwt at the token endpoint: no code could be redeemed.
    errors = checks.check_settings()

    assert [error.id for error in errors] == ["django_par.E007"]


def test_discovery_requires_pushed_requests(client):
    document = client.get("/o/.well-known/openid-configuration").json()

    assert document["require_pushed_authorization_requests"] is True
