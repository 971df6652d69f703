"""Richer pushed requests between requests-oauth2client and a live server.

The library pushes ``authorization_details`` (RFC 9396) and repeated ``resource``
(RFC 8707) as extra authorization request parameters, with client_secret_basic,
private_key_jwt or DPoP; a plain ``requests`` session plays the browser (the
helpers of :mod:`tests.interop.test_flow`); the code exchange and a refresh go
through the library, whose token response keeps the authorization details.
An unregistered redirect URI (RFC 9126 §2.4) is pushed and repeated at the token endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from django.contrib.auth.hashers import make_password
from jwskate import Jwk
from oauth2_provider.models import get_access_token_model
from requests_oauth2client import ClientSecretBasic, OAuth2Client, PrivateKeyJwt

from django_par import dot
from django_par.models import ClientMetadata
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ConfidentialApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator, private_key, public_jwks
from tests.helpers.rich_requests import ACCOUNTS, PAYMENT, TYPES
from tests.interop.test_flow import USER_PASSWORD, TimeoutSession, authorize_in_browser, without_query

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

API = "https://api.example.org/"
OTHER_API = "https://other.example.org/v1"
UNREGISTERED = "https://app.example.org/cb/session-42"
EC_KEY = private_key("EC")


@pytest.fixture(autouse=True)
def rich_server(settings: Any) -> Any:
    settings.DJANGO_PAR = {"AUTHORIZATION_DETAILS_TYPES": TYPES, "ALLOW_UNREGISTERED_REDIRECT_URIS": True}
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


@pytest.fixture
def user(transactional_db: None) -> Any:
    return UserFactory(password=make_password(USER_PASSWORD))


def rich_client(method: str = "client_secret_basic") -> Any:
    application = ConfidentialApplicationFactory()
    fields: dict[str, Any] = {
        "authorization_details_types": ["payment_initiation", "account_information"],
        "allow_unregistered_redirect_uris": True,
        "unregistered_redirect_uri_hosts": "app.example.org",
    }
    if method == "private_key_jwt":
        fields.update(token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(EC_KEY))
    ClientMetadata.objects.create(application=application, **fields)
    return application


def library_client(server_url: str, application: Any, auth: Any, redirect_uri: str = REDIRECT_URI) -> OAuth2Client:
    issuer = f"{server_url}/o"
    return OAuth2Client.from_discovery_endpoint(
        url=f"{issuer}/.well-known/openid-configuration",
        issuer=issuer,
        auth=auth,
        redirect_uri=redirect_uri,
        session=TimeoutSession(),
        testing=True,
    )


def rich_flow(client: OAuth2Client, application: Any, user: Any, *, dpop: bool = False, **extra: Any) -> Any:
    """Push with ``extra`` parameters, log in and approve, redeem the code; the library's token."""
    discovery = requests.get(f"{client.issuer}/.well-known/openid-configuration", timeout=60).json()
    assert discovery["authorization_details_types_supported"] == sorted(TYPES)
    request = client.authorization_request(
        scope="openid read", authorization_response_iss_parameter_supported=True, dpop=dpop, **extra
    )
    pushed = client.pushed_authorization_request(request)
    location = authorize_in_browser(pushed.uri, user.username, USER_PASSWORD, request, application.name)
    assert without_query(location) == client.redirect_uri
    response = request.validate_callback(location)
    # requests-oauth2client 1.8 cannot validate the ID token of a DPoPToken (it rebuilds one without its key).
    return client.authorization_code(response, validate=not dpop)


def test_authorization_details_and_resources_with_client_secret_basic(live_server: Any, user: Any) -> None:
    application = rich_client()
    client = library_client(live_server.url, application, ClientSecretBasic(application.client_id, CLIENT_SECRET))
    extra: dict[str, Any] = {"authorization_details": json.dumps([PAYMENT, ACCOUNTS])}
    if dot.supports_resource_indicators():
        extra["resource"] = [API, OTHER_API]  # requests sends a list as repeated parameters
    token = rich_flow(client, application, user, **extra)
    assert token.kwargs["authorization_details"] == [PAYMENT, ACCOUNTS]
    access = get_access_token_model().objects.get(token=token.access_token)
    if dot.supports_resource_indicators():
        assert access.resource == [API, OTHER_API]
        assert access.allows_audience(API + "payments") and not access.allows_audience("https://elsewhere.example/")
    refreshed = client.refresh_token(token)
    assert refreshed.kwargs["authorization_details"] == [PAYMENT, ACCOUNTS]


def test_authorization_details_with_private_key_jwt_and_dpop(live_server: Any, user: Any) -> None:
    application = rich_client("private_key_jwt")
    key = Jwk(EC_KEY.export_private(as_dict=True)).with_usage_parameters(alg="ES256")
    client = library_client(live_server.url, application, PrivateKeyJwt(application.client_id, key))
    token = rich_flow(client, application, user, dpop=True, authorization_details=json.dumps([ACCOUNTS]))
    assert token.token_type == "DPoP"
    assert token.kwargs["authorization_details"] == [ACCOUNTS]


def test_unregistered_redirect_uri(live_server: Any, user: Any) -> None:
    application = rich_client()
    auth = ClientSecretBasic(application.client_id, CLIENT_SECRET)
    client = library_client(live_server.url, application, auth, redirect_uri=UNREGISTERED)
    token = rich_flow(client, application, user)  # the library repeats redirect_uri at the token endpoint
    assert token.access_token
    # Not for another host than the client's pattern allows.
    other = library_client(live_server.url, application, auth, redirect_uri="https://elsewhere.example/cb")
    response = requests.post(
        other.pushed_authorization_request_endpoint,
        data={**other.authorization_request(scope="read").args},
        auth=(application.client_id, CLIENT_SECRET),
        timeout=60,
    )
    assert response.status_code == 400 and "not on a host" in response.json()["error_description"]
