"""Client authentication at the PAR endpoint (RFC 9126 §2, RFC 6749 §2.3)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import override_settings

from django_par.clients.base import AuthenticatedClient, ClientAuthBackend
from django_par.clients.registry import load_application
from django_par.models import PushedRequest
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.client_failures import assert_authentication_failed
from tests.helpers.factories import (
    CLIENT_SECRET,
    ClientMetadataFactory,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
)

pytestmark = pytest.mark.django_db

WRONG_SECRET = "not-the-secret-at-all"


def assert_invalid_client(response: Any, reason_part: str | None = None) -> dict:
    """A 401 invalid_client that names the Basic scheme (RFC 6749 §5.2, RFC 9110 §11.6.1).

    Its description is the one of every failure; ``reason_part`` is in the signalled reason.
    """
    body = assert_authentication_failed(response, reason_part)
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert 'realm="django-par"' in response["WWW-Authenticate"]
    assert not PushedRequest.objects.exists()
    return body


@pytest.fixture
def hasher_runs() -> Iterator[mock.MagicMock]:
    """Counts the runs of the (deliberately slow) password hasher; verify() runs encode() too."""
    with mock.patch.object(
        PBKDF2PasswordHasher, "encode", autospec=True, side_effect=PBKDF2PasswordHasher.encode
    ) as spy:
        yield spy


class TestClientSecretBasic:
    def test_hashed_secret_in_basic_header(self, client, confidential_app, basic):
        response = push(client, code_request(confidential_app), authorization=basic)

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().application == confidential_app

    def test_secret_stored_unhashed_hash_client_secret_false(self, client, plain_secret_app):
        response = push(
            client,
            code_request(plain_secret_app),
            authorization=basic_auth(plain_secret_app.client_id, CLIENT_SECRET),
        )

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().application == plain_secret_app

    def test_credentials_are_form_urlencoded_before_base64_rfc6749_2_3_1(self, client):
        secret = "p@ss:w+rd %é/&="
        application = PlainSecretApplicationFactory(client_id="client:with+odd chars", client_secret=secret)

        response = push(client, code_request(application), authorization=basic_auth(application.client_id, secret))

        assert response.status_code == 201, response.content

    def test_scheme_name_is_case_insensitive_rfc9110_11_1(self, client, confidential_app, basic):
        header = "bAsIc " + basic.split(" ", 1)[1]
        assert push(client, code_request(confidential_app), authorization=header).status_code == 201

    def test_wrong_secret_is_401_with_basic_challenge(self, client, confidential_app):
        response = push(
            client, code_request(confidential_app), authorization=basic_auth(confidential_app.client_id, WRONG_SECRET)
        )
        assert_invalid_client(response, "The client secret does not match")

    def test_wrong_secret_of_unhashed_client_is_401(self, client, plain_secret_app):
        response = push(
            client, code_request(plain_secret_app), authorization=basic_auth(plain_secret_app.client_id, WRONG_SECRET)
        )
        assert_invalid_client(response)

    def test_empty_secret_is_401(self, client, confidential_app):
        response = push(
            client, code_request(confidential_app), authorization=basic_auth(confidential_app.client_id, "")
        )
        assert_invalid_client(response)

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("Basic", id="no credentials"),
            pytest.param("Basic !!!not-base64!!!", id="not base64"),
            pytest.param("Basic " + base64.b64encode(b"no-colon-here").decode(), id="no colon"),
            pytest.param("Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(), id="not utf-8"),
            pytest.param("Basic Y2xp ZW50OnNlY3JldA==", id="space inside"),
        ],
    )
    def test_malformed_basic_header_is_401(self, client, confidential_app, header):
        response = push(client, code_request(confidential_app), authorization=header)
        assert_invalid_client(response)

    def test_unknown_client_and_wrong_secret_answer_alike(self, client, confidential_app):
        wrong_secret = push(
            client, code_request(confidential_app), authorization=basic_auth(confidential_app.client_id, WRONG_SECRET)
        )
        unknown_client = push(
            client, code_request(confidential_app), authorization=basic_auth("no-such-client", WRONG_SECRET)
        )

        assert_invalid_client(wrong_secret)
        assert_invalid_client(unknown_client)
        assert wrong_secret.json() == unknown_client.json()
        assert wrong_secret["WWW-Authenticate"] == unknown_client["WWW-Authenticate"]

    def test_matching_client_id_in_body_is_accepted(self, client, confidential_app, basic):
        params = code_request(confidential_app)  # carries client_id too
        assert params["client_id"] == confidential_app.client_id
        assert push(client, params, authorization=basic).status_code == 201

    def test_other_client_id_in_body_is_invalid_request(self, client, confidential_app, basic, public_app):
        params = code_request(confidential_app, client_id=public_app.client_id)
        response = push(client, params, authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "client_id does not match")
        assert not PushedRequest.objects.exists()

    def test_challenge_realm_follows_the_setting(self, client, confidential_app):
        with override_settings(DJANGO_PAR={"AUTHENTICATION_REALM": "example idp"}):
            response = push(
                client,
                code_request(confidential_app),
                authorization=basic_auth(confidential_app.client_id, WRONG_SECRET),
            )
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Basic realm="example idp"'


class TestClientSecretPost:
    def test_secret_in_body(self, client, confidential_app):
        response = push(client, code_request(confidential_app, client_secret=CLIENT_SECRET))

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().application == confidential_app

    def test_secret_in_body_of_unhashed_client(self, client, plain_secret_app):
        response = push(client, code_request(plain_secret_app, client_secret=CLIENT_SECRET))
        assert response.status_code == 201, response.content

    def test_wrong_secret_is_401_with_challenge(self, client, confidential_app):
        response = push(client, code_request(confidential_app, client_secret=WRONG_SECRET))
        assert_invalid_client(response, "The client secret does not match")

    def test_secret_without_client_id_is_401(self, client, confidential_app):
        response = push(client, code_request(confidential_app, client_id=None, client_secret=CLIENT_SECRET))
        assert_invalid_client(response)

    def test_unknown_client_and_wrong_secret_answer_alike(self, client, confidential_app):
        wrong_secret = push(client, code_request(confidential_app, client_secret=WRONG_SECRET))
        unknown_client = push(client, code_request(confidential_app, client_id="no-such", client_secret=WRONG_SECRET))

        assert_invalid_client(wrong_secret)
        assert_invalid_client(unknown_client)
        assert wrong_secret.json() == unknown_client.json()


class TestPublicClient:
    def test_public_client_by_client_id_alone_rfc6749_2_1(self, client, public_app):
        response = push(client, code_request(public_app))

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().application == public_app

    def test_unknown_client_id_alone_is_401(self, client, db):
        response = push(client, {"response_type": "code", "client_id": "no-such-client"})
        assert_invalid_client(response, "No usable client has this client_id")

    def test_confidential_client_without_secret_is_401(self, client, confidential_app):
        response = push(client, code_request(confidential_app))
        assert_invalid_client(response, "confidential client sent no credentials")

    def test_no_client_identification_at_all_is_401(self, client, confidential_app):
        response = push(client, code_request(confidential_app, client_id=None))
        assert_invalid_client(response, "did not authenticate")

    def test_public_client_never_runs_the_password_hasher(self, client, public_app, hasher_runs):
        response = push(client, code_request(public_app))

        assert response.status_code == 201, response.content
        assert hasher_runs.call_count == 0

    def test_unknown_public_client_never_runs_the_password_hasher(self, client, db, hasher_runs):
        response = push(client, {"response_type": "code", "client_id": "no-such-client"})

        assert response.status_code == 401
        assert hasher_runs.call_count == 0


class TestHasherWork:
    def test_hasher_spy_sees_a_secret_check(self, client, confidential_app, basic, hasher_runs):
        # The positive control of the "never runs the hasher" tests above.
        assert push(client, code_request(confidential_app), authorization=basic).status_code == 201
        assert hasher_runs.call_count == 1

    def test_an_unknown_client_id_never_runs_the_hasher(self, client, db, hasher_runs):
        # RFC 6749 §2.2: client ids are not secrets; a slow hash per made-up id would be a DoS lever.
        response = push(client, {"response_type": "code"}, authorization=basic_auth("no-such-client", WRONG_SECRET))

        assert_invalid_client(response)
        assert hasher_runs.call_count == 0


class TestVerifiedSecretCache:
    """A good hashed secret is checked slowly once, then against a keyed digest in the cache."""

    def test_a_good_secret_is_hashed_once(self, client, confidential_app, basic, hasher_runs):
        for _ in range(3):
            assert push(client, code_request(confidential_app), authorization=basic).status_code == 201
        assert hasher_runs.call_count == 1

    def test_a_wrong_secret_is_refused_without_hashing_once_the_good_one_is_known(
        self, client, confidential_app, basic, hasher_runs
    ):
        push(client, code_request(confidential_app), authorization=basic)
        hasher_runs.reset_mock()
        wrong = push(
            client, code_request(confidential_app), authorization=basic_auth(confidential_app.client_id, WRONG_SECRET)
        )

        assert_oauth_error(wrong, 401, "invalid_client")
        assert hasher_runs.call_count == 0

    def test_a_wrong_secret_is_never_cached_as_good(self, client, confidential_app, basic, hasher_runs):
        wrong_basic = basic_auth(confidential_app.client_id, WRONG_SECRET)
        assert push(client, code_request(confidential_app), authorization=wrong_basic).status_code == 401
        assert push(client, code_request(confidential_app), authorization=wrong_basic).status_code == 401
        assert hasher_runs.call_count == 2
        assert push(client, code_request(confidential_app), authorization=basic).status_code == 201

    def test_changing_the_secret_invalidates_the_cached_one(self, client, confidential_app, basic, hasher_runs):
        assert push(client, code_request(confidential_app), authorization=basic).status_code == 201
        confidential_app.client_secret = "a-brand-new-secret-a-brand-new-secret"
        confidential_app.save()

        old = push(client, code_request(confidential_app), authorization=basic)
        new = push(
            client,
            code_request(confidential_app),
            authorization=basic_auth(confidential_app.client_id, "a-brand-new-secret-a-brand-new-secret"),
        )

        assert_oauth_error(old, 401, "invalid_client")
        assert new.status_code == 201

    def test_the_cache_holds_no_secret(self, client, confidential_app, basic):
        from django_par.clients.cache import IN_PROCESS_CACHE

        push(client, code_request(confidential_app), authorization=basic)
        stored = [value for _expires, value in IN_PROCESS_CACHE._entries.values() if isinstance(value, str)]
        assert stored and all(CLIENT_SECRET not in value for value in stored)

    def test_a_ttl_of_zero_turns_the_cache_off(self, client, confidential_app, basic, hasher_runs, settings):
        settings.DJANGO_PAR = {"SECRET_CACHE_TTL": 0}
        for _ in range(2):
            assert push(client, code_request(confidential_app), authorization=basic).status_code == 201
        assert hasher_runs.call_count == 2


class TestOneMethodOnly:
    def test_basic_and_body_secret_together_is_invalid_request_rfc6749_2_3(self, client, confidential_app, basic):
        response = push(client, code_request(confidential_app, client_secret=CLIENT_SECRET), authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "More than one client authentication method")
        assert not PushedRequest.objects.exists()

    def test_body_secret_and_client_assertion_together_is_invalid_request(self, client, confidential_app):
        params = code_request(
            confidential_app,
            client_secret=CLIENT_SECRET,
            client_assertion="eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        assert_oauth_error(push(client, params), 400, "invalid_request", "More than one")

    def test_client_assertion_alone_without_a_backend_is_401(self, client, public_app):
        params = code_request(
            public_app,
            client_assertion="eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        )
        # A client assertion must not be taken for a public client's client_id alone.
        assert_invalid_client(push(client, params))


class TestRequiredAuthMethod:
    """ClientMetadata.token_endpoint_auth_method (RFC 7591 §2) limits a client to one method."""

    def test_basic_only_client_authenticates_with_basic(self, client, basic_only_app):
        response = push(
            client, code_request(basic_only_app), authorization=basic_auth(basic_only_app.client_id, CLIENT_SECRET)
        )
        assert response.status_code == 201, response.content

    def test_basic_only_client_is_refused_with_post(self, client, basic_only_app):
        response = push(client, code_request(basic_only_app, client_secret=CLIENT_SECRET))
        assert_invalid_client(response, "must authenticate with client_secret_basic")

    def test_post_only_client_is_refused_with_basic(self, client):
        application = ClientMetadataFactory(token_endpoint_auth_method="client_secret_post").application

        refused = push(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )
        accepted = push(client, code_request(application, client_secret=CLIENT_SECRET))

        assert_authentication_failed(refused, "must authenticate with client_secret_post")
        assert accepted.status_code == 201, accepted.content

    def test_jwt_only_client_cannot_use_a_secret(self, client):
        application = ClientMetadataFactory(token_endpoint_auth_method="private_key_jwt").application
        response = push(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )
        assert_invalid_client(response, "private_key_jwt")

    def test_public_client_with_method_none(self, client):
        application = ClientMetadataFactory(
            application=PublicApplicationFactory(), token_endpoint_auth_method="none"
        ).application
        assert push(client, code_request(application)).status_code == 201

    def test_blank_method_allows_any(self, client):
        application = ClientMetadataFactory(token_endpoint_auth_method="").application
        by_basic = push(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )
        by_post = push(client, code_request(application, client_secret=CLIENT_SECRET))
        assert (by_basic.status_code, by_post.status_code) == (201, 201)


class HeaderTokenBackend(ClientAuthBackend):
    """A test backend: ``X-Client-Token: <client_id>`` authenticates that client."""

    method = "test_header_token"

    def authenticate(self, request, params):
        client_id = request.headers.get("X-Client-Token")
        if client_id is None:
            return None
        application = load_application(client_id)
        if application is None:
            from django_par.errors import InvalidClient

            raise InvalidClient("Unknown token.")
        return AuthenticatedClient(application, self.method)


class TestPluggableBackends:
    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["tests.clients.test_pipeline.HeaderTokenBackend"]})
    def test_custom_backend_authenticates(self, client, confidential_app):
        response = push(client, code_request(confidential_app), x_client_token=confidential_app.client_id)

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().application == confidential_app

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["tests.clients.test_pipeline.HeaderTokenBackend"]})
    def test_methods_not_configured_are_not_tried(self, client, confidential_app, public_app, basic):
        by_basic = push(client, code_request(confidential_app), authorization=basic)
        public = push(client, code_request(public_app))

        assert_invalid_client(by_basic, "did not authenticate")
        assert_invalid_client(public, "did not authenticate")

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": ["django_par.clients.secrets.ClientSecretBasic"]})
    def test_basic_only_configuration_refuses_post(self, client, confidential_app):
        response = push(client, code_request(confidential_app, client_secret=CLIENT_SECRET))
        assert_invalid_client(response)


class TestUnusableClient:
    def test_disabled_application_is_401(self, client, confidential_app, basic):
        with mock.patch.object(type(confidential_app), "is_usable", return_value=False):
            response = push(client, code_request(confidential_app), authorization=basic)
        assert_invalid_client(response)
