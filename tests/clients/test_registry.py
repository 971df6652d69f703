"""Loaded clients are cached (CLIENT_CACHE_TTL); saving or deleting one evicts it at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_par.models import ClientMetadata
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory, PublicApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[None, "redis"], ids=["in-process", "redis"])
def cache_alias(request: Any, settings: Any) -> Any:
    """Both django_par's in-process cache and a shared one (the real Redis)."""
    settings.DJANGO_PAR = {"CLIENT_CACHE_ALIAS": request.param}
    return request.param

APPLICATION_TABLE = "oauth2_provider_application"


def application_queries(client: Any, data: dict[str, str], **headers: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = push(client, data, **headers)
    return response, sum(1 for query in queries if f'FROM "{APPLICATION_TABLE}"' in query["sql"] or f"FROM `{APPLICATION_TABLE}`" in query["sql"])


def test_a_second_push_reads_no_client_row(client: Any) -> None:
    application = PublicApplicationFactory()

    first, first_reads = application_queries(client, code_request(application))
    second, second_reads = application_queries(client, code_request(application))

    assert first.status_code == second.status_code == 201
    assert (first_reads, second_reads) == (1, 0)


def test_a_ttl_of_zero_reads_the_row_every_time(client: Any, settings: Any, cache_alias: Any) -> None:
    settings.DJANGO_PAR = {"CLIENT_CACHE_TTL": 0, "CLIENT_CACHE_ALIAS": cache_alias}
    application = PublicApplicationFactory()

    reads = [application_queries(client, code_request(application))[1] for _ in range(2)]

    assert reads == [1, 1]


def test_saving_the_application_takes_effect_at_once(client: Any) -> None:
    application = PublicApplicationFactory()
    assert push(client, code_request(application)).status_code == 201

    application.redirect_uris = "https://elsewhere.example/cb"
    application.save()

    assert_oauth_error(push(client, code_request(application)), 400, "invalid_request", "redirect")


def test_renaming_a_client_retires_its_old_id_at_once(client: Any) -> None:
    application = PublicApplicationFactory()
    old_request = code_request(application)
    assert push(client, old_request).status_code == 201

    application.client_id = "renamed-client"
    application.save()

    assert_oauth_error(push(client, old_request), 401, "invalid_client")
    assert push(client, code_request(application)).status_code == 201


def test_deleting_the_application_takes_effect_at_once(client: Any) -> None:
    application = PublicApplicationFactory()
    request = code_request(application)
    assert push(client, request).status_code == 201

    application.delete()

    assert_oauth_error(push(client, request), 401, "invalid_client")


def test_saving_the_client_metadata_takes_effect_at_once(client: Any) -> None:
    application = ConfidentialApplicationFactory()
    basic = basic_auth(application.client_id, CLIENT_SECRET)
    assert push(client, code_request(application), authorization=basic).status_code == 201

    ClientMetadata.objects.create(application=application, token_endpoint_auth_method="client_secret_post")

    assert_oauth_error(push(client, code_request(application), authorization=basic), 401, "invalid_client")
    posted = push(client, code_request(application, client_secret=CLIENT_SECRET))
    assert posted.status_code == 201, posted.content
