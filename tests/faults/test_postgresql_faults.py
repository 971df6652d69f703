"""PostgreSQL cut and hung behind a TCP proxy, under a worker with persistent connections.

The worker (tests/faults/conftest.py) serves Django's WSGI handler in one thread, as a sync
gunicorn worker does, with ``CONN_MAX_AGE`` and ``CONN_HEALTH_CHECKS`` on and a
``connect_timeout``: the database settings of docs/failures.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from django.db import connection
from oauth2_provider.models import get_access_token_model, get_grant_model

from django_par.models import PushedRequest
from tests.faults.conftest import (
    FAULTS_CACHE,
    HttpClient,
    Worker,
    assert_unavailable_json,
    assert_unavailable_page,
    code_of,
    faults_cache,
)
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory, UserFactory
from tests.helpers.flow_helpers import plain_url
from tests.helpers.jwt_helpers import assertion_validator  # noqa: F401  (fixture)
from tests.helpers.tcp_proxy import TcpProxy
from tests.resources.test_resources import make_token

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL fault tests (DJANGO_PAR_TEST_DB=postgresql)"
    ),
]


@pytest.fixture
def pg_proxy(transactional_db: None) -> Iterator[TcpProxy]:
    """New database connections go through the proxy, persistent and health-checked, for the test.

    The test's own connection, already open, stays direct: the test can look at the rows
    while the worker's path is cut.
    """
    settings_dict = connection.settings_dict  # shared by every thread's connection
    saved = {key: settings_dict[key] for key in ("HOST", "PORT", "CONN_MAX_AGE", "CONN_HEALTH_CHECKS", "OPTIONS")}
    connection.ensure_connection()
    with TcpProxy(settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)) as proxy:
        settings_dict.update(
            HOST="127.0.0.1",
            PORT=str(proxy.port),
            CONN_MAX_AGE=600,
            CONN_HEALTH_CHECKS=True,
            OPTIONS={**saved["OPTIONS"], "connect_timeout": 2},
        )
        try:
            yield proxy
        finally:
            settings_dict.update(saved)
            connection.close()  # in case it reconnected through the proxy: the teardown's flush goes direct


@pytest.fixture
def pg_worker(pg_proxy: TcpProxy) -> Iterator[Worker]:
    server = Worker()
    yield server
    server.stop()


@pytest.fixture
def pg_http(pg_worker: Worker) -> HttpClient:
    return HttpClient(pg_worker.url)


def test_push_answers_503_while_the_database_is_cut_and_the_next_one_after_it_succeeds(
    pg_proxy: TcpProxy, pg_http: HttpClient
) -> None:
    app = ConfidentialApplicationFactory()
    assert pg_http.push(app).status_code == 201
    rows = PushedRequest.objects.count()

    pg_proxy.cut()
    assert_unavailable_json(pg_http.push(app))
    assert_unavailable_json(pg_http.push(app))
    assert PushedRequest.objects.count() == rows  # nothing half-written

    pg_proxy.restore()
    response = pg_http.push(app)
    assert response.status_code == 201, response.text
    assert PushedRequest.objects.count() == rows + 1


def test_a_connection_lost_while_idle_is_replaced_before_the_next_request(
    pg_proxy: TcpProxy, pg_http: HttpClient
) -> None:
    # CONN_HEALTH_CHECKS: without it the first request after a quiet outage meets the dead
    # persistent connection and fails; with it, Django checks and reconnects first.
    app = ConfidentialApplicationFactory()
    assert pg_http.push(app).status_code == 201
    pg_proxy.cut()  # kills the worker's persistent connection; no request meanwhile
    pg_proxy.restore()
    response = pg_http.push(app)
    assert response.status_code == 201, response.text


def test_a_hung_database_costs_a_new_connection_its_connect_timeout(pg_proxy: TcpProxy, pg_http: HttpClient) -> None:
    app = ConfidentialApplicationFactory()
    assert pg_http.push(app).status_code == 201
    pg_proxy.cut()
    pg_proxy.hang()  # connections are accepted, never answered
    started = time.monotonic()
    assert_unavailable_json(pg_http.push(app))
    assert time.monotonic() - started < 20  # connect_timeout=2, not the TCP stack's minutes
    pg_proxy.restore()
    assert pg_http.push(app).status_code == 201


@pytest.mark.usefixtures("assertion_validator")
def test_no_request_uri_yields_two_codes_and_no_code_two_tokens_across_a_database_fault(
    pg_proxy: TcpProxy, pg_http: HttpClient
) -> None:
    app = ConfidentialApplicationFactory()
    pg_http.log_in(UserFactory())
    request_uri = pg_http.request_uri(app)
    csrf_token = pg_http.consent_page(app, request_uri)

    pg_proxy.cut()
    assert_unavailable_page(pg_http.consent(app, request_uri, csrf_token))
    pg_proxy.restore()
    codes = [code for code in (code_of(pg_http.consent(app, request_uri, csrf_token)) for _ in range(3)) if code]
    assert len(codes) == 1

    pg_proxy.cut()
    assert_unavailable_json(pg_http.exchange(app, codes[0]))
    pg_proxy.restore()
    assert pg_http.exchange(app, codes[0]).status_code == 200
    assert pg_http.exchange(app, codes[0]).json()["error"] == "invalid_grant"
    assert get_access_token_model().objects.filter(application=app).count() == 1
    assert not get_grant_model().objects.filter(application=app).exists()


def test_the_authorization_endpoint_redirects_temporarily_unavailable_where_the_redirect_uri_is_known(
    settings: Any, redis_proxy: TcpProxy, pg_proxy: TcpProxy, pg_http: HttpClient
) -> None:
    # Pushed requests on Redis, which stays up: the request_uri resolves (its redirect_uri was
    # checked when it was pushed), then the session and DOT need the database, which is cut.
    settings.CACHES = {**settings.CACHES, FAULTS_CACHE: faults_cache(redis_proxy)}
    settings.DJANGO_PAR = {"STORE": "django_par.flow.stores.CacheStore", "STORE_CACHE_ALIAS": FAULTS_CACHE}
    app = ConfidentialApplicationFactory()
    pg_http.log_in(UserFactory())
    request_uri = pg_http.request_uri(app)

    pg_proxy.cut()
    response = pg_http.authorize(app, request_uri)
    assert response.status_code == 302, (response.status_code, response.text[:300])
    location = response.headers["Location"]
    assert location.startswith("https://client.example.org/callback?"), location
    assert "error=temporarily_unavailable" in location
    assert "state=state-0123456789" in location
    assert "code=" not in location

    pg_proxy.restore()  # nothing was spent: the flow goes on
    assert pg_http.authorize(app, request_uri).status_code == 200


def test_a_push_answered_201_survives_a_worker_restart(pg_proxy: TcpProxy, pg_worker: Worker) -> None:
    app = ConfidentialApplicationFactory(skip_authorization=True)
    request_uri = HttpClient(pg_worker.url).request_uri(app)
    pg_worker.stop()
    pg_proxy.cut()  # and every connection of the old worker is gone
    pg_proxy.restore()

    restarted = Worker()
    try:
        client = HttpClient(restarted.url)
        client.log_in(UserFactory())
        assert code_of(client.authorize(app, request_uri))
    finally:
        restarted.stop()


@pytest.fixture
def connection_killed_on_code_deletion(transactional_db: None) -> Iterator[None]:
    """The database server drops the connection that deletes a code, right after DOT saved its token.

    A real fault at the exact point between DOT's two writes of a code exchange, which no proxy
    can time: a trigger that terminates its own backend (``pg_terminate_backend``).
    """
    table = get_grant_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION django_par_faults_kill() RETURNS trigger AS $$ "
            "BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN OLD; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER django_par_faults_kill BEFORE DELETE ON {connection.ops.quote_name(table)} "
            "FOR EACH ROW EXECUTE FUNCTION django_par_faults_kill()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER IF EXISTS django_par_faults_kill ON {connection.ops.quote_name(table)}")
            cursor.execute("DROP FUNCTION IF EXISTS django_par_faults_kill()")


def test_a_fault_between_the_token_save_and_the_code_deletion_leaves_neither(
    pg_http: HttpClient, connection_killed_on_code_deletion: None
) -> None:
    app = ConfidentialApplicationFactory(skip_authorization=True)
    pg_http.log_in(UserFactory())
    code = code_of(pg_http.authorize(app, pg_http.request_uri(app)))
    assert code

    assert_unavailable_json(pg_http.exchange(app, code))
    # Rolled back together: no token was kept, the code is still there.
    assert not get_access_token_model().objects.filter(application=app).exists()
    assert get_grant_model().objects.filter(application=app).count() == 1

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER django_par_faults_kill ON {get_grant_model()._meta.db_table}")
    assert pg_http.exchange(app, code).status_code == 200
    assert pg_http.exchange(app, code).json()["error"] == "invalid_grant"
    assert get_access_token_model().objects.filter(application=app).count() == 1


def test_a_request_that_was_not_pushed_gets_the_503_page_never_a_redirect(
    pg_proxy: TcpProxy, pg_http: HttpClient
) -> None:
    app = ConfidentialApplicationFactory()
    url = pg_http.base_url + plain_url(app)
    pg_proxy.cut()
    # Its redirect_uri is not yet checked against the client's: no redirect to it (RFC 6749 §4.1.2.1).
    assert_unavailable_page(pg_http.browser.get(url, allow_redirects=False, timeout=30))
    pg_proxy.restore()
    pg_http.log_in(UserFactory())
    assert pg_http.browser.get(url, allow_redirects=False, timeout=30).status_code == 200


@pytest.mark.parametrize("path", ["/api/view/", "/api/function/", "/api/drf/", "/o/userinfo/"])
def test_protected_resources_answer_503_while_the_database_is_cut(
    pg_proxy: TcpProxy, pg_http: HttpClient, path: str
) -> None:
    token = make_token(scope="read openid")
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{pg_http.base_url}{path}", headers=headers, timeout=30).status_code == 200
    pg_proxy.cut()
    refused = requests.get(f"{pg_http.base_url}{path}", headers=headers, timeout=30)
    assert refused.status_code == 503, refused.text[:300]
    assert refused.json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    pg_proxy.restore()
    assert requests.get(f"{pg_http.base_url}{path}", headers=headers, timeout=30).status_code == 200


def test_introspection_answers_503_while_the_database_is_cut(pg_proxy: TcpProxy, pg_http: HttpClient) -> None:
    app = ConfidentialApplicationFactory()
    token = make_token()
    auth = (app.client_id, CLIENT_SECRET)
    assert requests.post(f"{pg_http.base_url}/o/introspect/", data={"token": token}, auth=auth, timeout=30).json()[
        "active"
    ]
    pg_proxy.cut()
    assert_unavailable_json(
        requests.post(f"{pg_http.base_url}/o/introspect/", data={"token": token}, auth=auth, timeout=30)
    )
    pg_proxy.restore()
    assert requests.post(f"{pg_http.base_url}/o/introspect/", data={"token": token}, auth=auth, timeout=30).json()[
        "active"
    ]
