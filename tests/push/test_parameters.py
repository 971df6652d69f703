"""Validation of the pushed parameters before anything is stored (RFC 9126 §2.1).

Each refusal asserts the status, the error code and part of the description,
and that nothing was stored.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from oauth2_provider.oauth2_validators import OAuth2Validator

from django_par.models import PushedRequest
from tests.conftest import CODE_CHALLENGE, assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import (
    CLIENT_SECRET,
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    ConfidentialApplicationFactory,
    PublicApplicationFactory,
)
from tests.helpers.jwt_helpers import dot_validator

pytestmark = pytest.mark.django_db


def dot_settings(**changes: Any) -> override_settings:
    """override_settings for OAUTH2_PROVIDER; DOT reloads its settings on setting_changed."""
    return override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, **changes})


def assert_refused(response: Any, error: str, description_part: str | None = None) -> None:
    assert_oauth_error(response, 400, error, description_part)
    assert not PushedRequest.objects.exists()


def assert_stored(response: Any) -> dict[str, str]:
    assert response.status_code == 201, response.content
    return PushedRequest.objects.get().parameters


@pytest.fixture
def implicit_app(db: None) -> Any:
    return ConfidentialApplicationFactory(authorization_grant_type="implicit")


@pytest.fixture
def push_as(client):
    """push_as(application, **overrides): push a code request with these changes, with client_secret_basic."""

    def _push(application: Any, **overrides: str | None) -> Any:
        authorization = basic_auth(application.client_id, CLIENT_SECRET)
        return push(client, code_request(application, **overrides), authorization=authorization)

    return _push


# DOT warns that the implicit grant is discouraged (RFC 9700); it is still allowed by default.
implicit_warning = pytest.mark.filterwarnings("ignore:The OAuth 2.0 implicit grant:DeprecationWarning")


class TestResponseType:
    def test_code(self, push_as, confidential_app):
        assert assert_stored(push_as(confidential_app))["response_type"] == "code"

    @implicit_warning
    def test_token_for_an_implicit_client(self, push_as, implicit_app):
        params = assert_stored(
            push_as(implicit_app, response_type="token", code_challenge=None, code_challenge_method=None)
        )
        assert params["response_type"] == "token"

    @implicit_warning
    def test_id_token_with_nonce_for_an_implicit_client(self, push_as, implicit_app):
        response = push_as(
            implicit_app,
            response_type="id_token",
            nonce="nonce-0123456789",
            code_challenge=None,
            code_challenge_method=None,
        )
        assert assert_stored(response)["response_type"] == "id_token"

    @pytest.mark.parametrize("response_type", ["code id_token", "code token", "code id_token token"])
    def test_hybrid_for_a_hybrid_client_when_oidc_is_on(self, push_as, hybrid_app, response_type):
        response = push_as(hybrid_app, response_type=response_type, nonce="nonce-0123456789")
        assert assert_stored(response)["response_type"] == response_type

    def test_token_for_a_code_client_is_unauthorized_client_rfc6749_4_2_2_1(self, push_as, confidential_app):
        response = push_as(confidential_app, response_type="token")
        assert_refused(response, "unauthorized_client", "response_type")

    def test_hybrid_for_a_code_client_is_unauthorized_client(self, push_as, confidential_app):
        response = push_as(confidential_app, response_type="code id_token", nonce="nonce-0123456789")
        assert_refused(response, "unauthorized_client")

    def test_unknown_response_type_is_unsupported_response_type(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, response_type="magic"), "unsupported_response_type", "not supported")

    def test_missing_response_type_is_refused(self, push_as, confidential_app):
        response = push_as(confidential_app, response_type=None)
        assert response.status_code == 400
        assert response.json()["error"] in {"invalid_request", "unsupported_response_type"}
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize("response_type", ["code id_token", "code token", "id_token"])
    def test_oidc_response_types_are_unsupported_when_oidc_is_off(self, push_as, hybrid_app, response_type):
        with dot_settings(OIDC_ENABLED=False):
            response = push_as(hybrid_app, response_type=response_type, nonce="nonce-0123456789", scope="read")
        assert_refused(response, "unsupported_response_type", "OpenID Connect")

    def test_code_still_works_when_oidc_is_off(self, push_as, confidential_app):
        with dot_settings(OIDC_ENABLED=False):
            response = push_as(confidential_app, scope="read")
        assert_stored(response)


class TestRedirectUri:
    def test_each_registered_uri_is_accepted(self, push_as, confidential_app):
        assert (
            assert_stored(push_as(confidential_app, redirect_uri=OTHER_REDIRECT_URI))["redirect_uri"]
            == OTHER_REDIRECT_URI
        )

    @pytest.mark.parametrize(
        "redirect_uri",
        [
            "https://attacker.example/callback",
            REDIRECT_URI + "/extra",
            REDIRECT_URI + "?next=https://attacker.example/",
            REDIRECT_URI.replace("https://", "http://"),
            REDIRECT_URI.replace("client.example.org", "client.example.org.attacker.example"),
            REDIRECT_URI.upper(),
        ],
    )
    def test_unregistered_uri_is_refused_exact_match(self, push_as, confidential_app, redirect_uri):
        assert_refused(push_as(confidential_app, redirect_uri=redirect_uri), "invalid_request", "redirect")

    def test_a_public_clients_loopback_uri_may_change_its_port_rfc8252_7_3(self, client):
        # (DOT before 3.4 allows this for 127.0.0.1 only, so IPv6 is tested on the matcher below.)
        application = PublicApplicationFactory(redirect_uris="http://127.0.0.1/cb")
        redirect_uri = "http://127.0.0.1:51004/cb"

        response = push(client, code_request(application, redirect_uri=redirect_uri))

        assert assert_stored(response)["redirect_uri"] == redirect_uri

    def test_a_confidential_clients_loopback_port_is_exact_rfc8252_7_3_is_for_native_apps(self, push_as):
        application = ConfidentialApplicationFactory(redirect_uris="http://127.0.0.1/cb")

        response = push_as(application, redirect_uri="http://127.0.0.1:51004/cb")

        assert_refused(response, "invalid_request", "exactly match")

    @override_settings(DJANGO_PAR={"LOOPBACK_ANY_PORT_FOR_CONFIDENTIAL_CLIENTS": True})
    def test_a_setting_lets_confidential_clients_change_the_loopback_port(self, push_as):
        application = ConfidentialApplicationFactory(redirect_uris="http://127.0.0.1/cb")
        redirect_uri = "http://127.0.0.1:51004/cb"

        assert assert_stored(push_as(application, redirect_uri=redirect_uri))["redirect_uri"] == redirect_uri

    @pytest.mark.parametrize(
        "redirect_uri", ["http://127.0.0.1:51004/other", "https://127.0.0.1:51004/cb", "http://localhost:51004/cb"]
    )
    def test_only_the_loopback_port_may_change(self, client, redirect_uri):
        application = PublicApplicationFactory(redirect_uris="http://127.0.0.1/cb")

        response = push(client, code_request(application, redirect_uri=redirect_uri))

        assert_refused(response, "invalid_request", "redirect")

    @pytest.mark.parametrize(
        ("redirect_uri", "description"),
        [
            # RFC 3986 §7.6: the host is evil.example, not 127.0.0.1.
            ("http://127.0.0.1:8200@evil.example/cb", "user information"),
            ("http://user@127.0.0.1:8200/cb", "user information"),
            ("http://127.0.0.1:99999/cb", "bad host or port"),
            ("http://127.0.0.1:+80/cb", "bad host or port"),
            ("http://127.0.0.1:8o/cb", "bad host or port"),
            ("http://[::1/cb", "bad host or port"),
            ("http://[::1]x:80/cb", "bad host or port"),
        ],
    )
    def test_a_uri_read_two_ways_is_invalid_request_not_a_500(self, client, redirect_uri, description):
        application = PublicApplicationFactory(redirect_uris="http://127.0.0.1/cb")

        response = push(client, code_request(application, redirect_uri=redirect_uri))

        assert_refused(response, "invalid_request", description)

    def test_user_information_is_refused_even_when_registered(self, push_as):
        redirect_uri = "https://user@client.example.org/callback"
        application = ConfidentialApplicationFactory(redirect_uris=redirect_uri)

        assert_refused(push_as(application, redirect_uri=redirect_uri), "invalid_request", "user information")

    def test_userinfo_is_refused_even_where_the_site_validator_would_accept_it(self, settings, client):
        application = PublicApplicationFactory(redirect_uris="http://127.0.0.1/cb")

        with dot_validator(settings, f"{__name__}.AnyRedirectValidator"):
            response = push(client, code_request(application, redirect_uri="http://127.0.0.1:8200@evil.example/cb"))

        assert_refused(response, "invalid_request", "user information")

    def test_omitted_with_several_registered_is_refused(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, redirect_uri=None), "invalid_request")

    def test_omitted_with_one_registered_uses_it(self, push_as):
        application = ConfidentialApplicationFactory(redirect_uris=REDIRECT_URI)
        assert_stored(push_as(application, redirect_uri=None))


class TestScope:
    def test_known_scopes_are_stored(self, push_as, confidential_app):
        assert assert_stored(push_as(confidential_app, scope="openid read write"))["scope"] == "openid read write"

    @pytest.mark.parametrize("scope", ["admin", "openid admin", "READ"])
    def test_unknown_scope_is_invalid_scope_rfc6749_4_1_2_1(self, push_as, confidential_app, scope):
        assert_refused(push_as(confidential_app, scope=scope), "invalid_scope", "scope")


class TestPkce:
    """RFC 7636: code_challenge_method is plain or S256; absent means plain."""

    def test_s256(self, push_as, confidential_app):
        params = assert_stored(push_as(confidential_app))
        assert (params["code_challenge"], params["code_challenge_method"]) == (CODE_CHALLENGE, "S256")

    def test_plain(self, push_as, confidential_app):
        assert (
            assert_stored(push_as(confidential_app, code_challenge_method="plain"))["code_challenge_method"] == "plain"
        )

    def test_absent_method_means_plain_rfc7636_4_3(self, push_as, confidential_app):
        params = assert_stored(push_as(confidential_app, code_challenge_method=None))
        assert params["code_challenge"] == CODE_CHALLENGE
        assert params.get("code_challenge_method", "plain") == "plain"

    @pytest.mark.parametrize("method", ["S512", "s256", "none"])
    def test_unknown_method_is_refused(self, push_as, confidential_app, method):
        assert_refused(
            push_as(confidential_app, code_challenge_method=method), "invalid_request", "code_challenge_method"
        )

    def test_method_without_challenge_is_refused(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, code_challenge=None), "invalid_request", "without code_challenge")

    @pytest.mark.parametrize("challenge", ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 42 + "/"])
    def test_malformed_challenge_is_refused_rfc7636_4_2(self, push_as, confidential_app, challenge):
        assert_refused(push_as(confidential_app, code_challenge=challenge), "invalid_request", "code_challenge")

    def test_no_pkce_is_accepted_when_not_required(self, push_as, confidential_app):
        assert "code_challenge" not in assert_stored(
            push_as(confidential_app, code_challenge=None, code_challenge_method=None)
        )

    def test_dot_pkce_required_refuses_a_push_without_challenge(self, push_as, confidential_app):
        with dot_settings(PKCE_REQUIRED=True):
            response = push_as(confidential_app, code_challenge=None, code_challenge_method=None)
        assert_refused(response, "invalid_request", "challenge")

    def test_dot_pkce_required_accepts_a_challenge(self, push_as, confidential_app):
        with dot_settings(PKCE_REQUIRED=True):
            response = push_as(confidential_app)
        assert_stored(response)

    def test_dot_pkce_required_as_a_callable_per_client(self, push_as, confidential_app, plain_secret_app):
        def required_for_confidential(client_id: str) -> bool:
            return client_id == confidential_app.client_id

        with dot_settings(PKCE_REQUIRED=required_for_confidential):
            refused = push_as(confidential_app, code_challenge=None, code_challenge_method=None)
            accepted = push_as(plain_secret_app, code_challenge=None, code_challenge_method=None)
        assert refused.status_code == 400
        assert refused.json()["error"] == "invalid_request"
        assert accepted.status_code == 201, accepted.content


class TestStateAndNonce:
    def test_state_of_minimum_length_is_accepted(self, push_as, confidential_app):
        assert assert_stored(push_as(confidential_app, state="12345678"))["state"] == "12345678"

    def test_short_state_is_refused(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, state="1234567"), "invalid_request", "state must be at least 8")

    def test_short_nonce_is_refused(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, nonce="1234567"), "invalid_request", "nonce must be at least 8")

    def test_nonce_of_minimum_length_is_accepted(self, push_as, confidential_app):
        assert assert_stored(push_as(confidential_app, nonce="12345678"))["nonce"] == "12345678"

    @override_settings(DJANGO_PAR={"STATE_MIN_LENGTH": 16, "NONCE_MIN_LENGTH": 20})
    def test_minimum_lengths_follow_the_settings(self, push_as, confidential_app):
        short_state = push_as(confidential_app, state="x" * 15)
        short_nonce = push_as(confidential_app, state="x" * 16, nonce="n" * 19)
        assert_oauth_error(short_state, 400, "invalid_request", "at least 16")
        assert_oauth_error(short_nonce, 400, "invalid_request", "at least 20")
        assert_stored(push_as(confidential_app, state="x" * 16, nonce="n" * 20))

    @pytest.mark.parametrize("response_type", ["code id_token", "code id_token token"])
    def test_nonce_is_required_with_id_token_oidc_core_3_3_2_11(self, push_as, hybrid_app, response_type):
        assert_refused(push_as(hybrid_app, response_type=response_type), "invalid_request", "nonce is required")

    @implicit_warning
    def test_nonce_is_required_for_implicit_id_token_oidc_core_3_2_2_1(self, push_as, implicit_app):
        response = push_as(implicit_app, response_type="id_token", code_challenge=None, code_challenge_method=None)
        assert_refused(response, "invalid_request", "nonce is required")

    def test_nonce_is_optional_for_code(self, push_as, confidential_app):
        assert "nonce" not in assert_stored(push_as(confidential_app))


class TestPrompt:
    """OIDC Core §3.1.2.1."""

    @pytest.mark.parametrize("prompt", ["none", "login", "consent", "select_account", "login consent"])
    def test_known_values_are_accepted(self, push_as, confidential_app, prompt):
        assert assert_stored(push_as(confidential_app, prompt=prompt))["prompt"] == prompt

    @pytest.mark.parametrize("prompt", ["none login", "consent none"])
    def test_none_with_another_value_is_refused(self, push_as, confidential_app, prompt):
        assert_refused(push_as(confidential_app, prompt=prompt), "invalid_request", "prompt=none cannot be combined")

    @pytest.mark.parametrize("prompt", ["bogus", "login bogus", "NONE"])
    def test_unknown_value_is_refused(self, push_as, confidential_app, prompt):
        assert_refused(push_as(confidential_app, prompt=prompt), "invalid_request", "Unsupported prompt value")

    def test_whitespace_only_prompt_is_refused(self, push_as, confidential_app):
        assert_refused(push_as(confidential_app, prompt="   "), "invalid_request", "prompt")


class TestMaxAge:
    @pytest.mark.parametrize("max_age", ["0", "3600", "9999999999"])
    def test_non_negative_integer_is_accepted(self, push_as, confidential_app, max_age):
        assert assert_stored(push_as(confidential_app, max_age=max_age))["max_age"] == max_age

    @pytest.mark.parametrize("max_age", ["-1", "1.5", "abc", "1e3", " 10", "²", "١٢", "1" * 11, "9" * 5000])
    def test_anything_else_is_refused(self, push_as, confidential_app, max_age):
        assert_refused(
            push_as(confidential_app, max_age=max_age), "invalid_request", "max_age must be a non-negative integer"
        )


class TestClaims:
    def test_json_object_is_stored_verbatim(self, push_as, confidential_app):
        claims = json.dumps({"userinfo": {"email": {"essential": True}}, "id_token": {"auth_time": None}})
        assert assert_stored(push_as(confidential_app, claims=claims))["claims"] == claims

    @pytest.mark.parametrize("claims", ["[1, 2]", '"text"', "42", "null"])
    def test_json_that_is_not_an_object_is_refused(self, push_as, confidential_app, claims):
        assert_refused(push_as(confidential_app, claims=claims), "invalid_request", "claims must be a JSON object")

    @pytest.mark.parametrize("claims", ["{bad", "{'single': 'quotes'}"])
    def test_invalid_json_is_refused(self, push_as, confidential_app, claims):
        assert_refused(push_as(confidential_app, claims=claims), "invalid_request", "claims is not valid JSON")


class TestLoginHint:
    @pytest.mark.parametrize(
        "login_hint",
        ["alice", "alice@example.org", '{"username": "alice"}', '{"username": "alice", "realm": "staff"}'],
    )
    def test_plain_string_or_json_with_username(self, push_as, confidential_app, login_hint):
        assert assert_stored(push_as(confidential_app, login_hint=login_hint))["login_hint"] == login_hint

    @pytest.mark.parametrize(
        ("login_hint", "description_part"),
        [
            ('{"realm": "staff"}', "username"),
            ('{"username": ""}', "username"),
            ('{"username": 42}', "username"),
            ('{"username": "alice", "realm": 5}', "realm must be a string"),
            ("{not json", "login_hint is not valid JSON"),
        ],
    )
    def test_bad_json_hint_is_refused(self, push_as, confidential_app, login_hint, description_part):
        assert_refused(push_as(confidential_app, login_hint=login_hint), "invalid_request", description_part)


class TestResponseMode:
    @pytest.mark.parametrize(
        "mode", ["query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"]
    )
    def test_known_modes_are_accepted(self, push_as, confidential_app, mode):
        assert assert_stored(push_as(confidential_app, response_mode=mode))["response_mode"] == mode

    @pytest.mark.parametrize("mode", ["web_message", "QUERY", "query.JWT", "jwt.query"])
    def test_unknown_mode_is_refused(self, push_as, confidential_app, mode):
        assert_refused(push_as(confidential_app, response_mode=mode), "invalid_request", "response_mode")


class AnyRedirectValidator(OAuth2Validator):
    """A site validator that relaxes redirect URIs: django_par's own rule must still hold."""

    def validate_redirect_uri(self, client_id, redirect_uri, request, *args, **kwargs):
        return True


