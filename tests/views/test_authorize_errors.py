"""A request_uri the authorization endpoint must refuse (RFC 9126 §4, §7.3).

Every refusal is an HTML error page: the request cannot be trusted, so its
redirect_uri is never used and no code is ever issued.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from django_par.models import PushedRequest
from tests.helpers.factories import ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    AUTHORIZE_PATH,
    Browser,
    assert_error_page,
    authorization_response,
    authorize_url,
    move_back_in_time,
    push_request,
    pushed_row,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = pytest.mark.django_db

State = PushedRequest.State


@pytest.fixture(params=["anonymous", "logged in"])
def any_browser(request: Any, user: Any) -> Browser:
    """The error comes first, whether or not the user is logged in."""
    browser = Browser()
    if request.param == "logged in":
        browser.force_login(user)
    return browser


def raw_authorize(query: dict[str, str]) -> str:
    return AUTHORIZE_PATH + "?" + urlencode(query)


def assert_nothing_issued() -> None:
    assert not get_grant_model().objects.exists()


@pytest.mark.parametrize(
    "request_uri",
    [
        "urn:ietf:params:oauth:request_uri:never-issued-by-this-server-0123456789abcdef",
        "urn:ietf:params:oauth:request_uri:",
    ],
)
def test_unknown_request_uri(any_browser: Browser, skip_consent_app: Any, request_uri: str) -> None:
    push_request(skip_consent_app)  # a real one exists; it is not this one
    response = any_browser.get(authorize_url(skip_consent_app, request_uri))
    assert_error_page(response, "invalid_request_uri")
    assert_nothing_issued()


@pytest.mark.parametrize(
    "forge",
    [
        lambda uri: uri.replace("urn:ietf:params:oauth:request_uri:", "urn:example:request_uri:"),
        lambda uri: uri.replace("urn:ietf:params:oauth:request_uri:", "https://attacker.example/request/"),
        lambda uri: uri.split(":")[-1],  # the random part alone
        lambda uri: "",
    ],
    ids=["other-urn", "https-url", "bare-reference", "empty"],
)
def test_request_uri_not_in_this_servers_form(any_browser: Browser, skip_consent_app: Any, forge: Any) -> None:
    request_uri = push_request(skip_consent_app)
    response = any_browser.get(authorize_url(skip_consent_app, forge(request_uri)))
    assert_error_page(response, "invalid_request_uri")
    assert_nothing_issued()
    assert pushed_row(request_uri).state == State.PUSHED


def test_expired_request_uri(any_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    PushedRequest.objects.filter(pk=pushed_row(request_uri).pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = any_browser.get(authorize_url(skip_consent_app, request_uri))
    assert_error_page(response, "invalid_request_uri")
    assert_nothing_issued()
    assert pushed_row(request_uri).state == State.PUSHED


@override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 5})
def test_request_uri_unused_for_longer_than_its_lifetime(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    row = pushed_row(request_uri)
    assert row.expires_at - row.created_at == timedelta(seconds=5)  # RFC 9126 §2.2 expires_in
    move_back_in_time(request_uri, 6)
    assert_error_page(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)), "invalid_request_uri")
    assert_nothing_issued()


@override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 5})
def test_request_uri_used_just_within_its_lifetime(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    move_back_in_time(request_uri, 4)
    authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))


def test_request_uri_pushed_by_another_client(any_browser: Browser, skip_consent_app: Any) -> None:
    # RFC 9126 §4: the client_id must be that of the client that pushed.
    other = ConfidentialApplicationFactory(skip_authorization=True)
    request_uri = push_request(skip_consent_app)
    response = any_browser.get(authorize_url(other, request_uri))
    assert_error_page(response, "invalid_request_uri")
    assert_nothing_issued()
    # The refusal did not start the flow: the rightful client can still use it.
    assert pushed_row(request_uri).state == State.PUSHED


def test_request_uri_with_an_unknown_client_id(any_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    response = any_browser.get(raw_authorize({"client_id": "no-such-client", "request_uri": request_uri}))
    assert_error_page(response, "invalid_request_uri")
    assert_nothing_issued()


def test_spent_request_uri(logged_in_browser: Browser, skip_consent_app: Any, any_browser: Browser) -> None:
    request_uri = push_request(skip_consent_app)
    url = authorize_url(skip_consent_app, request_uri)
    authorization_response(logged_in_browser.get(url))
    assert pushed_row(request_uri).state == State.CONSUMED

    # RFC 9126 §7.3: one authorization response per request_uri, for anyone.
    assert_error_page(logged_in_browser.get(url), "invalid_request_uri")
    assert_error_page(any_browser.get(url), "invalid_request_uri")
    assert get_grant_model().objects.count() == 1


@pytest.mark.parametrize("client_id", [None, ""], ids=["missing", "empty"])
def test_request_uri_without_client_id(any_browser: Browser, skip_consent_app: Any, client_id: str | None) -> None:
    # RFC 9126 §4: client_id is required beside request_uri.
    request_uri = push_request(skip_consent_app)
    query = {"request_uri": request_uri}
    if client_id is not None:
        query["client_id"] = client_id
    assert_error_page(any_browser.get(raw_authorize(query)), "invalid_request")
    assert_nothing_issued()
    assert pushed_row(request_uri).state == State.PUSHED


def test_request_and_request_uri_together(any_browser: Browser, skip_consent_app: Any) -> None:
    # OIDC Core §6.2 / RFC 9101 §5: one or the other, never both.
    request_uri = push_request(skip_consent_app)
    url = authorize_url(skip_consent_app, request_uri, request="eyJhbGciOiJub25lIn0.e30.")
    assert_error_page(any_browser.get(url), "invalid_request")
    assert_nothing_issued()
    assert pushed_row(request_uri).state == State.PUSHED


@pytest.mark.parametrize(
    "repeat",
    ["request_uri", "request_uri same value", "client_id", "client_id same value"],
)
def test_a_repeated_request_uri_or_client_id_rfc6749_3_1(
    any_browser: Browser, skip_consent_app: Any, repeat: str
) -> None:
    # As at the PAR endpoint: which copy would win is a parser's guess, so none does.
    first, second = push_request(skip_consent_app), push_request(skip_consent_app)
    client_id = skip_consent_app.client_id
    query = {
        "request_uri": [("request_uri", first), ("request_uri", second), ("client_id", client_id)],
        "request_uri same value": [("request_uri", first), ("request_uri", first), ("client_id", client_id)],
        "client_id": [("client_id", client_id), ("client_id", "another-client"), ("request_uri", first)],
        "client_id same value": [("client_id", client_id), ("request_uri", first), ("client_id", client_id)],
    }[repeat]

    response = any_browser.get(AUTHORIZE_PATH + "?" + urlencode(query))

    assert_error_page(response, "invalid_request")
    assert b"more than once" in response.content
    assert_nothing_issued()
    assert pushed_row(first).state == pushed_row(second).state == State.PUSHED


def test_consent_post_with_an_unknown_request_uri(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    forged = authorize_url(confidential_app, request_uri[:-4] + "AAAA")
    assert_error_page(logged_in_browser.consent(forged), "invalid_request_uri")
    assert_nothing_issued()


def test_consent_post_after_the_flow_expired(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    PushedRequest.objects.filter(pk=pushed_row(request_uri).pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error_page(logged_in_browser.consent(url), "invalid_request_uri")
    assert_nothing_issued()
