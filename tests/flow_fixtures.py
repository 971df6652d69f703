"""Fixtures of the authorization flow tests: a user, browsers, a trusted client.

A pytest plugin: test modules load it with ``pytest_plugins = ["tests.flow_fixtures"]``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import ConfidentialApplicationFactory, UserFactory
from tests.flow_helpers import HASHED_PASSWORD, Browser


@pytest.fixture
def user(db: None) -> Any:
    """A user who can log in with flow_helpers.PASSWORD."""
    return UserFactory(password=HASHED_PASSWORD)


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def logged_in_browser(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture
def skip_consent_app(db: None) -> Any:
    """A trusted client: DOT grants it without a consent page (skip_authorization)."""
    return ConfidentialApplicationFactory(skip_authorization=True)
