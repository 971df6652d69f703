"""A client's public keys: its registered ``jwks`` or its ``jwks_uri``.

A ``jwks_uri`` is fetched by :mod:`django_par.jose.fetch`. What came of the
last fetch is kept in the cache ``JWKS_CACHE_ALIAS``, shared by all processes,
under the URI's cache key:

- ``<key>``: the last good key set, used for ``JWKS_URI_CACHE_TTL`` seconds
  and, while refreshing it fails, for ``JWKS_URI_STALE_TTL`` seconds more;
- ``<key>.failed``: the last failure, answered again without a fetch until
  its backoff ends (``JWKS_URI_FAILURE_BACKOFF``, doubling per consecutive
  failure up to ``JWKS_URI_FAILURE_BACKOFF_MAX``); a success deletes it;
- ``<key>.fetching``: taken with ``cache.add`` by the one process fetching
  the URI; the others wait for its result (single flight). Within a process a
  lock per URI comes first, so waiting threads cost no cache round trips;
- ``<key>.refreshed``: the rate limit of refreshes forced by an unknown kid.

A request spends at most ``JWKS_URI_TIMEOUT`` seconds in all on fetching keys
and on waiting for another request's fetch.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.core.cache import BaseCache, caches
from jwcrypto import jwk

from ..conf import par_settings
from ..models import ClientMetadata
from .fetch import KeyLookupError, fetch_jwks

__all__ = ["KeyLookupError", "client_key_set"]

#: Wall-clock time: the entries are read by other processes (tests replace it).
_now = time.time
# The waiters' polling of another process's fetch: first and longest pause, in seconds.
_POLL_FIRST, _POLL_MAX = 0.02, 0.2


def _cache_key(uri: str) -> str:
    return "django_par.jwks." + hashlib.sha256(uri.encode()).hexdigest()


def _key_set(document: Any) -> jwk.JWKSet:
    return _parsed_key_set(json.dumps(document, sort_keys=True))


@lru_cache(maxsize=256)
def _parsed_key_set(document: str) -> jwk.JWKSet:
    """Parsed once per distinct key set: the keys are only read afterwards.

    Measured (``benchmarks/micro.py key-sets``): parsing a one-key RSA set costs
    43–45 µs, a hit 4 µs; 39–41 µs of a private_key_jwt push's 1.2–1.7 ms.
    """
    try:
        return jwk.JWKSet.from_json(document)
    except Exception:  # jwcrypto raises several types for malformed sets
        raise KeyLookupError("The client's JWK Set is malformed.") from None


def check_public_key_set(document: Any) -> None:
    """Raise ValueError unless ``document`` is a JWK Set of public keys only.

    A client registers only what verifies its signatures: a private or symmetric
    (``oct``) key in ``jwks`` would be a secret stored where it does not belong.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('Not a JWK Set: expected {"keys": [...]}.')
    try:
        key_set = jwk.JWKSet.from_json(json.dumps(document))
    except Exception as exc:  # jwcrypto raises several types for malformed sets
        raise ValueError(f"Not a valid JWK Set: {exc}") from None
    if len(key_set["keys"]) != len(document["keys"]):
        raise ValueError("The JWK Set holds a key that is not valid.")
    for key in key_set["keys"]:
        if key.get("kty") == "oct" or key.has_private:
            raise ValueError(f"The key {key.get('kid') or key.thumbprint()!r} is private: register public keys only.")


# -- the time budget of a request -----------------------------------------------------


class _Budget:
    """``JWKS_URI_TIMEOUT`` seconds, counted from the first time they are drawn on."""

    def __init__(self) -> None:
        self._deadline: float | None = None

    def remaining(self) -> float:
        if self._deadline is None:
            self._deadline = time.monotonic() + par_settings.JWKS_URI_TIMEOUT
        return self._deadline - time.monotonic()


_request_budget: ContextVar[_Budget | None] = ContextVar("django_par_jwks_budget", default=None)


def begin_request_budget(**kwargs: Any) -> None:
    """``request_started`` receiver (connected in ``apps.ready``): a fresh key-fetching budget."""
    _request_budget.set(_Budget())


def end_request_budget(**kwargs: Any) -> None:
    """``request_finished`` receiver: no budget outside a request."""
    _request_budget.set(None)


def _budget() -> _Budget:
    """The current request's budget; outside a request, one per call."""
    return _request_budget.get() or _Budget()


# -- what the cache holds for a URI ------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """The key set and the failure cached for a URI, as read at one moment."""

    document: dict[str, Any] | None = None
    fetched_at: float | None = None
    fresh_until: float = 0.0
    failed_at: float | None = None
    failed_until: float = 0.0
    failures: int = 0
    error: str = ""

    @classmethod
    def read(cls, found: dict[str, Any], key: str) -> _Seen:
        entry, failure = found.get(key), found.get(key + ".failed")
        values: dict[str, Any] = {}
        # Anything else (another version's entry) counts as absent.
        if isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], dict):
            values.update(fetched_at=entry[0], fresh_until=entry[1])
            # Past its grace the set is no longer used, whatever the cache's own expiry.
            if _now() < entry[1] + par_settings.JWKS_URI_STALE_TTL:
                values.update(document=entry[2])
        if isinstance(failure, tuple) and len(failure) == 4:
            values.update(failed_at=failure[0], failed_until=failure[1], failures=failure[2], error=failure[3])
        return cls(**values)

    def failing(self, now: float) -> bool:
        return self.failed_at is not None and now < self.failed_until

    def fallback(self, error: str) -> dict[str, Any]:
        """The last good key set if there is one (fresh or within its grace), else ``error``."""
        if self.document is not None:
            return self.document
        raise KeyLookupError(error)

    def news(self, since: _Seen) -> dict[str, Any] | None:
        """The outcome of a fetch finished after ``since`` was read, if any (a failure raises)."""
        if self.document is not None and self.fetched_at != since.fetched_at:
            return self.document
        if self.failed_at is not None and self.failed_at != since.failed_at:
            return self.fallback(self.error)
        return None


