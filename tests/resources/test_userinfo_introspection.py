"""DOT's userinfo and introspection endpoints as django_par serves them, with DPoP-bound tokens.

Userinfo (OIDC Core §5.3) takes a bound token in the DPoP scheme and refuses it as a bearer
token; introspection (RFC 7662) reports a bound token's key as ``cnf.jkt`` (RFC 9449 §6.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model

from django_par.flow import granted_details
from tests.conftest import basic_auth
from tests.dpop.helpers import ath, dpop_key, proof, thumbprint
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator
from tests.resources.test_resources import dpop_get, make_token

pytestmark = pytest.mark.django_db

USERINFO = "/o/userinfo/"
AccessToken = get_access_token_model()


@pytest.fixture(autouse=True)
def django_par_validator(settings: Any) -> Iterator[None]:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


def test_userinfo_answers_a_bound_token_with_its_proof(client: Client) -> None:
    response = dpop_get(client, USERINFO, make_token(dpop_key()))
    assert response.status_code == 200, response.content
    assert response.json()["sub"]


def test_userinfo_takes_a_post_without_a_csrf_token() -> None:
    # OIDC Core §5.3.1: GET or POST; a client has no CSRF token (DOT's view is csrf_exempt too).
    client = Client(enforce_csrf_checks=True)
    token = make_token(dpop_key())
    made = proof(dpop_key(), htm="POST", htu=f"http://testserver{USERINFO}", ath=ath(token))
    response = client.post(USERINFO, headers={"authorization": f"DPoP {token}", "dpop": made})
    assert response.status_code == 200, response.content


def test_userinfo_refuses_a_bound_token_sent_as_bearer(client: Client) -> None:
    response = client.get(USERINFO, headers={"authorization": f"Bearer {make_token(dpop_key())}"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_userinfo_still_answers_a_bearer_token(client: Client) -> None:
    response = client.get(USERINFO, headers={"authorization": f"Bearer {make_token()}"})
    assert response.status_code == 200
    assert response.json()["sub"]


def test_userinfo_needs_the_openid_scope(client: Client) -> None:
    response = dpop_get(client, USERINFO, make_token(dpop_key(), scope="read"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def introspect(client: Client, token: str) -> dict[str, Any]:
    application = ConfidentialApplicationFactory()
    response = client.post(
        "/o/introspect/", {"token": token}, headers={"authorization": basic_auth(application.client_id, CLIENT_SECRET)}
    )
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def test_introspection_shows_the_key_of_a_bound_token(client: Client) -> None:
    answer = introspect(client, make_token(dpop_key()))
    assert answer["active"] is True
    assert answer["cnf"] == {"jkt": thumbprint(dpop_key())}
    assert answer["token_type"] == "DPoP"


def test_introspection_of_a_bearer_token_has_no_cnf(client: Client) -> None:
    answer = introspect(client, make_token())
    assert answer["active"] is True
    assert "cnf" not in answer


def test_introspection_shows_approved_authorization_details_beside_the_key(client: Client) -> None:
    # RFC 9396 §9.2 and RFC 9449 §6.2 in one answer.
    value = make_token(dpop_key())
    details = [{"type": "payment_initiation", "instructedAmount": {"currency": "EUR", "amount": "12.00"}}]
    granted_details.access_token_created(AccessToken.objects.get(token=value), details)
    answer = introspect(client, value)
    assert answer["authorization_details"] == details
    assert answer["cnf"] == {"jkt": thumbprint(dpop_key())}


def test_introspection_of_an_unknown_token_is_inactive(client: Client) -> None:
    assert introspect(client, "no-such-token") == {"active": False}
