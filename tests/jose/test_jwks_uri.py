"""Client keys fetched from the client's ``jwks_uri`` (RFC 7591 §2) over HTTPS.

A real HTTPS server runs in a thread on 127.0.0.1 with a self-signed certificate
made here (for ``localhost`` and ``127.0.0.1``) and handed to django_par as
``JWKS_URI_CA_BUNDLE``. It counts the requests it gets, so caching and the
refresh on an unknown kid are observed from the server's side. Every failure
must reach the client as 401 invalid_client, never as a 500.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import override_settings

from django_par.jose import keys
from django_par.jose.fetch import KeyLookupError, _is_public
from django_par.jose.keys import client_key_set
from django_par.models import ClientMetadata, PushedRequest
from tests.conftest import basic_auth, code_request
from tests.helpers.factories import CLIENT_SECRET, PlainSecretApplicationFactory
from tests.helpers.jwt_helpers import (
    assert_invalid_client,
    assert_pushed,
    assertion_params,
    clear_jwks_cache,  # noqa: F401  (fixture)
    client_assertion,
    jwt_client,
    private_key,
    public_jwks,
    push_form,
    request_object_claims,
    sign,
)
from tests.helpers.tls import make_certificate

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clear_jwks_cache"), pytest.mark.once_per_matrix]

KEY_1 = private_key("EC", kid="rotating-key-1")
KEY_2 = private_key("EC", kid="rotating-key-2")
# Long enough that a test that would wait for it fails by itself.
HANG_SECONDS = 20


class JwksServer:
    """A threaded HTTPS server for JWK Sets, with misbehaving paths.

    ``/jwks.json`` serves ``self.jwks``; ``/hang`` never answers (until the
    test ends); ``/drip`` answers one byte at a time; ``/slow`` serves
    ``self.jwks`` and ``/slow-fail`` a 503 after ``self.delay`` seconds;
    ``/big``, ``/missing``, ``/not-json``, ``/not-a-set``, ``/malformed-set``,
    ``/deep`` (JSON nested 10,000 deep) and ``/redirect`` serve what their
    names say. A query string is ignored (distinct URIs, the same answer).
    """

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.jwks: dict[str, Any] = public_jwks(KEY_1)
        self.requests: list[str] = []
        self.release = threading.Event()
        self.delay = 1.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests.append(self.path)
                owner.answer(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        # The handshake runs in each request's thread, so a stuck client cannot block accept().
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def url(self, path: str = "/jwks.json", host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"

    def fetches(self, path: str = "/jwks.json") -> int:
        return sum(1 for seen in self.requests if seen.split("?")[0] == path)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path in ("/slow", "/slow-fail"):
            self.release.wait(self.delay)
            path = "/jwks.json" if path == "/slow" else "/unavailable"
        if path == "/hang":
            self.release.wait(HANG_SECONDS)
            return
        if path == "/drip":
            body = json.dumps(self.jwks).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for index in range(len(body)):
                if self.release.wait(0.3):
                    return
                handler.wfile.write(body[index : index + 1])
                handler.wfile.flush()
            return
        if path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", self.url())
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        status, body = {
            "/jwks.json": (200, json.dumps(self.jwks).encode()),
            "/big": (200, json.dumps({**self.jwks, "padding": "x" * (70 * 1024)}).encode()),
            "/not-json": (200, b"<html>keys</html>"),
            "/not-a-set": (200, b'{"kty": "EC"}'),
            "/malformed-set": (200, b'{"keys": [{"kty": "EC", "crv": "P-256", "x": "??"}]}'),
            "/deep": (200, b"[" * 10_000 + b"]" * 10_000),
            "/unavailable": (503, b"{}"),
        }.get(path, (404, b"{}"))
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server(certificate: tuple[Path, Path]) -> Iterator[JwksServer]:
    jwks_server = JwksServer(*certificate)
    jwks_server.start()
    yield jwks_server
    jwks_server.stop()


@pytest.fixture
def trusted(certificate: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    """DJANGO_PAR settings that trust the test server and allow its loopback address."""
    settings = {"JWKS_URI_CA_BUNDLE": str(certificate[0]), "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True}
    with override_settings(DJANGO_PAR=settings):
        yield settings


def uri_client(jwks_uri: str, **metadata: Any) -> Any:
    """A private_key_jwt client whose keys are at ``jwks_uri``."""
    return jwt_client(jwks_uri=jwks_uri, **metadata)


def push_signed(client: Any, application: Any, key: Any = KEY_1) -> Any:
    token = client_assertion(application.client_id, key, "ES256")
    return push_form(client, {**code_request(application), **assertion_params(token)})


class TestFetched:
    def test_keys_from_jwks_uri(self, client, server, trusted):
        application = uri_client(server.url())

        assert assert_pushed(push_signed(client, application)).application == application
        assert server.fetches() == 1

    def test_ip_address_host(self, client, server, trusted):
        application = uri_client(server.url(host="127.0.0.1"))

        assert_pushed(push_signed(client, application))

    def test_key_set_is_cached(self, client, server, trusted):
        application = uri_client(server.url())

        assert_pushed(push_signed(client, application))
        assert_pushed(push_signed(client, application))
        assert_pushed(push_signed(client, application))

        assert server.fetches() == 1

    def test_no_caching_with_ttl_zero(self, client, server, certificate):
        settings = {
            "JWKS_URI_CA_BUNDLE": str(certificate[0]),
            "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True,
            "JWKS_URI_CACHE_TTL": 0,
        }
        application = uri_client(server.url())

        with override_settings(DJANGO_PAR=settings):
            assert_pushed(push_signed(client, application))
            assert_pushed(push_signed(client, application))

        assert server.fetches() == 2

    def test_cache_is_shared_by_clients_of_the_same_uri(self, client, server, trusted):
        first, second = uri_client(server.url()), uri_client(server.url())

        assert_pushed(push_signed(client, first))
        assert_pushed(push_signed(client, second))

        assert server.fetches() == 1

    def test_rotated_keys_are_fetched_once_on_an_unknown_kid(self, client, server, trusted):
        application = uri_client(server.url())
        assert_pushed(push_signed(client, application, KEY_1))
        server.jwks = public_jwks(KEY_2)  # the client rotates: KEY_1 is gone

        assert_pushed(push_signed(client, application, KEY_2))
        assert server.fetches() == 2

        assert_pushed(push_signed(client, application, KEY_2))
        assert server.fetches() == 2  # the refreshed set is cached in turn

    def test_retired_key_is_refused_after_rotation(self, client, server, trusted):
        application = uri_client(server.url())
        assert_pushed(push_signed(client, application, KEY_1))
        server.jwks = public_jwks(KEY_2)
        assert_pushed(push_signed(client, application, KEY_2))
        PushedRequest.objects.all().delete()

        response = push_signed(client, application, KEY_1)

        assert_invalid_client(response, "does not verify with the client's keys")

    def test_unknown_kid_refreshes_only_once(self, client, server, trusted):
        application = uri_client(server.url())

        response = push_signed(client, application, private_key("EC", kid="never-published"))

        assert_invalid_client(response, "does not verify with the client's keys")
        assert server.fetches() == 2  # the first fetch, then one refresh: no loop

    def test_forced_refreshes_are_rate_limited(self, client, server, trusted):
        # An unknown kid is read before any signature check: anyone could force fetches.
        application = uri_client(server.url())
        for number in range(3):
            push_signed(client, application, private_key("EC", kid=f"made-up-{number}"))

        assert server.fetches() == 2  # the first fetch and one refresh within the interval

    def test_a_refresh_is_allowed_again_after_the_interval(self, client, server, trusted):
        application = uri_client(server.url())
        with override_settings(DJANGO_PAR={**trusted, "JWKS_URI_MIN_REFRESH_INTERVAL": 0}):
            for number in range(3):
                push_signed(client, application, private_key("EC", kid=f"made-up-{number}"))

        assert server.fetches() == 4

    def test_known_kid_with_a_bad_signature_does_not_refresh(self, client, server, trusted):
        from jwcrypto import jwk

        application = uri_client(server.url())
        assert_pushed(push_signed(client, application, KEY_1))
        PushedRequest.objects.all().delete()
        impostor = jwk.JWK.generate(kty="EC", crv="P-256", kid=KEY_1.get("kid"))

        response = push_signed(client, application, impostor)

        assert_invalid_client(response, "does not verify with the client's keys")
        assert server.fetches() == 1

    def test_registered_jwks_wins_over_jwks_uri(self, client, server, trusted):
        application = uri_client(server.url(), jwks=public_jwks(KEY_2))

        assert_pushed(push_signed(client, application, KEY_2))
        assert server.fetches() == 0

    def test_request_object_verified_with_jwks_uri_keys(self, client, server, trusted):
        application = jwt_client(method="", jwks_uri=server.url(), application=PlainSecretApplicationFactory())
        request_object = sign(request_object_claims(application.client_id), KEY_1, "ES256")

        response = push_form(
            client, {"request": request_object}, authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert assert_pushed(response).parameters["client_id"] == application.client_id
        assert server.fetches() == 1


class TestRefused:
    def test_http_uri(self, client, server, trusted):
        application = uri_client(f"http://localhost:{server.port}/jwks.json")

        assert_invalid_client(push_signed(client, application), "jwks_uri must be an https URL")
        assert server.requests == []

    @pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.0.0.2", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0"])
    def test_loopback_refused_by_default(self, client, server, certificate, host):
        application = uri_client(server.url(host=host))

        with override_settings(DJANGO_PAR={"JWKS_URI_CA_BUNDLE": str(certificate[0])}):
            response = push_signed(client, application)

        assert_invalid_client(response, "jwks_uri points to a private or loopback address")
        assert server.requests == []

    def test_unresolvable_host(self, client, trusted):
        application = uri_client("https://no-such-host.invalid/jwks.json")

        assert_invalid_client(push_signed(client, application), "does not resolve")

    def test_oversized_document(self, client, server, trusted):
        application = uri_client(server.url("/big"))

        assert_invalid_client(push_signed(client, application), "jwks_uri document is larger than 65536 bytes")
        assert server.fetches("/big") == 1

    def test_size_cap_follows_the_setting(self, client, server, certificate):
        settings = {
            "JWKS_URI_CA_BUNDLE": str(certificate[0]),
            "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True,
            "JWKS_URI_MAX_BYTES": 64,
        }
        application = uri_client(server.url())

        with override_settings(DJANGO_PAR=settings):
            response = push_signed(client, application)

        assert_invalid_client(response, "jwks_uri document is larger than 64 bytes")

    def test_server_that_never_answers_hits_the_timeout(self, client, server, certificate):
        settings = {
            "JWKS_URI_CA_BUNDLE": str(certificate[0]),
            "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True,
            "JWKS_URI_TIMEOUT": 1,
        }
        application = uri_client(server.url("/hang"))

        started = time.monotonic()
        with override_settings(DJANGO_PAR=settings):
            response = push_signed(client, application)
        elapsed = time.monotonic() - started

        assert_invalid_client(response, "jwks_uri did not answer in time (1 s)")
        assert elapsed < 5, elapsed
        assert server.fetches("/hang") == 1

    def test_timeout_bounds_the_whole_fetch_not_each_read(self, client, server, certificate):
        # One byte every 0.3 s: each read is quick, the whole answer takes minutes.
        settings = {
            "JWKS_URI_CA_BUNDLE": str(certificate[0]),
            "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True,
            "JWKS_URI_TIMEOUT": 1,
        }
        application = uri_client(server.url("/drip"))

        started = time.monotonic()
        with override_settings(DJANGO_PAR=settings):
            response = push_signed(client, application)
        elapsed = time.monotonic() - started

        assert_invalid_client(response, "jwks_uri did not answer in time (1 s)")
        assert elapsed < 5, elapsed

    def test_untrusted_certificate(self, client, server):
        application = uri_client(server.url())

        with override_settings(DJANGO_PAR={"JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True}):
            response = push_signed(client, application)

        assert_invalid_client(response, "jwks_uri could not be fetched: SSLCertVerificationError")

    @pytest.mark.parametrize(
        "path,description",
        [
            ("/missing", "jwks_uri answered HTTP 404"),
            ("/redirect", "jwks_uri answered HTTP 302"),
            ("/not-json", "jwks_uri did not return JSON"),
            ("/not-a-set", "jwks_uri did not return a JWK Set"),
            ("/malformed-set", "The client's JWK Set is malformed"),
        ],
    )
    def test_bad_answers(self, client, server, trusted, path, description):
        application = uri_client(server.url(path))

        assert_invalid_client(push_signed(client, application), description)
        assert server.fetches(path) == 1

    def test_redirect_is_not_followed(self, client, server, trusted):
        application = uri_client(server.url("/redirect"))

        push_signed(client, application)

        assert server.requests == ["/redirect"]

    def test_failures_are_not_cached_as_keys(self, client, server, trusted, clock):
        application = uri_client(server.url())
        server.jwks = {"keys": "not a list"}
        assert_invalid_client(push_signed(client, application), "did not return a JWK Set")

        server.jwks = public_jwks(KEY_1)
        clock.advance(BACKOFF + 0.1)

        assert_pushed(push_signed(client, application))
        assert server.fetches() == 2

    def test_deeply_nested_json(self, client, server, trusted):
        application = uri_client(server.url("/deep"))

        assert_invalid_client(push_signed(client, application), "jwks_uri did not return JSON")

    def test_request_object_with_an_unreachable_jwks_uri(self, client, server, certificate):
        application = jwt_client(method="", jwks_uri=server.url(), application=PlainSecretApplicationFactory())
        request_object = sign(request_object_claims(application.client_id), KEY_1, "ES256")

        with override_settings(DJANGO_PAR={"JWKS_URI_CA_BUNDLE": str(certificate[0])}):
            response = push_form(
                client, {"request": request_object}, authorization=basic_auth(application.client_id, CLIENT_SECRET)
            )

        assert response.status_code == 400, response.content
        assert response.json()["error"] == "invalid_request_object"
        assert "private or loopback" in response.json()["error_description"]


# The default first backoff of a failing jwks_uri (JWKS_URI_FAILURE_BACKOFF).
BACKOFF = 5


class Clock:
    """django_par.jose.keys' wall clock, moved by hand."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(keys, "_now", moved)
    return moved