def _read(cache: BaseCache, key: str, *extra: str) -> tuple[_Seen, dict[str, Any]]:
    found = cache.get_many([key, key + ".failed", *extra])
    return _Seen.read(found, key), found


# -- single flight ---------------------------------------------------------------------


class _UriLock:
    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


_locks: weakref.WeakValueDictionary[str, _UriLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


def _local_lock(uri: str) -> _UriLock:
    with _locks_guard:
        found = _locks.get(uri)
        if found is None:
            found = _locks[uri] = _UriLock()
        return found


def client_key_set(metadata: ClientMetadata, *, refresh: bool = False) -> jwk.JWKSet:
    """The client's keys; ``refresh`` bypasses the jwks_uri cache (unknown kid).

    A forced refresh happens at most once per ``JWKS_URI_MIN_REFRESH_INTERVAL``
    per URI: a JWT naming an unknown kid is sent before its signature is
    checked, so anyone could otherwise make the server fetch on every request.
    """
    if metadata.jwks:
        return _key_set(metadata.jwks)
    if not metadata.jwks_uri:
        raise KeyLookupError("The client has registered no keys (jwks or jwks_uri).")
    return _key_set(_document(metadata.jwks_uri, refresh))


def _document(uri: str, refresh: bool) -> dict[str, Any]:
    cache = caches[par_settings.JWKS_CACHE_ALIAS]
    key = _cache_key(uri)
    seen, _ = _read(cache, key)
    now = _now()
    if seen.document is not None and now < seen.fresh_until:
        # A forced refresh at most once per interval and URI: anyone can send a made-up kid.
        if (
            not refresh
            or seen.failing(now)
            or not cache.add(key + ".refreshed", True, par_settings.JWKS_URI_MIN_REFRESH_INTERVAL)
        ):
            return seen.document
    elif seen.failing(now):
        # Within the backoff a failing URI is not fetched: the last good set or the same error.
        return seen.fallback(seen.error)
    return _fetch_once(cache, key, uri, seen)


def _fetch_once(cache: BaseCache, key: str, uri: str, seen: _Seen) -> dict[str, Any]:
    """One fetch of ``uri`` at a time, across the threads and processes sharing the cache."""
    budget = _budget()
    busy = "jwks_uri is being fetched for another request and did not answer in time."
    uri_lock = _local_lock(uri).lock
    # With a last good set at hand nobody waits for another thread's fetch.
    if not uri_lock.acquire(blocking=False) and (
        seen.document is not None or not uri_lock.acquire(timeout=max(budget.remaining(), 0))
    ):
        return seen.fallback(busy)
    try:
        lock_key = key + ".fetching"
        latest, found = _read(cache, key)
        pause = _POLL_FIRST
        while True:
            news = latest.news(seen)
            if news is not None:
                return news
            if budget.remaining() <= 0:
                return latest.fallback(busy)
            # The lock outlives the fetch, which JWKS_URI_TIMEOUT bounds, so a dead holder frees it.
            if lock_key not in found and cache.add(lock_key, True, math.ceil(par_settings.JWKS_URI_TIMEOUT) + 2):
                try:
                    return _fetch_and_store(cache, key, uri, latest, budget)
                finally:
                    cache.delete(lock_key)
            if latest.document is not None:
                return latest.document
            # Another process fetches: poll for its outcome, within the budget.
            time.sleep(min(pause, max(budget.remaining(), 0)))
            pause = min(pause * 2, _POLL_MAX)
            latest, found = _read(cache, key, lock_key)
    finally:
        uri_lock.release()


def _fetch_and_store(cache: BaseCache, key: str, uri: str, previous: _Seen, budget: _Budget) -> dict[str, Any]:
    try:
        document = fetch_jwks(uri, min(par_settings.JWKS_URI_TIMEOUT, budget.remaining()))
        _key_set(document)  # a malformed set is a failed fetch, not a set to keep
    except KeyLookupError as exc:
        base = par_settings.JWKS_URI_FAILURE_BACKOFF
        ceiling = max(base, par_settings.JWKS_URI_FAILURE_BACKOFF_MAX)
        failures = min(previous.failures + 1, 32)
        backoff = min(base * 2 ** (failures - 1), ceiling)
        now = _now()
        # Kept past the backoff so that the next failure doubles it.
        cache.set(key + ".failed", (now, now + backoff, failures, str(exc)), backoff + ceiling)
        return previous.fallback(str(exc))
    now = _now()
    ttl = par_settings.JWKS_URI_CACHE_TTL
    cache.set(key, (now, now + ttl, document), ttl + par_settings.JWKS_URI_STALE_TTL)
    cache.delete(key + ".failed")
    return document
