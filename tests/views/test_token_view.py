"""django_par's TokenView: DOT's token endpoint, with error reports that show no credential nor grant.

Django's error reports (the 500 page with DEBUG off, admin e-mails) show the
POST body and every frame's variables; DOT's view hides ``password`` (and, from
DOT 3.4, ``client_secret``) only. A code with its verifier, a refresh token or a
client assertion in a report would let its reader act as the client.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import path, resolve, reverse
from django.views.debug import ExceptionReporter
from oauth2_provider.views import TokenView as DotTokenView

from django_par.views.token import SENSITIVE_TOKEN_PARAMETERS, TokenView
from tests.conftest import FORM_CONTENT_TYPE, basic_auth
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator

pytestmark = pytest.mark.django_db

# For the control test below: DOT's own view at the same path.
urlpatterns = [path("o/token/", DotTokenView.as_view())]

# A distinctive value for each parameter, so that any leak is easy to find.
BODY = {
    "grant_type": "authorization_code",
    "code": "code-value-Hq3kP9",
    "code_verifier": "code-verifier-value-Zt8wL2-0123456789-abcdefghijklmno",
    "redirect_uri": "https://client.example.org/callback",
    "refresh_token": "refresh-token-value-Mx5rB7",
    "password": "password-value-Ya4nC1",
    "device_code": "device-code-value-Kp2sV6",
    "client_assertion": "client-assertion-value-Wd9fG3",
}


@contextmanager
def error_reports() -> Iterator[list[str]]:
    """The HTML of Django's error report for each exception a request raises."""
    reports: list[str] = []

    def report(sender: Any, request: Any, **kwargs: Any) -> None:
        reports.append(ExceptionReporter(request, *sys.exc_info()).get_traceback_html())

    got_request_exception.connect(report)
    try:
        yield reports
    finally:
        got_request_exception.disconnect(report)


def failing_token_request(body: dict[str, str], hasher_path: str, **headers: str) -> str:
    """POST ``body`` to /o/token/ while the secret check breaks; the error report, and the technical 500 page."""
    with error_reports() as reports, mock.patch(hasher_path, side_effect=RuntimeError("the hasher broke")):
        response = Client(raise_request_exception=False).post(
            "/o/token/", data=urlencode(body), content_type=FORM_CONTENT_TYPE, headers=headers
        )
    assert response.status_code == 500
    (text,) = reports
    assert "the hasher broke" in text
    return text + response.content.decode()  # with DEBUG on, the page the client receives is a report too


def test_django_pars_view_serves_the_token_endpoint():
    assert resolve("/o/token/").func.view_class is TokenView
    assert reverse("oauth2_provider:token") == reverse("django_par:token") == "/o/token/"


def test_every_credential_and_grant_parameter_is_listed():
    required = {"client_secret", "client_assertion", "code", "code_verifier", "refresh_token", "password"}
    assert required <= set(SENSITIVE_TOKEN_PARAMETERS)


# With DOT's validator the secret is checked in oauth2_provider; with django_par's, in django_par.clients.secrets.
VALIDATORS = {
    "dot": (None, "oauth2_provider.oauth2_validators.check_password"),
    "django_par": (DJANGO_PAR_VALIDATOR, "django_par.clients.secrets.check_password"),
}


@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
@pytest.mark.parametrize("validator", VALIDATORS)
@pytest.mark.parametrize("how", ["basic", "post"])
def test_an_error_report_hides_credentials_and_grants(settings, validator, how, debug):
    # Django's filter is off with DEBUG on; the token view's is on whatever DEBUG is.
    validator_class, hasher_path = VALIDATORS[validator]
    settings.DEBUG = debug
    application = ConfidentialApplicationFactory()
    body = {name: value for name, value in BODY.items() if name != "client_assertion"}  # one method per request
    headers = {}
    if how == "basic":
        headers["authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
    else:
        body.update(client_id=application.client_id, client_secret=CLIENT_SECRET)

    with dot_validator(settings, validator_class) if validator_class else nullcontext():
        text = failing_token_request(body, hasher_path, **headers)

    # The frames of the secret check are in the report, with their variables hidden.
    assert "check_password" in text and "authenticate" in text
    for secret in [CLIENT_SECRET, *body.values()]:
        if secret not in (body["grant_type"], body["redirect_uri"], application.client_id):
            assert secret not in text
    assert basic_auth(application.client_id, CLIENT_SECRET).split()[1] not in text
    assert body["redirect_uri"] in text  # the body is shown, only its secrets are not


@pytest.mark.parametrize("debug", [False, True], ids=["debug off", "debug on"])
def test_an_error_report_hides_a_client_assertion(settings, debug):
    settings.DEBUG = debug
    application = ConfidentialApplicationFactory()
    body = {**BODY, "client_id": application.client_id, "client_assertion_type": "urn:example:any"}

    broken = mock.patch(
        "django_par.clients.validator.authenticate_client", side_effect=RuntimeError("the pipeline broke")
    )
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), error_reports() as reports, broken:
        response = Client(raise_request_exception=False).post(
            "/o/token/", data=urlencode(body), content_type=FORM_CONTENT_TYPE
        )

    assert response.status_code == 500
    (text,) = reports
    text += response.content.decode()
    assert "the pipeline broke" in text
    for name in SENSITIVE_TOKEN_PARAMETERS:
        if name in body:
            assert body[name] not in text, name


@pytest.mark.urls(__name__)
def test_dots_own_view_shows_the_code(settings):
    # The control: what django_par's view adds. DOT's view at /o/token/ leaves the code in the report.
    settings.DEBUG = False
    application = ConfidentialApplicationFactory()
    body = {**BODY, "client_id": application.client_id, "client_secret": CLIENT_SECRET}
    del body["client_assertion"]

    text = failing_token_request(body, "oauth2_provider.oauth2_validators.check_password")

    assert BODY["code"] in text