def key_set_or_error(uri: str) -> str:
    """What client_key_set gives for ``uri``: the first kid, or the error message."""
    try:
        return ",".join(sorted(str(key.get("kid")) for key in client_key_set(ClientMetadata(jwks_uri=uri))["keys"]))
    except KeyLookupError as exc:
        return f"error: {exc}"


def concurrently(count: int, call: Any) -> tuple[list[Any], list[float]]:
    """``call()`` in ``count`` threads started together; results and durations, in thread order."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    durations = [0.0] * count

    def run(index: int) -> None:
        barrier.wait()
        started = time.monotonic()
        try:
            results[index] = call()
        finally:
            durations[index] = time.monotonic() - started

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, durations


class TestFailingUri:
    """A failing or slow jwks_uri is not fetched again on every push (issue 12, item 6)."""

    def test_a_failure_is_remembered(self, client, server, trusted, clock):
        application = uri_client(server.url("/missing"))

        responses = [push_signed(client, application) for _ in range(20)]

        for response in responses:
            assert_invalid_client(response, "jwks_uri answered HTTP 404")
        assert server.fetches("/missing") == 1

    def test_fetched_again_once_the_backoff_ends(self, client, server, trusted, clock):
        application = uri_client(server.url("/missing"))
        push_signed(client, application)
        clock.advance(BACKOFF - 0.5)
        push_signed(client, application)
        assert server.fetches("/missing") == 1

        clock.advance(1)
        for _ in range(5):
            assert_invalid_client(push_signed(client, application), "jwks_uri answered HTTP 404")

        assert server.fetches("/missing") == 2

    def test_the_backoff_doubles_up_to_its_maximum(self, server, trusted, clock):
        uri = server.url("/missing")
        settings = {**trusted, "JWKS_URI_FAILURE_BACKOFF_MAX": 12}
        fetched_at = []
        with override_settings(DJANGO_PAR=settings):
            for _ in range(40):  # 40 s, a call each second
                before = server.fetches("/missing")
                key_set_or_error(uri)
                if server.fetches("/missing") > before:
                    fetched_at.append(round(clock.offset))
                clock.advance(1)

        # Backoffs of 5, 10, then 12 (the maximum) seconds.
        assert fetched_at == [0, 5, 15, 27, 39]

    def test_a_success_resets_the_backoff(self, server, trusted, clock):
        uri = server.url()
        server.jwks = {"keys": "not a list"}
        key_set_or_error(uri)
        clock.advance(BACKOFF + 0.1)
        key_set_or_error(uri)  # a second failure: the next backoff is 10 s
        clock.advance(10.1)
        server.jwks = public_jwks(KEY_1)
        assert key_set_or_error(uri) == "rotating-key-1"
        assert server.fetches() == 3

        server.jwks = {"keys": "not a list"}
        with override_settings(DJANGO_PAR={**trusted, "JWKS_URI_STALE_TTL": 0}):
            clock.advance(300.1)  # JWKS_URI_CACHE_TTL: the set is refreshed, and the refresh fails
            assert key_set_or_error(uri) == "error: jwks_uri did not return a JWK Set."
            clock.advance(BACKOFF + 0.1)  # 5 s again, not 20
            key_set_or_error(uri)

        assert server.fetches() == 5

    def test_the_last_good_set_is_used_while_the_uri_fails(self, client, server, trusted, clock):
        application = uri_client(server.url())
        assert_pushed(push_signed(client, application))
        server.jwks = {"keys": "not a list"}
        clock.advance(300.1)  # past JWKS_URI_CACHE_TTL

        assert_pushed(push_signed(client, application))
        assert_pushed(push_signed(client, application))

        assert server.fetches() == 2  # one refresh, which failed: no other within the backoff

    def test_not_past_the_grace_period(self, client, server, trusted, clock):
        application = uri_client(server.url())
        assert_pushed(push_signed(client, application))
        PushedRequest.objects.all().delete()
        server.jwks = {"keys": "not a list"}
        clock.advance(300 + 3600 + 0.1)  # JWKS_URI_CACHE_TTL + JWKS_URI_STALE_TTL

        assert_invalid_client(push_signed(client, application), "did not return a JWK Set")

    def test_a_malformed_set_is_a_failure_and_not_kept(self, server, trusted, clock):
        uri = server.url()
        assert key_set_or_error(uri) == "rotating-key-1"
        server.jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": "??"}]}
        clock.advance(300.1)

        assert key_set_or_error(uri) == "rotating-key-1"  # the last good set
        clock.advance(3600)
        assert key_set_or_error(uri) == "error: The client's JWK Set is malformed."
        assert server.fetches() == 3

    def test_a_failed_forced_refresh_keeps_the_set_and_backs_off(self, client, server, trusted, clock):
        application = uri_client(server.url())
        assert_pushed(push_signed(client, application))
        PushedRequest.objects.all().delete()
        server.jwks = {"keys": "not a list"}

        with override_settings(DJANGO_PAR={**trusted, "JWKS_URI_MIN_REFRESH_INTERVAL": 0}):
            for number in range(3):
                response = push_signed(client, application, private_key("EC", kid=f"made-up-{number}"))
                assert_invalid_client(response, "does not verify with the client's keys")
            assert_pushed(push_signed(client, application, KEY_1))

        assert server.fetches() == 2  # the first fetch and one failed refresh

    def test_request_objects_get_the_remembered_failure(self, client, server, trusted, clock):
        application = jwt_client(
            method="", jwks_uri=server.url("/missing"), application=PlainSecretApplicationFactory()
        )
        request_object = sign(request_object_claims(application.client_id), KEY_1, "ES256")
        authorization = basic_auth(application.client_id, CLIENT_SECRET)

        for _ in range(3):
            response = push_form(client, {"request": request_object}, authorization=authorization)
            assert response.status_code == 400, response.content
            assert response.json()["error"] == "invalid_request_object"
            assert "jwks_uri answered HTTP 404" in response.json()["error_description"]

        assert server.fetches("/missing") == 1


class TestSingleFlight:
    """One fetch of a URI at a time; nobody waits longer than that fetch, or the budget."""

    def test_concurrent_requests_share_one_failing_fetch(self, server, trusted, clock):
        uri = server.url("/slow-fail")

        results, durations = concurrently(8, lambda: key_set_or_error(uri))

        assert results == ["error: jwks_uri answered HTTP 503."] * 8
        assert server.fetches("/slow-fail") == 1
        assert max(durations) < server.delay + 0.8, durations

    def test_concurrent_requests_share_one_good_fetch(self, server, trusted):
        uri = server.url("/slow")

        results, _ = concurrently(8, lambda: key_set_or_error(uri))

        assert results == ["rotating-key-1"] * 8
        assert server.fetches("/slow") == 1

    def test_another_uri_is_not_held_up(self, server, trusted, clock):
        slow, other = server.url("/slow-fail"), server.url()
        attackers = threading.Thread(target=concurrently, args=(8, lambda: key_set_or_error(slow)))
        attackers.start()
        time.sleep(0.2)  # the slow fetch is under way

        started = time.monotonic()
        assert key_set_or_error(other) == "rotating-key-1"
        elapsed = time.monotonic() - started
        attackers.join()

        assert elapsed < 0.5, elapsed
        assert server.fetches("/slow-fail") == 1

    def test_a_legitimate_push_is_not_held_up(self, client, server, trusted, clock):
        legitimate = jwt_client(jwks=public_jwks(KEY_1))
        slow = server.url("/slow-fail")
        attackers = threading.Thread(target=concurrently, args=(8, lambda: key_set_or_error(slow)))
        attackers.start()
        time.sleep(0.2)

        started = time.monotonic()
        assert_pushed(push_signed(client, legitimate))
        elapsed = time.monotonic() - started
        attackers.join()

        assert elapsed < 0.5, elapsed

    def test_a_request_spends_at_most_the_timeout_on_keys(self, server, certificate, clock):
        # Two hanging URIs in one request: the second gets what is left of JWKS_URI_TIMEOUT.
        settings = {"JWKS_URI_CA_BUNDLE": str(certificate[0]), "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True}
        with override_settings(DJANGO_PAR={**settings, "JWKS_URI_TIMEOUT": 1}):
            keys.begin_request_budget()
            try:
                started = time.monotonic()
                first = key_set_or_error(server.url("/hang?1"))
                second = key_set_or_error(server.url("/hang?2"))
                elapsed = time.monotonic() - started
            finally:
                keys.end_request_budget()

        assert first.startswith("error: jwks_uri did not answer in time"), first
        assert second == "error: jwks_uri is being fetched for another request and did not answer in time."
        assert elapsed < 1.5, elapsed
        assert server.fetches("/hang") == 1

    def test_outside_a_request_each_call_has_the_whole_timeout(self, server, certificate, clock):
        settings = {"JWKS_URI_CA_BUNDLE": str(certificate[0]), "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": True}
        with override_settings(DJANGO_PAR={**settings, "JWKS_URI_TIMEOUT": 1}):
            first = key_set_or_error(server.url("/hang?1"))
            second = key_set_or_error(server.url("/hang?2"))

        assert "did not answer in time (1 s)" in first and "did not answer in time (1 s)" in second

    def test_waiting_for_another_process_counts_against_the_budget(self, server, trusted, clock, monkeypatch):
        # Another process holds the fetch lock and never finishes: the wait ends with the budget.
        uri = server.url("/missing")
        caches["default"].add(keys._cache_key(uri) + ".fetching", True, 30)

        with override_settings(DJANGO_PAR={**trusted, "JWKS_URI_TIMEOUT": 1}):
            started = time.monotonic()
            result = key_set_or_error(uri)
            elapsed = time.monotonic() - started

        assert result == "error: jwks_uri is being fetched for another request and did not answer in time."
        assert 0.9 < elapsed < 1.5, elapsed
        assert server.fetches("/missing") == 0


def _redis_available() -> bool:
    try:
        caches["redis"].get("ping")
    except Exception:
        return False
    return True


@pytest.mark.skipif(not _redis_available(), reason="Redis is not running")
class TestAcrossProcesses:
    """Processes share only the cache: threads with their own Redis connections and no shared lock."""

    @pytest.fixture(autouse=True)
    def no_process_lock(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # A fresh lock on every call: only the cache can keep the fetches apart, as between processes.
        monkeypatch.setattr(keys, "_local_lock", lambda uri: keys._UriLock())

    @pytest.mark.parametrize("path,expected", [("/slow-fail", "error: jwks_uri answered HTTP 503."), ("/slow", None)])
    def test_one_fetch_for_all(self, server, trusted, path, expected):
        uri = server.url(f"{path}?{uuid.uuid4()}")  # Redis outlives the test: a URI of its own

        with override_settings(DJANGO_PAR={**trusted, "JWKS_CACHE_ALIAS": "redis"}):
            results, durations = concurrently(6, lambda: key_set_or_error(uri))
            connections = {id(caches["redis"])}

        assert results == [expected or "rotating-key-1"] * 6
        assert server.fetches(path) == 1
        assert max(durations) < server.delay + 0.8, durations
        assert len(connections) == 1  # this thread's; each worker thread had its own

    def test_without_the_cache_lock_every_thread_would_fetch(self, server, trusted, monkeypatch):
        # The counter-test: the same run with cache.add always granting the lock.
        uri = server.url(f"/slow-fail?{uuid.uuid4()}")
        monkeypatch.setattr(type(caches["redis"]), "add", lambda self, *args, **kwargs: True)

        with override_settings(DJANGO_PAR={**trusted, "JWKS_CACHE_ALIAS": "redis"}):
            concurrently(6, lambda: key_set_or_error(uri))

        assert server.fetches("/slow-fail") == 6


def test_client_key_set_reads_the_registered_uri(server, trusted, db):
    metadata = ClientMetadata(jwks_uri=server.url())

    keys = client_key_set(metadata)

    assert [key.get("kid") for key in keys["keys"]] == [KEY_1.get("kid")]
    assert server.fetches() == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::127.0.0.1",  # IPv4-compatible (deprecated), global for Python
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    ],
)
def test_private_addresses_hidden_in_ipv6_forms_are_refused(address):
    assert not _is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address):
    assert _is_public(ipaddress.ip_address(address))
