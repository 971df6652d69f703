"""Deleting expired rows (pushed requests, used client assertions) in bounded batches."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..models import PushedRequest, UsedAssertion
from ..signals import requests_expired_unused

DEFAULT_BATCH_SIZE = 1000


def _purge(model: Any, batch_size: int) -> int:
    deleted = 0
    while True:
        # Oldest expiry first, along the expires_at index: live rows in between are never walked.
        batch = list(model.objects.expired().order_by("expires_at").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        if model is PushedRequest and requests_expired_unused.has_listeners(PushedRequest):
            _report_unused(batch)
        count, _ = model.objects.filter(pk__in=batch).delete()
        deleted += count


def _report_unused(batch: list[Any]) -> None:
    """Which clients' request_uris in this batch were never used (one query, for the metrics)."""
    rows = PushedRequest.objects.filter(pk__in=batch, state=PushedRequest.State.PUSHED).values_list(
        "application__client_id", flat=True
    )
    counts = Counter(rows)
    if counts:
        requests_expired_unused.send(sender=PushedRequest, counts=dict(counts))


def purge_expired(batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Delete expired pushed requests, ``batch_size`` rows per statement; return how many.

    Each batch is its own short statement, so a large table is never locked for
    long and the transaction log stays small. Expired entries of the client
    assertion replay store go too: past their expiry a replay fails on ``exp``.
    """
    _purge(UsedAssertion, batch_size)
    return _purge(PushedRequest, batch_size)
