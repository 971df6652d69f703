"""The caches django_par keeps: a Django cache alias, or its own in-process one.

``None`` as an alias setting means django_par's in-process cache: no network
round trip, no pickling, and values never leave the process. Evictions then
reach only the process that made the change; other processes see it within the
entry's TTL.

Kept as the default because it pays: ``benchmarks/micro.py`` measured (client
CPU per call, SQLite / PostgreSQL run) a verified-secret hit at 7 / 5 µs in
process against 138-165 / 140-143 µs on Redis, and a client hit at 16 / 16 µs
against 185-225 / 170-225 µs on Redis (the query it replaces: 390-410 /
550-570 µs). A confidential push thus costs about 300 µs less CPU than with
both caches on Redis, a third of its 800-1,000 µs.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from django.core.cache import caches

from ..errors import backend_failure_types

logger = logging.getLogger("django_par.clients.cache")


class InProcessCache:
    """Objects kept for a while in this process, the few cache calls django_par makes.

    Unlike Django's ``LocMemCache`` it keeps the objects themselves, not pickled
    copies: a hit costs a dictionary lookup instead of an unpickling. Every
    thread of the process gets the *same* object, so callers store only values
    nobody changes: strings, and tuples of column values from which the client
    registry builds each caller its own model instances. At ``max_entries`` the
    oldest entry makes room, and at most every ``SWEEP_INTERVAL`` seconds a write drops
    the expired entries, so that keys never read again (unknown client ids) do not sit
    there until the bound: the entries stay near what the last TTL and minute wrote.
    """

    SWEEP_INTERVAL = 60.0

    def __init__(self, max_entries: int = 10000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._next_sweep = time.monotonic() + self.SWEEP_INTERVAL

    def get(self, key: str, default: Any = None) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            return default
        expires, value = entry
        if expires <= time.monotonic():
            with self._lock:  # every change of the dictionary holds the lock
                self._entries.pop(key, None)
            return default
        return value

    def set(self, key: str, value: Any, timeout: float) -> None:
        now = time.monotonic()
        with self._lock:
            if now >= self._next_sweep:  # one scan a minute at most, under 1 ms at the 10,000 bound
                self._next_sweep = now + self.SWEEP_INTERVAL
                for expired in [name for name, (expires, _) in self._entries.items() if expires <= now]:
                    del self._entries[expired]
            self._entries.pop(key, None)  # re-inserted last: the newest
            while len(self._entries) >= self.max_entries:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (now + timeout, value)

    def delete_many(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class SharedCache:
    """A Django cache alias whose failures (Redis down or slow) are misses, not errors.

    What is cached (clients, verified secrets) can always be had again the slow way,
    from the database and the password hasher, the hasher within django_par.limits' budgets
    (docs/failures.md). A failed ``set`` is dropped and a failed ``delete_many`` (an eviction
    after an application changed) leaves the old entry for at most its TTL; both are logged.
    """

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def _failed(self, action: str) -> None:
        logger.warning("The cache %r failed while %s; carrying on without it.", self.alias, action, exc_info=True)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return caches[self.alias].get(key, default)
        except backend_failure_types():
            self._failed("reading")
            return default

    def set(self, key: str, value: Any, timeout: float) -> None:
        try:
            caches[self.alias].set(key, value, timeout)
        except backend_failure_types():
            self._failed("writing")

    def delete_many(self, keys: Iterable[str]) -> None:
        try:
            caches[self.alias].delete_many(list(keys))
        except backend_failure_types():
            self._failed("evicting")

    def clear(self) -> None:
        caches[self.alias].clear()


IN_PROCESS_CACHE = InProcessCache()


@functools.cache
def _shared_cache(alias: str) -> SharedCache:
    return SharedCache(alias)


def get_cache(alias: str | None) -> InProcessCache | SharedCache:
    return IN_PROCESS_CACHE if alias is None else _shared_cache(alias)
