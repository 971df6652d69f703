"""Redis cut, hung and restarted under the pushed-request CacheStore, the limits and the client caches.

A redis-server of the test's own behind a TCP proxy (tests/faults/conftest.py); django_par
served over HTTP. docs/failures.md states what each answer below is for.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from tests.faults.conftest import (
    HttpClient,
    RedisServer,
    assert_unavailable_json,
    assert_unavailable_page,
    code_of,
)
from tests.helpers.factories import ConfidentialApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import assertion_validator  # noqa: F401  (fixture)
from tests.helpers.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.live]


@pytest.fixture
def app(transactional_db: None) -> Any:
    return ConfidentialApplicationFactory(skip_authorization=True)


def test_push_answers_503_while_redis_is_cut_and_the_next_one_after_it_succeeds(
    faults_settings: Any, redis_proxy: TcpProxy, http: HttpClient, app: Any
) -> None:
    assert http.push(app).status_code == 201

    redis_proxy.cut()
    assert_unavailable_json(http.push(app))
    assert_unavailable_json(http.push(app))

    redis_proxy.restore()
    # Heals by itself: redis-py's pool opens a new connection for the next command.
    response = http.push(app)
    assert response.status_code == 201, response.text
    assert http.authorize(app, response.json()["request_uri"]).status_code in (200, 302)


def test_a_hung_redis_costs_a_request_its_socket_timeout_not_a_hang(
    faults_settings: Any, redis_proxy: TcpProxy, http: HttpClient, app: Any
) -> None:
    assert http.push(app).status_code == 201

    redis_proxy.hang()
    started = time.monotonic()
    assert_unavailable_json(http.push(app))
    # socket_timeout=1 per command: the push waits on a few of them (client cache, limits, store),
    # each failing alone; without the option it would wait for the TCP stack, minutes.
    assert time.monotonic() - started < 20

    redis_proxy.restore()
    assert http.push(app).status_code == 201


def test_the_authorization_endpoint_answers_a_503_page_while_the_store_is_cut(
    faults_settings: Any, redis_proxy: TcpProxy, http: HttpClient, app: Any
) -> None:
    http.log_in(UserFactory())
    request_uri = http.request_uri(app)

    redis_proxy.cut()
    # The store cannot say whose request_uri it is: no redirect URI is known valid, so a page.
    assert_unavailable_page(http.authorize(app, request_uri))

    redis_proxy.restore()
    response = http.authorize(app, request_uri)
    assert code_of(response), (response.status_code, response.text[:300])


def test_no_request_uri_yields_two_codes_across_a_redis_fault(
    faults_settings: Any, redis_proxy: TcpProxy, http: HttpClient
) -> None:
    app = ConfidentialApplicationFactory()
    http.log_in(UserFactory())
    request_uri = http.request_uri(app)
    csrf_token = http.consent_page(app, request_uri)  # the request_uri is now in use

    codes = []
    redis_proxy.cut()
    for _ in range(3):
        response = http.consent(app, request_uri, csrf_token)
        assert_unavailable_page(response)
    redis_proxy.restore()
    for _ in range(3):  # the user retries, and a second tab races
        response = http.consent(app, request_uri, csrf_token)
        if code := code_of(response):
            codes.append(code)
        else:
            assert response.status_code == 400, (response.status_code, response.text[:300])
            assert "invalid_request_uri" in response.text
    assert len(codes) == 1
    token = http.exchange(app, codes[0])
    assert token.status_code == 200, token.text


def test_a_cache_restart_loses_pushed_requests_as_invalid_request_uri_never_a_code(
    faults_settings: Any, redis_server: RedisServer, http: HttpClient
) -> None:
    app = ConfidentialApplicationFactory()
    http.log_in(UserFactory())
    unused = http.request_uri(app)
    in_use = http.request_uri(app)
    csrf_token = http.consent_page(app, in_use)

    redis_server.restart()  # --save "" --appendonly no: it comes back empty

    for response in (http.authorize(app, unused), http.consent(app, in_use, csrf_token)):
        assert response.status_code == 400, (response.status_code, response.headers.get("Location"))
        assert "invalid_request_uri" in response.text
        assert code_of(response) is None
    # And the service itself is back.
    assert http.push(app).status_code == 201


@pytest.fixture
def database_store(faults_settings: Any) -> Any:
    """Pushed requests in the database; the limits, clients and verified secrets on the proxied Redis."""
    faults_settings.DJANGO_PAR = {**faults_settings.DJANGO_PAR, "STORE": "django_par.flow.stores.DatabaseStore"}
    return faults_settings


def test_the_limits_and_the_client_caches_fail_open_with_a_warning(
    database_store: Any, redis_proxy: TcpProxy, http: HttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = ConfidentialApplicationFactory()
    redis_proxy.cut()
    with caplog.at_level(logging.WARNING):
        # The client from the database, its secret through the slow hash, the push rate not counted.
        response = http.push(app)
    assert response.status_code == 201, response.text
    loggers = {record.name for record in caplog.records}
    assert {"django_par.limits", "django_par.clients.cache"} <= loggers, loggers
    assert http.push(app).status_code == 201


def test_the_limits_fail_closed_when_the_setting_says_so(
    database_store: Any, redis_proxy: TcpProxy, http: HttpClient
) -> None:
    database_store.DJANGO_PAR = {**database_store.DJANGO_PAR, "LIMITS_FAIL_CLOSED": True}
    app = ConfidentialApplicationFactory()
    assert http.push(app).status_code == 201
    redis_proxy.cut()
    assert_unavailable_json(http.push(app))
    redis_proxy.restore()
    assert http.push(app).status_code == 201


@pytest.mark.usefixtures("assertion_validator")  # django_par's validator: the limits at the token endpoint
def test_the_token_endpoint_answers_503_while_its_limits_fail_closed(
    database_store: Any, redis_proxy: TcpProxy, http: HttpClient
) -> None:
    database_store.DJANGO_PAR = {
        **database_store.DJANGO_PAR,
        "LIMITS_FAIL_CLOSED": True,
        # No verified-secret cache: every token request takes the slow path, within the limits.
        "SECRET_CACHE_TTL": 0,
    }
    app = ConfidentialApplicationFactory(skip_authorization=True)
    http.log_in(UserFactory())
    code = code_of(http.authorize(app, http.request_uri(app)))
    assert code

    redis_proxy.cut()
    assert_unavailable_json(http.exchange(app, code))
    redis_proxy.restore()
    # The failed request changed nothing: the code is still good, once.
    assert http.exchange(app, code).status_code == 200
    assert http.exchange(app, code).json()["error"] == "invalid_grant"
