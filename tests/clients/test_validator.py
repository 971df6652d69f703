"""Client authentication at DOT's token endpoint, with django_par's validator.

OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "django_par.clients.validator.OAuth2Validator"
runs the PAR endpoint's pipeline at DOT's token endpoint (and its revocation and
introspection endpoints): a client that pushed with private_key_jwt (or
client_secret_jwt) redeems its code the same way (RFC 7523 §2.2), the jti replay
store is shared by both endpoints, each client's method policy holds at both, and
a hashed secret is checked the slow way once for both, then found in the
verified-secret cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from django_par.clients.cache import IN_PROCESS_CACHE
from django_par.models import ClientMetadata, UsedAssertion
from tests.conftest import FORM_CONTENT_TYPE, basic_auth, code_request
from tests.helpers.factories import (
    CLIENT_SECRET,
    ConfidentialApplicationFactory,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
    UserFactory,
)
from tests.helpers.flow_helpers import CODE_CHALLENGE, HASHED_PASSWORD, NONCE, STATE, Browser, jwt_claims, push_request
from tests.helpers.jwt_helpers import (
    ISSUER,
    PAR_ENDPOINT,
    TOKEN_ENDPOINT,
    assert_pushed,
    assertion_claims,
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

        response = token_request(
            client, code_grant(code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", aud=aud)))
        )

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
            data=code_grant(
                code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT))
            ),
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

        response = token_request(
            client, code_grant(code, **assertion_params(client_assertion(app.client_id, KEY, "PS256", **claims)))
        )

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
            client,
            code_grant(code, **assertion_params(assertion)),
            authorization=basic_auth(app.client_id, CLIENT_SECRET),
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

        accepted = token_request(
            client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )
        assert accepted.status_code == 200, accepted.content

    def test_client_secret_post_client_cannot_use_basic(self, client, user):
        application = ConfidentialApplicationFactory()
        ClientMetadata.objects.create(application=application, token_endpoint_auth_method="client_secret_post")
        code = log_in_and_consent(Browser(), user, application, push_request_with_post(client, application))

        refused = token_request(
            client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )
        assert_token_error(refused, 401, "invalid_client")

        accepted = token_request(client, code_grant(code, client_id=application.client_id, client_secret=CLIENT_SECRET))
        assert accepted.status_code == 200, accepted.content

    def test_fapi2_requires_private_key_jwt(self, client, user, settings):
        application = ConfidentialApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))
        settings.DJANGO_PAR = {"FAPI2_SECURITY_PROFILE": True}

        response = token_request(
            client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

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

        response = token_request(
            client, code_grant(code), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert response.status_code == 200, response.content

    def test_wrong_secret_is_still_refused(self, client, user):
        application = ConfidentialApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))

        response = token_request(client, code_grant(code), authorization=basic_auth(application.client_id, "wrong"))

        assert_token_error(response, 401, "invalid_client")


# -- hashed secrets, the method policy and the other endpoints ------------------------

REVOCATION_ENDPOINT = "/o/revoke_token/"
INTROSPECTION_ENDPOINT = "/o/introspect/"
WRONG_SECRET = "not-the-client-secret-0123456789"
NEW_SECRET = "the-rotated-client-secret-9876543210"
SECRET_METHODS = ["basic", "post"]


class SlowHashes:
    """How many times the PBKDF2 hash ran: each secret (or password) checked the slow way, by DOT or django_par."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counting_slow_hashes() -> Iterator[SlowHashes]:
    runs = SlowHashes()
    original = PBKDF2PasswordHasher.encode

    def encode(hasher: Any, password: str, salt: str, iterations: int | None = None) -> str:
        runs.count += 1
        return original(hasher, password, salt, iterations)

    # The test hasher inherits encode: patching the base class counts its runs too.
    with mock.patch.object(PBKDF2PasswordHasher, "encode", encode):
        yield runs


def forget_verified_secrets() -> None:
    """Empty the in-process cache (SECRET_CACHE_ALIAS None), as after a restart or SECRET_CACHE_TTL."""
    IN_PROCESS_CACHE.clear()


