"""Shared fixtures and helpers of the django_par test suite."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import settings as hypothesis_settings

from tests.helpers.factories import (
    CLIENT_SECRET,
    REDIRECT_URI,
    ClientMetadataFactory,
    ConfidentialApplicationFactory,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
)

# Hypothesis profiles: "ci" (the default) runs a bounded, reproducible number of examples;
# "long" explores: HYPOTHESIS_PROFILE=long pytest tests/fuzz (see CONTRIBUTING.md).
# A test's own @settings(max_examples=...) still wins over the profile's.
hypothesis_settings.register_profile("ci", max_examples=100, deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.register_profile("long", max_examples=5000, deadline=None, print_blob=True)
# tox's PostgreSQL and MariaDB envs: the parsers' properties get their 100 examples in the three
# SQLite envs (every Python, Django and DOT line); with a server database, fewer, the same first ones.
hypothesis_settings.register_profile("server-db", max_examples=30, deadline=None, derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
# A PKCE code_challenge of the right shape (RFC 7636 §4.2: 43 to 128 characters).
CODE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def par_url() -> str:
    return reverse("django_par:par")


def basic_auth(client_id: str, secret: str) -> str:
    """An Authorization header value for client_secret_basic (RFC 6749 §2.3.1)."""
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def push(client: Client, data: Any, **headers: str) -> Any:
    """POST ``data`` to the PAR endpoint as a form.

    ``data`` is a dict, a list of pairs (to repeat a name) or an already encoded
    str / bytes body; ``headers`` are passed to the test client as request
    headers (``authorization=...``), ``content_type`` overrides the form type.
    """
    content_type = headers.pop("content_type", FORM_CONTENT_TYPE)
    body = data if isinstance(data, (str, bytes)) else urlencode(data)
    return client.post(par_url(), data=body, content_type=content_type, headers=headers)


def code_request(application: Any, **overrides: str | None) -> dict[str, str]:
    """Parameters of a valid authorization code request for ``application``.

    An override of ``None`` leaves the parameter out.
    """
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid read",
        "state": "state-0123456789",
        "code_challenge": CODE_CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def assert_oauth_error(response: Any, status: int, error: str, description_part: str | None = None) -> dict:
    """The response is an OAuth error (RFC 6749 §5.2) with this status and code, never cached."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    if description_part is not None:
        assert description_part in body["error_description"], body
    return body


@pytest.fixture
def confidential_app(db: None) -> Any:
    return ConfidentialApplicationFactory()


@pytest.fixture
def plain_secret_app(db: None) -> Any:
    return PlainSecretApplicationFactory()


@pytest.fixture
def public_app(db: None) -> Any:
    return PublicApplicationFactory()


@pytest.fixture
def hybrid_app(db: None) -> Any:
    return ConfidentialApplicationFactory(authorization_grant_type="openid-hybrid")


@pytest.fixture
def basic_only_app(db: None) -> Any:
    """A confidential client whose metadata allows client_secret_basic only."""
    return ClientMetadataFactory(token_endpoint_auth_method="client_secret_basic").application


@pytest.fixture
def basic(confidential_app: Any) -> str:
    """The Authorization header of ``confidential_app``."""
    return basic_auth(confidential_app.client_id, CLIENT_SECRET)


@pytest.fixture(autouse=True)
def _empty_caches() -> Iterator[None]:
    """Every test starts with empty in-process caches (verified secrets, fetched key sets).

    The shared Redis cache is left alone: clearing it would flush the whole
    database under concurrent runs; its tests use fresh random keys instead.
    """
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    from django_par.clients.cache import IN_PROCESS_CACHE

    IN_PROCESS_CACHE.clear()
    for cache in caches.all():
        if isinstance(cache, LocMemCache):
            cache.clear()
    yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``once_per_matrix`` tests are skipped where tox says they run in another env (tox.ini)."""
    elsewhere = os.environ.get("DJANGO_PAR_ONCE_PER_MATRIX_IN")
    if not elsewhere:
        return
    skip = pytest.mark.skip(reason=f"once per tox matrix: runs in {elsewhere}")
    for item in items:
        if item.get_closest_marker("once_per_matrix"):
            item.add_marker(skip)
