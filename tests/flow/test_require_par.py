"""Requiring pushed authorization requests (RFC 9126 §5, §6).

DJANGO_PAR["REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"] requires them of every
client; ClientMetadata.require_pushed_authorization_requests of one client.
The server setting is a floor: a client's False does not lift it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import override_settings
from oauth2_provider.models import get_grant_model

from tests.helpers.factories import ClientMetadataFactory, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    AUTHORIZE_PATH,
    STATE,
    Browser,
    assert_error_page,
    authorization_response,
    authorize_url,
    login_next,
    plain_request,
    plain_url,
    push_request,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = pytest.mark.django_db

REQUIRED = override_settings(DJANGO_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True})


def requiring_app() -> Any:
    return ClientMetadataFactory(require_pushed_authorization_requests=True).application


def assert_refused(response: Any) -> None:
    assert_error_page(response, "invalid_request")
    assert b"pushed authorization requests" in response.content
    assert not get_grant_model().objects.exists()


# -- the server setting --------------------------------------------------------------


@REQUIRED
def test_setting_refuses_a_plain_request(logged_in_browser: Browser, confidential_app: Any) -> None:
    assert_refused(logged_in_browser.get(plain_url(confidential_app)))


@REQUIRED
def test_setting_refuses_a_plain_request_before_any_login(browser: Browser, confidential_app: Any) -> None:
    assert_refused(browser.get(plain_url(confidential_app)))


@REQUIRED
def test_setting_refuses_a_plain_request_of_a_trusted_client(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    assert_refused(logged_in_browser.get(plain_url(skip_consent_app)))


@REQUIRED
def test_setting_is_a_floor_that_a_client_flag_does_not_lift(logged_in_browser: Browser) -> None:
    application = ClientMetadataFactory(require_pushed_authorization_requests=False).application
    assert_refused(logged_in_browser.get(plain_url(application)))


@REQUIRED
def test_setting_lets_pushed_requests_through(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    answer = authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    assert answer["state"] == STATE


@REQUIRED
def test_setting_refuses_a_consent_post_of_a_plain_request(logged_in_browser: Browser, confidential_app: Any) -> None:
    # The consent form's fields as DOT would have rendered them, posted without a query.
    form = {**plain_request(confidential_app), "allow": "Authorize"}
    assert_refused(logged_in_browser.post(AUTHORIZE_PATH, form))
    assert_refused(logged_in_browser.post(plain_url(confidential_app), form))


# -- the client flag -----------------------------------------------------------------


def test_client_flag_refuses_that_clients_plain_request(logged_in_browser: Browser, browser: Browser) -> None:
    application = requiring_app()
    assert_refused(logged_in_browser.get(plain_url(application)))
    assert_refused(browser.get(plain_url(application)))


def test_client_flag_refuses_that_clients_consent_post(logged_in_browser: Browser) -> None:
    application = requiring_app()
    form = {**plain_request(application), "allow": "Authorize"}
    assert_refused(logged_in_browser.post(AUTHORIZE_PATH, form))


def test_client_flag_lets_that_clients_pushed_requests_through(logged_in_browser: Browser) -> None:
    application = requiring_app()
    request_uri = push_request(application)
    url = authorize_url(application, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    assert authorization_response(logged_in_browser.consent(url))["state"] == STATE


def test_client_flag_leaves_other_clients_alone(logged_in_browser: Browser, browser: Browser) -> None:
    requiring_app()
    other = ConfidentialApplicationFactory()
    # A plain request of another client: DOT's usual consent page, or the login first.
    assert logged_in_browser.get(plain_url(other)).status_code == 200
    login_next(browser.get(plain_url(other)))
    form = {**plain_request(other), "allow": "Authorize"}
    answer = authorization_response(logged_in_browser.post(plain_url(other), form))
    assert answer["state"] == STATE


def test_without_setting_or_flag_plain_requests_work(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    ClientMetadataFactory(application=skip_consent_app, require_pushed_authorization_requests=False)
    answer = authorization_response(logged_in_browser.get(plain_url(skip_consent_app)))
    assert answer["state"] == STATE


@REQUIRED
def test_unknown_client_is_left_to_dot(logged_in_browser: Browser) -> None:
    # No client to hold to the rule: DOT's own error page, never a crash or a redirect.
    response = logged_in_browser.get(
        AUTHORIZE_PATH + "?" + urlencode({"client_id": "no-such-client", "response_type": "code"})
    )
    assert response.status_code == 400
    assert not response.has_header("Location")
