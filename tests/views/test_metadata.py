"""The PAR entries of the discovery documents (RFC 9126 §5).

OpenID Connect Discovery (/.well-known/openid-configuration) and RFC 8414
(/.well-known/oauth-authorization-server), both served under the "o/" prefix.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client, override_settings

from django_par.views.metadata import ServerMetadataView
from tests.conftest import code_request
from tests.helpers.flow_helpers import ISSUER

pytestmark = pytest.mark.django_db

OPENID_CONFIGURATION = "/o/.well-known/openid-configuration"
SERVER_METADATA = "/o/.well-known/oauth-authorization-server"

documents = pytest.mark.parametrize(
    "path",
    [
        OPENID_CONFIGURATION,
        OPENID_CONFIGURATION + "/",  # DOT still answers the old trailing-slash form
        pytest.param(
            SERVER_METADATA,
            marks=pytest.mark.skipif(ServerMetadataView is None, reason="RFC 8414 metadata needs DOT 3.2 or later"),
        ),
    ],
)


def discover(path: str, client: Client | None = None, **extra: Any) -> dict[str, Any]:
    response = (client or Client()).get(path, **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    return dict(response.json())


@documents
def test_advertises_the_par_endpoint_as_an_absolute_url(path: str) -> None:
    document = discover(path)
    endpoint = document["pushed_authorization_request_endpoint"]
    assert endpoint == "http://testserver/o/par/"
    # Beside the issuer, under the same prefix as DOT's endpoints.
    assert endpoint.startswith(document["issuer"] + "/")
    assert document["authorization_endpoint"] == "http://testserver/o/authorize/"


@documents
def test_par_endpoint_follows_the_requests_host_and_scheme(path: str) -> None:
    document = discover(path, secure=True, headers={"host": "idp.example.com"})
    assert document["pushed_authorization_request_endpoint"] == "https://idp.example.com/o/par/"


@documents
def test_advertised_par_endpoint_accepts_a_push(path: str, public_app: Any) -> None:
    endpoint = discover(path)["pushed_authorization_request_endpoint"]
    response = Client().post(
        urlsplit(endpoint).path, urlencode(code_request(public_app)), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201, response.content
    assert response.json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


@documents
def test_require_pushed_authorization_requests_is_false_by_default(path: str) -> None:
    assert discover(path)["require_pushed_authorization_requests"] is False


@documents
@override_settings(DJANGO_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True})
def test_require_pushed_authorization_requests_follows_the_setting(path: str) -> None:
    assert discover(path)["require_pushed_authorization_requests"] is True


@documents
def test_the_issuer_is_the_iss_of_authorization_responses(path: str) -> None:
    # RFC 9207 §2.4: clients compare the iss of a response with the metadata's issuer.
    assert discover(path)["issuer"] == ISSUER


@documents
def test_dot_entries_are_kept(path: str) -> None:
    document = discover(path)
    assert document["token_endpoint"] == "http://testserver/o/token/"
    assert "code" in document["response_types_supported"]
