"""Fixtures of the fault tests: a redis-server of their own, TCP proxies, a worker over HTTP.

The servers are real; :class:`tests.helpers.tcp_proxy.TcpProxy` sits between django_par and
them, and a test cuts, hangs and restores it. Requests go over HTTP with ``requests`` to a
server running Django's WSGI handler, so Django's request signals (which close broken
database connections, ``CONN_HEALTH_CHECKS``) run as under gunicorn.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.db import connections
from django.test import Client
from oauth2_provider.models import AbstractApplication

from tests.conftest import basic_auth, code_request
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI
from tests.helpers.flow_helpers import CODE_CHALLENGE, CODE_VERIFIER, parse_forms
from tests.helpers.tcp_proxy import TcpProxy

# The alias the fault tests point django_par's caches at: the test's redis-server, through the proxy.
FAULTS_CACHE = "faults"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on a port of its own, without persistence: a restart forgets everything."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = free_port()
        self.workdir = tempfile.mkdtemp(prefix="django-par-faults-redis-")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [*args, "--dir", self.workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.skip("redis-server is not installed: the Redis fault tests start one of their own")
    server = RedisServer(executable)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture
def redis_proxy(redis_server: RedisServer) -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", redis_server.port) as proxy:
        yield proxy


def faults_cache(proxy: TcpProxy) -> dict[str, Any]:
    """The CACHES entry of the test's Redis behind ``proxy``, with the bounded waits of docs/failures.md."""
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{proxy.port}/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }


@pytest.fixture
def faults_settings(settings: Any, redis_proxy: TcpProxy) -> Any:
    """Every cache django_par uses on the proxied Redis; pushed requests in the CacheStore."""
    settings.CACHES = {**django_settings.CACHES, FAULTS_CACHE: faults_cache(redis_proxy)}
    settings.DJANGO_PAR = {
        "STORE": "django_par.flow.stores.CacheStore",
        "STORE_CACHE_ALIAS": FAULTS_CACHE,
        "LIMITS_CACHE_ALIAS": FAULTS_CACHE,
        "CLIENT_CACHE_ALIAS": FAULTS_CACHE,
        "SECRET_CACHE_ALIAS": FAULTS_CACHE,
        "PUSH_RATE_LIMIT": "1000/60",
    }
    return settings


# -- a worker over HTTP --------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Worker:
    """Django's WSGI handler in one thread serving one request at a time, as a sync gunicorn worker:
    its database connection persists across requests when CONN_MAX_AGE says so."""

    def __init__(self) -> None:
        self.server: WSGIServer = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # An in-memory SQLite database exists in one connection only: shared, as Django's live server does.
        self.shared = {
            conn.alias: conn for conn in connections.all() if conn.vendor == "sqlite" and conn.is_in_memory_db()
        }
        for conn in self.shared.values():
            conn.inc_thread_sharing()
        self.thread = threading.Thread(target=self._serve, name="faults-worker", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for alias, conn in self.shared.items():
            connections[alias] = conn
        try:
            self.server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's: a stopped worker holds no connection

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        for conn in self.shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def worker(transactional_db: None) -> Iterator[Worker]:
    server = Worker()
    yield server
    server.stop()


@pytest.fixture
def http(worker: Worker) -> HttpClient:
    return HttpClient(worker.url)


class HttpClient:
    """A client and its user's browser, over HTTP: pushes, the authorization page, the token endpoint."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.browser = requests.Session()

    def push(self, application: Any, **overrides: str) -> requests.Response:
        headers = {}
        data = code_request(application, code_challenge=CODE_CHALLENGE, **overrides)
        if application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL:
            headers["Authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
        return requests.post(self.base_url + "/o/par/", data=data, headers=headers, timeout=30)

    def request_uri(self, application: Any) -> str:
        response = self.push(application)
        assert response.status_code == 201, response.text
        return str(response.json()["request_uri"])

    def log_in(self, user: Any) -> None:
        """The user's browser holds a session of ``user`` (made through the database, not over HTTP)."""
        client = Client()
        client.force_login(user)
        name = django_settings.SESSION_COOKIE_NAME
        self.browser.cookies.set(name, client.cookies[name].value)

    def authorize_url(self, application: Any, request_uri: str) -> str:
        query = urlencode({"client_id": application.client_id, "request_uri": request_uri})
        return f"{self.base_url}/o/authorize/?{query}"

    def authorize(self, application: Any, request_uri: str) -> requests.Response:
        return self.browser.get(self.authorize_url(application, request_uri), allow_redirects=False, timeout=30)

    def consent(self, application: Any, request_uri: str, csrf_token: str) -> requests.Response:
        data = {"csrfmiddlewaretoken": csrf_token, "allow": "Authorize"}
        url = self.authorize_url(application, request_uri)
        return self.browser.post(url, data=data, allow_redirects=False, timeout=30)

    def consent_page(self, application: Any, request_uri: str) -> str:
        """GET the consent page (the request_uri is now in use); its CSRF token."""
        page = self.authorize(application, request_uri)
        assert page.status_code == 200, page.text[:500]
        (token,) = [
            field["value"] for field in parse_forms(page.text).inputs if field.get("name") == "csrfmiddlewaretoken"
        ]
        assert token
        return token

    def exchange(self, application: Any, code: str) -> requests.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": CODE_VERIFIER,
        }
        headers = {"Authorization": basic_auth(application.client_id, CLIENT_SECRET)}
        return requests.post(self.base_url + "/o/token/", data=data, headers=headers, timeout=30)


def code_of(response: requests.Response) -> str | None:
    """The code of an authorization response redirecting to the client, or None."""
    if response.status_code != 302:
        return None
    location = response.headers["Location"]
    if not location.startswith(REDIRECT_URI):
        return None
    return dict(parse_qsl(urlsplit(location).query)).get("code")


def assert_unavailable_json(response: requests.Response) -> None:
    """503 with Retry-After and an OAuth error body (RFC 6749 §5.2), never cached, no trace."""
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert body["error"] == "temporarily_unavailable", body
    assert set(body) == {"error", "error_description"}
    assert "Traceback" not in response.text


def assert_unavailable_page(response: requests.Response) -> None:
    """The authorization endpoint's 503 page: no redirect, no code, no trace."""
    assert response.status_code == 503, (response.status_code, response.headers.get("Location"), response.text[:300])
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Cache-Control"] == "no-store"
    assert int(response.headers["Retry-After"]) >= 1
    assert "temporarily_unavailable" in response.text
    assert "code=" not in response.text
    assert "Traceback" not in response.text
