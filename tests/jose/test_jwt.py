"""The one JWT verification of client assertions and request objects (django_par.jose.jwt).

The endpoint tests (tests/clients/test_assertions.py, tests/push/test_request_objects.py)
cover each rule through HTTP; these call the verifier directly: what jwcrypto would
accept on its own and django_par refuses, the key selection, and property-based
tests that no input makes the parser or the verifier raise anything but JwtError.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwcrypto import jwk, jws
from jwcrypto import jwt as jwcrypto_jwt
from jwcrypto.jws import JWSCore

from django_par.jose import jwt
from django_par.jose.fetch import KeyLookupError
from django_par.jose.jwt import ClientClaims, JwtError, Profile

ISSUER = "https://as.example"
CLIENT = "client-1"
ALGS = ["RS256", "ES256"]

EC_KEY = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-1")
RSA_KEY = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa-1")

PROFILE = Profile(
    client_claims=(ClientClaims(("iss", "sub"), "iss and sub must be the client."),),
    audience_error="aud names another server.",
    required=("jti",),
    forbidden=("request",),
    forbidden_error="no request inside.",
)


def public(key: jwk.JWK, **members: Any) -> jwk.JWK:
    return jwk.JWK(**{**json.loads(key.export_public()), **members})


def key_set(*keys: jwk.JWK) -> jwk.JWKSet:
    keys_ = jwk.JWKSet()
    for key in keys:
        keys_.add(key)
    return keys_


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": CLIENT, "sub": CLIENT, "aud": ISSUER, "iat": now, "exp": now + 60, "jti": "jti-1"}
    return {name: value for name, value in {**base, **overrides}.items() if value is not None}


def sign(payload: dict[str, Any] | str, key: jwk.JWK = EC_KEY, alg: str = "ES256", **header: Any) -> str:
    """A compact JWS made with jwcrypto's core signer, which takes any header and payload text."""
    protected = {"alg": alg, "kid": key.get("kid"), **header}
    protected = {name: value for name, value in protected.items() if value is not None}
    text = payload if isinstance(payload, str) else json.dumps(payload)
    parts = JWSCore(alg, key, json.dumps(protected), text.encode()).sign()
    return f"{parts['protected']}.{parts['payload'].decode()}.{parts['signature']}"


def verify(
    token: str,
    keys: Callable[[bool], jwk.JWKSet] | None = None,
    algorithms: list[str] = ALGS,
    max_lifetime: int = 300,
) -> jwt.VerifiedJwt:
    return jwt.verify(
        jwt.parse(token),
        PROFILE,
        client_id=CLIENT,
        audiences={ISSUER},
        algorithms=algorithms,
        key_set=keys or (lambda refresh: key_set(public(EC_KEY), public(RSA_KEY))),
        max_lifetime=max_lifetime,
    )


def refused(token: str, message: str, **kwargs: Any) -> None:
    with pytest.raises(JwtError) as caught:
        verify(token, **kwargs)
    assert message in str(caught.value)


class TestAccepted:
    @pytest.mark.parametrize(("key", "alg"), [(EC_KEY, "ES256"), (RSA_KEY, "RS256")])
    def test_signed_with_a_registered_key(self, key, alg):
        sent = claims()  # once: a second call may fall in the next second
        verified = verify(sign(sent, key, alg))

        assert verified.claims == sent
        assert verified.exp == sent["exp"]

    def test_verify_takes_the_token_text_too(self):
        verified = jwt.verify(
            sign(claims()),
            PROFILE,
            client_id=CLIENT,
            audiences={ISSUER},
            algorithms=ALGS,
            key_set=lambda refresh: key_set(public(EC_KEY)),
            max_lifetime=300,
        )

        assert verified.claims["jti"] == "jti-1"

    @pytest.mark.parametrize("aud", [ISSUER + "/", ["https://other.example", ISSUER]])
    def test_audience_forms_rfc7519_4_1_3(self, aud):
        assert verify(sign(claims(aud=aud))).claims["aud"] == aud

    def test_registered_claims_of_any_type_outside_the_rules(self):
        # jwcrypto's own claim checks would refuse a non-string typ claim; a request object may carry one.
        assert verify(sign(claims(typ=5, scope=["a"]))).claims["typ"] == 5

    def test_huge_integer_exp_is_refused_not_a_500(self):
        refused(sign(claims(exp=10**400)), "The exp claim must be a finite number")


