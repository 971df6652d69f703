"""The caches django_par keeps: a Django cache alias, or its own in-process one.

``None`` as an alias setting means django_par's in-process cache: no network
round trip (a Redis ``get`` costs about as much CPU as the query it saves), and
values never leave the process. Evictions then reach only the process that
made the change; other processes see it within the entry's TTL.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

IN_PROCESS_CACHE = LocMemCache("django-par", {"OPTIONS": {"MAX_ENTRIES": 10000}})


def get_cache(alias: str | None) -> Any:
    return IN_PROCESS_CACHE if alias is None else caches[alias]
