"""JWT client assertions at DOT's token endpoint, with django_par's validator.

OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "django_par.clients.validator.OAuth2Validator"
lets a client that pushed with private_key_jwt (or client_secret_jwt) redeem its
code the same way (RFC 7523 §2.2); the jti replay store is shared by both endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model

from django_par.models import ClientMetadata, UsedAssertion
from tests.conftest import basic_auth, code_request
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory, PlainSecretApplicationFactory, UserFactory
from tests.helpers.flow_helpers import CODE_CHALLENGE, HASHED_PASSWORD, NONCE, STATE, Browser, jwt_claims, push_request
from tests.helpers.jwt_helpers import (
    ISSUER,
    PAR_ENDPOINT,
    TOKEN_ENDPOINT,
    assertion_claims,
    assertion_params,
    assert_pushed,
    assertion_validator,  # noqa: F401  (fixture)
    b64url,
    client_assertion,
    code_grant,
    jwt_client,
    log_in_and_consent,
    pkj_push,
    private_key,
    push_form,
    token_request,
    unsigned_jwt,
)

pytestmark = pytest.mark.django_db

KEY = private_key("RSA", kid="token-endpoint-rsa")
SECRET = "a-client-secret-long-enough-for-HS256-0123456789"


@pytest.fixture
def user(db: None) -> Any:
    return UserFactory(password=HASHED_PASSWORD)


@pytest.fixture
def app(db: None) -> Any:
    return jwt_client(KEY)


def code_for(client: Client, user: Any, application: Any, key: Any = KEY, alg: str = "PS256") -> str:
    """Push with private_key_jwt, then log in and consent: the authorization code."""
    return log_in_and_consent(Browser(), user, application, pkj_push(client, application, key, alg))


def assert_token_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error, response.json()


@pytest.mark.usefixtures("assertion_validator")
class TestPrivateKeyJwt:
    def test_code_redeemed_with_a_fresh_assertion_for_the_token_endpoint(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert response.status_code == 200, response.content
        body = response.json()
        assert body["token_type"] == "Bearer"
        token = get_access_token_model().objects.get(token=body["access_token"])
        assert token.application == app and token.user == user
        assert jwt_claims(body["id_token"])["aud"] == app.client_id
        # One jti spent at the PAR endpoint, one at the token endpoint.
        assert UsedAssertion.objects.count() == 2

    @pytest.mark.parametrize("aud", [ISSUER, PAR_ENDPOINT], ids=["issuer", "par-endpoint"])
    def test_other_accepted_audiences(self, client, user, app, aud):
        code = code_for(client, user, app)

        response = token_request(client, code_grant(code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", aud=aud))))

        assert response.status_code == 200, response.content

    def test_https_audience_over_https(self, user, app):
        client = Client()
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud="https://testserver/o/token/")

        response = client.post(
            "/o/token/",
            data=code_grant(code, **assertion_params(assertion)),
            secure=True,
        )

        assert response.status_code == 200, response.content

    def test_http_audience_over_https_is_refused(self, user, app):
        client = Client()
        code = code_for(client, user, app)

        response = client.post(
            "/o/token/",
            data=code_grant(code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT))),
            secure=True,
        )

        assert_token_error(response, 401, "invalid_client")

    def test_assertion_replayed_from_the_par_endpoint_is_refused(self, client, user, app):
        # The client reuses the assertion it pushed with (aud = issuer fits both endpoints).
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=ISSUER)
        code = log_in_and_consent(Browser(), user, app, pkj_push(client, app, KEY, assertion=assertion))

        replayed = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(replayed, 401, "invalid_client")
        # The refused request did not spend the code: a fresh assertion redeems it.
        fresh = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        assert token_request(client, code_grant(code, **assertion_params(fresh))).status_code == 200

    def test_assertion_replayed_at_the_token_endpoint_is_refused(self, client, user, app):
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        first = token_request(client, code_grant(code_for(client, user, app), **assertion_params(assertion)))
        assert first.status_code == 200, first.content

        second = token_request(client, code_grant(code_for(client, user, app), **assertion_params(assertion)))

        assert_token_error(second, 401, "invalid_client")

    def test_refresh_token_grant_with_private_key_jwt(self, client, user, app):
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        tokens = token_request(client, code_grant(code_for(client, user, app), **assertion_params(assertion))).json()
        refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

        replayed = token_request(client, {**refresh, **assertion_params(assertion)})
        assert_token_error(replayed, 401, "invalid_client")

        fresh = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        response = token_request(client, {**refresh, **assertion_params(fresh)})
        assert response.status_code == 200, response.content
        assert response.json()["access_token"] != tokens["access_token"]

    @pytest.mark.parametrize(
        "overrides",
        [
            {"aud": "https://other-server.example/token"},
            {"exp": 1_000_000_000, "iat": 999_999_940},
            {"jti": None},
            {"iss": "someone-else"},
        ],
        ids=["wrong-aud", "expired", "no-jti", "wrong-iss"],
    )
    def test_bad_assertions_are_invalid_client(self, client, user, app, overrides):
        code = code_for(client, user, app)
        claims = {"aud": TOKEN_ENDPOINT, **overrides}

        response = token_request(client, code_grant(code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", **claims))))

        assert_token_error(response, 401, "invalid_client")

    def test_assertion_signed_with_another_key(self, client, user, app):
        code = code_for(client, user, app)
        other = private_key("RSA", kid=KEY.get("kid") + "-impostor")
        assertion = client_assertion(app.client_id, other, "PS256", aud=TOKEN_ENDPOINT, kid=None)

        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")

    def test_alg_none_is_refused(self, client, user, app):
        code = code_for(client, user, app)
        assertion = unsigned_jwt(assertion_claims(app.client_id, aud=TOKEN_ENDPOINT))

        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")

    def test_wrong_assertion_type_is_refused(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, **assertion_params(assertion, "urn:example:other")))

        assert_token_error(response, 401, "invalid_client")

    def test_another_clients_code_is_invalid_grant(self, client, user, app):
        code = code_for(client, user, app)
        other_key = private_key("EC", kid="token-endpoint-other-client")
        other = jwt_client(other_key)

        assertion = client_assertion(other.client_id, other_key, "ES256", aud=TOKEN_ENDPOINT)
        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(response, 400, "invalid_grant")

    def test_client_id_in_the_body_of_another_client_is_refused_rfc7521_4_2(self, client, user, app):
        code = code_for(client, user, app)
        other = ConfidentialApplicationFactory()
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, client_id=other.client_id, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")

    def test_matching_client_id_in_the_body_is_accepted(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, client_id=app.client_id, **assertion_params(assertion)))

        assert response.status_code == 200, response.content

    def test_assertion_and_basic_header_together_rfc6749_2_3(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(
            client, code_grant(code, **assertion_params(assertion)), authorization=basic_auth(app.client_id, CLIENT_SECRET)
        )

        assert_token_error(response, 401, "invalid_client")

    def test_assertion_and_client_secret_together_rfc6749_2_3(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, client_secret=CLIENT_SECRET, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")


@pytest.mark.usefixtures("assertion_validator")
class TestRegisteredMethodAtTheTokenEndpoint:
    """ClientMetadata.token_endpoint_auth_method binds the token endpoint as it binds the PAR endpoint."""

    def test_private_key_jwt_client_cannot_use_its_secret(self, client, user, app):
        code = code_for(client, user, app)

        response = token_request(client, code_grant(code), authorization=basic_auth(app.client_id, CLIENT_SECRET))

        assert_token_error(response, 401, "invalid_client")

    def test_client_secret_basic_client_cannot_use_an_assertion(self, client, user):
        key = private_key("EC", kid="basic-only-client")
        application = jwt_client(key, method="")
        code = log_in_and_consent(Browser(), user, application, pkj_push(client, application, key))
        metadata = ClientMetadata.objects.get(application=application)
        metadata.token_endpoint_auth_method = "client_secret_basic"
        metadata.save()  # save(), as the admin does: it evicts the cached client

        assertion = client_assertion(application.client_id, key, "ES256", aud=TOKEN_ENDPOINT)
        refused = token_request(client, code_grant(code, **assertion_params(assertion)))
        assert_token_error(refused, 401, "invalid_client")

        accepted = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET))
        assert accepted.status_code == 200, accepted.content

    def test_client_secret_post_client_cannot_use_basic(self, client, user):
        application = ConfidentialApplicationFactory()
        ClientMetadata.objects.create(application=application, token_endpoint_auth_method="client_secret_post")
        code = log_in_and_consent(Browser(), user, application, push_request_with_post(client, application))

        refused = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET))
        assert_token_error(refused, 401, "invalid_client")

        accepted = token_request(client, code_grant(code, client_id=application.client_id, client_secret=CLIENT_SECRET))
        assert accepted.status_code == 200, accepted.content

    def test_fapi2_requires_private_key_jwt(self, client, user, settings):
        application = ConfidentialApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))
        settings.DJANGO_PAR = {"FAPI2_SECURITY_PROFILE": True}

        response = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET))

        assert_token_error(response, 401, "invalid_client")


@pytest.mark.usefixtures("assertion_validator")
class TestOtherMethodsWithTheValidator:
    def test_client_secret_jwt(self, client, user):
        key = jwk.JWK(kty="oct", k=b64url(SECRET.encode()))
        application = PlainSecretApplicationFactory(client_secret=SECRET)
        ClientMetadata.objects.create(application=application, token_endpoint_auth_method="client_secret_jwt")
        code = log_in_and_consent(Browser(), user, application, pkj_push(client, application, key, "HS256"))

        assertion = client_assertion(application.client_id, key, "HS256", aud=TOKEN_ENDPOINT)
        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert response.status_code == 200, response.content

    def test_client_secret_basic_still_works(self, client, user):
        application = ConfidentialApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))

        response = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET))

        assert response.status_code == 200, response.content

    def test_wrong_secret_is_still_refused(self, client, user):
        application = ConfidentialApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))

        response = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, "wrong"))

        assert_token_error(response, 401, "invalid_client")


class TestWithoutTheValidator:
    def test_dots_validator_does_not_accept_assertions(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")



def push_request_with_post(client: Client, application: Any) -> str:
    """Push flow_helpers' code request with client_secret_post; the request_uri."""
    form = {
        **code_request(application, code_challenge=CODE_CHALLENGE, state=STATE, nonce=NONCE),
        "client_secret": CLIENT_SECRET,
    }
    response = push_form(client, form)
    assert_pushed(response)
    return str(response.json()["request_uri"])
