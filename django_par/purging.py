"""Deleting expired pushed requests in bounded batches."""

from __future__ import annotations

from .models import PushedRequest

DEFAULT_BATCH_SIZE = 1000


def purge_expired(batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Delete every expired pushed request, ``batch_size`` rows per statement.

    Each batch is its own short statement, so a large table is never locked for
    long and the transaction log stays small.
    """
    deleted = 0
    while True:
        batch = list(PushedRequest.objects.expired().order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        count, _ = PushedRequest.objects.filter(pk__in=batch).delete()
        deleted += count
