"""django_par's in-process cache: live objects, expiry, a bounded size."""

from __future__ import annotations

import threading
from typing import Any
from unittest import mock

import pytest
from django.db import models

from django_par.clients import cache as caching
from django_par.clients.cache import IN_PROCESS_CACHE, InProcessCache
from django_par.clients.registry import load_application
from tests.helpers.factories import ClientMetadataFactory


def test_a_hit_is_the_stored_object_itself() -> None:
    cache = InProcessCache()
    value = object()
    cache.set("key", value, 60)

    assert cache.get("key") is value
    assert cache.get("other", "default") == "default"


def test_an_entry_expires_after_its_timeout() -> None:
    cache = InProcessCache()
    with mock.patch.object(caching.time, "monotonic", return_value=1000.0):
        cache.set("key", "value", 30)
    with mock.patch.object(caching.time, "monotonic", return_value=1029.9):
        assert cache.get("key") == "value"
    with mock.patch.object(caching.time, "monotonic", return_value=1030.0):
        assert cache.get("key") is None
    assert "key" not in cache._entries


def test_when_full_the_oldest_entry_makes_room() -> None:
    cache = InProcessCache(max_entries=3)
    for key in "abc":
        cache.set(key, key, 60)
    cache.set("a", "a again", 60)  # renewed: now the newest

    cache.set("d", "d", 60)

    assert [cache.get(key) for key in "abcd"] == ["a again", None, "c", "d"]


def test_delete_many_and_clear() -> None:
    cache = InProcessCache()
    for key in "abc":
        cache.set(key, key, 60)

    cache.delete_many(["a", "b", "not-there"])
    assert [cache.get(key) for key in "abc"] == [None, None, "c"]
    cache.clear()
    assert cache.get("c") is None


def test_concurrent_writers_stay_within_the_bound() -> None:
    cache = InProcessCache(max_entries=50)
    start = threading.Barrier(4)

    def write(prefix: str) -> None:
        start.wait(timeout=10)
        for number in range(2000):
            cache.set(f"{prefix}{number}", number, 60)
            cache.get(f"{prefix}{number - 1}")

    threads = [threading.Thread(target=write, args=(prefix,)) for prefix in "wxyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(cache._entries) == 50


def _values(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [item for element in value for item in _values(element)]
    if isinstance(value, dict):
        return [item for element in value.values() for item in _values(element)]
    return [value]


@pytest.mark.django_db
def test_the_client_cache_holds_values_not_model_instances() -> None:
    """It hands every thread the same object: what the client registry stores there must not be a model."""
    metadata = ClientMetadataFactory(jwks={"keys": []})
    load_application(metadata.application.client_id)

    (entry,) = [value for _, value in IN_PROCESS_CACHE._entries.values()]
    assert metadata.application.client_id in _values(entry)
    assert not [value for value in _values(entry) if isinstance(value, models.Model)]


def test_expired_entries_never_read_again_are_swept_at_the_first_write_of_each_minute() -> None:
    with mock.patch.object(caching.time, "monotonic", return_value=1000.0):
        cache = InProcessCache()
        for index in range(100):
            cache.set(f"unknown-{index}", "unknown", 10)
        cache.set("long", "value", 300)
    with mock.patch.object(caching.time, "monotonic", return_value=1059.0):
        cache.set("before", "value", 10)  # within the interval: nothing swept yet
    assert len(cache._entries) == 102
    with mock.patch.object(caching.time, "monotonic", return_value=1060.0):
        cache.set("fresh", "value", 10)  # the interval is over: every expired entry goes
    assert list(cache._entries) == ["long", "before", "fresh"]
