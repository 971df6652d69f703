"""Where pushed requests live: the database (default) or Django's cache.

The store is chosen by dotted path in ``DJANGO_PAR["STORE"]``. Its contract,
stated by :class:`PushedRequestStore`: requests are found by the digest of their
request_uri, and the two moves of their life are atomic across processes —
``start_flow`` (PUSHED -> IN_USE) and ``consume`` (IN_USE -> CONSUMED) each
succeed for exactly one caller. ``outstanding_slot`` caps a client's unused
request_uri values (``MAX_OUTSTANDING_REQUEST_URIS``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import cache
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import router, transaction
from django.utils.module_loading import import_string
from oauth2_provider.models import get_application_model

from ..conf import par_settings
from ..models import PushedRequest
from ..statements import insert, select_one, update_where

State = PushedRequest.State


class PushedRequestStore:
    """Base class of pushed request stores."""

    def save(self, pushed: PushedRequest) -> None:
        """Store a new, unsaved pushed request."""
        raise NotImplementedError

    def find(self, digest: str) -> PushedRequest | None:
        """The pushed request with this request_uri digest, in its current state.

        Its ``application`` need not be loaded: the caller checks the client.
        """
        raise NotImplementedError

    def start_flow(self, pushed: PushedRequest, now: datetime, flow_ends: datetime) -> bool:
        """PUSHED -> IN_USE, unless it expired or another caller moved it first."""
        raise NotImplementedError

    def consume(self, pushed: PushedRequest, now: datetime) -> bool:
        """IN_USE -> CONSUMED, unless it expired or another caller consumed it first."""
        raise NotImplementedError

    def outstanding_slot(self, application: Any, limit: int, now: datetime) -> AbstractContextManager[bool]:
        """A context manager around the ``save`` of the client's next push; it yields whether the
        client may push: True while it holds fewer than ``limit`` outstanding requests (PUSHED and
        not expired). Check and save are atomic across processes: concurrent pushes never leave
        more than ``limit`` outstanding (a store may count more strictly, never more loosely).
        On False the caller does not save."""
        raise NotImplementedError


class DatabaseStore(PushedRequestStore):
    """Rows of :class:`PushedRequest`; each move is one conditional UPDATE."""

    # The push's one write, the lookup and the two moves are prepared statements
    # (django_par.statements): the same SQL and values as the ORM's, for less CPU.
    def save(self, pushed: PushedRequest) -> None:
        insert(pushed)

    def find(self, digest: str) -> PushedRequest | None:
        # The application comes from the client cache (resolution); no join, no ORDER BY.
        return select_one(PushedRequest, "request_uri_digest", digest)

    def start_flow(self, pushed: PushedRequest, now: datetime, flow_ends: datetime) -> bool:
        # The conditional UPDATE is the single-use guarantee: one caller changes the row.
        return bool(
            update_where(
                PushedRequest,
                pushed.pk,
                where={"state": State.PUSHED},
                later={"expires_at": now},
                values={"state": State.IN_USE, "used_at": now, "expires_at": flow_ends},
            )
        )

    def consume(self, pushed: PushedRequest, now: datetime) -> bool:
        return bool(
            update_where(
                PushedRequest,
                pushed.pk,
                where={"state": State.IN_USE},
                later={"expires_at": now},
                values={"state": State.CONSUMED, "consumed_at": now},
            )
        )

    @contextmanager
    def outstanding_slot(self, application: Any, limit: int, now: datetime) -> Iterator[bool]:
        # The client's application row, locked until the save commits, serialises its pushes
        # (SELECT ... FOR UPDATE; SQLite has no row locks: exact only without concurrent writers).
        using = router.db_for_write(PushedRequest)
        with transaction.atomic(using=using):
            locked = get_application_model().objects.using(using).select_for_update().filter(pk=application.pk)
            list(locked.values_list("pk", flat=True))
            held = (
                PushedRequest.objects.using(using)
                .filter(application_id=application.pk, state=State.PUSHED, expires_at__gt=now)
                .count()  # index django_par_outstanding
            )
            yield held < limit


def _timestamp(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def _moment(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=dt_timezone.utc)


def _optional_moment(timestamp: float | None) -> datetime | None:
    return _moment(timestamp) if timestamp is not None else None


# DEL the old state's key; only if this call removed it, SET the next one. Atomic on the server.
_REDIS_MOVE = """
if redis.call('DEL', KEYS[1]) == 1 then
    redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
    return 1
