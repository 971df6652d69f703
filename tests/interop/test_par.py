"""A real OAuth client library pushes to a live server (RFC 9126 §2 interoperability).

requests-oauth2client builds the authorization request (state, nonce, PKCE
S256), authenticates with client_secret_basic and turns the PAR response into
an authorization URL. The application is created inside each test: the live
server runs in another thread and needs a transactional database.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauth2client import ClientSecretBasic, InvalidClient, OAuth2Client

from django_par.flow.request_uri import request_uri_digest
from django_par.models import PushedRequest
from tests.conftest import REQUEST_URI_PREFIX
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ConfidentialApplicationFactory

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

HTTP_TIMEOUT = 60  # the password hasher is slow on purpose


def oauth2_client(live_server: Any, client_id: str, secret: str) -> OAuth2Client:
    return OAuth2Client(
        token_endpoint=f"{live_server.url}/o/token/",
        pushed_authorization_request_endpoint=f"{live_server.url}/o/par/",
        authorization_endpoint=f"{live_server.url}/o/authorize/",
        redirect_uri=REDIRECT_URI,
        auth=ClientSecretBasic(client_id, secret),
        testing=True,  # plain http on the loopback live server
    )


def test_requests_oauth2client_pushes_with_client_secret_basic(live_server):
    application = ConfidentialApplicationFactory()
    client = oauth2_client(live_server, application.client_id, CLIENT_SECRET)
    sent: list[requests.PreparedRequest] = []

    authorization_request = client.authorization_request(scope="openid read")
    pushed = client.pushed_authorization_request(
        authorization_request,
        requests_kwargs={"timeout": HTTP_TIMEOUT, "hooks": {"response": lambda r, **_: sent.append(r.request)}},
    )

    # The library authenticated with Basic and sent no secret in the body.
    (request,) = sent
    assert request.headers["Authorization"].startswith("Basic ")
    assert CLIENT_SECRET not in (request.body or "")

    assert pushed.request_uri.startswith(REQUEST_URI_PREFIX)
    assert pushed.expires_at is not None

    # RFC 9126 §4: the authorization URL carries only client_id and request_uri.
    url = urlsplit(pushed.uri)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{live_server.url}/o/authorize/"
    assert parse_qs(url.query) == {"client_id": [application.client_id], "request_uri": [pushed.request_uri]}

    row = PushedRequest.objects.get()
    assert row.application == application
    assert row.request_uri_digest == request_uri_digest(pushed.request_uri)
    assert row.parameters["state"] == authorization_request.state
    assert row.parameters["nonce"] == authorization_request.nonce
    assert row.parameters["code_challenge"] == authorization_request.code_challenge
    assert row.parameters["code_challenge_method"] == "S256"
    assert row.parameters["redirect_uri"] == REDIRECT_URI


def test_requests_oauth2client_reports_a_wrong_secret_as_invalid_client(live_server):
    application = ConfidentialApplicationFactory()
    client = oauth2_client(live_server, application.client_id, "not-the-secret")

    with pytest.raises(InvalidClient) as raised:
        client.pushed_authorization_request(
            client.authorization_request(scope="openid read"), requests_kwargs={"timeout": HTTP_TIMEOUT}
        )

    assert raised.value.response.status_code == 401
    assert raised.value.response.headers["WWW-Authenticate"].startswith("Basic ")
    assert not PushedRequest.objects.exists()
