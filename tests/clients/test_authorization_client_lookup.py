"""DOT's authorization endpoint finds the client in django_par's client cache
(django_par.clients.validator.CachedClientMixin): oauthlib's validate_client_id costs no
query, DOT's own check of the client still runs, and a saved client is seen at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_application_model

from tests.helpers.flow_helpers import Browser, plain_url
from tests.helpers.jwt_helpers import assertion_validator, dot_validator  # noqa: F401  (fixture)

pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("assertion_validator")]


def application_reads(browser: Browser, url: str) -> tuple[Any, int]:
    table = connection.ops.quote_name(get_application_model()._meta.db_table)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    reads = [q for q in queries if q["sql"].startswith("SELECT") and f"FROM {table}" in q["sql"]]
    return response, len(reads)


def test_the_authorization_page_reads_the_client_once_not_twice(
    logged_in_browser: Browser, confidential_app: Any, settings: Any
) -> None:
    logged_in_browser.get(plain_url(confidential_app))  # the client cache now holds it
    page, ours = application_reads(logged_in_browser, plain_url(confidential_app))
    with dot_validator(settings, "oauth2_provider.oauth2_validators.OAuth2Validator"):
        dots_page, dots = application_reads(logged_in_browser, plain_url(confidential_app))

    assert page.status_code == dots_page.status_code == 200
    assert b'name="allow"' in page.content
    # DOT's validate_client_id queries, then DOT's view reads the client again for its page.
    assert (ours, dots) == (1, 2)


NEW_REDIRECT_URI = "https://client.example.org/new-callback"


def refused(response: Any) -> bool:
    return response.status_code == 400 and not response.has_header("Location")


def test_a_saved_client_is_seen_at_once(logged_in_browser: Browser, confidential_app: Any) -> None:
    url = plain_url(confidential_app, redirect_uri=NEW_REDIRECT_URI)
    assert refused(logged_in_browser.get(url))  # not registered (and the client is cached as it is)

    confidential_app.redirect_uris += f" {NEW_REDIRECT_URI}"
    confidential_app.save()  # evicts the cached client

    assert logged_in_browser.get(url).status_code == 200


def test_an_unknown_client_is_refused(logged_in_browser: Browser, confidential_app: Any) -> None:
    url = plain_url(confidential_app).replace(f"client_id={confidential_app.client_id}", "client_id=nobody")

    assert refused(logged_in_browser.get(url))
