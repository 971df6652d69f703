"""DPoP proof verification (RFC 9449 §4.3): django_par.dpop.proofs.verify_proof."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import RequestFactory, override_settings
from jwcrypto import jwk

from django_par.dpop import nonces
from django_par.dpop.proofs import Proof, endpoint_uri, verify_proof
from django_par.errors import InvalidDPoPProof, UseDPoPNonce
from tests.dpop.helpers import PAR_URI, ath, dpop_key, proof, thumbprint
from tests.helpers.jwt_helpers import b64url, hmac_with_public_key, private_key, unsigned_jwt, with_payload

pytestmark = pytest.mark.django_db


def request_with(*values: str, path: str = "/o/par/", **extra: Any) -> Any:
    headers = {"DPoP": ", ".join(values)} if values else {}
    return RequestFactory().post(path, headers=headers, **extra)


def verify(value: str, **kwargs: Any) -> Proof | None:
    kwargs.setdefault("htm", "POST")
    kwargs.setdefault("htu", PAR_URI)
    return verify_proof(request_with(value), **kwargs)


def refused(value: str, part: str, **kwargs: Any) -> None:
    with pytest.raises(InvalidDPoPProof) as caught:
        verify(value, **kwargs)
    assert part in caught.value.description, caught.value.description
    assert caught.value.status == 400 and caught.value.error == "invalid_dpop_proof"


def test_no_header_is_none() -> None:
    assert verify_proof(request_with(), htm="POST", htu=PAR_URI) is None


@pytest.mark.parametrize(("alg", "kind"), [("ES256", "EC"), ("PS256", "RSA"), ("RS256", "RSA"), ("EdDSA", "OKP")])
def test_valid_proof(alg: str, kind: str) -> None:
    key = dpop_key(kind=kind)
    result = verify(proof(key, alg=alg, extra="kept"))
    assert result is not None
    assert result.jkt == thumbprint(key) and len(result.jkt) == 43
    assert result.claims["extra"] == "kept" and result.jti == result.claims["jti"]


def test_endpoint_uri_drops_the_query() -> None:
    assert endpoint_uri(RequestFactory().post("/o/par/?x=1")) == PAR_URI


def test_two_headers_refused() -> None:
    refused(f"{proof()},{proof()}", "Exactly one DPoP header")


@pytest.mark.parametrize("value", ["", "garbage", "a.b.c", "a.b", '{"payload":"x"}'])
def test_malformed_refused(value: str) -> None:
    refused(value, "Invalid DPoP proof")


@pytest.mark.parametrize("typ", [None, "JWT", "dpop"])
def test_typ(typ: str | None) -> None:
    refused(proof(header={"typ": typ}), "typ must be dpop+jwt")


def test_typ_case_insensitive() -> None:
    assert verify(proof(header={"typ": "DPoP+JWT"})) is not None


def test_alg_none_refused() -> None:
    key = dpop_key()
    header = {"typ": "dpop+jwt", "jwk": json.loads(key.export_public())}
    claims = {"jti": "x", "htm": "POST", "htu": PAR_URI, "iat": int(time.time())}
    refused(unsigned_jwt(claims, **header), "algorithm 'none' is not allowed")


def test_hmac_refused() -> None:
    key = dpop_key()
    claims = {"jti": "x", "htm": "POST", "htu": PAR_URI, "iat": int(time.time())}
    token = hmac_with_public_key(claims, key)
    header = {"alg": "HS256", "typ": "dpop+jwt", "jwk": json.loads(key.export_public())}
    forged = b64url(json.dumps(header).encode()) + "." + token.split(".", 1)[1]
    refused(forged, "algorithm 'HS256' is not allowed")


@override_settings(DJANGO_PAR={"DPOP_SIGNING_ALGS": ["PS256"]})
def test_alg_outside_the_setting_refused() -> None:
    refused(proof(), "algorithm 'ES256' is not allowed")


@override_settings(DJANGO_PAR={"DPOP_SIGNING_ALGS": ["ES256", "HS256", "none"]})
def test_hmac_and_none_never_allowed_by_the_setting() -> None:
    from django_par.dpop.proofs import allowed_algorithms

    assert allowed_algorithms() == ["ES256"]


def test_jwk_missing() -> None:
    refused(proof(header={"jwk": None}), "public key in the jwk header")


def test_private_jwk_refused() -> None:
    key = dpop_key()
    refused(proof(key, header={"jwk": json.loads(key.export_private())}), "must not contain a private key")


def test_symmetric_jwk_refused() -> None:
    refused(proof(header={"jwk": {"kty": "oct", "k": "c2VjcmV0"}}), "EC, RSA or OKP")


@pytest.mark.parametrize("members", [{"kty": "EC"}, {"kty": "EC", "crv": "P-256", "x": 1, "y": []}, {"kty": "RSA"}])
def test_invalid_jwk(members: dict[str, Any]) -> None:
    refused(proof(header={"jwk": members}), "not a valid public key")


def test_short_rsa_key_refused() -> None:
    weak = jwk.JWK.generate(kty="RSA", size=1024)
    refused(proof(weak, alg="RS256"), "shorter than 2048 bits")


def test_signature_by_another_key_refused() -> None:
    other = json.loads(dpop_key("other").export_public())
    refused(proof(header={"jwk": other}), "signature does not verify")


def test_tampered_payload_refused() -> None:
    token = proof()
    refused(with_payload(token, {"jti": "y", "htm": "POST", "htu": PAR_URI, "iat": int(time.time())}), "signature")


def test_alg_of_another_key_type_refused() -> None:
    key = private_key("RSA", "dpop-rsa")
    signed = proof(key, alg="RS256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": json.loads(key.export_public())}
    refused(b64url(json.dumps(header).encode()) + "." + signed.split(".", 1)[1], "signature")


def test_kid_in_header_is_ignored() -> None:
    assert verify(proof(header={"kid": "whatever"})) is not None


@pytest.mark.parametrize("jti", [None, "", 5])
def test_jti_required(jti: Any) -> None:
    refused(proof(jti=jti), "must carry a jti")


@pytest.mark.parametrize("htm", [None, "GET", "post"])
def test_htm(htm: str | None) -> None:
    refused(proof(htm=htm), "htm must be POST")


@pytest.mark.parametrize(
    "htu",
    [None, 5, "http://testserver/o/token/", "https://testserver/o/par/", "http://other/o/par/", "/o/par/", "x"],
)
def test_htu_mismatch(htu: Any) -> None:
    refused(proof(htu=htu), "htu must be")


@pytest.mark.parametrize(
    "htu",
    [
        "http://testserver/o/par/",
        "HTTP://TestServer/o/par/",
        "http://testserver:80/o/par/",
        "http://testserver/o/par/?q=1#f",
    ],
)
def test_htu_normalised(htu: str) -> None:
    assert verify(proof(htu=htu)) is not None


def test_htu_https_default_port() -> None:
    request = RequestFactory().post(
        "/o/par/", headers={"DPoP": proof(htu="https://testserver:443/o/par/")}, secure=True
    )
    assert verify_proof(request, htm="POST", htu=endpoint_uri(request)) is not None


@pytest.mark.parametrize("iat", [None, "now", True, float("inf")])
def test_iat_malformed(iat: Any) -> None:
    refused(proof(iat=iat), "iat")


def test_iat_too_old() -> None:
    refused(proof(iat=int(time.time()) - 60 - 30 - 5), "too old")


def test_iat_in_the_future() -> None:
    refused(proof(iat=int(time.time()) + 30 + 5), "in the future")


def test_iat_within_skew_accepted() -> None:
    assert verify(proof(iat=int(time.time()) - 80)) is not None
    assert verify(proof(iat=int(time.time()) + 20)) is not None


@override_settings(DJANGO_PAR={"DPOP_PROOF_MAX_AGE": 5, "CLOCK_SKEW": 0})
def test_max_age_setting() -> None:
    refused(proof(iat=int(time.time()) - 10), "too old")


def test_replay_refused() -> None:
    token = proof()
    assert verify(token) is not None
    refused(token, "used before")


def test_same_jti_of_another_key_is_not_a_replay() -> None:
    assert verify(proof(jti="shared")) is not None
    assert verify(proof(dpop_key("second"), jti="shared")) is not None


def test_ath() -> None:
    assert verify(proof(ath=ath("tok")), access_token="tok") is not None
    refused(proof(ath=ath("other")), "ath does not match", access_token="tok")
    refused(proof(), "ath does not match", access_token="tok")
    refused(proof(ath=5), "ath does not match", access_token="tok")


@override_settings(DJANGO_PAR={"DPOP_NONCES": True})
def test_nonce_required_when_on() -> None:
    with pytest.raises(UseDPoPNonce) as caught:
        verify(proof())
    error = caught.value
    assert error.error == "use_dpop_nonce" and error.status == 400
    assert error.headers["DPoP-Nonce"] == nonces.current_nonce()
    with pytest.raises(UseDPoPNonce):
        verify(proof(nonce="not-ours"))
    assert verify(proof(nonce=nonces.current_nonce())) is not None


@override_settings(DJANGO_PAR={"DPOP_NONCES": True})
def test_proof_refused_for_a_nonce_can_be_sent_again_with_one() -> None:
    """The jti is recorded only once the proof is accepted."""
    with pytest.raises(UseDPoPNonce):
        verify(proof(jti="retry"))
    assert verify(proof(jti="retry", nonce=nonces.current_nonce())) is not None


def test_nonce_not_required_when_off_or_told() -> None:
    assert verify(proof()) is not None
    with pytest.raises(UseDPoPNonce):
        verify(proof(), require_nonce=True)


@override_settings(DJANGO_PAR={"FAPI2_SECURITY_PROFILE": True})
def test_fapi2_narrows_the_algorithms() -> None:
    refused(proof(private_key("RSA", "dpop-rsa"), alg="RS256"), "algorithm 'RS256' is not allowed")
    assert verify(proof(private_key("RSA", "dpop-rsa"), alg="PS256")) is not None
