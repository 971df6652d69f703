"""The cap on a client's unused request_uri values holds under racing pushes (RFC 9126 §2.3).

DatabaseStore.outstanding_slot locks the client's application row (SELECT ... FOR
UPDATE) until the push's row is committed: threads racing pushes for one client,
each on its own connection, never leave more than the cap. CacheStore counts with
an atomic incr. Run with DJANGO_PAR_TEST_DB=postgresql (or mariadb).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.test import Client, override_settings

from django_par.models import PushedRequest
from tests.conftest import basic_auth, code_request, push
from tests.flow.test_single_use_concurrency import race, racing_on_a_server_database
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory

CAP = 3
THREADS = 10


def push_as(application: Any) -> int:
    response = push(Client(), code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET))
    assert response.status_code in (201, 429), response.content
    return int(response.status_code)


@racing_on_a_server_database
@override_settings(DJANGO_PAR={"MAX_OUTSTANDING_REQUEST_URIS": CAP})
def test_racing_pushes_never_exceed_the_cap_in_the_database() -> None:
    application = ConfidentialApplicationFactory()
    push_as(application)  # warm the verified-secret cache: the race is about the cap, not the hash

    statuses = race(*[lambda: push_as(application) for _ in range(THREADS)])

    assert sorted(statuses) == [201] * (CAP - 1) + [429] * (THREADS - CAP + 1)
    assert PushedRequest.objects.filter(application=application, state=PushedRequest.State.PUSHED).count() == CAP


@racing_on_a_server_database
@override_settings(
    DJANGO_PAR={
        "STORE": "django_par.flow.stores.CacheStore",
        "STORE_CACHE_ALIAS": "redis",
        "MAX_OUTSTANDING_REQUEST_URIS": CAP,
    }
)
def test_racing_pushes_never_exceed_the_cap_on_redis() -> None:
    application = ConfidentialApplicationFactory(client_id=f"raced-{uuid.uuid4().hex}")
    push_as(application)

    statuses = race(*[lambda: push_as(application) for _ in range(THREADS)])

    assert statuses.count(201) <= CAP - 1  # atomic incr: never over (a refused racer may briefly count, so fewer)
