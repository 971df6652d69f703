"""Protected resources with DPoP-bound and bearer access tokens (RFC 9449 §7, RFC 6750 §3).

Four resources of the test site (tests/resources/views.py): django_par's class view,
its decorator, its DRF authentication class, and DOT's own ProtectedResourceView, which
only django_par's validator keeps DPoP-bound tokens out of.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model

from django_par.dpop.binding import bind_access_token
from django_par.dpop.proofs import allowed_algorithms
from tests.dpop.helpers import ath, dpop_key, proof, thumbprint
from tests.helpers.factories import PublicApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()
OURS = ["/api/view/", "/api/function/", "/api/drf/"]


@pytest.fixture(autouse=True)
def django_par_validator(settings: Any) -> Iterator[None]:
    """The site's validator is django_par's, as the README asks (one test below runs without it)."""
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


def make_token(key: jwk.JWK | None = None, scope: str = "read openid", **fields: Any) -> str:
    """A live access token of a new user, bound to ``key`` when one is given; its value."""
    value = secrets.token_urlsafe(30)
    token = AccessToken.objects.create(
        user=UserFactory(),
        application=PublicApplicationFactory(),
        token=value,
        scope=scope,
        expires=fields.pop("expires", timezone.now() + timedelta(hours=1)),
    )
    if key is not None:
        bind_access_token(token, thumbprint(key))
    return value


def dpop_get(client: Client, path: str, token: str, key: jwk.JWK | None = None, **claims: Any) -> Any:
    """GET ``path`` in the DPoP scheme with a fresh proof for it (overridden by ``claims``)."""
    claims.setdefault("ath", ath(token))
    made = proof(key or dpop_key(), htm="GET", htu=f"http://testserver{path.split('?')[0]}", **claims)
    return client.get(path, headers={"authorization": f"DPoP {token}", "dpop": made})


def challenge(response: Any) -> str:
    return str(response["WWW-Authenticate"])


@pytest.mark.parametrize("path", OURS)
def test_a_dpop_bound_token_with_a_proof_by_its_key_is_accepted(client: Client, path: str) -> None:
    token = make_token(dpop_key())
    response = dpop_get(client, path, token)
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "read openid"


@pytest.mark.parametrize("path", [*OURS, "/api/dot/"])
def test_a_bearer_token_is_still_accepted(client: Client, path: str) -> None:
    response = client.get(path, headers={"authorization": f"Bearer {make_token()}"})
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", OURS)
def test_a_dpop_bound_token_sent_as_bearer_is_refused(client: Client, path: str) -> None:
    # RFC 9449 §7.2: a bound token must not work as a bearer token.
    response = client.get(path, headers={"authorization": f"Bearer {make_token(dpop_key())}"})
    assert response.status_code == 401
    assert challenge(response).startswith('Bearer realm="django-par", error="invalid_token"')
    assert 'DPoP realm="django-par", algs="ES256' in challenge(response)


def test_dots_own_resource_view_refuses_a_bound_token_sent_as_bearer(client: Client) -> None:
    # django_par's validator checks the binding of every token DOT accepts.
    response = client.get("/api/dot/", headers={"authorization": f"Bearer {make_token(dpop_key())}"})
    assert response.status_code == 403


@pytest.mark.parametrize("path", OURS)
def test_our_resources_check_the_binding_under_dots_own_validator_too(client: Client, settings: Any, path: str) -> None:
    with dot_validator(settings, "oauth2_provider.oauth2_validators.OAuth2Validator"):
        token = make_token(dpop_key())
        refused = client.get(path, headers={"authorization": f"Bearer {token}"})
        accepted = dpop_get(client, path, token)
    assert refused.status_code == 401
    assert accepted.status_code == 200


@pytest.mark.parametrize("path", OURS)
def test_a_proof_by_another_key_is_refused(client: Client, path: str) -> None:
    token = make_token(dpop_key("owner"))
    response = dpop_get(client, path, token, key=dpop_key("thief"))
    assert response.status_code == 401
    assert challenge(response).startswith('DPoP realm="django-par", algs=')
    assert 'error="invalid_token"' in challenge(response)


@pytest.mark.parametrize("path", OURS)
def test_an_unbound_token_in_the_dpop_scheme_is_refused(client: Client, path: str) -> None:
    response = dpop_get(client, path, make_token())
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)


@pytest.mark.parametrize("path", OURS)
def test_the_dpop_scheme_without_a_proof_is_refused(client: Client, path: str) -> None:
    token = make_token(dpop_key())
    response = client.get(path, headers={"authorization": f"DPoP {token}"})
    assert response.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(response)


@pytest.mark.parametrize(
    "claims",
    [
        {"ath": None},  # §7: the proof must carry the token's hash
        {"ath": ath("another-token")},
        {"htm": "POST"},
        {"htu": "http://testserver/api/elsewhere/"},
        {"iat": 1},
    ],
    ids=["no-ath", "wrong-ath", "wrong-htm", "wrong-htu", "old-iat"],
)
def test_a_proof_not_made_for_this_request_and_token_is_refused(client: Client, claims: dict[str, Any]) -> None:
    token = make_token(dpop_key())
    key = dpop_key()
    claims.setdefault("ath", ath(token))
    made = proof(key, htm=claims.pop("htm", "GET"), htu=claims.pop("htu", "http://testserver/api/view/"), **claims)
    response = client.get("/api/view/", headers={"authorization": f"DPoP {token}", "dpop": made})
    assert response.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(response)
    assert response.json()["error"] == "invalid_dpop_proof"


def test_a_proof_is_used_once(client: Client) -> None:
    token = make_token(dpop_key())
    made = proof(dpop_key(), htm="GET", htu="http://testserver/api/view/", ath=ath(token))
    headers = {"authorization": f"DPoP {token}", "dpop": made}
    assert client.get("/api/view/", headers=headers).status_code == 200
    replay = client.get("/api/view/", headers=headers)
    assert replay.status_code == 401
    assert 'error="invalid_dpop_proof"' in challenge(replay)


def test_htu_leaves_the_query_out(client: Client) -> None:
    token = make_token(dpop_key())
    assert dpop_get(client, "/api/view/?page=2", token).status_code == 200


@pytest.mark.parametrize("path", ["/api/view/", "/api/function/"])
def test_no_token_gets_a_challenge_without_an_error(client: Client, path: str) -> None:
    # RFC 6750 §3.1: a request without authentication information gets no error code.
    response = client.get(path)
    assert response.status_code == 401
    algs = " ".join(allowed_algorithms())
    assert challenge(response) == f'Bearer realm="django-par", DPoP realm="django-par", algs="{algs}"'


def test_drf_leaves_a_request_without_a_token_to_the_next_class(client: Client) -> None:
    response = client.get("/api/drf/")
    assert response.status_code == 401
    assert "error=" not in challenge(response)


@pytest.mark.parametrize("path", ["/api/view/", "/api/function/"])
def test_a_token_without_the_scope_is_forbidden(client: Client, path: str) -> None:
    token = make_token(dpop_key(), scope="write")
    response = dpop_get(client, path, token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in challenge(response)


@pytest.mark.parametrize("path", OURS)
def test_an_expired_bound_token_is_refused(client: Client, path: str) -> None:
    token = make_token(dpop_key(), expires=timezone.now() - timedelta(seconds=1))
    response = dpop_get(client, path, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge(response)


def test_a_challenge_cannot_be_broken_out_of(client: Client) -> None:
    token = make_token(dpop_key())
    response = client.get("/api/view/", headers={"authorization": f"DPoP {token}", "dpop": 'x", error="forged'})
    assert response.status_code == 401
    assert challenge(response).count("error=") == 1


@given(
    scheme=st.sampled_from(["DPoP", "dpop", "Bearer", "Basic", ""]),
    token=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
    dpop=st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)),
)
def test_any_authorization_and_dpop_headers_get_an_answer_not_a_crash(
    scheme: str, token: str, dpop: str | None
) -> None:
    headers = {"authorization": f"{scheme} {token}".strip()}
    if dpop is not None:
        headers["dpop"] = dpop
    response = Client().get("/api/view/", headers=headers)
    assert response.status_code in (400, 401)
    assert response["WWW-Authenticate"]


def test_drf_answers_the_oauth_error_in_its_body(client: Client) -> None:
    response = client.get("/api/drf/", headers={"authorization": f"Bearer {make_token(dpop_key())}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.json()["error_description"]
