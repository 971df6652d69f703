"""System checks W001/W002: is django_par wired into the URLconf?

Without django_par's authorization view in front of DOT's, a request_uri
would be silently ignored and the browser's query processed as a plain request.
"""

from __future__ import annotations

import pytest
from django.core.checks import Warning, run_checks
from django.test import override_settings

from django_par.checks import check_hooks_installed
from tests.helpers.flow_helpers import STATE, Browser, authorization_response, authorize_url, push_request

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]


def warning_ids() -> list[str]:
    return [message.id for message in check_hooks_installed(None) if message.id]


def test_the_test_urlconf_has_no_warning() -> None:
    assert warning_ids() == []


@override_settings(ROOT_URLCONF="tests.urls_without_hooks")
def test_dot_serving_authorize_is_w001() -> None:
    [warning] = check_hooks_installed(None)
    assert isinstance(warning, Warning)
    assert warning.id == "django_par.W001"
    assert "request_uri would be ignored" in warning.msg
    assert "django_par.urls" in warning.hint


@override_settings(ROOT_URLCONF="tests.urls_dot_first")
def test_dot_urls_included_before_django_par_is_w001() -> None:
    assert warning_ids() == ["django_par.W001"]


@override_settings(ROOT_URLCONF="tests.urls_dot_only")
def test_no_django_par_urls_is_w001_and_w002() -> None:
    assert warning_ids() == ["django_par.W001", "django_par.W002"]


@override_settings(ROOT_URLCONF="tests.urls_own_view")
def test_a_sites_own_view_with_the_mixin_has_no_warning() -> None:
    assert warning_ids() == []


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.urls_own_view")
def test_a_sites_own_view_with_the_mixin_resolves_request_uri(
    logged_in_browser: Browser, skip_consent_app: object
) -> None:
    request_uri = push_request(skip_consent_app, scope="read", nonce=None)
    answer = authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    assert answer["state"] == STATE


@pytest.mark.parametrize(
    ("urlconf", "expected"),
    [("tests.urls", set()), ("tests.urls_without_hooks", {"django_par.W001"})],
)
def test_registered_with_djangos_check_framework(urlconf: str, expected: set[str]) -> None:
    with override_settings(ROOT_URLCONF=urlconf):
        ids = {message.id for message in run_checks(tags=["urls"]) if message.id.startswith("django_par.")}
    assert ids == expected