def post_with_secret(
    client: Client, application: Any, how: str, secret: str = CLIENT_SECRET, url: str = "/o/token/", **body: str
) -> Any:
    """POST ``body`` as a form to ``url`` with the client's secret in a Basic header or in the body."""
    headers = {}
    if how == "basic":
        headers["authorization"] = basic_auth(application.client_id, secret)
    else:
        body = {**body, "client_id": application.client_id, "client_secret": secret}
    return client.post(url, data=urlencode(body), content_type=FORM_CONTENT_TYPE, headers=headers)


def redeem(client: Client, application: Any, code: str, how: str, secret: str = CLIENT_SECRET) -> Any:
    return post_with_secret(client, application, how, secret, **code_grant(code))


def refresh(client: Client, application: Any, refresh_token: str, how: str, secret: str = CLIENT_SECRET) -> Any:
    return post_with_secret(client, application, how, secret, grant_type="refresh_token", refresh_token=refresh_token)


def secret_client_code(client: Client, user: Any, application: Any, how: str) -> str:
    """Push with the client's secret (Basic or in the body), log in and consent: the code."""
    request_uri = push_request(application) if how == "basic" else push_request_with_post(client, application)
    return log_in_and_consent(Browser(), user, application, request_uri)


def tokens_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return dict(response.json())


@pytest.mark.usefixtures("assertion_validator")
@pytest.mark.parametrize("how", SECRET_METHODS)
class TestVerifiedSecretCacheAtTheTokenEndpoint:
    """A hashed secret (DOT's default) costs one slow hash, shared by the PAR and token endpoints."""

    def test_the_push_pays_the_one_slow_hash_for_the_exchange_and_refreshes(self, client, user, how):
        application = ConfidentialApplicationFactory()
        with counting_slow_hashes() as push_hashes:
            request_uri = push_request(application) if how == "basic" else push_request_with_post(client, application)
        code = log_in_and_consent(Browser(), user, application, request_uri)  # the user's password: not counted

        with counting_slow_hashes() as token_hashes:
            tokens = tokens_of(redeem(client, application, code, how))
            tokens = tokens_of(refresh(client, application, tokens["refresh_token"], how))
            tokens_of(refresh(client, application, tokens["refresh_token"], how))

        assert push_hashes.count == 1
        assert token_hashes.count == 0

    def test_one_slow_hash_at_the_token_endpoint_then_none(self, client, user, how):
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, how)
        forget_verified_secrets()

        with counting_slow_hashes() as hashes:
            tokens = tokens_of(redeem(client, application, code, how))
            assert hashes.count == 1
            for _ in range(3):
                tokens = tokens_of(refresh(client, application, tokens["refresh_token"], how))

        assert hashes.count == 1

    def test_a_wrong_secret_is_refused_and_never_cached_as_good(self, client, user, how):
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, how)
        forget_verified_secrets()

        with counting_slow_hashes() as hashes:
            assert_token_error(redeem(client, application, code, how, WRONG_SECRET), 401, "invalid_client")
            assert hashes.count == 1
            # Still refused: nothing about the wrong secret was remembered.
            assert_token_error(redeem(client, application, code, how, WRONG_SECRET), 401, "invalid_client")
            assert hashes.count == 2
            tokens = tokens_of(redeem(client, application, code, how))
            assert hashes.count == 3
            assert_token_error(
                refresh(client, application, tokens["refresh_token"], how, WRONG_SECRET), 401, "invalid_client"
            )
            tokens_of(refresh(client, application, tokens["refresh_token"], how))

        # With the good secret cached, a wrong one is refused by the digest, without the slow hash.
        assert hashes.count == 3

    def test_after_the_secret_changes_the_old_one_no_longer_works(self, client, user, how):
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, how), how))
        application.client_secret = NEW_SECRET  # DOT's field stores its hash (hash_client_secret)
        application.save()  # as the admin does: evicts the cached client

        with counting_slow_hashes() as hashes:
            assert_token_error(refresh(client, application, tokens["refresh_token"], how), 401, "invalid_client")
            tokens = tokens_of(refresh(client, application, tokens["refresh_token"], how, NEW_SECRET))
            tokens_of(refresh(client, application, tokens["refresh_token"], how, NEW_SECRET))
            assert_token_error(refresh(client, application, tokens["refresh_token"], how), 401, "invalid_client")

        # The old secret against the new hash, then the new one once; the rest from the cache.
        assert hashes.count == 2


