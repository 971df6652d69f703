"""Both pushed request stores keep the same promises (RFC 9126 §4, §7.3).

The cache store runs against the real Redis server (the "redis" cache of
tests/settings.py), so its atomic moves are the ones production relies on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from django_par.flow.request_uri import new_request_uri, request_uri_digest
from django_par.flow.stores import CacheStore, DatabaseStore, PushedRequestStore, get_store
from django_par.models import PushedRequest
from tests.helpers.factories import PublicApplicationFactory
from tests.helpers.flow_helpers import STATE, Browser, authorization_response, authorize_url, location, push_request

pytest_plugins = ["tests.helpers.flow_fixtures"]

State = PushedRequest.State
CACHE_STORE = {"STORE": "django_par.flow.stores.CacheStore", "STORE_CACHE_ALIAS": "redis"}
ROUNDS = 10


@pytest.fixture(params=["database", "cache"])
def store_settings(request: Any, settings: Any) -> Iterator[str]:
    settings.DJANGO_PAR = CACHE_STORE if request.param == "cache" else {}
    yield request.param


def new_pushed(application: Any, lifetime: int = 60) -> PushedRequest:
    now = timezone.now()
    pushed = PushedRequest(
        request_uri_digest=request_uri_digest(new_request_uri()),
        application=application,
        parameters={"response_type": "code", "client_id": application.client_id},
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    get_store().save(pushed)
    return pushed


@pytest.mark.django_db
def test_the_setting_picks_the_store(store_settings: str) -> None:
    expected = CacheStore if store_settings == "cache" else DatabaseStore
    assert type(get_store()) is expected


@pytest.mark.django_db
def test_a_pushed_request_is_found_by_digest_in_its_state(store_settings: str) -> None:
    application = PublicApplicationFactory()
    pushed = new_pushed(application)

    found = get_store().find(pushed.request_uri_digest)

    assert found is not None
    assert found.state == State.PUSHED
    assert found.application == application
    assert found.parameters == pushed.parameters
    assert get_store().find(request_uri_digest("urn:unknown")) is None


@pytest.mark.django_db
def test_each_move_succeeds_once(store_settings: str) -> None:
    store = get_store()
    pushed = new_pushed(PublicApplicationFactory())
    now = timezone.now()
    flow_ends = now + timedelta(minutes=30)

    assert store.start_flow(pushed, now, flow_ends) is True
    assert store.start_flow(pushed, now, flow_ends) is False
    in_use = store.find(pushed.request_uri_digest)
    assert in_use is not None and in_use.state == State.IN_USE
    assert abs((in_use.expires_at - flow_ends).total_seconds()) < 1

    assert store.consume(in_use, now) is True
    assert store.consume(in_use, now) is False
    consumed = store.find(pushed.request_uri_digest)
    assert consumed is not None and consumed.state == State.CONSUMED


@pytest.mark.django_db
def test_an_expired_request_cannot_start_a_flow(store_settings: str) -> None:
    pushed = new_pushed(PublicApplicationFactory(), lifetime=-1)
    now = timezone.now()

    assert get_store().start_flow(pushed, now, now + timedelta(minutes=30)) is False


@pytest.mark.django_db
def test_a_pushed_request_cannot_be_consumed_before_its_flow_started(store_settings: str) -> None:
    pushed = new_pushed(PublicApplicationFactory())

    assert get_store().consume(pushed, timezone.now()) is False


@pytest.mark.django_db
def test_the_whole_flow_works_on_each_store(store_settings: str, skip_consent_app: Any, user: Any) -> None:
    request_uri = push_request(skip_consent_app)
    browser = Browser()
    browser.force_login(user)

    first = browser.get(authorize_url(skip_consent_app, request_uri))
    again = browser.get(authorize_url(skip_consent_app, request_uri))

    assert authorization_response(first)["state"] == STATE
    assert again.status_code == 400
    if store_settings == "cache":
        assert not PushedRequest.objects.exists()  # nothing in the database


def race(action: Any, count: int = 2) -> list[Any]:
    """Run ``action`` in ``count`` threads released together; return their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result = action()
        finally:
            connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_racing_moves_on_redis_have_one_winner(settings: Any) -> None:
    settings.DJANGO_PAR = CACHE_STORE
    store: PushedRequestStore = get_store()
    application = PublicApplicationFactory()
    for _ in range(ROUNDS):
        pushed = new_pushed(application)
        now = timezone.now()
        started = race(lambda: store.start_flow(pushed, now, now + timedelta(minutes=30)), count=4)
        in_use = store.find(pushed.request_uri_digest)
        consumed = race(lambda: store.consume(in_use, timezone.now()), count=4)

        assert sorted(started) == [False, False, False, True]
        assert sorted(consumed) == [False, False, False, True]


@pytest.mark.concurrency
@pytest.mark.skipif(connection.vendor == "sqlite", reason="threads of an in-memory SQLite database do not share it")
@pytest.mark.django_db(transaction=True)
def test_two_browsers_racing_on_redis_get_one_code(settings: Any, skip_consent_app: Any, user: Any) -> None:
    settings.DJANGO_PAR = CACHE_STORE
    for _ in range(ROUNDS):
        request_uri = push_request(skip_consent_app)
        browsers = [Browser(), Browser()]
        for browser in browsers:
            browser.force_login(user)
        pending = iter(browsers)
        lock = threading.Lock()

        def open_authorization_url() -> int:
            with lock:
                browser = next(pending)
            response = browser.get(authorize_url(skip_consent_app, request_uri))
            if response.status_code == 302:
                assert "code=" in location(response)
            return int(response.status_code)

        statuses = race(open_authorization_url)

        assert sorted(statuses) == [302, 400]
