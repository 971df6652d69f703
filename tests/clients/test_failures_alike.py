"""Every client authentication failure answers alike; the reason goes to the log and the signal.

Which part failed (no such client, no keys, a hashed secret, the wrong method) would
tell an attacker which client ids exist and how they are set up, so the PAR
endpoint answers each with the same ``401 invalid_client`` (RFC 6749 §5.2) and the
same description. The reason reaches the ``django_par.clients`` log and the
``request_rejected`` signal. Not an authentication failure, and still a 400: two
methods at once, or a client_id naming another client (RFC 6749 §2.3).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_par.clients.registry import load_application
from django_par.signals import request_rejected
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.client_failures import assert_authentication_failed, reason_of
from tests.helpers.factories import (
    CLIENT_SECRET,
    ClientMetadataFactory,
    ConfidentialApplicationFactory,
    PublicApplicationFactory,
)
from tests.helpers.jwt_helpers import assertion_params, client_assertion, jwt_client, private_key, push_form

pytestmark = pytest.mark.django_db

LONG_SECRET = "a-client-secret-long-enough-for-HS512-" + "x" * 40


def hashed_secret_client() -> Any:
    return ConfidentialApplicationFactory(client_secret=make_password(LONG_SECRET))


def with_assertion(application: Any, client_id: str | None = None, alg: str = "ES256", key: Any = None) -> Any:
    token = client_assertion(client_id or application.client_id, key, alg)
    return {**code_request(application), **assertion_params(token)}


# Each way to fail: (what the reason says, the push).
FAILURES: dict[str, tuple[str, Callable[[Client], Any]]] = {
    "unknown client, secret": (
        "No usable client has this client_id",
        lambda c: push(
            c, code_request(ConfidentialApplicationFactory.build()), authorization=basic_auth("nobody", "x")
        ),
    ),
    "wrong secret": (
        "The client secret does not match",
        lambda c: push(
            c, code_request(app := ConfidentialApplicationFactory()), authorization=basic_auth(app.client_id, "wrong")
        ),
    ),
    "unknown client, public": (
        "No usable client has this client_id",
        lambda c: push(c, {"response_type": "code", "client_id": "no-such-client"}),
    ),
    "confidential client without credentials": (
        "confidential client sent no credentials",
        lambda c: push(c, code_request(ConfidentialApplicationFactory())),
    ),
    "assertion naming an unknown client": (
        "sub names no usable client",
        lambda c: push_form(c, with_assertion(PublicApplicationFactory(), client_id="no-such-client")),
    ),
    "assertion naming a client without keys": (
        "registered no keys",
        lambda c: push_form(c, with_assertion(ConfidentialApplicationFactory())),
    ),
    "client_secret_jwt with a hashed secret": (
        "stored unhashed",
        lambda c: push_form(c, with_assertion(hashed_secret_client(), alg="HS256", key=_oct(LONG_SECRET))),
    ),
    "wrong method for the client": (
        "must authenticate with client_secret_post",
        lambda c: push(
            c,
            code_request(app := ClientMetadataFactory(token_endpoint_auth_method="client_secret_post").application),
            authorization=basic_auth(app.client_id, CLIENT_SECRET),
        ),
    ),
    "malformed Basic header": (
        "malformed",
        lambda c: push(c, code_request(ConfidentialApplicationFactory()), authorization="Basic !!!"),
    ),
}


def _oct(secret: str) -> Any:
    from tests.clients.test_assertions import secret_key

    return secret_key(secret)


@pytest.fixture
def rejected() -> Iterator[list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def receive(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    request_rejected.connect(receive, weak=False, dispatch_uid="test_failures_alike")
    yield sent
    request_rejected.disconnect(dispatch_uid="test_failures_alike")


@pytest.mark.parametrize("name", list(FAILURES))
def test_each_failure_gets_the_one_answer_and_signals_its_reason(client: Client, name: str) -> None:
    reason_part, send = FAILURES[name]
    response = send(client)
    body = assert_authentication_failed(response, reason_part)
    assert body == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert response["WWW-Authenticate"] == 'Basic realm="django-par"'


def test_the_reasons_differ_but_not_the_answers(client: Client) -> None:
    responses = [send(client) for _, send in FAILURES.values()]
    assert len({(response.status_code, response.content, response["WWW-Authenticate"]) for response in responses}) == 1
    # Every reason is specific, but the two unknown-client ones: the same fact through two methods.
    assert len({reason_of(response) for response in responses}) == len(FAILURES) - 1


def test_the_reason_is_logged_without_the_credentials(client: Client, caplog: Any) -> None:
    application = ConfidentialApplicationFactory()
    token = client_assertion(application.client_id, private_key("EC"), "ES256")
    with caplog.at_level(logging.INFO, logger="django_par.clients"):
        push(client, code_request(application), authorization=basic_auth(application.client_id, "s3cret-guess-Z9"))
        push_form(client, {**code_request(application), **assertion_params(token)})

    records = [record for record in caplog.records if record.name == "django_par.clients"]
    assert len(records) == 2
    assert all(record.levelno in (logging.INFO, logging.WARNING) for record in records)
    assert "registered no keys" in records[1].getMessage()
    logged = "\n".join(record.getMessage() for record in records)
    assert "s3cret-guess-Z9" not in logged
    assert token not in logged and token.split(".")[1] not in logged


def test_the_signal_carries_the_reason(client: Client, rejected: list[dict[str, Any]]) -> None:
    response = push(client, {"response_type": "code", "client_id": "no-such-client"})

    [sent] = rejected
    assert sent["pushed_request"] is None
    assert sent["request"] is response.wsgi_request
    assert sent["error"].error == "invalid_client"
    assert sent["error"].description == "Client authentication failed."
    assert sent["error"].reason == "No usable client has this client_id."


def test_a_log_line_cannot_be_forged_through_the_reason(client: Client, caplog: Any) -> None:
    # A JWT's alg is the client's own text, and it reaches the reason.
    application = jwt_client(private_key("EC"))
    token = client_assertion(application.client_id, private_key("EC"), "ES256")
    header = '{"alg":"ES256\\nCRITICAL forged line","typ":"JWT"}'
    forged = base64.urlsafe_b64encode(header.encode()).rstrip(b"=").decode() + "." + token.split(".", 1)[1]
    with caplog.at_level(logging.INFO, logger="django_par.clients"):
        response = push_form(client, {**code_request(application), **assertion_params(forged)})
    assert response.status_code == 401
    for record in caplog.records:
        if record.name == "django_par.clients":
            assert "\n" not in record.getMessage()


# -- still a 400: not an authentication failure (RFC 6749 §2.3) -------------------------


def test_two_methods_at_once_is_still_invalid_request(client: Client, rejected: list[dict[str, Any]]) -> None:
    application = ConfidentialApplicationFactory()
    response = push(
        client,
        code_request(application, client_secret=CLIENT_SECRET),
        authorization=basic_auth(application.client_id, CLIENT_SECRET),
    )
    assert_oauth_error(response, 400, "invalid_request", "More than one client authentication method")
    assert rejected == []


def test_a_client_id_naming_another_client_is_still_invalid_request(client: Client) -> None:
    application = ConfidentialApplicationFactory()
    response = push(
        client,
        code_request(application, client_id="someone-else"),
        authorization=basic_auth(application.client_id, CLIENT_SECRET),
    )
    assert_oauth_error(response, 400, "invalid_request", "client_id does not match")


# -- timing: an unknown client id costs what a known one costs --------------------------


def test_an_unknown_client_id_is_remembered(db: None) -> None:
    # A remembered "unknown" costs no query, as a cached known client costs none.
    assert load_application("not-registered-yet") is None
    with CaptureQueriesContext(connection) as queries:
        assert load_application("not-registered-yet") is None
    assert len(queries) == 0


def test_registering_the_client_forgets_that_it_was_unknown(db: None) -> None:
    assert load_application("registered-later") is None

    application = ConfidentialApplicationFactory(client_id="registered-later")

    found = load_application("registered-later")
    assert found is not None and found.pk == application.pk


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    client_id=st.text(min_size=1, max_size=80).filter(lambda text: "\x00" not in text),
    secret=st.text(max_size=80),
)
def test_any_made_up_credentials_get_the_one_answer(client: Client, client_id: str, secret: str) -> None:
    response = push(client, {"response_type": "code"}, authorization=basic_auth(client_id, secret))
    body = assert_authentication_failed(response)
    assert body["error_description"] == "Client authentication failed."
    assert reason_of(response)