end
return 0
"""


class CacheStore(PushedRequestStore):
    """Entries in a Django cache shared by all app servers (e.g. Redis).

    The state of an entry is *which* key holds it: ``<base>.pushed``, then
    ``<base>.in_use``, then ``<base>.consumed`` (a tombstone without the
    parameters). Each move deletes the key of the current state and only the
    caller whose ``delete`` removed it (Redis ``DEL``, Memcached ``delete``, the
    database cache's ``DELETE``: exactly one caller is told it did) writes the
    key of the next state; nobody else ever writes it. So every key is written
    at most once, in order, and only after its predecessor is gone: an evicted
    (or never written) key loses the request, "unknown", but can never bring an
    earlier state back (RFC 9126 §7.3: no second authorization response).

    On Redis (one Lua script) and the database cache (one transaction) the
    delete and the write are one atomic step, so no reader ever sees the entry
    missing in between; on other caches a reader at that instant finds it
    unknown. Entries expire by themselves; the admin and the purge command see none of them.
    """

    # Margin beyond the lifetimes before the cache drops an entry.
    EXPIRY_MARGIN = 60
    # A caller that lost the start of a flow to a racing one waits at most this
    # long (seconds) for the winner's in-use entry, so that a reload racing the
    # first use continues the flow as on the database store.
    RACE_WAIT = 0.05
    RACE_POLL = 0.0025

    @property
    def cache(self) -> Any:
        return caches[par_settings.STORE_CACHE_ALIAS]

    @staticmethod
    def _keys(digest: str) -> tuple[str, str, str]:
        # A new prefix: entries of the earlier marker-key layout are unknown, never "pushed".
        base = f"django_par.par.{digest}"
        return base + ".pushed", base + ".in_use", base + ".consumed"

    @staticmethod
    def _ttl(until: datetime, now: datetime) -> int:
        return max(1, int((until - now).total_seconds()) + CacheStore.EXPIRY_MARGIN)

    def save(self, pushed: PushedRequest) -> None:
        record = {
            "application_id": pushed.application_id,
            "parameters": pushed.parameters,
            "created_at": _timestamp(pushed.created_at),
            "expires_at": _timestamp(pushed.expires_at),
        }
        pushed_key, _, _ = self._keys(pushed.request_uri_digest)
        self.cache.set(pushed_key, record, self._ttl(pushed.expires_at, pushed.created_at))

    def find(self, digest: str) -> PushedRequest | None:
        keys = self._keys(digest)
        found = self.cache.get_many(keys)
        # At most one key exists; the latest state wins should a write race a read.
        for key, state in zip(reversed(keys), (State.CONSUMED, State.IN_USE, State.PUSHED), strict=True):
            record = found.get(key)
            if record is not None:
                return PushedRequest(
                    request_uri_digest=digest,
                    application_id=record["application_id"],
                    parameters=record.get("parameters", {}),
                    state=state,
                    created_at=_moment(record["created_at"]),
                    expires_at=_moment(record["expires_at"]),
                    used_at=_optional_moment(record.get("used_at")),
                    consumed_at=_optional_moment(record.get("consumed_at")),
                )
        return None

    def start_flow(self, pushed: PushedRequest, now: datetime, flow_ends: datetime) -> bool:
        if pushed.state != State.PUSHED or pushed.expires_at <= now:
            return False
        pushed_key, in_use_key, _ = self._keys(pushed.request_uri_digest)
        record = {
            "application_id": pushed.application_id,
            "parameters": pushed.parameters,
            "created_at": _timestamp(pushed.created_at),
            "expires_at": flow_ends.timestamp(),
            "used_at": now.timestamp(),
        }
        if self._move(pushed_key, in_use_key, record, self._ttl(flow_ends, now)):
            return True
        self._await(in_use_key)
        return False

    def consume(self, pushed: PushedRequest, now: datetime) -> bool:
        if pushed.state != State.IN_USE or pushed.expires_at <= now:
            return False
        _, in_use_key, consumed_key = self._keys(pushed.request_uri_digest)
        # The tombstone only makes the refusal clearer ("already used", not "unknown"): no parameters kept.
        tombstone = {
            "application_id": pushed.application_id,
            "created_at": _timestamp(pushed.created_at),
            "expires_at": _timestamp(pushed.expires_at),
            "used_at": _timestamp(pushed.used_at),
            "consumed_at": now.timestamp(),
        }
        return self._move(in_use_key, consumed_key, tombstone, self._ttl(pushed.expires_at, now))

    def _move(self, old_key: str, new_key: str, record: dict[str, Any], ttl: int) -> bool:
        """Delete ``old_key``; if this call removed it, write ``record`` at ``new_key``."""
        cache = self.cache
        if isinstance(cache, RedisCache):
            old, new = cache.make_and_validate_key(old_key), cache.make_and_validate_key(new_key)
            # Django's own client and serializer (a find reads it back with cache.get_many).
            redis_cache: Any = cache._cache
            client = redis_cache.get_client(old, write=True)
            value = redis_cache._serializer.dumps(record)
            return bool(client.eval(_REDIS_MOVE, 2, old, new, value, ttl))
        if isinstance(cache, DatabaseCache):
            with transaction.atomic(using=router.db_for_write(cache.cache_model_class)):
                return self._delete_then_set(cache, old_key, new_key, record, ttl)
        return self._delete_then_set(cache, old_key, new_key, record, ttl)

    @staticmethod
    def _delete_then_set(cache: Any, old_key: str, new_key: str, record: dict[str, Any], ttl: int) -> bool:
        if not cache.delete(old_key):
            return False
        cache.set(new_key, record, ttl)
        return True

    def _await(self, key: str) -> None:
        """Wait briefly for a racing winner's write of ``key`` (at most ``RACE_WAIT``)."""
        deadline = time.monotonic() + self.RACE_WAIT
        while self.cache.get(key) is None and time.monotonic() < deadline:
            time.sleep(self.RACE_POLL)

    @contextmanager
    def outstanding_slot(self, application: Any, limit: int, now: datetime) -> Iterator[bool]:
        # Stricter than "unused": a count of the client's pushes per REQUEST_URI_LIFETIME window.
        # Every request it still holds was pushed in this window or the one before, so
        # both windows together never undercount. The incr comes first: atomic, never over.
        window = par_settings.REQUEST_URI_LIFETIME
        index = int(now.timestamp() // window)
        key = f"django_par.outstanding.{application.pk}.{index}"
        self.cache.add(key, 0, 2 * window + self.EXPIRY_MARGIN)
        count = self.cache.incr(key)
        earlier = self.cache.get(f"django_par.outstanding.{application.pk}.{index - 1}", 0)
        if count + earlier > limit:
            self.cache.decr(key)
            yield False
        else:
            yield True


@cache
def _store(path: str) -> PushedRequestStore:
    store: PushedRequestStore = import_string(path)()
    return store


def get_store() -> PushedRequestStore:
    return _store(par_settings.STORE)
