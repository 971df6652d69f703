"""A request_uri gives one authorization response, even to racing browsers.

RFC 9126 §4: the request_uri is single-use, though reloads during the flow
should keep working; §7.3: replays must not yield a second response. The
lifetimes: REQUEST_URI_LIFETIME bounds the first use, FLOW_LIFETIME the flow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection, connections
from django.http import QueryDict
from django.test import RequestFactory, override_settings
from oauth2_provider.models import get_grant_model

from django_par.errors import InvalidRequestUri
from django_par.flow.lifecycle import consume, resolve_request_uri
from django_par.flow.request_uri import request_uri_digest
from django_par.flow.stores import get_store
from django_par.models import PushedRequest
from django_par.signals import request_consumed, request_first_used, request_rejected
from tests.helpers.factories import REDIRECT_URI, UserFactory
from tests.helpers.flow_helpers import (
    HASHED_PASSWORD,
    STATE,
    Browser,
    assert_error_page,
    authorization_response,
    authorize_url,
    exchange_code,
    login_next,
    move_back_in_time,
    push_request,
    pushed_row,
    response_parameters,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

State = PushedRequest.State


# -- lifetimes and states (every database) ---------------------------------------


@pytest.mark.django_db
@override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 30, "FLOW_LIFETIME": 600})
def test_first_use_moves_the_expiry_to_the_end_of_the_flow(browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    pushed = pushed_row(request_uri)
    assert (pushed.state, pushed.used_at) == (State.PUSHED, None)
    assert pushed.expires_at == pushed.created_at + timedelta(seconds=30)

    login_next(browser.get(authorize_url(confidential_app, request_uri)))

    started = pushed_row(request_uri)
    assert started.state == State.IN_USE
    assert started.used_at is not None and started.used_at >= pushed.created_at
    assert started.expires_at == started.used_at + timedelta(seconds=600)


@pytest.mark.django_db
def test_reloads_do_not_extend_the_flow(browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    browser.get(url)
    move_back_in_time(request_uri, 100)
    ends = pushed_row(request_uri).expires_at
    browser.get(url)
    browser.get(url)
    assert pushed_row(request_uri).expires_at == ends


@pytest.mark.django_db
@override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 5})
def test_a_flow_started_in_time_can_finish_after_the_push_lifetime(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    login_next(browser.get(url))  # first use, within the 5 seconds
    # A slow login: the push was 10 minutes ago, long past its 5 seconds.
    move_back_in_time(request_uri, 600)

    browser.log_in(user, url)
    assert browser.get(url).status_code == 200
    answer = authorization_response(browser.consent(url))
    assert answer["state"] == STATE
    assert exchange_code(confidential_app, answer["code"]).status_code == 200


@pytest.mark.django_db
@override_settings(DJANGO_PAR={"FLOW_LIFETIME": 60})
def test_a_flow_older_than_the_flow_lifetime_fails(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    move_back_in_time(request_uri, 61)

    assert_error_page(logged_in_browser.consent(url), "invalid_request_uri")
    assert_error_page(logged_in_browser.get(url), "invalid_request_uri")
    assert not get_grant_model().objects.exists()


@pytest.mark.django_db
@override_settings(DJANGO_PAR={"FLOW_LIFETIME": 60})
def test_a_flow_just_within_the_flow_lifetime_finishes(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    move_back_in_time(request_uri, 55)
    assert authorization_response(logged_in_browser.consent(url))["state"] == STATE


@pytest.mark.django_db
def test_the_authorization_response_spends_the_request_uri(
    logged_in_browser: Browser, browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)
    assert pushed_row(request_uri).state == State.IN_USE
    authorization_response(logged_in_browser.consent(url))

    spent = pushed_row(request_uri)
    assert spent.state == State.CONSUMED
    assert spent.consumed_at is not None
    # Every step of the flow now refuses it: consent page, consent POST, login redirect.
    assert_error_page(logged_in_browser.get(url), "invalid_request_uri")
    assert_error_page(logged_in_browser.consent(url), "invalid_request_uri")
    assert_error_page(browser.get(url), "invalid_request_uri")
    assert get_grant_model().objects.count() == 1


@pytest.mark.django_db
def test_consume_refuses_a_request_that_was_never_started(rf: RequestFactory, skip_consent_app: Any) -> None:
    pushed = pushed_row(push_request(skip_consent_app))
    with pytest.raises(InvalidRequestUri):
        consume(rf.get("/o/authorize/"), pushed)
    assert PushedRequest.objects.get(pk=pushed.pk).state == State.PUSHED


# -- races (PostgreSQL and MariaDB; each store) ----------------------------------

ROUNDS = 10
THREADS = 6
ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


def racing(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a race test: real commits, one connection per thread, a server database, each store."""
    return pytest.mark.usefixtures("store")(racing_on_a_server_database(test))


