"""Prometheus metrics (django_par.metrics), fed by the signals, with PROMETHEUS_METRICS on.

Values are read from prometheus_client's default registry before and after each action,
so other tests' counts do not matter.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from django_par import checks, signals
from django_par.metrics import on_pushed
from django_par.models import PushedRequest
from tests.conftest import basic_auth, code_request, push
from tests.helpers.factories import ConfidentialApplicationFactory, PushedRequestFactory
from tests.helpers.flow_helpers import Browser, authorization_response, authorize_url, push_request

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.helpers.flow_fixtures"]


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.DJANGO_PAR = {**getattr(settings, "DJANGO_PAR", {}), "PROMETHEUS_METRICS": True}


def test_without_the_setting_no_receiver_is_connected(settings: Any) -> None:
    settings.DJANGO_PAR = {**getattr(settings, "DJANGO_PAR", {}), "PROMETHEUS_METRICS": False}
    assert on_pushed not in [receiver() for _, receiver in signals.request_pushed.receivers]
    assert not signals.requests_expired_unused.has_listeners(PushedRequest)


@pytest.mark.usefixtures("metrics_on")
def test_a_push_and_a_refused_push_are_counted_per_client() -> None:
    app = ConfidentialApplicationFactory()
    pushes, refusals = (
        value("django_par_pushes_total", client_id=app.client_id),
        value("django_par_rejections_total", error="invalid_request", client_id=app.client_id),
    )
    push_request(app)
    refused = push(
        Client(),
        code_request(app, redirect_uri="https://elsewhere.example/cb"),
        authorization=basic_auth(app.client_id, "s3cr3t-Pa55w0rd-for-tests-only"),
    )
    assert refused.status_code == 400
    assert value("django_par_pushes_total", client_id=app.client_id) == pushes + 1
    assert value("django_par_rejections_total", error="invalid_request", client_id=app.client_id) == refusals + 1


@pytest.mark.usefixtures("metrics_on")
def test_made_up_client_ids_do_not_make_new_series() -> None:
    before = value("django_par_rejections_total", error="invalid_client", client_id="unknown")
    for number in range(3):
        response = push(Client(), {"client_id": f"made-up-{number}", "response_type": "code"})
        assert response.status_code == 401
    assert value("django_par_rejections_total", error="invalid_client", client_id="unknown") == before + 3
    assert value("django_par_rejections_total", error="invalid_client", client_id="made-up-0") == 0


@pytest.mark.usefixtures("metrics_on")
def test_a_consumed_request_uri_is_counted_with_its_time_from_push(logged_in_browser: Browser) -> None:
    app = ConfidentialApplicationFactory(skip_authorization=True)
    consumed = value("django_par_request_uris_consumed_total", client_id=app.client_id)
    observed = value("django_par_push_to_consumption_seconds_count")
    request_uri = push_request(app)
    assert "code" in authorization_response(logged_in_browser.get(authorize_url(app, request_uri)))
    assert value("django_par_request_uris_consumed_total", client_id=app.client_id) == consumed + 1
    assert value("django_par_push_to_consumption_seconds_count") == observed + 1


@pytest.mark.usefixtures("metrics_on")
def test_the_purge_counts_expired_request_uris_that_were_never_used() -> None:
    app = ConfidentialApplicationFactory()
    before = value("django_par_request_uris_expired_unused_total", client_id=app.client_id)
    past = timezone.now() - timedelta(minutes=5)
    PushedRequestFactory.create_batch(2, application=app, expires_at=past)
    PushedRequestFactory(application=app, expires_at=past, state=PushedRequest.State.CONSUMED)
    PushedRequestFactory(application=app)  # live: not purged
    call_command("purge_pushed_requests", verbosity=0)
    assert value("django_par_request_uris_expired_unused_total", client_id=app.client_id) == before + 2


def test_check_e014_when_prometheus_client_is_missing(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DJANGO_PAR = {**getattr(settings, "DJANGO_PAR", {}), "PROMETHEUS_METRICS": True}
    assert checks.check_prometheus_client() == []
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # what an absent package raises: ImportError
    assert [message.id for message in checks.check_prometheus_client()] == ["django_par.E014"]