class TestHeader:
    def test_alg_none_is_never_allowed_rfc8725_3_1(self):
        token = f"{b64(json.dumps({'alg': 'none'}))}.{b64(json.dumps(claims()))}."

        refused(token, "The signing algorithm 'none' is not allowed", algorithms=["none", "ES256"])

    def test_an_empty_allow_list_allows_nothing(self):
        # jwcrypto's JWT(algs=[]) would fall back to all its default algorithms.
        refused(sign(claims()), "The signing algorithm 'ES256' is not allowed", algorithms=[])

    @pytest.mark.parametrize("alg", [None, 5, ["ES256"]])
    def test_alg_that_is_not_a_string(self, alg):
        token = f"{b64(json.dumps({'alg': alg}))}.{b64(json.dumps(claims()))}.c2ln"

        refused(token, "is not allowed")

    def test_crit_b64_that_jwcrypto_understands_is_refused_rfc7515_4_1_11(self):
        token = sign(claims(), crit=["b64"], b64=True)
        # jwcrypto alone accepts it: the refusal is django_par's.
        jwcrypto_jwt.JWT(jwt=token, key=public(EC_KEY), algs=["ES256"], expected_type="JWS")

        refused(token, "uses an extension this server does not support")

    def test_json_serialization_is_refused_rfc7519_1(self):
        signed = jws.JWS(json.dumps(claims()).encode())
        signed.add_signature(EC_KEY, alg="ES256", protected=json.dumps({"alg": "ES256"}), header={"note": "a.b.c"})
        token = signed.serialize()  # the flattened JSON serialization (RFC 7515 §7.2.2), with two dots
        assert token.count(".") == 2
        # jwcrypto reads a two-dot JSON serialization as a JWS.
        jwcrypto_jwt.JWT(jwt=token, expected_type="JWS")

        with pytest.raises(JwtError, match="malformed"):
            jwt.parse(token)

    @pytest.mark.parametrize(
        ("token", "message"),
        [
            ("", "not a compact signed JWT"),
            ("a.b.c.d.e", "not a compact signed JWT"),
            ("e30.e30.=", "malformed"),
            ("e30.e30.a b", "malformed"),
            (".e30.", "malformed"),
            ("W10.e30.", "malformed"),
            ("e30..", "not JSON"),
            ("e30.WzFd.", "not a JSON object"),
            ("e30.bnVsbA.", "not a JSON object"),
            ("e30.__8.", "not JSON"),
        ],
    )
    def test_malformed(self, token, message):
        with pytest.raises(JwtError, match=message):
            jwt.parse(token)

    def test_not_a_string(self):
        with pytest.raises(JwtError, match="not a compact signed JWT"):
            jwt.parse(b"e30.e30.")


