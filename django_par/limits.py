"""Rate limits: fixed-window counters in a Django cache shared by every process.

A counter lives in one cache key per (limit, subject, window): ``cache.add(key, 0)``
creates it with the window's timeout, ``cache.incr(key)`` counts. Both are atomic on
Redis and Memcached, so processes and threads never lose a count; with
``LocMemCache`` (``LIMITS_CACHE_ALIAS`` pointing at one) each process counts alone.
Subjects (client ids, addresses) enter keys only as digests.

**If the cache fails** (Redis down), every limit lets the request through and logs a
warning on the ``django_par.limits`` logger: availability over the limits, which are
a shield against floods, not an authorization rule. With ``LIMITS_FAIL_CLOSED`` the
request is refused instead (503, ``temporarily_unavailable``; docs/failures.md).

The policies (RFC 9126 §2.3 names 429 for a client over its allowed rate):

* the slow password hash (:func:`before_slow_hash`, :func:`after_slow_hash`): failed
  checks per (client, address), slow hashes per client and per address;
* pushes per client (:func:`check_push_rate`), and unused ``request_uri`` values per
  client (:func:`outstanding_limit`, enforced by the store).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from .conf import par_settings
from .errors import BackendUnavailable, TooManyRequests

logger = logging.getLogger("django_par.limits")

# Seconds a counter outlives its window, so that a late incr never recreates it without a timeout.
EXPIRY_MARGIN = 5
# Seconds an address from which a client once passed the slow hash stays known (see docs/security.md).
KNOWN_ADDRESS_TTL = 86400
# "N/S": N events per S seconds; at most a day, at most a billion events.
_RATE = re.compile(r"([1-9][0-9]{0,8})/([1-9][0-9]{0,4})")
MAX_PERIOD = 86400


@dataclass(frozen=True)
class Rate:
    count: int
    period: int

    def __str__(self) -> str:
        return f"{self.count}/{self.period}"


@dataclass(frozen=True)
class Usage:
    #: Events counted in the current window, this one included.
    count: int
    #: Whole seconds until the window ends (at least 1).
    retry_after: int


def parse_rate(value: Any) -> Rate | None:
    """The rate written ``"N/S"`` (N events per S seconds); None for an empty value (no limit).

    Raises ValueError for anything else.
    """
    if value is None or value == "":
        return None
    match = _RATE.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[2]) > MAX_PERIOD:
        raise ValueError(f"{value!r} is not a rate N/S (N events per S seconds, S from 1 to {MAX_PERIOD}).")
    return Rate(int(match[1]), int(match[2]))


def validate_rate(value: Any) -> None:
    """Model field validator of a rate."""
    try:
        parse_rate(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


def client_address(request: HttpRequest) -> str:
    """The source address. Behind a proxy the site must set REMOTE_ADDR to the client's (docs/security.md)."""
    return str(request.META.get("REMOTE_ADDR") or "")


def _cache() -> Any:
    return caches[par_settings.LIMITS_CACHE_ALIAS]


def _digest(*parts: str) -> str:
    # Subjects come from clients: any text (even lone surrogates) becomes a fixed-size key part.
    joined = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]