def racing_on_a_server_database(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a race test that picks its store itself: real commits, one connection per thread."""
    marks = [
        pytest.mark.concurrency,
        pytest.mark.skipif(
            ON_SQLITE,
            reason="races need a database server (DJANGO_PAR_TEST_DB=postgresql or mariadb): "
            "the in-memory SQLite test database is one shared connection that serialises every write",
        ),
        pytest.mark.django_db(transaction=True),
    ]
    for mark in marks:
        test = mark(test)
    return test


def race(*actions: Callable[[], Any]) -> list[Any]:
    """Run each action in its own thread and DB connection, all released at once."""
    barrier = threading.Barrier(len(actions), timeout=30)
    results: list[Any] = [None] * len(actions)
    failures: list[BaseException] = []

    def run(index: int, action: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()  # connect before the start line, not after it
            barrier.wait()
            results[index] = action()
        except BaseException as failure:  # reported in the test's thread
            failures.append(failure)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing request hung"
    if failures:
        raise failures[0]
    return results


@pytest.fixture(params=["database", "redis"])
def store(request: Any, settings: Any) -> str:
    """Each pushed request store; the cache store on the real Redis server."""
    if request.param == "redis":
        settings.DJANGO_PAR = {"STORE": "django_par.flow.stores.CacheStore", "STORE_CACHE_ALIAS": "redis"}
    return str(request.param)


def stored(request_uri: str) -> PushedRequest:
    """The pushed request as its store has it now."""
    found = get_store().find(request_uri_digest(request_uri))
    assert found is not None
    return found


class SignalLog:
    """Records the django_par signals sent from any thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.receivers = {
            "first_used": (request_first_used, self.receiver("first_used")),
            "consumed": (request_consumed, self.receiver("consumed")),
            "rejected": (request_rejected, self.receiver("rejected")),
        }

    def receiver(self, name: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            with self.lock:
                self.sent.append((name, kwargs))

        return receive

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for sent_name, kwargs in self.sent if sent_name == name]


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()
    for signal, receiver in log.receivers.values():
        signal.connect(receiver, weak=False)
    yield log
    for signal, receiver in log.receivers.values():
        signal.disconnect(receiver)


def is_authorization_response(response: Any) -> bool:
    return response.status_code == 302 and response_parameters(response["Location"])[0] == REDIRECT_URI


def two_browsers() -> tuple[Browser, Browser]:
    """The user's browser and an attacker's who got hold of the request_uri, each logged in."""
    browsers = []
    for _ in range(2):
        browser = Browser()
        browser.force_login(UserFactory(password=HASHED_PASSWORD))
        browsers.append(browser)
    return browsers[0], browsers[1]


def assert_one_winner(responses: list[Any], round_number: int) -> Any:
    """Exactly one authorization response; every other request got the error page."""
    winners = [response for response in responses if is_authorization_response(response)]
    assert len(winners) == 1, (round_number, [(r.status_code, r.get("Location")) for r in responses])
    for response in responses:
        if response is not winners[0]:
            assert_error_page(response, "invalid_request_uri")
    return winners[0]


@racing
def test_two_browsers_post_consent_for_one_request_uri_at_once(confidential_app: Any, signal_log: SignalLog) -> None:
    for round_number in range(ROUNDS):
        signal_log.clear()
        request_uri = push_request(confidential_app)
        url = authorize_url(confidential_app, request_uri)
        first, second = two_browsers()
        assert first.get(url).status_code == 200
        assert second.get(url).status_code == 200

        grants_before = get_grant_model().objects.count()

        responses = race(lambda: first.consent(url), lambda: second.consent(url))

        # The loser is refused before DOT creates a grant: one grant per request_uri.
        assert get_grant_model().objects.count() == grants_before + 1, round_number
        answer = authorization_response(assert_one_winner(responses, round_number))
        assert answer["state"] == STATE
        assert exchange_code(confidential_app, answer["code"]).status_code == 200
        assert stored(request_uri).state == State.CONSUMED
        assert len(signal_log.named("first_used")) == 1, round_number
        assert len(signal_log.named("consumed")) == 1, round_number
        [rejected] = signal_log.named("rejected")
        assert rejected["error"].error == "invalid_request_uri"


@racing
def test_two_browsers_open_a_fresh_request_uri_at_once(skip_consent_app: Any, signal_log: SignalLog) -> None:
    # No consent page: the first GET is also the authorization response.
    for round_number in range(ROUNDS):
        signal_log.clear()
        request_uri = push_request(skip_consent_app)
        url = authorize_url(skip_consent_app, request_uri)
        first, second = two_browsers()

        responses = race(lambda: first.get(url), lambda: second.get(url))

        answer = authorization_response(assert_one_winner(responses, round_number))
        assert exchange_code(skip_consent_app, answer["code"]).status_code == 200
        assert len(signal_log.named("first_used")) == 1, round_number
        assert len(signal_log.named("consumed")) == 1, round_number


@racing
def test_two_tabs_open_a_fresh_request_uri_at_once_and_both_see_the_consent_page(
    confidential_app: Any, signal_log: SignalLog
) -> None:
    for round_number in range(ROUNDS):
        signal_log.clear()
        request_uri = push_request(confidential_app)
        url = authorize_url(confidential_app, request_uri)
        first, second = two_browsers()

        responses = race(lambda: first.get(url), lambda: second.get(url))

        assert [response.status_code for response in responses] == [200, 200], round_number
        assert len(signal_log.named("first_used")) == 1, round_number  # one first use, one reload
        row = stored(request_uri)
        assert row.state == State.IN_USE
        assert signal_log.named("first_used")[0]["pushed_request"].used_at == row.used_at


@racing
def test_many_threads_consume_one_request(skip_consent_app: Any, signal_log: SignalLog) -> None:
    factory = RequestFactory()

    def try_consume(request_uri: str) -> bool:
        try:
            consume(factory.get("/"), stored(request_uri))
        except InvalidRequestUri:
            return False
        return True

    for round_number in range(ROUNDS):
        signal_log.clear()
        request_uri = push_request(skip_consent_app)
        query = QueryDict(urlencode({"client_id": skip_consent_app.client_id, "request_uri": request_uri}))
        resolve_request_uri(factory.get("/"), query)

        outcomes = race(*[lambda: try_consume(request_uri)] * THREADS)

        assert outcomes.count(True) == 1, (round_number, outcomes)
        assert len(signal_log.named("consumed")) == 1
        assert len(signal_log.named("rejected")) == THREADS - 1
        assert stored(request_uri).state == State.CONSUMED


@racing
def test_many_threads_start_one_flow(skip_consent_app: Any, signal_log: SignalLog) -> None:
    factory = RequestFactory()
    for round_number in range(ROUNDS):
        signal_log.clear()
        request_uri = push_request(skip_consent_app)
        query = QueryDict(urlencode({"client_id": skip_consent_app.client_id, "request_uri": request_uri}))

        resolved = race(*[lambda: resolve_request_uri(factory.get("/"), query)] * THREADS)

        row = stored(request_uri)
        assert row.state == State.IN_USE
        assert len(signal_log.named("first_used")) == 1, round_number
        # Every thread continues the same flow, with the one start time in the database.
        assert {pushed.state for pushed in resolved} == {State.IN_USE}
        assert {pushed.used_at for pushed in resolved} == {row.used_at}
        assert {pushed.expires_at for pushed in resolved} == {row.expires_at}
