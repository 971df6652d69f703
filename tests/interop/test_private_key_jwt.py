"""A full private_key_jwt flow with a signed request object, driven by requests-oauth2client.

The library plays the relying party against pytest-django's ``live_server``:
it reads the discovery document, signs the authorization request into a
request object (``AuthorizationRequest.sign``), pushes it authenticated with
its ``PrivateKeyJwt`` auth class (aud = the PAR endpoint URL), validates the
authorization response, and redeems the code with a fresh ``PrivateKeyJwt``
assertion (aud = the token endpoint URL) through django_par's validator. A
``requests.Session`` plays the browser: log in, consent.

The client's keys are generated here with jwcrypto and handed to the library
as JWK dicts.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.contrib.auth.hashers import make_password
from jwskate import Jwk
from requests_oauth2client import (
    AuthorizationRequest,
    InvalidClient,
    InvalidRequest,
    OAuth2Client,
    PrivateKeyJwt,
    RequestParameterAuthorizationRequest,
    RequestUriParameterAuthorizationRequest,
)

from django_par.models import ClientMetadata, PushedRequest, UsedAssertion
from tests.helpers.factories import REDIRECT_URI, ConfidentialApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import assertion_validator, key_for  # noqa: F401  (fixture)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("assertion_validator")]

HTTP_TIMEOUT = 60
PASSWORD = "correct-horse-battery-staple"


class TimeoutSession(requests.Session):
    """A session whose requests never wait forever; ``close_sessions`` closes it after the test."""

    opened: list[TimeoutSession] = []

    def __init__(self) -> None:
        super().__init__()
        TimeoutSession.opened.append(self)

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def close_sessions(live_server: Any) -> Iterator[None]:
    """Close the kept-alive connections and let the live server's threads end, before its teardown.

    A request thread still open at teardown would close the test's shared
    database connection from the wrong thread.
    """
    yield
    while TimeoutSession.opened:
        TimeoutSession.opened.pop().close()
    gc.collect()  # connections of sessions the library made and dropped
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.05)


class FormFields(HTMLParser):
    """The action and the fields of the page's POST forms."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and values.get("method", "").lower() == "post":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name") and values.get("type") != "submit":
            self.forms[-1][1][values["name"]] = values.get("value", "")


def form_with(html: str, field: str) -> tuple[str, dict[str, str]]:
    parser = FormFields()
    parser.feed(html)
    matching = [form for form in parser.forms if field in form[1]]
    assert len(matching) == 1, parser.forms
    return matching[0]


def log_in_and_consent(authorization_url: str, username: str) -> str:
    """The browser's part, every redirect checked by hand; the Location sent back to the client."""
    browser = TimeoutSession()
    response = browser.get(authorization_url, allow_redirects=False)
    assert response.status_code == 302, response.text[:2000]
    login_url = urljoin(authorization_url, response.headers["Location"])
    assert urlsplit(login_url).path == "/accounts/login/"

    page = browser.get(login_url)
    action, fields = form_with(page.text, "password")
    fields.update(username=username, password=PASSWORD)
    response = browser.post(urljoin(page.url, action or page.url), data=fields, allow_redirects=False)
    assert response.status_code == 302, response.text[:2000]
    assert urljoin(login_url, response.headers["Location"]) == authorization_url

    page = browser.get(authorization_url, allow_redirects=False)
    assert page.status_code == 200, page.text[:2000]
    action, fields = form_with(page.text, "csrfmiddlewaretoken")
    fields["allow"] = "Authorize"
    response = browser.post(urljoin(page.url, action or page.url), data=fields, allow_redirects=False)
    assert response.status_code == 302, response.text[:2000]
    return str(response.headers["Location"])


def library_jwk(alg: str) -> Jwk:
    """The test key of ``alg`` (made with jwcrypto), as the library's private Jwk with kid and alg."""
    key = key_for(alg, kid=f"interop-{alg.lower()}")
    return Jwk({**json.loads(key.export_private()), "alg": alg})