def _window(name: str, subject: str, rate: Rate, now: float) -> tuple[str, int]:
    index = int(now // rate.period)
    retry_after = max(1, math.ceil((index + 1) * rate.period - now))
    return f"django_par.limit.{name}.{rate.period}.{index}.{subject}", retry_after


def _cache_failed(action: str) -> None:
    """Called in the handler of a cache failure: fail open (logged), or closed if the site says so."""
    if par_settings.LIMITS_FAIL_CLOSED:
        logger.warning("The limits cache failed while %s; the request is refused.", action, exc_info=True)
        raise BackendUnavailable(f"The limits cache failed while {action}.")
    logger.warning("The limits cache failed while %s; the request is let through.", action, exc_info=True)


def hit(name: str, subject: str, rate: Rate, now: float | None = None) -> Usage | None:
    """Count one event of ``subject`` (a digest) against ``rate``; None when the cache failed."""
    key, retry_after = _window(name, subject, rate, time.time() if now is None else now)
    cache = _cache()
    timeout = retry_after + EXPIRY_MARGIN
    try:
        cache.add(key, 0, timeout)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.add(key, 0, timeout)
            count = cache.incr(key)
    except Exception:  # any backend's connection error: fail open
        _cache_failed("counting")
        return None
    return Usage(int(count), retry_after)


def peek(name: str, subject: str, rate: Rate, now: float | None = None) -> Usage | None:
    """The current count, without counting; None when the cache failed."""
    key, retry_after = _window(name, subject, rate, time.time() if now is None else now)
    try:
        count = _cache().get(key, 0)
    except Exception:
        _cache_failed("reading a counter")
        return None
    return Usage(int(count), retry_after)


# -- the slow password hash (docs/security.md, "The slow hash is not a CPU lever") ---------------


def _known_address_key(client_id: str, address: str) -> str:
    return f"django_par.limit.known.{_digest(client_id, address)}"


def _is_known_address(client_id: str, address: str) -> bool:
    try:
        return bool(_cache().get(_known_address_key(client_id, address)))
    except Exception:
        _cache_failed("reading a known address")
        return False


def before_slow_hash(client_id: str, address: str) -> None:
    """Raise TooManyRequests instead of running a slow hash the limits do not allow.

    Called only where the hasher would run: a secret that matches the warm
    verified-secret cache never gets here, so it is never refused by these limits.
    """
    failures = parse_rate(par_settings.AUTH_FAILURE_RATE)
    if failures is not None:
        usage = peek("failures", _digest(client_id, address), failures)
        if usage is not None and usage.count >= failures.count:
            raise TooManyRequests(
                "Too many failed client authentications from this address; retry later.",
                retry_after=usage.retry_after,
            )
    budgets = (
        ("slow-hash-client", _digest(client_id), par_settings.SLOW_HASH_RATE_PER_CLIENT),
        ("slow-hash-address", _digest(address), par_settings.SLOW_HASH_RATE_PER_ADDRESS),
    )
    known: bool | None = None
    for name, subject, value in budgets:
        rate = parse_rate(value)
        if rate is None:
            continue
        usage = hit(name, subject, rate)
        if usage is None or usage.count <= rate.count:
            continue
        # Over a shared budget: an address where this client proved its secret before still passes,
        # held to its own failure limit above.
        if known is None:
            known = _is_known_address(client_id, address)
        if not known:
            raise TooManyRequests(
                "Too many client authentications to verify at the moment; retry later.",
                retry_after=usage.retry_after,
            )


def after_slow_hash(client_id: str, address: str, verified: bool) -> None:
    """Record the outcome of a slow hash: a failure for (client, address), or a known address."""
    if not verified:
        failures = parse_rate(par_settings.AUTH_FAILURE_RATE)
        if failures is not None:
            hit("failures", _digest(client_id, address), failures)
        return
    try:
        _cache().set(_known_address_key(client_id, address), 1, KNOWN_ADDRESS_TTL)
    except Exception:
        _cache_failed("remembering a known address")


# -- the PAR endpoint (RFC 9126 §2.3) -------------------------------------------------------------


def _client_rate(value: str, client_id: str, what: str) -> Rate | None:
    """A client's override, or None for the server default; a bad stored value falls back (and is logged)."""
    try:
        return parse_rate(value)
    except ValueError:
        logger.error("Client %r has an invalid %s %r; the server default applies.", client_id, what, value)
        return None


def push_rate(application: Any) -> Rate | None:
    from .models import client_metadata

    own = _client_rate(client_metadata(application).push_rate_limit, application.client_id, "push rate limit")
    return own or parse_rate(par_settings.PUSH_RATE_LIMIT)


def check_push_rate(application: Any) -> None:
    """RFC 9126 §2.3: 429 for a client over its allowed push rate. Counts authenticated pushes only,
    so nobody but the client can spend its budget."""
    rate = push_rate(application)
    if rate is None:
        return
    usage = hit("push", _digest(application.client_id), rate)
    if usage is not None and usage.count > rate.count:
        raise TooManyRequests(
            f"This client exceeded its rate of {rate.count} pushed requests per {rate.period} s; retry later.",
            retry_after=usage.retry_after,
        )


def outstanding_limit(application: Any) -> int | None:
    """The most unused, unexpired request_uri values the client may hold; None: no limit."""
    from .models import client_metadata

    own = client_metadata(application).max_outstanding_request_uris
    return own if own is not None else par_settings.MAX_OUTSTANDING_REQUEST_URIS


def too_many_outstanding(limit: int) -> TooManyRequests:
    # The oldest unused request_uri expires within REQUEST_URI_LIFETIME.
    return TooManyRequests(
        f"This client holds {limit} unused request_uri values, its limit; use or let them expire first.",
        retry_after=par_settings.REQUEST_URI_LIFETIME,
    )
