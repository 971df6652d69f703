"""The pushed login_hint reaches the login page through the session, never a URL."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django_par.flow.session import LOGIN_HINT_SESSION_KEY
from tests.helpers.flow_helpers import LOGIN_PATH, Browser, authorize_url, location, push_request

pytest_plugins = ["tests.helpers.flow_fixtures"]


def send_to_login(browser: Browser, application: Any, login_hint: str) -> str:
    request_uri = push_request(application, login_hint=login_hint)
    response = browser.get(authorize_url(application, request_uri))
    login_url = location(response)
    assert login_url.startswith(LOGIN_PATH)
    return login_url


def test_a_plain_hint_is_offered_to_the_login_page(browser: Browser, skip_consent_app: Any) -> None:
    login_url = send_to_login(browser, skip_consent_app, "hinted.user@example.com")

    page = browser.get(login_url)

    assert page.context["par_login_hint"] == "hinted.user@example.com"
    assert page.context["par_login_hint_realm"] == ""
    assert "hinted" not in login_url  # the next URL inside it too


def test_a_json_hint_gives_username_and_realm(browser: Browser, skip_consent_app: Any) -> None:
    hint = json.dumps({"realm": "cloudIdentityRealm", "username": "ada@example.com"})
    login_url = send_to_login(browser, skip_consent_app, hint)

    page = browser.get(login_url)

    assert page.context["par_login_hint"] == "ada@example.com"
    assert page.context["par_login_hint_realm"] == "cloudIdentityRealm"
    assert "ada" not in login_url and "cloudIdentityRealm" not in login_url


def test_no_hint_no_context(browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    page = browser.get(location(browser.get(authorize_url(skip_consent_app, request_uri))))

    assert "par_login_hint" not in page.context


def test_logging_in_clears_the_hint(browser: Browser, skip_consent_app: Any, user: Any) -> None:
    login_url = send_to_login(browser, skip_consent_app, "someone")
    assert browser.session[LOGIN_HINT_SESSION_KEY] == {"username": "someone"}

    browser.log_in(user, parse_qs(urlsplit(login_url).query)["next"][0])

    assert LOGIN_HINT_SESSION_KEY not in browser.session
