"""The figures of the admin's overview page: pushed requests of the last 24 hours.

Three aggregate queries, each bounded by ``created_at >= now - 24 h`` on the
``django_par_overview`` index (created_at, state, expires_at, application), so
their cost follows the rows of the last day, not the table's size
(``benchmarks/admin_overview.py`` measures them on a million rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, Count, ExpressionWrapper, F, IntegerField, Q, Value, When
from django.utils import timezone
from oauth2_provider.models import get_application_model

from .models import PushedRequest

State = PushedRequest.State
# Rows are counted by a NOT NULL column of the index, not the primary key, so that the
# database can answer from the index alone (PostgreSQL's index-only scan).
COUNTED = "created_at"
WINDOW = timedelta(hours=24)
TOP_CLIENTS = 20

# SVG geometry of the chart of pushes per hour, in px.
CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM, CHART_TOP = 760, 260, 48, 40, 12


def state_counts(now: datetime) -> dict[str, Any]:
    """Conditional counts: the states as the admin shows them, "expired" derived from expires_at."""
    live = Q(expires_at__gt=now)
    return {
        "pushed": Count(COUNTED, filter=Q(state=State.PUSHED) & live),
        "in_use": Count(COUNTED, filter=Q(state=State.IN_USE) & live),
        "consumed": Count(COUNTED, filter=Q(state=State.CONSUMED)),
        "expired": Count(COUNTED, filter=~Q(state=State.CONSUMED) & ~live),
        "total": Count(COUNTED),
    }


def recent(now: datetime) -> Any:
    return PushedRequest.objects.filter(created_at__gt=now - WINDOW).order_by()


@dataclass(frozen=True)
class Bar:
    label: str
    x: float
    width: float
    consumed: int
    expired_unused: int
    other: int
    consumed_y: float
    consumed_height: float
    expired_y: float
    expired_height: float
    other_y: float
    other_height: float


def hourly(now: datetime) -> list[dict[str, Any]]:
    """Pushes per hour of the last 24: total, consumed, expired without a first use.

    The hour is a CASE over plain created_at comparisons: no date function runs per row
    (SQLite's are Python callbacks) and no time zone conversion happens in SQL (MariaDB
    without time zone tables has none).
    """
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    hours = [first + timedelta(hours=n) for n in range(24)]
    bucket = Case(
        *(When(created_at__lt=start + timedelta(hours=1), then=Value(n)) for n, start in enumerate(hours)),
        default=Value(len(hours)),  # pushed after now: clocks of other servers
        output_field=IntegerField(),
    )
    rows = (
        PushedRequest.objects.filter(created_at__gte=first)
        .annotate(bucket=bucket)
        .values("bucket")
        .annotate(
            total=Count(COUNTED),
            consumed=Count(COUNTED, filter=Q(state=State.CONSUMED)),
            expired_unused=Count(COUNTED, filter=Q(state=State.PUSHED, expires_at__lte=now)),
        )
        .order_by()
    )
    by_bucket: dict[int, dict[str, Any]] = {row["bucket"]: dict(row) for row in rows}
    empty = {"total": 0, "consumed": 0, "expired_unused": 0}
    return [{"hour": start, **{name: by_bucket.get(n, empty)[name] for name in empty}} for n, start in enumerate(hours)]


def chart(hours: list[dict[str, Any]]) -> dict[str, Any]:
    """Stacked bars: consumed at the bottom, expired-unused above, the rest (in flight) on top."""
    peak = max([row["total"] for row in hours] + [1])
    plot_height = CHART_HEIGHT - CHART_BOTTOM - CHART_TOP
    slot = (CHART_WIDTH - CHART_LEFT) / len(hours)
    scale = plot_height / peak
    base = CHART_HEIGHT - CHART_BOTTOM
    bars = []
    for index, row in enumerate(hours):
        other = row["total"] - row["consumed"] - row["expired_unused"]
        consumed_h, expired_h, other_h = (row["consumed"] * scale, row["expired_unused"] * scale, other * scale)
        bars.append(
            Bar(
                label=timezone.localtime(row["hour"]).strftime("%H:%M"),
                x=CHART_LEFT + index * slot + 2,
                width=slot - 4,
                consumed=row["consumed"],
                expired_unused=row["expired_unused"],
                other=other,
                consumed_y=base - consumed_h,
                consumed_height=consumed_h,
                expired_y=base - consumed_h - expired_h,
                expired_height=expired_h,
                other_y=base - consumed_h - expired_h - other_h,
                other_height=other_h,
            )
        )
    ticks = [{"value": value, "y": base - value * scale} for value in sorted({0, peak // 2, peak})]
    return {
        "bars": bars,
        "ticks": ticks,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "base": base,
        "label_y": base + 16,
    }


def per_client(now: datetime) -> list[dict[str, Any]]:
    # Grouped by application_id + 0, not the column: otherwise SQLite's planner walks the
    # whole foreign key index for its order instead of the last day's range.
    client = ExpressionWrapper(F("application") + 0, output_field=IntegerField())
    grouped = recent(now).annotate(client=client).values("client").annotate(**state_counts(now))
    rows = [{**row, "application": row["client"]} for row in grouped.order_by("-total")[:TOP_CLIENTS]]
    names = dict(
        get_application_model()
        .objects.filter(pk__in=[row["application"] for row in rows])
        .values_list("pk", "client_id")
    )
    return [{**row, "client_id": names.get(row["application"], "?")} for row in rows]


def overview_context(now: datetime) -> dict[str, Any]:
    hours = hourly(now)
    return {
        "since": now - WINDOW,
        "now": now,
        "states": recent(now).aggregate(**state_counts(now)),
        "clients": per_client(now),
        "hours": hours,
        "chart": chart(hours),
    }