def push_signed_request(
    client: OAuth2Client, signed: RequestParameterAuthorizationRequest
) -> RequestUriParameterAuthorizationRequest:
    """Push the request object with the client's session and PrivateKeyJwt auth.

    requests-oauth2client 1.8's pushed_authorization_request() sends the
    parameters of a plain AuthorizationRequest; a signed one is posted as
    ``request`` here, and the library reads the PAR response.
    """
    endpoint = client.pushed_authorization_request_endpoint
    assert endpoint
    response = client.session.post(
        endpoint,
        data={"client_id": client.client_id, "request": str(signed.request)},
        auth=client.auth,
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 201, response.text
    return client.parse_pushed_authorization_response(response)


@pytest.fixture
def user(transactional_db: None) -> Any:
    return UserFactory(password=make_password(PASSWORD))


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
def test_private_key_jwt_and_signed_request_object(live_server: Any, user: Any, close_sessions: None, alg: str) -> None:
    private_jwk = library_jwk(alg)
    application = ConfidentialApplicationFactory()
    ClientMetadata.objects.create(
        application=application,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [private_jwk.public_jwk().to_dict()]},
        require_signed_request_object=True,
        request_object_signing_alg=alg,
    )
    issuer = f"{live_server.url}/o"
    auth = PrivateKeyJwt(application.client_id, private_jwk)
    client = OAuth2Client.from_discovery_endpoint(
        url=f"{issuer}/.well-known/openid-configuration",
        issuer=issuer,
        auth=auth,
        redirect_uri=REDIRECT_URI,
        session=TimeoutSession(),
        testing=True,  # lifts the library's https-only rule for endpoint URLs
    )
    discovery = client.session.get(f"{issuer}/.well-known/openid-configuration").json()
    assert "private_key_jwt" in discovery["token_endpoint_auth_methods_supported"]
    assert alg in discovery["token_endpoint_auth_signing_alg_values_supported"]
    assert alg in discovery["request_object_signing_alg_values_supported"]

    # RFC 9101 §4: the request object carries iss and aud; the library signs whatever
    # the request holds, so they travel as extra parameters.
    request: AuthorizationRequest = client.authorization_request(
        scope="openid read", authorization_response_iss_parameter_supported=True, iss=application.client_id, aud=issuer
    )
    signed = request.sign(private_jwk, lifetime=60)
    assert isinstance(signed, RequestParameterAuthorizationRequest)

    pushed = push_signed_request(client, signed)
    stored = PushedRequest.objects.get()
    assert stored.parameters["state"] == request.state
    assert stored.parameters["nonce"] == request.nonce
    assert stored.parameters["code_challenge"] == request.code_challenge
    assert "iss" not in stored.parameters and "aud" not in stored.parameters

    location = log_in_and_consent(pushed.uri, user.username)
    assert parse_qs(urlsplit(location).query)["iss"] == [issuer]
    response = request.validate_callback(location)

    token = client.authorization_code(response, validate=True)
    assert token.access_token
    assert set(token.scope.split()) == {"openid", "read"}
    assert token.id_token is not None
    # One jti spent at the PAR endpoint, one at the token endpoint.
    assert UsedAssertion.objects.count() == 2

    # The same assertion twice is a replay: the library's auth makes a new one
    # each time, so a fixed jti makes it repeat itself.
    replaying = OAuth2Client(
        token_endpoint=client.token_endpoint,
        auth=PrivateKeyJwt(application.client_id, private_jwk, jti_gen=lambda: "fixed-jti"),
        session=TimeoutSession(),
        testing=True,
    )
    refreshed = replaying.refresh_token(token.refresh_token)
    assert refreshed.access_token
    with pytest.raises(InvalidClient):
        replaying.refresh_token(refreshed.refresh_token)


def test_plain_push_is_refused_when_a_signed_request_object_is_required(
    live_server: Any, user: Any, close_sessions: None
) -> None:
    private_jwk = library_jwk("ES256")
    application = ConfidentialApplicationFactory()
    ClientMetadata.objects.create(
        application=application,
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [private_jwk.public_jwk().to_dict()]},
        require_signed_request_object=True,
    )
    issuer = f"{live_server.url}/o"
    client = OAuth2Client.from_discovery_endpoint(
        url=f"{issuer}/.well-known/openid-configuration",
        issuer=issuer,
        auth=PrivateKeyJwt(application.client_id, private_jwk),
        redirect_uri=REDIRECT_URI,
        session=TimeoutSession(),
        testing=True,
    )

    with pytest.raises(InvalidRequest) as raised:
        client.pushed_authorization_request(client.authorization_request(scope="openid read"))

    assert raised.value.error == "invalid_request"
    assert "This client must push a signed request object" in raised.value.description
    assert not PushedRequest.objects.exists()