class TestKeySelection:
    def test_unknown_kid_refreshes_once(self):
        calls: list[bool] = []

        def keys(refresh: bool) -> jwk.JWKSet:
            calls.append(refresh)
            return key_set(public(EC_KEY)) if refresh else key_set(public(RSA_KEY))

        verify(sign(claims()), keys)

        assert calls == [False, True]

    def test_still_unknown_after_the_refresh(self):
        calls: list[bool] = []

        def keys(refresh: bool) -> jwk.JWKSet:
            calls.append(refresh)
            return key_set(public(RSA_KEY))

        refused(sign(claims()), "does not verify with the client's keys", keys=keys)
        assert calls == [False, True]

    def test_known_kid_with_a_bad_signature_does_not_refresh(self):
        # jwcrypto raises the same JWTMissingKey for both; the refresh decision is django_par's.
        calls: list[bool] = []
        impostor = jwk.JWK.generate(kty="EC", crv="P-256", kid=EC_KEY.get("kid"))

        def keys(refresh: bool) -> jwk.JWKSet:
            calls.append(refresh)
            return key_set(public(EC_KEY))

        refused(sign(claims(), impostor), "does not verify", keys=keys)
        assert calls == [False]

    def test_without_kid_every_key_is_tried_and_nothing_refreshed(self):
        calls: list[bool] = []
        other = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-2")

        def keys(refresh: bool) -> jwk.JWKSet:
            calls.append(refresh)
            return key_set(public(other), public(EC_KEY), public(RSA_KEY))

        verify(sign(claims(), kid=None), keys)
        assert calls == [False]

    def test_keys_without_kid_are_not_named_by_one(self):
        anonymous = jwk.JWK(**{k: v for k, v in json.loads(EC_KEY.export_public()).items() if k != "kid"})

        refused(sign(claims()), "does not verify", keys=lambda refresh: key_set(anonymous))

    def test_key_bound_to_another_algorithm_rfc7517_4_4(self):
        keys = key_set(public(RSA_KEY, alg="PS256"))

        refused(sign(claims(), RSA_KEY, "RS256"), "does not verify", keys=lambda refresh: keys)

    def test_key_for_encryption_only(self):
        keys = key_set(public(EC_KEY, use="enc"))

        refused(sign(claims()), "does not verify", keys=lambda refresh: keys)

    def test_key_lookup_error_is_the_message(self):
        def keys(refresh: bool) -> jwk.JWKSet:
            raise KeyLookupError("No keys here.")

        refused(sign(claims()), "No keys here.", keys=keys)

    def test_duplicate_kids_are_all_tried(self):
        twin = jwk.JWK.generate(kty="EC", crv="P-256", kid=EC_KEY.get("kid"))

        verify(sign(claims()), lambda refresh: key_set(public(twin), public(EC_KEY)))


class TestClaims:
    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"sub": "other"}, "iss and sub must be the client."),
            ({"iss": None}, "iss and sub must be the client."),
            ({"aud": None}, "The aud claim is missing or malformed"),
            ({"aud": [ISSUER, 5]}, "The aud claim is missing or malformed"),
            ({"aud": "https://other.example"}, "aud names another server."),
            ({"jti": ""}, "The jti claim is required"),
            ({"request": "x"}, "no request inside."),
            ({"exp": None}, "The exp claim is required"),
            ({"exp": "4102444800"}, "The exp claim must be a number"),
            ({"exp": True}, "The exp claim must be a number"),
            ({"nbf": [1]}, "The nbf claim must be a number"),
        ],
    )
    def test_refused(self, overrides, message):
        refused(sign(claims(**overrides)), message)

    @pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
    @pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
    def test_non_finite_numbers(self, claim, value):
        # Python's json module reads these; jwcrypto's own checks raise OverflowError on Infinity.
        members = {**claims(), claim: "@"}
        token = sign(json.dumps(members).replace('"@"', value))

        refused(token, f"The {claim} claim must be a finite number")

    def test_the_rules_are_checked_in_the_profile_order(self):
        refused(sign(claims(sub="other", aud=None, jti=None, exp=None)), "iss and sub must be the client.")
        refused(sign(claims(aud="https://other.example", jti=None, exp=None)), "aud names another server.")
        refused(sign(claims(jti=None, request="x", exp=None)), "The jti claim is required")
        refused(sign(claims(request="x", exp=None)), "no request inside.")

    def test_signature_is_checked_before_the_claims(self):
        token = sign(claims(sub="other", exp="soon"), jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-1"))

        refused(token, "does not verify")

    @override_settings(DJANGO_PAR={"CLOCK_SKEW": 0})
    def test_expired(self):
        now = int(time.time())
        refused(sign(claims(iat=now - 20, exp=now - 1)), "The JWT has expired")

    def test_expired_within_the_skew_is_accepted(self):
        now = int(time.time())
        verify(sign(claims(iat=now - 20, exp=now - 10)))

    def test_not_yet_valid(self):
        now = int(time.time())
        refused(sign(claims(nbf=now + 120, exp=now + 180)), "not valid yet (nbf)")

    def test_issued_in_the_future(self):
        now = int(time.time())
        refused(sign(claims(iat=now + 120, exp=now + 180)), "issued in the future (iat)")

    def test_max_lifetime(self):
        now = int(time.time())
        verify(sign(claims(iat=now, exp=now + 300)), max_lifetime=300)
        refused(sign(claims(iat=now, exp=now + 400)), "longer than the allowed 300 seconds", max_lifetime=300)


class TestReusedJwsObject:
    def test_another_token_parsed_in_between(self):
        first, second = sign(claims(jti="first")), sign(claims(jti="second"), RSA_KEY, "RS256")
        parsed_first = jwt.parse(first)
        jwt.parse(second)

        assert verify(first).claims["jti"] == "first"
        assert (
            jwt.verify(
                parsed_first,
                PROFILE,
                client_id=CLIENT,
                audiences={ISSUER},
                algorithms=ALGS,
                key_set=lambda refresh: key_set(public(EC_KEY)),
                max_lifetime=300,
            ).claims["jti"]
            == "first"
        )

    def test_a_failed_verification_leaves_nothing_behind(self):
        good = sign(claims(jti="good"))
        tampered = good.split(".")[0] + "." + b64(json.dumps(claims(jti="evil"))) + "." + good.split(".")[2]

        refused(tampered, "does not verify")
        assert verify(good).claims["jti"] == "good"
        refused(tampered, "does not verify")

    def test_threads_verify_their_own_tokens(self):
        tokens = {f"jti-{n}": sign(claims(jti=f"jti-{n}")) for n in range(8)}
        results: dict[str, str] = {}
        start = threading.Barrier(len(tokens))

        def run(jti: str) -> None:
            start.wait(timeout=10)
            for _ in range(20):
                results[jti] = verify(tokens[jti]).claims["jti"]

        threads = [threading.Thread(target=run, args=(jti,)) for jti in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert results == {jti: jti for jti in tokens}


# -- property-based: garbage never raises anything but JwtError ----------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
CLAIM_NAMES = st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "request", "typ", "x"])
HEADER_NAMES = st.sampled_from(["alg", "kid", "typ", "crit", "b64", "cty", "jwk", "x"])
SEGMENT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ ", max_size=40)
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json_text(value: Any) -> str:
    return json.dumps(value)  # NaN and Infinity written as Python's json module reads them


