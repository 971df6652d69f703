"""Pushed prompt, max_age and response_mode honoured at the authorization endpoint.

OIDC Core §3.1.2.1 defines prompt and max_age; OAuth 2.0 Multiple Response
Type Encoding Practices §2 defines response_mode.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from oauth2_provider.models import get_grant_model

from django_par.flow.session import AUTH_TIME_SESSION_KEY
from django_par.models import PushedRequest
from tests.helpers.flow_helpers import (
    ISSUER,
    STATE,
    Browser,
    assert_error_page,
    assert_short_url,
    authorization_response,
    authorize_url,
    exchange_code,
    grant_prior_token,
    location,
    login_next,
    push_request,
    pushed_row,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = pytest.mark.django_db


def set_auth_time(browser: Browser, seconds_ago: float | None) -> None:
    """Pretend the browser's user logged in ``seconds_ago`` (None: time unknown)."""
    session = browser.session
    if seconds_ago is None:
        session.pop(AUTH_TIME_SESSION_KEY, None)
    else:
        session[AUTH_TIME_SESSION_KEY] = time.time() - seconds_ago
    session.save()


def assert_no_code_issued() -> None:
    assert not get_grant_model().objects.exists()


# -- prompt=login ----------------------------------------------------------------


def test_prompt_login_sends_a_logged_in_user_to_log_in_again_then_completes(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, prompt="login")
    url = authorize_url(confidential_app, request_uri)

    next_url = login_next(logged_in_browser.get(url))
    assert_short_url(next_url, confidential_app, request_uri)
    assert location(logged_in_browser.log_in(user, next_url)) == next_url

    # Back from the login: no second trip to the login page.
    assert logged_in_browser.get(next_url).status_code == 200
    assert logged_in_browser.get(next_url).status_code == 200  # a reload neither
    answer = authorization_response(logged_in_browser.consent(next_url))
    assert answer["state"] == STATE
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


def test_prompt_login_for_a_skip_authorization_client_completes_after_the_login(
    logged_in_browser: Browser, user: Any, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, prompt="login")
    url = authorize_url(skip_consent_app, request_uri)
    next_url = login_next(logged_in_browser.get(url))
    assert_no_code_issued()
    logged_in_browser.log_in(user, next_url)
    answer = authorization_response(logged_in_browser.get(next_url))
    assert answer["state"] == STATE


def test_prompt_login_for_an_anonymous_user_asks_for_one_login(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, prompt="login")
    url = authorize_url(confidential_app, request_uri)
    next_url = login_next(browser.get(url))
    browser.log_in(user, next_url)
    assert browser.get(next_url).status_code == 200
    assert authorization_response(browser.consent(next_url))["state"] == STATE


def test_a_login_from_before_the_flow_does_not_satisfy_prompt_login(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, prompt="login")
    url = authorize_url(confidential_app, request_uri)
    login_next(logged_in_browser.get(url))
    # The user logged in a minute ago (before this flow), not for it.
    set_auth_time(logged_in_browser, 60)
    login_next(logged_in_browser.get(url))
    login_next(logged_in_browser.consent(url))
    assert_no_code_issued()


# -- prompt=none -----------------------------------------------------------------


def test_prompt_none_anonymous_gives_login_required(browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, prompt="none")
    answer = authorization_response(browser.get(authorize_url(confidential_app, request_uri)))
    assert answer["error"] == "login_required"
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert "code" not in answer
    # That error was the request's authorization response: the request_uri is spent.
    assert pushed_row(request_uri).state == PushedRequest.State.CONSUMED
    assert_error_page(browser.get(authorize_url(confidential_app, request_uri)), "invalid_request_uri")


def test_prompt_none_error_honours_response_mode_fragment(browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, prompt="none", response_mode="fragment")
    answer = authorization_response(browser.get(authorize_url(confidential_app, request_uri)), in_fragment=True)
    assert answer["error"] == "login_required"
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER


def test_prompt_none_without_prior_consent_gives_consent_required(
    logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, prompt="none")
    answer = authorization_response(logged_in_browser.get(authorize_url(confidential_app, request_uri)))
    assert answer["error"] == "consent_required"
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert_no_code_issued()


