"""Prometheus metrics of pushed requests, fed by django_par's signals (optional).

With ``DJANGO_PAR = {"PROMETHEUS_METRICS": True}`` and the ``prometheus_client``
package installed (the ``prometheus`` extra), these are kept in
``prometheus_client``'s default registry; the site exposes them as it exposes its
other metrics (``prometheus_client.make_wsgi_app``, django-prometheus, ...). Under
gunicorn, and for the purge command run from cron, use ``prometheus_client``'s
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``) so that every process's counts add up.

Labels stay bounded: ``client_id`` is only ever a registered client's (anything else
is ``"unknown"``, so made-up client ids cannot create series) and ``error`` an OAuth
error code. Without the setting no receiver is connected and ``prometheus_client``
is never imported.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .conf import par_settings

UNKNOWN = "unknown"
# Seconds from push to the one authorization response: a browser redirect takes seconds, a
# login with MFA minutes, a cross-device handoff longer (FLOW_LIFETIME bounds it).
CONSUMPTION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)


@cache
def _metrics() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "pushed": Counter("django_par_pushes", "Pushed authorization requests stored (RFC 9126 §2.2).", ["client_id"]),
        "rejected": Counter(
            "django_par_rejections",
            "Pushes refused, client authentications failed and request_uris refused at the authorization endpoint.",
            ["error", "client_id"],
        ),
        "consumed": Counter(
            "django_par_request_uris_consumed", "request_uris spent on their one authorization response.", ["client_id"]
        ),
        "expired_unused": Counter(
            "django_par_request_uris_expired_unused",
            "Pushed requests deleted by the purge without their request_uri ever being used.",
            ["client_id"],
        ),
        "push_to_consumption": Histogram(
            "django_par_push_to_consumption_seconds",
            "Seconds from a push to its request_uri's authorization response.",
            buckets=CONSUMPTION_BUCKETS,
        ),
    }


def _client_id(pushed_request: Any = None, application: Any = None) -> str:
    application = application if application is not None else getattr(pushed_request, "application", None)
    return str(getattr(application, "client_id", "") or UNKNOWN)


def on_pushed(pushed_request: Any, **kwargs: Any) -> None:
    _metrics()["pushed"].labels(client_id=_client_id(pushed_request)).inc()


def on_rejected(error: Any, pushed_request: Any = None, application: Any = None, **kwargs: Any) -> None:
    client_id = _client_id(pushed_request, application)
    _metrics()["rejected"].labels(error=str(getattr(error, "error", UNKNOWN)), client_id=client_id).inc()


def on_consumed(pushed_request: Any, **kwargs: Any) -> None:
    metrics = _metrics()
    metrics["consumed"].labels(client_id=_client_id(pushed_request)).inc()
    if pushed_request.consumed_at is not None:
        metrics["push_to_consumption"].observe((pushed_request.consumed_at - pushed_request.created_at).total_seconds())


def on_expired_unused(counts: dict[str, int], **kwargs: Any) -> None:
    for client_id, count in counts.items():
        _metrics()["expired_unused"].labels(client_id=client_id or UNKNOWN).inc(count)


def _receivers() -> list[tuple[Any, Any]]:
    from . import signals

    return [
        (signals.request_pushed, on_pushed),
        (signals.request_rejected, on_rejected),
        (signals.request_consumed, on_consumed),
        (signals.requests_expired_unused, on_expired_unused),
    ]


def sync(**kwargs: Any) -> None:
    """Receivers connected while ``PROMETHEUS_METRICS`` is on, none otherwise (AppConfig.ready and
    every change of ``DJANGO_PAR``): a site without metrics runs no receiver and no extra query."""
    if kwargs.get("setting", "DJANGO_PAR") != "DJANGO_PAR":
        return
    enabled = par_settings.PROMETHEUS_METRICS
    for signal, receiver in _receivers():
        uid = f"django_par.metrics.{receiver.__name__}"
        if enabled:
            signal.connect(receiver, dispatch_uid=uid)
        else:
            signal.disconnect(receiver, dispatch_uid=uid)