@pytest.mark.usefixtures("assertion_validator")
class TestMethodPolicyAtTheTokenEndpoint:
    """The PAR endpoint's rules on how a client authenticates, at DOT's token endpoint."""

    @pytest.mark.parametrize("how", SECRET_METHODS)
    def test_private_key_jwt_client_cannot_send_its_secret(self, client, user, app, how):
        code = code_for(client, user, app)

        assert_token_error(redeem(client, app, code, how), 401, "invalid_client")

        # The refused request did not spend the code.
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        assert token_request(client, code_grant(code, **assertion_params(assertion))).status_code == 200

    def test_two_methods_at_once_rfc6749_2_3(self, client, user):
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, "basic")

        both = token_request(
            client,
            code_grant(code, client_id=application.client_id, client_secret=CLIENT_SECRET),
            authorization=basic_auth(application.client_id, CLIENT_SECRET),
        )

        assert_token_error(both, 401, "invalid_client")
        assert redeem(client, application, code, "basic").status_code == 200

    def test_client_id_in_the_body_other_than_the_basic_one(self, client, user):
        application = ConfidentialApplicationFactory()
        other = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, "basic")

        response = token_request(
            client,
            code_grant(code, client_id=other.client_id),
            authorization=basic_auth(application.client_id, CLIENT_SECRET),
        )

        assert_token_error(response, 401, "invalid_client")
        assert redeem(client, application, code, "basic").status_code == 200

    def test_confidential_client_naming_itself_only(self, client, user):
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, "basic")

        response = token_request(client, code_grant(code, client_id=application.client_id))

        assert_token_error(response, 401, "invalid_client")

    @pytest.mark.parametrize("how", ["basic", "post", "client_id"])
    def test_unknown_client(self, client, user, how):
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, "basic")
        unknown = PublicApplicationFactory.build(client_id="no-such-client")

        with counting_slow_hashes() as hashes:
            if how == "client_id":
                response = token_request(client, code_grant(code, client_id=unknown.client_id))
            else:
                response = redeem(client, unknown, code, how)

        assert_token_error(response, 401, "invalid_client")
        assert hashes.count == 0  # client ids are not secrets: no hash for made-up ones

    def test_public_client_redeems_its_code_with_pkce(self, client, user):
        application = PublicApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))

        wrong_verifier = token_request(
            client, {**code_grant(code, client_id=application.client_id), "code_verifier": "x" * 43}
        )
        assert_token_error(wrong_verifier, 400, "invalid_grant")

        tokens = tokens_of(token_request(client, code_grant(code, client_id=application.client_id)))
        token = get_access_token_model().objects.get(token=tokens["access_token"])
        assert token.application == application and token.user == user
        refreshed = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": application.client_id,
        }
        tokens_of(token_request(client, refreshed))

    def test_public_client_is_held_to_the_policy_too(self, client, user, settings):
        # oauthlib identifies a public client through authenticate_client_id: the pipeline answers that too.
        application = PublicApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))
        settings.DJANGO_PAR = {"FAPI2_SECURITY_PROFILE": True}

        response = token_request(client, code_grant(code, client_id=application.client_id))

        assert_token_error(response, 401, "invalid_client")


@pytest.mark.usefixtures("assertion_validator")
class TestRevocationEndpoint:
    """DOT's revocation endpoint (RFC 7009 §2.1) authenticates clients through the same validator."""

    @pytest.mark.parametrize("how", SECRET_METHODS)
    def test_client_revokes_its_refresh_token_from_the_cache(self, client, user, how):
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, how), how))

        with counting_slow_hashes() as hashes:
            wrong = post_with_secret(
                client, application, how, WRONG_SECRET, REVOCATION_ENDPOINT, token=tokens["refresh_token"]
            )
            response = post_with_secret(
                client, application, how, url=REVOCATION_ENDPOINT, token=tokens["refresh_token"]
            )

        assert_token_error(wrong, 401, "invalid_client")
        assert response.status_code == 200, response.content
        assert hashes.count == 0
        assert_token_error(refresh(client, application, tokens["refresh_token"], how), 400, "invalid_grant")

    def test_private_key_jwt_client_revokes_with_an_assertion_not_its_secret(self, client, user, app):
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)
        tokens = tokens_of(
            token_request(client, code_grant(code_for(client, user, app), **assertion_params(assertion)))
        )
        revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}

        with_basic = revocation_request(client, revoke, authorization=basic_auth(app.client_id, CLIENT_SECRET))
        assert_token_error(with_basic, 401, "invalid_client")
        assert get_refresh_token_model().objects.get(token=tokens["refresh_token"]).revoked is None

        fresh = client_assertion(app.client_id, KEY, "PS256", aud=ISSUER)
        assert revocation_request(client, {**revoke, **assertion_params(fresh)}).status_code == 200
        assert get_refresh_token_model().objects.get(token=tokens["refresh_token"]).revoked is not None

    def test_public_client_revokes_with_its_client_id(self, client, user):
        application = PublicApplicationFactory()
        code = log_in_and_consent(Browser(), user, application, push_request(application))
        tokens = tokens_of(token_request(client, code_grant(code, client_id=application.client_id)))

        response = revocation_request(client, {"token": tokens["access_token"], "client_id": application.client_id})

        assert response.status_code == 200, response.content
        assert not get_access_token_model().objects.filter(token=tokens["access_token"]).exists()

    def test_unknown_client_is_refused(self, client, user):
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, "basic"), "basic"))

        response = revocation_request(client, {"token": tokens["access_token"], "client_id": "no-such-client"})

        assert_token_error(response, 401, "invalid_client")
        assert get_access_token_model().objects.filter(token=tokens["access_token"]).exists()