def test_prompt_none_with_a_prior_token_for_fewer_scopes_gives_consent_required(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    grant_prior_token(user, confidential_app, "openid")
    request_uri = push_request(confidential_app, prompt="none", scope="openid read")
    answer = authorization_response(logged_in_browser.get(authorize_url(confidential_app, request_uri)))
    assert answer["error"] == "consent_required"
    assert_no_code_issued()


def test_prompt_none_with_a_prior_token_gives_a_code_without_ui(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    grant_prior_token(user, confidential_app, "openid read write")
    request_uri = push_request(confidential_app, prompt="none", scope="openid read")
    answer = authorization_response(logged_in_browser.get(authorize_url(confidential_app, request_uri)))
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    tokens = exchange_code(confidential_app, answer["code"]).json()
    assert set(tokens["scope"].split()) == {"openid", "read"}


def test_prompt_none_for_a_skip_authorization_client_gives_a_code_without_ui(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, prompt="none")
    answer = authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    assert answer["state"] == STATE
    assert exchange_code(skip_consent_app, answer["code"]).status_code == 200


def test_prompt_none_with_a_login_older_than_max_age_gives_login_required(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    set_auth_time(logged_in_browser, 600)
    request_uri = push_request(skip_consent_app, prompt="none", max_age="300")
    answer = authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    assert answer["error"] == "login_required"
    assert_no_code_issued()


# -- prompt=consent --------------------------------------------------------------


def test_prompt_consent_shows_the_consent_page_despite_a_prior_token(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    grant_prior_token(user, confidential_app, "openid read")
    request_uri = push_request(confidential_app, prompt="consent", approval_prompt="auto")
    url = authorize_url(confidential_app, request_uri)
    page = logged_in_browser.get(url)
    assert page.status_code == 200
    assert b'id="authorizationForm"' in page.content
    assert_no_code_issued()
    assert authorization_response(logged_in_browser.consent(url))["state"] == STATE


# -- max_age ---------------------------------------------------------------------


def test_a_login_older_than_max_age_forces_a_new_login_then_completes(
    logged_in_browser: Browser, user: Any, confidential_app: Any
) -> None:
    set_auth_time(logged_in_browser, 600)
    request_uri = push_request(confidential_app, max_age="300")
    url = authorize_url(confidential_app, request_uri)

    next_url = login_next(logged_in_browser.get(url))
    assert_short_url(next_url, confidential_app, request_uri)
    logged_in_browser.log_in(user, next_url)
    assert logged_in_browser.get(next_url).status_code == 200
    answer = authorization_response(logged_in_browser.consent(next_url))
    assert answer["state"] == STATE


def test_a_login_within_max_age_is_enough(logged_in_browser: Browser, confidential_app: Any) -> None:
    set_auth_time(logged_in_browser, 600)
    request_uri = push_request(confidential_app, max_age="3600")
    assert logged_in_browser.get(authorize_url(confidential_app, request_uri)).status_code == 200


def test_max_age_with_an_unknown_login_time_forces_a_login(logged_in_browser: Browser, confidential_app: Any) -> None:
    set_auth_time(logged_in_browser, None)
    request_uri = push_request(confidential_app, max_age="3600")
    login_next(logged_in_browser.get(authorize_url(confidential_app, request_uri)))


def test_max_age_zero_is_satisfied_by_the_login_done_for_this_flow(
    logged_in_browser: Browser, user: Any, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, max_age="0")
    url = authorize_url(skip_consent_app, request_uri)
    next_url = login_next(logged_in_browser.get(url))
    logged_in_browser.log_in(user, next_url)
    assert authorization_response(logged_in_browser.get(next_url))["state"] == STATE


# -- response_mode ---------------------------------------------------------------


def test_response_mode_fragment_after_the_consent_post(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, response_mode="fragment")
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    answer = authorization_response(logged_in_browser.consent(url), in_fragment=True)
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


def test_response_mode_fragment_on_cancel(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, response_mode="fragment")
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)
    answer = authorization_response(logged_in_browser.consent(url, allow=False), in_fragment=True)
    assert answer["error"] == "access_denied"
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER


def test_response_mode_fragment_without_consent_page(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app, response_mode="fragment")
    answer = authorization_response(
        logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), in_fragment=True
    )
    assert answer["state"] == STATE
    assert answer["iss"] == ISSUER
    assert "code" in answer


def test_response_mode_defaults_to_query_for_code(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri, response_mode="fragment")  # ignored: not pushed
    logged_in_browser.get(url)
    answer = authorization_response(logged_in_browser.consent(url))
    assert "code" in answer
