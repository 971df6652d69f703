"""The audit signals of django_par: sent when, and with what."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.dispatch import Signal
from django.test import Client, RequestFactory, override_settings

from django_par.errors import InvalidRequestUri
from django_par.flow.lifecycle import consume
from django_par.models import PushedRequest
from django_par.signals import request_consumed, request_first_used, request_pushed, request_rejected
from tests.conftest import code_request, push
from tests.helpers.factories import ClientMetadataFactory, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    AUTHORIZE_PATH,
    STATE,
    Browser,
    authorization_response,
    authorize_url,
    login_next,
    push_request,
    pushed_row,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = pytest.mark.django_db

State = PushedRequest.State
SIGNALS = {
    "pushed": request_pushed,
    "first_used": request_first_used,
    "consumed": request_consumed,
    "rejected": request_rejected,
}


@dataclass
class Sent:
    name: str
    sender: Any
    kwargs: dict[str, Any]
    # The request's state in the database when the signal was sent.
    stored_state: str | None


@dataclass
class Recorder:
    sent: list[Sent] = field(default_factory=list)

    def receiver(self, name: str) -> Any:
        def receive(sender: Any, signal: Signal, **kwargs: Any) -> None:
            pushed = kwargs.get("pushed_request")
            stored = PushedRequest.objects.filter(pk=pushed.pk).first() if pushed is not None and pushed.pk else None
            self.sent.append(Sent(name, sender, kwargs, stored.state if stored else None))

        return receive

    @property
    def names(self) -> list[str]:
        return [sent.name for sent in self.sent]

    def only(self, name: str) -> Sent:
        matching = [sent for sent in self.sent if sent.name == name]
        assert len(matching) == 1, self.names
        return matching[0]

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    receivers = {name: recorder.receiver(name) for name in SIGNALS}
    for name, signal in SIGNALS.items():
        signal.connect(receivers[name])
    yield recorder
    for name, signal in SIGNALS.items():
        signal.disconnect(receivers[name])


def assert_common(sent: Sent, path: str) -> None:
    assert sent.sender is PushedRequest
    assert sent.kwargs["request"].path == path


def test_a_whole_flow_sends_pushed_first_used_consumed_in_order(
    recorder: Recorder, logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    assert logged_in_browser.get(url).status_code == 200  # a reload: no signal
    authorization_response(logged_in_browser.consent(url))

    assert recorder.names == ["pushed", "first_used", "consumed"]
    pushed_ids = {sent.kwargs["pushed_request"].pk for sent in recorder.sent}
    assert pushed_ids == {pushed_row(request_uri).pk}


def test_request_pushed(recorder: Recorder, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, scope="read", nonce=None)
    sent = recorder.only("pushed")
    assert_common(sent, "/o/par/")
    pushed = sent.kwargs["pushed_request"]
    assert pushed.application == confidential_app
    assert pushed.state == State.PUSHED
    assert pushed.parameters["state"] == STATE
    assert pushed.parameters["scope"] == "read"
    assert pushed.pk == pushed_row(request_uri).pk
    assert sent.stored_state == State.PUSHED  # sent once stored


def test_no_request_pushed_for_a_refused_push(recorder: Recorder, confidential_app: Any, public_app: Any) -> None:
    assert push(Client(), code_request(confidential_app)).status_code == 401  # no client authentication
    bad_redirect = code_request(public_app, redirect_uri="https://attacker.example/cb")
    assert push(Client(), bad_redirect).status_code == 400
    # The failed client authentication and the refused push are signalled as rejected; nothing as pushed.
    assert recorder.names == ["rejected", "rejected"]
    failed_authentication, refused_push = recorder.sent
    assert failed_authentication.kwargs["pushed_request"] is None
    assert failed_authentication.kwargs["error"].reason
    assert "application" not in failed_authentication.kwargs
    assert refused_push.kwargs["pushed_request"] is None
    assert refused_push.kwargs["error"].error == "invalid_request"
    assert refused_push.kwargs["application"] == public_app


def test_request_first_used(recorder: Recorder, browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    recorder.clear()

    login_next(browser.get(url))  # even on the way to the login page
    login_next(browser.get(url))

    sent = recorder.only("first_used")
    assert recorder.names == ["first_used"]
    assert_common(sent, AUTHORIZE_PATH)
    pushed = sent.kwargs["pushed_request"]
    assert pushed.state == State.IN_USE
    assert pushed.used_at is not None
    assert sent.stored_state == State.IN_USE


def test_request_consumed_on_a_code(recorder: Recorder, logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    recorder.clear()
    authorization_response(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))

    assert recorder.names == ["first_used", "consumed"]
    sent = recorder.only("consumed")
    assert_common(sent, AUTHORIZE_PATH)
    pushed = sent.kwargs["pushed_request"]
    assert pushed.state == State.CONSUMED
    assert pushed.consumed_at is not None
    assert sent.stored_state == State.CONSUMED


def test_request_consumed_on_an_error_response(
    recorder: Recorder, logged_in_browser: Browser, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app)
    url = authorize_url(confidential_app, request_uri)
    logged_in_browser.get(url)
    recorder.clear()
    assert authorization_response(logged_in_browser.consent(url, allow=False))["error"] == "access_denied"
    assert recorder.names == ["consumed"]


def test_request_consumed_on_prompt_none_error(recorder: Recorder, browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, prompt="none")
    recorder.clear()
    assert (
        authorization_response(browser.get(authorize_url(confidential_app, request_uri)))["error"] == "login_required"
    )
    assert recorder.names == ["first_used", "consumed"]


@pytest.mark.parametrize(
    "case",
    ["unknown", "wrong prefix", "other client", "no client_id", "request too", "expired"],
)
def test_request_rejected_at_resolution(
    recorder: Recorder, logged_in_browser: Browser, skip_consent_app: Any, case: str
) -> None:
    request_uri = push_request(skip_consent_app)
    query = {"client_id": skip_consent_app.client_id, "request_uri": request_uri}
    expected_error = "invalid_request_uri"
    if case == "unknown":
        query["request_uri"] = request_uri[:-4] + "AAAA"
    elif case == "wrong prefix":
        query["request_uri"] = request_uri.replace("urn:ietf:params:oauth:request_uri:", "urn:example:")
    elif case == "other client":
        query["client_id"] = ConfidentialApplicationFactory().client_id
    elif case == "no client_id":
        del query["client_id"]
        expected_error = "invalid_request"
    elif case == "request too":
        query["request"] = "eyJhbGciOiJub25lIn0.e30."
        expected_error = "invalid_request"
    elif case == "expired":
        PushedRequest.objects.filter(pk=pushed_row(request_uri).pk).update(
            expires_at=pushed_row(request_uri).created_at
        )
    recorder.clear()

    response = logged_in_browser.client.get(AUTHORIZE_PATH, query)
    assert response.status_code == 400

    assert recorder.names == ["rejected"]
    sent = recorder.only("rejected")
    assert_common(sent, AUTHORIZE_PATH)
    assert sent.kwargs["pushed_request"] is None
    assert sent.kwargs["error"].error == expected_error


def test_request_rejected_when_spent(recorder: Recorder, logged_in_browser: Browser, skip_consent_app: Any) -> None:
    request_uri = push_request(skip_consent_app)
    url = authorize_url(skip_consent_app, request_uri)
    authorization_response(logged_in_browser.get(url))
    recorder.clear()

    assert logged_in_browser.get(url).status_code == 400
    sent = recorder.only("rejected")
    assert recorder.names == ["rejected"]
    assert sent.kwargs["error"].error == "invalid_request_uri"


def test_request_rejected_by_consume_names_the_request(recorder: Recorder, skip_consent_app: Any) -> None:
    # The way a browser that lost a race learns it: the request is known, but spent.
    pushed = pushed_row(push_request(skip_consent_app))
    recorder.clear()
    request = RequestFactory().get(AUTHORIZE_PATH)
    with pytest.raises(InvalidRequestUri) as raised:
        consume(request, pushed)  # never started: not IN_USE

    sent = recorder.only("rejected")
    assert recorder.names == ["rejected"]
    assert sent.sender is PushedRequest
    assert sent.kwargs["pushed_request"] is pushed
    assert sent.kwargs["request"] is request
    assert sent.kwargs["error"] is raised.value


@pytest.mark.parametrize("required_by", ["setting", "client"])
def test_request_rejected_when_par_is_required(
    recorder: Recorder, logged_in_browser: Browser, required_by: str, settings: Any
) -> None:
    if required_by == "setting":
        settings.DJANGO_PAR = {"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True}
        application = ConfidentialApplicationFactory()
    else:
        application = ClientMetadataFactory(require_pushed_authorization_requests=True).application
    response = logged_in_browser.client.get(AUTHORIZE_PATH, code_request(application))
    assert response.status_code == 400

    sent = recorder.only("rejected")
    assert recorder.names == ["rejected"]
    assert_common(sent, AUTHORIZE_PATH)
    assert sent.kwargs["pushed_request"] is None
    assert sent.kwargs["error"].error == "invalid_request"


@override_settings(DJANGO_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False})
def test_no_signal_for_a_plain_authorization_request(
    recorder: Recorder, logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    response = logged_in_browser.client.get(AUTHORIZE_PATH, code_request(skip_consent_app))
    assert response.status_code == 302
    assert recorder.names == []