@pytest.mark.usefixtures("assertion_validator")
class TestIntrospectionEndpoint:
    """DOT's introspection endpoint asks the validator's authenticate_client directly."""

    def test_confidential_client_introspects_from_the_cache(self, client, user):
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, "basic"), "basic"))

        with counting_slow_hashes() as hashes:
            response = introspection_request(
                client,
                {"token": tokens["access_token"]},
                authorization=basic_auth(application.client_id, CLIENT_SECRET),
            )

        assert response.status_code == 200, response.content
        assert response.json()["active"] is True
        assert hashes.count == 0

    def test_a_client_id_alone_does_not_authenticate(self, client, user):
        # A public client's id is no credential: it must not let anyone read others' tokens (as with DOT's validator).
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, "basic"), "basic"))
        public = PublicApplicationFactory()

        response = introspection_request(client, {"token": tokens["access_token"], "client_id": public.client_id})

        assert response.status_code == 403, response.content
        assert b"active" not in response.content


def revocation_request(client: Client, data: dict[str, str], **headers: str) -> Any:
    return client.post(REVOCATION_ENDPOINT, data=urlencode(data), content_type=FORM_CONTENT_TYPE, headers=headers)


def introspection_request(client: Client, data: dict[str, str], **headers: str) -> Any:
    return client.post(INTROSPECTION_ENDPOINT, data=urlencode(data), content_type=FORM_CONTENT_TYPE, headers=headers)


class TestWithoutTheValidator:
    def test_dots_validator_does_not_accept_assertions(self, client, user, app):
        code = code_for(client, user, app)
        assertion = client_assertion(app.client_id, KEY, "PS256", aud=TOKEN_ENDPOINT)

        response = token_request(client, code_grant(code, **assertion_params(assertion)))

        assert_token_error(response, 401, "invalid_client")

    def test_dots_validator_pays_the_slow_hash_at_every_token_request(self, client, user):
        # The contrast the validator removes: DOT checks a hashed secret the slow way each time.
        application = ConfidentialApplicationFactory()
        code = secret_client_code(client, user, application, "basic")

        with counting_slow_hashes() as hashes:
            tokens = tokens_of(redeem(client, application, code, "basic"))
            tokens_of(refresh(client, application, tokens["refresh_token"], "basic"))

        assert hashes.count == 2

    def test_dots_validator_with_a_client_id_alone_at_introspection(self, client, user):
        application = ConfidentialApplicationFactory()
        tokens = tokens_of(redeem(client, application, secret_client_code(client, user, application, "basic"), "basic"))
        public = PublicApplicationFactory()

        response = introspection_request(client, {"token": tokens["access_token"], "client_id": public.client_id})

        assert response.status_code == 403, response.content


def push_request_with_post(client: Client, application: Any) -> str:
    """Push flow_helpers' code request with client_secret_post; the request_uri."""
    form = {
        **code_request(application, code_challenge=CODE_CHALLENGE, state=STATE, nonce=NONCE),
        "client_secret": CLIENT_SECRET,
    }
    response = push_form(client, form)
    assert_pushed(response)
    return str(response.json()["request_uri"])
