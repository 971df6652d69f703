"""Rate limits at the PAR endpoint (RFC 9126 §2.3: 429 for a client over its allowed rate).

A per-client push rate (PUSH_RATE_LIMIT, ClientMetadata.push_rate_limit) and a cap
on unused request_uri values per client (MAX_OUTSTANDING_REQUEST_URIS,
ClientMetadata.max_outstanding_request_uris), for both stores.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from django_par.models import ClientMetadata
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET, ClientMetadataFactory, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import authorize_url, move_back_in_time

pytestmark = pytest.mark.django_db

CACHE_STORE = {"STORE": "django_par.flow.stores.CacheStore", "STORE_CACHE_ALIAS": "redis"}


def push_as(application: Any, secret: str = CLIENT_SECRET) -> Any:
    return push(Client(), code_request(application), authorization=basic_auth(application.client_id, secret))


def assert_429(response: Any, description_part: str, most_seconds: int) -> None:
    assert_oauth_error(response, 429, "invalid_request", description_part)
    assert 1 <= int(response["Retry-After"]) <= most_seconds


# -- the push rate --------------------------------------------------------------------------------


@override_settings(DJANGO_PAR={"PUSH_RATE_LIMIT": "2/60"})
def test_a_client_over_its_push_rate_gets_429() -> None:
    application, other = ConfidentialApplicationFactory(), ConfidentialApplicationFactory()
    assert [push_as(application).status_code for _ in range(2)] == [201, 201]
    assert_429(push_as(application), "2 pushed requests per 60 s", 60)
    assert push_as(other).status_code == 201  # per client


@override_settings(DJANGO_PAR={"PUSH_RATE_LIMIT": "1/60"})
def test_the_client_override_of_the_push_rate() -> None:
    generous = ClientMetadataFactory(push_rate_limit="3/60").application
    assert [push_as(generous).status_code for _ in range(4)] == [201, 201, 201, 429]


def test_no_push_rate_by_default() -> None:
    application = ConfidentialApplicationFactory()
    assert {push_as(application).status_code for _ in range(12)} == {201}


@override_settings(DJANGO_PAR={"PUSH_RATE_LIMIT": "1/60", "AUTH_FAILURE_RATE": None})
def test_unauthenticated_pushes_do_not_spend_the_clients_rate() -> None:
    application = ConfidentialApplicationFactory()
    for _ in range(3):
        assert_oauth_error(push_as(application, "wrong"), 401, "invalid_client")
    assert push_as(application).status_code == 201


@override_settings(DJANGO_PAR={"PUSH_RATE_LIMIT": "5/60"})
def test_a_bad_stored_client_rate_falls_back_to_the_server_default(caplog: Any) -> None:
    metadata = ClientMetadataFactory()
    ClientMetadata.objects.filter(pk=metadata.pk).update(push_rate_limit="lots")  # past the admin's validation
    assert push_as(metadata.application).status_code == 201
    assert "invalid push rate limit" in caplog.text


def test_the_model_validates_the_rate() -> None:
    metadata = ClientMetadataFactory.build(application=ConfidentialApplicationFactory(), push_rate_limit="10 a minute")
    with pytest.raises(ValidationError) as raised:
        metadata.full_clean()
    assert "push_rate_limit" in raised.value.message_dict


# -- unused request_uri values --------------------------------------------------------------------


@override_settings(DJANGO_PAR={"MAX_OUTSTANDING_REQUEST_URIS": 2})
def test_the_cap_on_unused_request_uris_in_the_database(client: Client) -> None:
    application = ConfidentialApplicationFactory()
    first, _ = (push_as(application).json()["request_uri"] for _ in range(2))
    assert_429(push_as(application), "2 unused request_uri values", 90)
    assert push_as(ConfidentialApplicationFactory()).status_code == 201  # per client

    client.get(authorize_url(application, first))  # first use: no longer outstanding
    third = push_as(application)
    assert third.status_code == 201
    assert_429(push_as(application), "unused request_uri", 90)

    move_back_in_time(third.json()["request_uri"], 3600)  # expired: no longer outstanding
    assert push_as(application).status_code == 201


@override_settings(DJANGO_PAR={"MAX_OUTSTANDING_REQUEST_URIS": 5})
def test_the_client_override_of_the_cap() -> None:
    tight = ClientMetadataFactory(max_outstanding_request_uris=1).application
    assert [push_as(tight).status_code for _ in range(2)] == [201, 429]


@override_settings(DJANGO_PAR={**CACHE_STORE, "MAX_OUTSTANDING_REQUEST_URIS": 2})
def test_the_cap_with_the_cache_store() -> None:
    # Fresh application ids are fresh counter keys: the shared Redis database is never flushed.
    application = ConfidentialApplicationFactory(client_id=f"capped-{uuid.uuid4().hex}")
    assert [push_as(application).status_code for _ in range(2)] == [201, 201]
    assert_429(push_as(application), "2 unused request_uri values", 90)


# -- the settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_value", "expected"),
    [
        ({"PUSH_RATE_LIMIT": "10 per minute"}, True),
        ({"AUTH_FAILURE_RATE": "0/60"}, True),
        ({"SLOW_HASH_RATE_PER_CLIENT": 30}, True),
        ({"MAX_OUTSTANDING_REQUEST_URIS": 0}, True),
        ({"PUSH_RATE_LIMIT": "100/60", "MAX_OUTSTANDING_REQUEST_URIS": 50, "AUTH_FAILURE_RATE": None}, False),
    ],
)
def test_check_e009(settings_value: dict[str, Any], expected: bool) -> None:
    with override_settings(DJANGO_PAR=settings_value):
        ids = {message.id for message in run_checks()}
    assert ("django_par.E009" in ids) is expected


def test_the_admin_inline_shows_the_overrides(admin_client: Client) -> None:
    application = ClientMetadataFactory(push_rate_limit="7/60").application
    page = admin_client.get(reverse("admin:oauth2_provider_application_change", args=[application.pk]))
    assert page.status_code == 200
    assert b'name="par_metadata-0-push_rate_limit" value="7/60"' in page.content
    assert b"par_metadata-0-max_outstanding_request_uris" in page.content
