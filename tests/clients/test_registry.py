"""Loaded clients are cached (CLIENT_CACHE_TTL); saving or deleting one evicts it at once.

Every load hands out its own application and metadata objects: nothing mutable
is shared between requests or threads.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from oauth2_provider.models import get_application_model

from django_par.clients.registry import load_application
from django_par.models import ClientMetadata, client_metadata
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import (
    CLIENT_SECRET,
    ClientMetadataFactory,
    ConfidentialApplicationFactory,
    PublicApplicationFactory,
)

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
    return response, sum(
        1
        for query in queries
        if f'FROM "{APPLICATION_TABLE}"' in query["sql"] or f"FROM `{APPLICATION_TABLE}`" in query["sql"]
    )


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


JWKS = {"keys": [{"kty": "EC", "crv": "P-256", "x": "x-coordinate", "y": "y-coordinate", "kid": "one"}]}


def test_every_load_gets_its_own_objects() -> None:
    metadata = ClientMetadataFactory(jwks=JWKS, require_signed_request_object=True)
    client_id = metadata.application.client_id

    first = load_application(client_id)
    with CaptureQueriesContext(connection) as queries:
        second = load_application(client_id)

    assert len(queries) == 0  # the second one came from the cache
    assert first is not None and second is not None
    assert first is not second and first.par_metadata is not second.par_metadata
    first.name = "changed by one request"
    first.par_metadata.require_signed_request_object = False
    first.par_metadata.jwks["keys"][0]["kid"] = "changed in place"
    third = load_application(client_id)
    for later in (second, third):
        assert later is not None
        assert later.name == metadata.application.name
        assert later.par_metadata.require_signed_request_object is True
        assert later.par_metadata.jwks == JWKS
        assert later.par_metadata.application is later  # each metadata points to its own application


def test_threads_get_their_own_objects() -> None:
    application = PublicApplicationFactory()
    here = load_application(application.client_id)  # now cached: the thread needs no database
    loaded: list[Any] = []
    thread = threading.Thread(target=lambda: loaded.append(load_application(application.client_id)))
    thread.start()
    thread.join(timeout=10)

    (there,) = loaded
    assert here is not None and there is not None
    assert here is not there and here.par_metadata is not there.par_metadata
    assert here.pk == there.pk


def test_a_client_without_metadata_carries_unsaved_defaults() -> None:
    application = PublicApplicationFactory()

    loaded = load_application(application.client_id)
    with CaptureQueriesContext(connection) as queries:
        metadata = client_metadata(loaded)

    assert len(queries) == 0
    assert metadata is loaded.par_metadata and metadata.pk is None and metadata.application is loaded
    assert metadata.token_endpoint_auth_method == "" and not metadata.require_pushed_authorization_requests
    assert load_application(application.client_id).par_metadata is not metadata  # a cache hit: its own default


def test_the_unsaved_default_is_never_saved(client: Any, admin_client: Any) -> None:
    application = ConfidentialApplicationFactory()
    loaded = load_application(application.client_id)
    assert loaded is not None and client_metadata(loaded).pk is None

    loaded.name = "renamed"
    loaded.save()
    assert (
        push(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        ).status_code
        == 201
    )

    assert not ClientMetadata.objects.exists()
    response = admin_client.get(reverse("admin:oauth2_provider_application_change", args=[application.pk]))
    assert response.status_code == 200
    assert 'name="par_metadata-INITIAL_FORMS" value="0"' in response.content.decode()


def test_client_metadata_of_an_application_loaded_elsewhere() -> None:
    """DOT's request.client: looked up once, the row or its absence remembered on the object."""
    with_row = ClientMetadataFactory(token_endpoint_auth_method="private_key_jwt").application
    without_row = PublicApplicationFactory()
    application_model = get_application_model()

    for application, method in ((with_row, "private_key_jwt"), (without_row, "")):
        fresh = application_model.objects.get(pk=application.pk)
        with CaptureQueriesContext(connection) as queries:
            first, second = client_metadata(fresh), client_metadata(fresh)
        assert len(queries) == 1
        assert first is second and first.token_endpoint_auth_method == method
        assert "_django_par_metadata" not in vars(fresh)
    assert ClientMetadata.objects.count() == 1
