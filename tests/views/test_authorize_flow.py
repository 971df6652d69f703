"""A pushed request carried through DOT's authorization endpoint, end to end (RFC 9126 §4).

The client pushes; the browser is sent to /o/authorize/ with client_id and
request_uri only; the user logs in and consents; the client redeems the code.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_application_model, get_grant_model

from django_par.models import PushedRequest
from tests.helpers.factories import OTHER_REDIRECT_URI, REDIRECT_URI
from tests.helpers.flow_helpers import (
    CLAIMS,
    CLAIMS_MARKER,
    CODE_CHALLENGE,
    ISSUER,
    NONCE,
    STATE,
    Browser,
    assert_error_page,
    assert_short_url,
    authorization_response,
    authorize_url,
    exchange_code,
    grant_prior_token,
    jwt_claims,
    location,
    login_next,
    parse_forms,
    push_request,
    pushed_row,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = pytest.mark.django_db


def test_anonymous_user_logs_in_consents_and_the_client_gets_tokens(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, scope="openid read")
    url = authorize_url(confidential_app, request_uri)

    # Not logged in: to the login page, coming back to the short URL.
    next_url = login_next(browser.get(url))
    assert_short_url(next_url, confidential_app, request_uri)

    logged_in = browser.log_in(user, next_url)
    assert location(logged_in) == next_url

    consent_page = browser.get(next_url)
    assert consent_page.status_code == 200
    assert b'id="authorizationForm"' in consent_page.content

    answer = authorization_response(browser.consent(next_url, allow=True))
    assert set(answer) == {"code", "state", "iss"}
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER  # RFC 9207 §2

    token_response = exchange_code(confidential_app, answer["code"])
    assert token_response.status_code == 200, token_response.content
    tokens = token_response.json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "read"}
    assert tokens["access_token"]
    id_token = jwt_claims(tokens["id_token"])
    assert id_token["nonce"] == NONCE  # OIDC Core §3.1.3.7: the pushed nonce
    assert id_token["aud"] == confidential_app.client_id
    assert id_token["sub"] == str(user.pk)
    assert id_token["iss"] == ISSUER


def test_scope_without_openid_gives_an_access_token_without_id_token(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, scope="read write", nonce=None)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    answer = authorization_response(logged_in_browser.consent(url))

    tokens = exchange_code(confidential_app, answer["code"]).json()
    assert set(tokens["scope"].split()) == {"read", "write"}
    assert "id_token" not in tokens


def test_the_code_is_bound_to_the_pushed_code_challenge(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)
    code = authorization_response(logged_in_browser.consent(url))["code"]

    # RFC 7636 §4.6: a verifier that does not match the pushed challenge fails.
    wrong = exchange_code(confidential_app, code, verifier="x" * 43)
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"


def test_public_client_completes_the_flow_with_pkce(logged_in_browser: Browser, public_app: Any) -> None:
    request_uri = push_request(public_app, scope="read", nonce=None)
    url = authorize_url(public_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    code = authorization_response(logged_in_browser.consent(url))["code"]

    token_response = exchange_code(public_app, code)
    assert token_response.status_code == 200, token_response.content
    assert token_response.json()["scope"] == "read"


def test_cancel_on_the_consent_page_sends_access_denied(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)

    answer = authorization_response(logged_in_browser.consent(url, allow=False))
    assert answer["error"] == "access_denied"
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    assert not get_grant_model().objects.exists()
    # The denial was the request's one authorization response (RFC 9126 §7.3).
    assert pushed_row(request_uri).state == PushedRequest.State.CONSUMED


def test_skip_authorization_client_gets_a_code_without_consent_page(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app)
    answer = authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert exchange_code(skip_consent_app, answer["code"]).status_code == 200


def test_approval_prompt_auto_with_a_prior_token_skips_the_consent_page(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    grant_prior_token(user, confidential_app, "openid read")
    request_uri = push_request(confidential_app, approval_prompt="auto")
    answer = authorization_response(logged_in_browser.get(authorize_url(confidential_app, request_uri)))
    assert answer["state"] == STATE
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


def test_approval_prompt_auto_without_a_prior_token_shows_the_consent_page(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    grant_prior_token(user, confidential_app, "read")  # does not cover openid
    request_uri = push_request(confidential_app, approval_prompt="auto")
    assert logged_in_browser.get(authorize_url(confidential_app, request_uri)).status_code == 200


# -- the pushed parameters are authoritative (RFC 9126 §4) ------------------------


OVERRIDING_QUERY = {
    "redirect_uri": OTHER_REDIRECT_URI,  # registered too: DOT would accept it
    "state": "state-from-the-query",
    "scope": "write",
    "response_type": "token",
    "code_challenge": "q" * 43,
    "code_challenge_method": "plain",
    "nonce": "nonce-from-the-query",
    "response_mode": "fragment",
    "prompt": "none",
}


def test_parameters_beside_request_uri_are_ignored(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, scope="read", nonce=None)
    url = authorize_url(confidential_app, request_uri, **OVERRIDING_QUERY)

    page = logged_in_browser.get(url)
    assert page.status_code == 200  # no prompt=none answer: the pushed request has no prompt
    answer = authorization_response(logged_in_browser.consent(url))
    assert answer["state"] == STATE

    tokens = exchange_code(confidential_app, answer["code"]).json()
    assert tokens["scope"] == "read"


def test_parameters_beside_request_uri_are_ignored_without_consent_page(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, scope="openid read")
    response = logged_in_browser.get(authorize_url(skip_consent_app, request_uri, **OVERRIDING_QUERY))
    answer = authorization_response(response)  # query mode, REDIRECT_URI: the pushed ones
    assert answer["state"] == STATE

    tokens = exchange_code(skip_consent_app, answer["code"]).json()
    assert set(tokens["scope"].split()) == {"openid", "read"}
    assert jwt_claims(tokens["id_token"])["nonce"] == NONCE


def test_tampered_consent_post_fields_are_ignored(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, scope="read", nonce=None)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)

    response = logged_in_browser.consent(
        url,
        redirect_uri=OTHER_REDIRECT_URI,
        state="tampered-state-value",
        scope="read write",
        response_type="token",
        code_challenge="t" * 43,
        code_challenge_method="plain",
        client_id="someone-else",
    )
    answer = authorization_response(response)
    assert answer["state"] == STATE

    tokens = exchange_code(confidential_app, answer["code"]).json()
    assert tokens["scope"] == "read"


# -- the browser never sees the pushed parameters ----------------------------------


def pushed_values(application: Any) -> list[str]:
    """Values of the pushed request that must stay between client and server."""
    return [REDIRECT_URI, "client.example.org", STATE, NONCE, CODE_CHALLENGE, CLAIMS_MARKER, "openid profile", "S256"]


def assert_hidden(text: str, application: Any) -> None:
    for value in pushed_values(application):
        assert value not in text, f"{value!r} leaked into {text[:300]!r}"


def test_no_url_or_page_before_the_final_redirect_shows_pushed_parameters(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, scope="openid profile", claims=CLAIMS)
    url = authorize_url(confidential_app, request_uri)
    assert_hidden(url, confidential_app)

    to_login = browser.get(url)
    assert_hidden(location(to_login), confidential_app)
    next_url = login_next(to_login)
    assert_short_url(next_url, confidential_app, request_uri)

    back = browser.log_in(user, next_url)
    assert_hidden(location(back), confidential_app)

    consent_page = browser.get(location(back))
    assert consent_page.status_code == 200
    html = consent_page.content.decode()
    assert_hidden(html, confidential_app)

    forms = parse_forms(html)
    assert len(forms.forms) == 1
    # No action: the form posts back to the short URL the browser is on.
    assert forms.forms[0].get("action") in (None, "", next_url)
    filled = {
        field.get("name"): field.get("value")
        for field in forms.inputs
        if field.get("type") == "hidden" and field.get("value")
    }
    assert set(filled) == {"csrfmiddlewaretoken", "client_id"}
    assert filled["client_id"] == confidential_app.client_id

    # Only the final redirect, to the client, carries the response.
    answer = authorization_response(browser.consent(next_url))
    assert answer["state"] == STATE
    tokens = exchange_code(confidential_app, answer["code"]).json()
    id_token = jwt_claims(tokens["id_token"])
    assert id_token["nonce"] == NONCE


def test_reloading_the_login_redirect_and_consent_page_keeps_working(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert login_next(browser.get(url)) == login_next(browser.get(url))
    browser.log_in(user, url)
    for _ in range(3):
        assert browser.get(url).status_code == 200
    assert pushed_row(request_uri).state == PushedRequest.State.IN_USE
    answer = authorization_response(browser.consent(url))
    assert answer["state"] == STATE


def test_a_consent_page_of_a_pushed_request_reads_the_client_row_once(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    url = authorize_url(confidential_app, push_request(confidential_app))
    assert logged_in_browser.get(url).status_code == 200  # the client is in the client cache now
    table = get_application_model()._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        assert logged_in_browser.get(url).status_code == 200

    # DOT's view reads it once; its validator reuses the client django_par loaded.
    assert sum(1 for query in queries if table in query["sql"].split(" WHERE ")[0]) == 1


def test_the_consent_page_of_a_pushed_request_has_no_hidden_field_but_client_id(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    url = authorize_url(confidential_app, push_request(confidential_app, scope="openid read"))
    page = logged_in_browser.get(url)
    assert page.status_code == 200

    # Not even empty ones (the page above names those with a value only).
    hidden = [field.get("name") for field in parse_forms(page.content.decode()).inputs if field.get("type") == "hidden"]
    assert sorted(hidden) == ["client_id", "csrfmiddlewaretoken"]
    # ...and the POST still gets everything DOT needs, from the store.
    answer = authorization_response(logged_in_browser.consent(url))
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


def test_the_consent_post_of_a_pushed_request_reads_the_client_row_once(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    url = authorize_url(confidential_app, push_request(confidential_app))
    assert logged_in_browser.get(url).status_code == 200
    table = get_application_model()._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        answer = authorization_response(logged_in_browser.consent(url))

    # DOT's form_valid reads it once; oauthlib's validation reuses the client bound to the request_uri.
    assert sum(1 for query in queries if table in query["sql"].split(" WHERE ")[0]) == 1
    grant = get_grant_model().objects.get(code=answer["code"])
    assert grant.application_id == confidential_app.pk
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


def test_after_the_authorization_response_the_request_uri_is_spent(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)
    authorization_response(logged_in_browser.consent(url))

    assert_error_page(logged_in_browser.get(url), "invalid_request_uri")
    assert_error_page(logged_in_browser.consent(url), "invalid_request_uri")
    assert get_grant_model().objects.count() == 1
