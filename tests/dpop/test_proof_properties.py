"""Property tests of the DPoP proof parser: any header value is a proof or a 400, never an exception."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_par.dpop.proofs import verify_proof
from django_par.errors import InvalidDPoPProof
from tests.dpop.helpers import PAR_URI, dpop_key, proof

pytestmark = pytest.mark.django_db

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def segment(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def check(value: str) -> None:
    request = RequestFactory().post("/o/par/", HTTP_DPOP=value)
    try:
        verify_proof(request, htm="POST", htu=PAR_URI)
    except InvalidDPoPProof as error:
        assert error.status == 400 and error.error == "invalid_dpop_proof"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="latin-1"), max_size=300))
def test_any_text(value: str) -> None:
    check(value)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=json_values, claims=json_values, signature=st.text(alphabet="AZaz09-_", max_size=90))
def test_any_json_segments(header: Any, claims: Any, signature: str) -> None:
    check(f"{segment(header)}.{segment(claims)}.{signature}")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    jwk_members=st.dictionaries(
        st.sampled_from(["kty", "crv", "x", "y", "n", "e", "use", "key_ops", "alg", "kid"]), json_values, max_size=8
    ),
    claims=st.dictionaries(st.sampled_from(["jti", "htm", "htu", "iat", "ath", "nonce"]), json_values, max_size=6),
)
def test_signed_with_any_header_key_and_claims(jwk_members: dict[str, Any], claims: dict[str, Any]) -> None:
    """A real signature over hostile header keys and claims: still a proof or a 400."""
    members = {"kty": "EC", **jwk_members}
    check(proof(dpop_key(), header={"jwk": members}, **{name: claims.get(name) for name in claims}))


@given(st.text(max_size=80))
def test_htu_comparison_never_raises(value: str) -> None:
    from django_par.dpop.proofs import _same_uri

    assert _same_uri(value, PAR_URI) in (True, False)


@given(
    scheme=st.sampled_from(["http", "HTTP", "Http"]),
    host=st.sampled_from(["testserver", "TESTSERVER", "TestServer"]),
    port=st.sampled_from(["", ":80"]),
    query=st.text(alphabet="abc=&%20", max_size=10),
)
def test_htu_equivalent_spellings_are_the_same(scheme: str, host: str, port: str, query: str) -> None:
    from django_par.dpop.proofs import _same_uri

    assert _same_uri(f"{scheme}://{host}{port}/o/par/?{query}#frag", PAR_URI)
