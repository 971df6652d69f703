"""A DPoP flow (RFC 9449) between requests-oauth2client and the example identity provider, over HTTP.

The example runs as a real server (tests/helpers/browser_helpers.example_server). Its
``demo-dpop`` client is public and must use DPoP-bound tokens. The library pushes with
a DPoP proof (§10), a requests session plays the browser through login and consent,
the library redeems the code with a proof from the same key, calls the example's
protected API (``/api/me/``) in the DPoP scheme (§7), and refreshes the token with
the same key (§5). A stolen access token or refresh token is of no use without the key.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests_oauth2client import DPoPKey, DPoPToken, EndpointError, OAuth2Client, PublicApp

from tests.helpers.browser_helpers import HTTP_TIMEOUT, PASSWORD, USERNAME, ExampleServer, example_server  # noqa: F401
from tests.interop.test_flow import TimeoutSession, authorize_in_browser, query_of

pytestmark = [pytest.mark.live, pytest.mark.once_per_matrix]

CLIENT_ID = "demo-dpop"


def dpop_client(server: ExampleServer) -> OAuth2Client:
    # testing=True only lifts the library's https-only rule for endpoint URLs.
    return OAuth2Client.from_discovery_endpoint(
        url=f"{server.issuer}/.well-known/openid-configuration",
        issuer=server.issuer,
        auth=PublicApp(CLIENT_ID),
        redirect_uri=server.redirect_uri,
        session=TimeoutSession(),
        testing=True,
        dpop_bound_access_tokens=True,
    )


def test_dpop_flow_push_authorize_token_api_refresh(example_server: ExampleServer) -> None:
    client = dpop_client(example_server)
    key = DPoPKey.generate(alg="ES256")
    request = client.authorization_request(
        scope="openid read", authorization_response_iss_parameter_supported=True, dpop_key=key
    )
    pushed = client.pushed_authorization_request(request)  # with a DPoP proof (§10)
    location = authorize_in_browser(pushed.uri, USERNAME, PASSWORD, request, "Demo DPoP client")
    assert query_of(location)["state"] == [request.state]
    response = request.validate_callback(location)

    # validate=False: requests-oauth2client 1.8 cannot rebuild a DPoPToken after checking its ID
    # token (TypeError, _dpop_key); the ID token is checked in tests/interop/test_flow.py.
    token = client.authorization_code(response, validate=False)
    assert isinstance(token, DPoPToken)
    assert token.token_type == "DPoP"
    api = f"{example_server.base_url}/api/me/"
    me = requests.get(api, auth=token, timeout=HTTP_TIMEOUT)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == USERNAME
    assert me.json()["token_type"] == "DPoP"
    assert me.json()["cnf"] == {"jkt": key.dpop_jkt}

    # Stolen: the access token alone, as a bearer token, opens nothing (§7.2).
    stolen = requests.get(api, headers={"Authorization": f"Bearer {token.access_token}"}, timeout=HTTP_TIMEOUT)
    assert stolen.status_code == 401
    assert 'error="invalid_token"' in stolen.headers["WWW-Authenticate"]

    # A public client's refresh token is bound too (§5): refreshed with the same key only.
    assert token.refresh_token
    thief = DPoPKey.generate(alg="ES256")
    with pytest.raises(EndpointError) as refused:
        client.refresh_token(token.refresh_token, dpop_key=thief)
    assert refused.value.error in ("invalid_dpop_proof", "invalid_grant")
    refreshed = client.refresh_token(token)  # a DPoPToken: the library proves with its own key
    assert isinstance(refreshed, DPoPToken)
    assert refreshed.access_token != token.access_token
    again = requests.get(api, auth=refreshed, timeout=HTTP_TIMEOUT)
    assert again.status_code == 200, again.text
    assert again.json()["cnf"] == {"jkt": key.dpop_jkt}


def test_the_dpop_client_cannot_redeem_without_a_proof(example_server: ExampleServer) -> None:
    client = dpop_client(example_server)
    request = client.authorization_request(scope="openid read", authorization_response_iss_parameter_supported=True)
    pushed = client.pushed_authorization_request(request)
    location = authorize_in_browser(pushed.uri, USERNAME, PASSWORD, request, "Demo DPoP client")
    response = request.validate_callback(location)
    answer: Any = requests.post(
        client.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": response.code,
            "redirect_uri": example_server.redirect_uri,
            "code_verifier": response.code_verifier,
            "client_id": CLIENT_ID,
        },
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_dpop_proof"
