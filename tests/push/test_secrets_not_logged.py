"""Client secrets never reach the logs nor the stored parameters (RFC 6749 §10.1)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any
from unittest import mock

import pytest
from django.core.signals import got_request_exception
from django.test import Client
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from django_par.models import PushedRequest
from tests.conftest import basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db

# Wrong secrets are secrets too: often a typo of the real one, or another client's.
WRONG_SECRET = "wrong-but-still-Secret-value-42"


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)  # every logger, every level: oauthlib and DOT log much at DEBUG
    return caplog


def logged_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    return "\n".join(parts)


def assert_not_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    assert caplog.records, "nothing was logged: the capture is not working"
    text = logged_text(caplog)
    for secret in secrets:
        assert secret not in text


def request_with_secret(application: Any, secret: str, how: str) -> tuple[dict[str, str], dict[str, str]]:
    """A push's form and headers carrying ``secret`` in a Basic header or in the body."""
    params = code_request(application)
    if how == "basic":
        return params, {"authorization": basic_auth(application.client_id, secret)}
    return {**params, "client_secret": secret}, {}


def assert_not_stored(*secrets: str) -> None:
    dumped = json.dumps([row.parameters for row in PushedRequest.objects.all()])
    for secret in secrets:
        assert secret not in dumped


def test_successful_basic_push(client, confidential_app, all_logs):
    header = basic_auth(confidential_app.client_id, CLIENT_SECRET)
    assert push(client, code_request(confidential_app), authorization=header).status_code == 201

    assert_not_logged(all_logs, CLIENT_SECRET, header.split()[1])
    assert_not_stored(CLIENT_SECRET)


def test_successful_post_push(client, confidential_app, all_logs):
    assert push(client, code_request(confidential_app, client_secret=CLIENT_SECRET)).status_code == 201

    assert_not_logged(all_logs, CLIENT_SECRET)
    assert_not_stored(CLIENT_SECRET)


@pytest.mark.parametrize("how", ["basic", "post"])
def test_failed_authentication(client, confidential_app, all_logs, how):
    params, headers = request_with_secret(confidential_app, WRONG_SECRET, how)

    assert push(client, params, **headers).status_code == 401

    assert_not_logged(all_logs, WRONG_SECRET)


def test_failed_validation_after_good_authentication(client, confidential_app, all_logs):
    params = code_request(confidential_app, client_secret=CLIENT_SECRET, redirect_uri="https://attacker.example/cb")
    assert push(client, params).status_code == 400

    assert_not_logged(all_logs, CLIENT_SECRET)
    assert not PushedRequest.objects.exists()


def test_two_methods_at_once(client, confidential_app, all_logs):
    params = code_request(confidential_app, client_secret=WRONG_SECRET)
    header = basic_auth(confidential_app.client_id, CLIENT_SECRET)
    assert push(client, params, authorization=header).status_code == 400

    assert_not_logged(all_logs, CLIENT_SECRET, WRONG_SECRET, header.split()[1])


@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
@pytest.mark.parametrize("how", ["basic", "post"])
def test_an_error_report_hides_the_secret(confidential_app, settings, how, debug):
    # A server error while the secret is being checked: Django's error report (500 page,
    # admin e-mails) shows the request and each frame's variables; the secret is in none.
    # Django's filter is off with DEBUG on: the PAR view's is on whatever DEBUG is.
    settings.DEBUG = debug
    params, headers = request_with_secret(confidential_app, CLIENT_SECRET, how)
    reports: list[str] = []

    def report(sender: Any, request: Any, **kwargs: Any) -> None:
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_html())

    got_request_exception.connect(report)
    try:
        with mock.patch("django_par.clients.secrets.check_password", side_effect=RuntimeError("the hasher broke")):
            response = push(Client(raise_request_exception=False), params, **headers)
    finally:
        got_request_exception.disconnect(report)

    assert response.status_code == 500
    (text,) = reports
    if debug:  # the technical 500 page the client itself receives
        text += response.content.decode()
        assert "the hasher broke" in response.content.decode()
    assert "the hasher broke" in text and "verify_client_secret" in text
    assert CLIENT_SECRET not in text
    assert basic_auth(confidential_app.client_id, CLIENT_SECRET).split()[1] not in text


def test_a_sites_own_report_filter_is_kept_and_made_active(confidential_app, settings):
    from django.views.debug import get_default_exception_reporter_filter

    settings.DEBUG = True
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = "tests.push.test_secrets_not_logged.SiteFilter"
    get_default_exception_reporter_filter.cache_clear()
    seen: list[Any] = []

    def report(sender: Any, request: Any, **kwargs: Any) -> None:
        seen.append(request.exception_reporter_filter)

    got_request_exception.connect(report)
    try:
        with mock.patch("django_par.clients.secrets.check_password", side_effect=RuntimeError("the hasher broke")):
            response = push(
                Client(raise_request_exception=False),
                {**code_request(confidential_app), "client_secret": CLIENT_SECRET},
            )
    finally:
        got_request_exception.disconnect(report)
        get_default_exception_reporter_filter.cache_clear()

    assert response.status_code == 500
    (used,) = seen
    assert isinstance(used, SiteFilter) and used.is_active(None)
    assert CLIENT_SECRET not in response.content.decode()
    assert "site-filter-was-here" in response.content.decode()


class SiteFilter(SafeExceptionReporterFilter):
    """A site's own filter: it shows a marker of its own in every report's settings."""

    def get_safe_settings(self) -> dict[str, Any]:
        return {**super().get_safe_settings(), "SITE_FILTER_MARKER": "site-filter-was-here"}
