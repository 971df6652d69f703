"""Both pushed request stores keep the same promises (RFC 9126 §4, §7.3).

The cache store runs against the real Redis server (the "redis" cache of
tests/settings.py), so its atomic moves are the ones production relies on;
its contract is also checked on the other Django caches it names as qualifying.
An evicted cache key may lose a request, never re-open it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from oauth2_provider.models import get_grant_model

from django_par.flow.request_uri import new_request_uri, request_uri_digest
from django_par.flow.stores import CacheStore, DatabaseStore, PushedRequestStore, get_store
from django_par.models import PushedRequest
from tests.helpers.factories import PublicApplicationFactory
from tests.helpers.flow_helpers import (
    STATE,
    Browser,
    assert_error_page,
    authorization_response,
    authorize_url,
    location,
    push_request,
)

pytest_plugins = ["tests.helpers.flow_fixtures"]

State = PushedRequest.State
CACHE_STORE = {"STORE": "django_par.flow.stores.CacheStore", "STORE_CACHE_ALIAS": "redis"}
ROUNDS = 10


# The other Django caches docs/scaling.md names for CacheStore, beside Redis.
OTHER_CACHES: dict[str, dict[str, Any]] = {
    "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_par_test_cache"},
    "file": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache"},
    "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "django_par_stores"},
}


@pytest.fixture(params=["database", "cache", "cache-on-database", "cache-on-file", "cache-on-locmem"])
def store_settings(request: Any, settings: Any, tmp_path: Any) -> Iterator[str]:
    kind = request.param.removeprefix("cache-on-") if request.param.startswith("cache-on-") else ""
    if kind:
        config = dict(OTHER_CACHES[kind])
        if kind == "file":
            config["LOCATION"] = str(tmp_path)
        settings.CACHES = {**settings.CACHES, "store": config}
        if kind == "database":
            request.getfixturevalue("db")
            call_command("createcachetable", "django_par_test_cache")
        settings.DJANGO_PAR = {"STORE": CACHE_STORE["STORE"], "STORE_CACHE_ALIAS": "store"}
    else:
        settings.DJANGO_PAR = CACHE_STORE if request.param == "cache" else {}
    yield "database" if request.param == "database" else "cache"


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


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_reload_racing_the_first_use_on_redis_continues_the_flow(settings: Any) -> None:
    # As on the database store: the losers of the start continue the winner's flow, not "unknown".
    settings.DJANGO_PAR = CACHE_STORE
    store: PushedRequestStore = get_store()
    application = PublicApplicationFactory()
    for _ in range(ROUNDS):
        pushed = new_pushed(application)

        def start_then_find() -> tuple[bool, Any, Any]:
            now = timezone.now()
            started = store.start_flow(pushed, now, now + timedelta(minutes=30))
            found = store.find(pushed.request_uri_digest)
            return started, found and found.state, found and found.used_at

        outcomes = race(start_then_find, count=4)

        assert sorted(started for started, _, _ in outcomes) == [False, False, False, True]
        assert {state for _, state, _ in outcomes} == {State.IN_USE}
        assert len({used_at for _, _, used_at in outcomes}) == 1


# -- eviction (CacheStore) ------------------------------------------------------------

ORDER = {State.PUSHED: 0, State.IN_USE: 1, State.CONSUMED: 2}


class RecordingCache:
    """A cache for the store that notes every key the store writes through Django's API."""

    def __init__(self, cache: Any) -> None:
        self.wrapped = cache
        self.written: list[str] = []
        self.set_delay = 0.0  # a slow writer: the window between a move's delete and its write

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)

    def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.written.append(key)
        time.sleep(self.set_delay)
        return self.wrapped.set(key, *args, **kwargs)

    def add(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.written.append(key)
        return self.wrapped.add(key, *args, **kwargs)

    def set_many(self, data: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        self.written.extend(data)
        return self.wrapped.set_many(data, *args, **kwargs)


class Evictor:
    """Every key the store has written for a digest, and their eviction one at a time.

    On Redis the keys are read from the server itself (the store's Lua moves write
    past Django's API); on the other caches a RecordingCache notes them.
    """

    def __init__(self, alias: str, monkeypatch: Any) -> None:
        self.alias = alias
        self.recorder: RecordingCache | None = None
        if alias != "redis":
            recorder = RecordingCache(caches[alias])
            monkeypatch.setattr(CacheStore, "cache", property(lambda store: recorder))
            self.recorder = recorder

    def keys(self, digest: str) -> set[str]:
        """The keys now holding something of ``digest``, as patterns over ``{digest}``."""
        if self.recorder is None:
            client = caches["redis"]._cache.get_client(write=True)
            found = {key.decode() for key in client.keys(f"*{digest}*")}
        else:
            found = set(self.recorder.written)
        return {key.replace(digest, "{digest}") for key in found if digest in key}

    def evict(self, pattern: str, digest: str) -> None:
        """What an LRU cache under memory pressure does to a key."""
        key = pattern.format(digest=digest)
        if self.recorder is None:
            caches["redis"]._cache.get_client(write=True).delete(key)
        else:
            self.recorder.wrapped.delete(key)


@pytest.fixture(params=["redis", "locmem"])
def evictor(request: Any, settings: Any, monkeypatch: Any) -> Evictor:
    if request.param == "redis":
        settings.DJANGO_PAR = CACHE_STORE
    else:
        settings.CACHES = {**settings.CACHES, "store": OTHER_CACHES["locmem"]}
        settings.DJANGO_PAR = {"STORE": CACHE_STORE["STORE"], "STORE_CACHE_ALIAS": "store"}
    return Evictor("redis" if request.param == "redis" else "store", monkeypatch)


def drive_to(store: PushedRequestStore, application: Any, stage: Any) -> tuple[PushedRequest, PushedRequest]:
    """A pushed request moved to ``stage``; with the objects a replaying caller could hold."""
    pushed = new_pushed(application)
    now = timezone.now()
    if stage != State.PUSHED:
        assert store.start_flow(pushed, now, now + timedelta(minutes=30))
    in_use = store.find(pushed.request_uri_digest)
    assert in_use is not None
    if stage == State.CONSUMED:
        assert store.consume(in_use, now)
    return pushed, in_use


def keys_written_by_a_whole_life(store: PushedRequestStore, evictor: Evictor, application: Any) -> set[str]:
    """Every key the store writes for one request, seen at each stage, as patterns over its digest."""
    keys: set[str] = set()
    for stage in (State.PUSHED, State.IN_USE, State.CONSUMED):
        pushed, _ = drive_to(store, application, stage)
        keys |= evictor.keys(pushed.request_uri_digest)
    assert len(keys) >= 3, keys
    return keys


@pytest.mark.django_db
@pytest.mark.parametrize("stage", [State.PUSHED, State.IN_USE, State.CONSUMED])
def test_an_evicted_key_never_reopens_a_request(evictor: Evictor, stage: Any) -> None:
    store = get_store()
    application = PublicApplicationFactory()
    for pattern in sorted(keys_written_by_a_whole_life(store, evictor, application)):
        pushed, in_use = drive_to(store, application, stage)
        digest = pushed.request_uri_digest
        evictor.evict(pattern, digest)

        found = store.find(digest)
        # Lost ("unknown") or where it was; never an earlier state.
        assert found is None or ORDER[found.state] >= ORDER[stage], (pattern, stage, found and found.state)
        # Replays of every move with what a caller held at each earlier stage.
        now = timezone.now()
        started_again = store.start_flow(pushed, now, now + timedelta(minutes=30))
        consumed = [store.consume(in_use, now), store.consume(in_use, now)]
        current = store.find(digest)
        if current is not None and current.state == State.IN_USE:
            consumed.append(store.consume(current, now))
        if stage != State.PUSHED:
            assert started_again is False, (pattern, stage)
        codes = consumed.count(True) + (stage == State.CONSUMED)
        assert codes <= 1, (pattern, stage, consumed)


@pytest.mark.django_db
@pytest.mark.parametrize("stage", ["consent page", "code issued"])
def test_an_evicted_key_never_gives_a_second_code(
    evictor: Evictor, stage: str, logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    # The reported attack: evict what the store wrote, then reload the spent authorization URL.
    store = get_store()
    grants = get_grant_model().objects
    patterns = keys_written_by_a_whole_life(store, evictor, PublicApplicationFactory())
    for pattern in sorted(patterns):
        application = skip_consent_app
        request_uri = push_request(application)
        digest = request_uri_digest(request_uri)
        url = authorize_url(application, request_uri)
        before = grants.count()
        if stage == "code issued":
            assert "code" in authorization_response(logged_in_browser.get(url))
        else:
            now = timezone.now()
            pushed = store.find(digest)
            assert pushed is not None and store.start_flow(pushed, now, now + timedelta(minutes=30))
        evictor.evict(pattern, digest)

        replays = [logged_in_browser.get(url) for _ in range(2)]

        issued = grants.count() - before
        assert issued <= 1, (pattern, stage)
        if stage == "code issued":
            for replay in replays:
                assert_error_page(replay, "invalid_request_uri")


@pytest.mark.django_db
def test_the_loser_of_a_start_waits_for_the_winners_entry(settings: Any, monkeypatch: Any) -> None:
    # On a cache without an atomic move (Redis and the database cache have one) a reader
    # can find the entry missing between the winner's delete and its write.
    settings.CACHES = {**settings.CACHES, "store": OTHER_CACHES["locmem"]}
    settings.DJANGO_PAR = {"STORE": CACHE_STORE["STORE"], "STORE_CACHE_ALIAS": "store"}
    recording_cache = RecordingCache(caches["store"])
    monkeypatch.setattr(CacheStore, "cache", property(lambda store: recording_cache))
    store = get_store()
    pushed = new_pushed(PublicApplicationFactory())
    now = timezone.now()
    recording_cache.set_delay = 0.02  # the winner has deleted the pushed entry, not yet written the next
    winner = threading.Thread(target=store.start_flow, args=(pushed, now, now + timedelta(minutes=30)))
    winner.start()
    deadline = time.monotonic() + 5
    while store.find(pushed.request_uri_digest) is not None and time.monotonic() < deadline:
        time.sleep(0.001)

    assert store.start_flow(pushed, now, now + timedelta(minutes=30)) is False
    found = store.find(pushed.request_uri_digest)
    winner.join()

    assert found is not None and found.state == State.IN_USE