def _outcome(token: Any) -> jwt.VerifiedJwt | None:
    """verify() of ``token`` with the EC key; None when it is refused with JwtError."""
    try:
        return verify(token, keys=lambda refresh: key_set(public(EC_KEY)))
    except JwtError:
        return None


@PROPERTY
@given(
    st.one_of(
        st.text(),
        st.binary().map(lambda raw: raw.decode("latin-1")),
        st.builds(".".join, st.lists(SEGMENT, max_size=6)),
    )
)
def test_any_text_is_parsed_or_refused_with_jwt_error(text):
    try:
        jwt.parse(text)
    except JwtError:
        pass


@PROPERTY
@given(st.binary(max_size=64), st.binary(max_size=64), st.binary(max_size=64))
def test_any_bytes_in_the_three_segments(header, payload, signature):
    assert _outcome(f"{b64(header)}.{b64(payload)}.{b64(signature)}") is None


@PROPERTY
@given(JSON_VALUES, JSON_VALUES)
def test_any_json_header_and_payload_unsigned(header, payload):
    token = f"{b64(_json_text(header))}.{b64(_json_text(payload))}.{b64(b'signature')}"

    assert _outcome(token) is None


@PROPERTY
@given(st.dictionaries(HEADER_NAMES, JSON_VALUES, max_size=4), st.dictionaries(CLAIM_NAMES, JSON_VALUES, max_size=8))
def test_any_header_and_claims_signed_with_the_right_key(header, payload):
    # Signed for real: the claim rules, not only the signature, meet the generated values.
    token = sign(_json_text({**claims(), **payload}), **{"kid": "ec-1", **header, "alg": "ES256"})

    verified = _outcome(token)

    if verified is not None:
        assert math.isfinite(verified.exp)
        assert verified.claims["iss"] == verified.claims["sub"] == CLIENT
        sent = {name for name, value in header.items() if value is not None}  # sign() leaves out None
        assert not ({"crit", "b64"} & sent)