class SiteValidator(OAuth2Validator):
    """A site's own DOT validator: no client may ask for "write"; it notes what it was shown."""

    seen: list[dict[str, Any]] = []

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        SiteValidator.seen.append({"uri": request.uri, "client": client, "state": request.state})
        return "write" not in scopes and super().validate_scopes(client_id, scopes, client, request, *args, **kwargs)


class TestSiteValidator:
    """The push is checked through the site's OAUTH2_VALIDATOR_CLASS, as its authorization endpoint is."""

    @pytest.fixture(autouse=True)
    def site_validator(self, settings):
        SiteValidator.seen.clear()
        with dot_validator(settings, f"{__name__}.SiteValidator"):
            yield

    def test_its_refusal_refuses_the_push(self, push_as, confidential_app):
        # DOT's own validator accepts "write" (a scope of the test settings).
        assert_refused(push_as(confidential_app, scope="openid write"), "invalid_scope")

    def test_what_it_accepts_is_stored(self, push_as, confidential_app):
        assert assert_stored(push_as(confidential_app, scope="openid read"))["scope"] == "openid read"

    def test_it_is_shown_the_request_as_dot_shows_it(self, push_as, confidential_app):
        push_as(confidential_app)

        [seen] = SiteValidator.seen
        # A path, as DOT's OAuthLibCore passes it; the client already loaded, the pushed parameters.
        assert seen["uri"] == "/o/par/"
        assert seen["client"] == confidential_app
        assert seen["state"] == "state-0123456789"
