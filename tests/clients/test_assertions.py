"""JWT client authentication at the PAR endpoint: private_key_jwt and client_secret_jwt.

RFC 7523 §2.2 and §3 (the assertion), RFC 9126 §2 (the audiences a PAR endpoint
accepts), RFC 7521 §4.2 (the client_assertion parameters).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.hashers import make_password
from django.db import close_old_connections, connection
from django.test import Client, override_settings
from jwcrypto import jwk, jws
from jwcrypto.jws import JWSCore

from django_par.models import ClientMetadata, PushedRequest, UsedAssertion
from tests.conftest import assert_oauth_error, basic_auth, code_request
from tests.helpers.client_failures import assert_authentication_failed
from tests.helpers.factories import CLIENT_SECRET, ConfidentialApplicationFactory, PlainSecretApplicationFactory
from tests.helpers.jwt_helpers import (
    ASYMMETRIC_ALGS,
    ISSUER,
    PAR_ENDPOINT,
    TOKEN_ENDPOINT,
    assert_invalid_client,
    assert_pushed,
    assertion_claims,
    assertion_params,
    b64url,
    client_assertion,
    hmac_with_public_key,
    jwt_client,
    key_for,
    private_key,
    public_jwk,
    push_form,
    sign,
    unsigned_jwt,
    with_payload,
)

pytestmark = pytest.mark.django_db

DEFAULT_BACKENDS = [
    "django_par.clients.secrets.ClientSecretBasic",
    "django_par.clients.secrets.ClientSecretPost",
    "django_par.clients.assertions.PrivateKeyJwt",
    "django_par.clients.assertions.ClientSecretJwt",
    "django_par.clients.public.PublicClient",
]


def push_assertion(client: Client, application: Any, token: str, **extra: str) -> Any:
    """Push a valid code request for ``application`` authenticated by ``token``."""
    data = {**code_request(application), **assertion_params(token)}
    headers = {name: value for name, value in extra.items() if name == "authorization"}
    data.update({name: value for name, value in extra.items() if name != "authorization"})
    return push_form(client, data, **headers)


# DOT generates long secrets; jwcrypto (rightly, RFC 7518 §3.2) refuses HMAC keys
# shorter than the hash, so CLIENT_SECRET (30 octets) is too short for HS256.
LONG_SECRET = "a-client-secret-long-enough-for-HS512-" + "x" * 40


def _hs256_with(secret: bytes, token: str) -> str:
    """``token`` re-signed with HMAC-SHA256 under ``secret``, whatever its length."""
    signing_input = token.rsplit(".", 1)[0]
    return signing_input + "." + b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def secret_key(secret: str) -> jwk.JWK:
    """The HMAC key of client_secret_jwt: the client secret's octets (RFC 7518 §3.2)."""
    return jwk.JWK(kty="oct", k=b64url(secret.encode()))


@pytest.fixture
def ec_client(db: None) -> Any:
    return jwt_client(private_key("EC"))


# -- private_key_jwt: accepted ---------------------------------------------------------


class TestPrivateKeyJwtAccepted:
    @pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
    def test_each_algorithm_and_key_type(self, client, alg):
        key = key_for(alg)
        application = jwt_client(key)

        row = assert_pushed(push_assertion(client, application, client_assertion(application.client_id, key, alg)))

        assert row.application == application
        # The credentials are never stored with the request.
        assert not {"client_assertion", "client_assertion_type"} & set(row.parameters)

    def test_key_among_several_is_found_by_kid(self, client):
        application = jwt_client(private_key("RSA"), private_key("EC"), private_key("EC", kid="ec-key-2"))
        token = client_assertion(application.client_id, private_key("EC", kid="ec-key-2"), "ES256")

        assert_pushed(push_assertion(client, application, token))

    def test_header_without_kid_tries_every_key(self, client):
        application = jwt_client(private_key("EC", kid="ec-key-2"), private_key("EC"))
        token = sign(assertion_claims(application.client_id), private_key("EC"), "ES256", kid=None)

        assert_pushed(push_assertion(client, application, token))

    @pytest.mark.parametrize(
        "aud",
        [ISSUER, ISSUER + "/", TOKEN_ENDPOINT, PAR_ENDPOINT, ["https://elsewhere.example", ISSUER]],
        ids=["issuer", "issuer-with-slash", "token-endpoint", "par-endpoint", "list-with-issuer"],
    )
    def test_accepted_audiences_rfc9126_2(self, client, ec_client, aud):
        token = client_assertion(ec_client.client_id, aud=aud)

        assert_pushed(push_assertion(client, ec_client, token))

    def test_matching_client_id_in_the_body(self, client, ec_client):
        token = client_assertion(ec_client.client_id)

        assert_pushed(push_assertion(client, ec_client, token, client_id=ec_client.client_id))

    def test_other_client_id_in_the_body_is_invalid_request(self, client, ec_client):
        other = ConfidentialApplicationFactory()
        token = client_assertion(ec_client.client_id)

        response = push_assertion(client, ec_client, token, client_id=other.client_id)

        assert_oauth_error(response, 400, "invalid_request", "client_id does not match")
        assert not PushedRequest.objects.exists()

    def test_client_without_token_endpoint_auth_method_may_use_it(self, client):
        application = jwt_client(private_key("EC"), method="")

        assert_pushed(push_assertion(client, application, client_assertion(application.client_id)))

    def test_expiry_within_clock_skew_is_accepted(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, iat=now - 40, exp=now - 10)

        assert_pushed(push_assertion(client, ec_client, token))

    def test_iat_within_clock_skew_is_accepted(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, iat=now + 15, exp=now + 75)

        assert_pushed(push_assertion(client, ec_client, token))

    def test_lifetime_at_the_maximum_is_accepted(self, client, ec_client):
        token = client_assertion(ec_client.client_id, lifetime=300)

        assert_pushed(push_assertion(client, ec_client, token))

    @override_settings(DJANGO_PAR={"ASSERTION_MAX_LIFETIME": 900})
    def test_max_lifetime_follows_the_setting(self, client, ec_client):
        token = client_assertion(ec_client.client_id, lifetime=800)

        assert_pushed(push_assertion(client, ec_client, token))

    def test_used_jti_is_kept_until_expiry_plus_skew(self, client, ec_client):
        claims = assertion_claims(ec_client.client_id)
        assert_pushed(push_assertion(client, ec_client, sign(claims, private_key("EC"), "ES256")))

        used = UsedAssertion.objects.get()
        assert used.expires_at == datetime.fromtimestamp(claims["exp"] + 30, tz=dt_timezone.utc)
        assert claims["jti"] not in used.key_digest  # stored as a digest

    def test_same_jti_from_two_clients_is_no_replay(self, client, ec_client):
        other = jwt_client(private_key("EC"))
        jti = "shared-jti-value"

        assert_pushed(push_assertion(client, ec_client, client_assertion(ec_client.client_id, jti=jti)))
        assert_pushed(push_assertion(client, other, client_assertion(other.client_id, jti=jti)))
        assert UsedAssertion.objects.count() == 2


class TestAudienceIssuerOnly:
    @pytest.mark.parametrize(
        "setting",
        [{"ASSERTION_AUDIENCE_ISSUER_ONLY": True}, {"FAPI2_SECURITY_PROFILE": True}],
        ids=["setting", "fapi2"],
    )
    def test_issuer_is_accepted(self, client, ec_client, setting):
        token = client_assertion(ec_client.client_id, aud=ISSUER)
        with override_settings(DJANGO_PAR=setting):
            # FAPI 2.0 binds the request to a DPoP key (RFC 9449 §10).
            assert_pushed(push_assertion(client, ec_client, token, dpop_jkt="A" * 43))

    @pytest.mark.parametrize("aud", [TOKEN_ENDPOINT, PAR_ENDPOINT])
    @pytest.mark.parametrize(
        "setting",
        [{"ASSERTION_AUDIENCE_ISSUER_ONLY": True}, {"FAPI2_SECURITY_PROFILE": True}],
        ids=["setting", "fapi2"],
    )
    def test_endpoint_urls_are_refused(self, client, ec_client, setting, aud):
        with override_settings(DJANGO_PAR=setting):
            response = push_assertion(client, ec_client, client_assertion(ec_client.client_id, aud=aud))

        assert_invalid_client(response, "The aud claim does not name this server")


# -- private_key_jwt: refused ------------------------------------------------------


class TestPrivateKeyJwtRefused:
    def test_expired(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, iat=now - 120, exp=now - 60)

        assert_invalid_client(push_assertion(client, ec_client, token), "The JWT has expired")

    @override_settings(DJANGO_PAR={"CLOCK_SKEW": 0})
    def test_expired_without_clock_skew(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, iat=now - 40, exp=now - 10)

        assert_invalid_client(push_assertion(client, ec_client, token), "The JWT has expired")

    def test_iat_in_the_future_beyond_clock_skew(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, iat=now + 120, exp=now + 180)

        assert_invalid_client(push_assertion(client, ec_client, token), "issued in the future (iat)")

    def test_nbf_in_the_future_beyond_clock_skew(self, client, ec_client):
        now = int(time.time())
        token = client_assertion(ec_client.client_id, nbf=now + 120, exp=now + 180)

        assert_invalid_client(push_assertion(client, ec_client, token), "not valid yet (nbf)")

    def test_lifetime_over_assertion_max_lifetime(self, client, ec_client):
        token = client_assertion(ec_client.client_id, lifetime=400)

        assert_invalid_client(push_assertion(client, ec_client, token), "longer than the allowed 300 seconds")

    def test_lifetime_without_iat_counts_from_now(self, client, ec_client):
        token = client_assertion(ec_client.client_id, iat=None, exp=int(time.time()) + 400)

        assert_invalid_client(push_assertion(client, ec_client, token), "longer than the allowed 300 seconds")

    @override_settings(DJANGO_PAR={"ASSERTION_MAX_LIFETIME": 60})
    def test_max_lifetime_follows_the_setting(self, client, ec_client):
        token = client_assertion(ec_client.client_id, lifetime=120)

        assert_invalid_client(push_assertion(client, ec_client, token), "longer than the allowed 60 seconds")

    def test_missing_exp(self, client, ec_client):
        token = client_assertion(ec_client.client_id, exp=None)

        assert_invalid_client(push_assertion(client, ec_client, token), "The exp claim is required")

    def test_exp_that_is_not_a_number(self, client, ec_client):
        token = client_assertion(ec_client.client_id, exp=str(int(time.time()) + 60))

        assert_invalid_client(push_assertion(client, ec_client, token), "The exp claim must be a number")

    @pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
    @pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" + "0" * 400])
    def test_non_finite_time_claim_is_refused_not_a_500(self, client, ec_client, claim, value):
        # Python's json module reads NaN and Infinity; NaN compares false with every bound.
        # With a NaN iat or nbf, only the lifetime check could stop a far exp.
        now = int(time.time())
        times = {"iat": now, "exp": now + (60 if claim == "exp" else 10**9)}
        times[claim] = value
        members = [f'"iss": "{ec_client.client_id}"', f'"sub": "{ec_client.client_id}"', f'"aud": "{ISSUER}"']
        members += ['"jti": "non-finite"'] + [f'"{name}": {number}' for name, number in times.items()]
        token = sign("{" + ", ".join(members) + "}", private_key("EC"), "ES256")

        response = push_assertion(client, ec_client, token)

        assert_invalid_client(response, f"The {claim} claim must be a finite number")

    def test_replayed_jti_rfc7523_3(self, client, ec_client):
        token = client_assertion(ec_client.client_id)
        assert_pushed(push_assertion(client, ec_client, token))
        PushedRequest.objects.all().delete()

        response = push_assertion(client, ec_client, token)

        assert_invalid_client(response, "this jti was used before")
        assert UsedAssertion.objects.count() == 1

    def test_replayed_jti_in_a_new_assertion(self, client, ec_client):
        assert_pushed(push_assertion(client, ec_client, client_assertion(ec_client.client_id, jti="jti-1")))
        PushedRequest.objects.all().delete()

        response = push_assertion(client, ec_client, client_assertion(ec_client.client_id, jti="jti-1", lifetime=120))

        assert_invalid_client(response, "this jti was used before")

    def test_refused_assertion_does_not_spend_its_jti(self, client, ec_client):
        refused = push_assertion(
            client, ec_client, client_assertion(ec_client.client_id, jti="jti-2", aud="https://x.example")
        )
        assert_invalid_client(refused, "aud")
        assert not UsedAssertion.objects.exists()

        assert_pushed(push_assertion(client, ec_client, client_assertion(ec_client.client_id, jti="jti-2")))

    @pytest.mark.parametrize("jti", [None, "", 42], ids=["missing", "empty", "number"])
    def test_missing_jti(self, client, ec_client, jti):
        token = client_assertion(ec_client.client_id, jti=jti)

        assert_invalid_client(push_assertion(client, ec_client, token), "The jti claim is required")

    def test_wrong_audience(self, client, ec_client):
        token = client_assertion(ec_client.client_id, aud="https://other-server.example/o")

        assert_invalid_client(push_assertion(client, ec_client, token), "The aud claim does not name this server")

    def test_audience_of_another_endpoint_of_this_server(self, client, ec_client):
        token = client_assertion(ec_client.client_id, aud="http://testserver/o/authorize/")

        assert_invalid_client(push_assertion(client, ec_client, token), "The aud claim does not name this server")

    def test_missing_audience(self, client, ec_client):
        token = client_assertion(ec_client.client_id, aud=None)

        assert_invalid_client(push_assertion(client, ec_client, token), "The aud claim is missing or malformed")

    def test_iss_is_not_the_client(self, client, ec_client):
        other = jwt_client(private_key("EC"))
        token = client_assertion(ec_client.client_id, iss=other.client_id)

        assert_invalid_client(push_assertion(client, ec_client, token), "iss and sub must both be the client_id")

    def test_sub_names_another_client_with_other_keys(self, client, ec_client):
        other = jwt_client(private_key("EC", kid="other-client-key"))
        token = client_assertion(other.client_id, private_key("EC"), kid=None)

        response = push_assertion(client, ec_client, token)

        assert_invalid_client(response, "does not verify")

    def test_sub_is_an_unknown_client(self, client, ec_client):
        token = client_assertion("no-such-client")

        assert_invalid_client(push_assertion(client, ec_client, token), "sub names no usable client")

    def test_signed_with_another_key_under_the_registered_kid(self, client, ec_client):
        impostor = jwk.JWK.generate(kty="EC", crv="P-256", kid=private_key("EC").get("kid"))

        token = client_assertion(ec_client.client_id, impostor, "ES256")

        assert_invalid_client(push_assertion(client, ec_client, token), "does not verify with the client's keys")

    def test_signed_with_an_unregistered_kid(self, client, ec_client):
        token = client_assertion(ec_client.client_id, private_key("EC", kid="never-registered"), "ES256")

        assert_invalid_client(push_assertion(client, ec_client, token), "does not verify with the client's keys")

    def test_alg_none(self, client, ec_client):
        token = unsigned_jwt(assertion_claims(ec_client.client_id))

        assert_invalid_client(push_assertion(client, ec_client, token), "'none' is not allowed")

    def test_alg_none_for_a_plain_secret_client(self, client):
        # None of the backends may treat "none" as its own, whatever the client stores.
        application = jwt_client(private_key("EC"), method="", application=PlainSecretApplicationFactory())
        token = unsigned_jwt(assertion_claims(application.client_id))

        assert_invalid_client(push_assertion(client, application, token), "'none' is not allowed")

    def test_hs256_keyed_with_the_public_key(self, client, ec_client):
        token = hmac_with_public_key(assertion_claims(ec_client.client_id), private_key("EC"))

        # client_secret_jwt takes HS256 and checks it against the (hashed) secret, never the jwks.
        assert_invalid_client(push_assertion(client, ec_client, token), "secret is hashed")

    def test_hs256_keyed_with_the_public_key_of_a_plain_secret_client(self, client):
        key = private_key("RSA")
        application = jwt_client(key, method="", application=PlainSecretApplicationFactory(client_secret=LONG_SECRET))
        token = hmac_with_public_key(assertion_claims(application.client_id), key)

        assert_invalid_client(push_assertion(client, application, token), "does not verify with the client's keys")

    @override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": DEFAULT_BACKENDS[:3]})
    def test_hs256_without_the_client_secret_jwt_backend(self, client, ec_client):
        token = hmac_with_public_key(assertion_claims(ec_client.client_id), private_key("EC"))

        assert_invalid_client(push_assertion(client, ec_client, token), "The client did not authenticate")

    def test_tampered_payload(self, client, ec_client):
        token = client_assertion(ec_client.client_id)
        tampered = with_payload(token, assertion_claims(ec_client.client_id, lifetime=120))

        assert_invalid_client(push_assertion(client, ec_client, tampered), "does not verify with the client's keys")

    def test_tampered_header_alg(self, client):
        # An RS256 signature relabelled PS256: the same key, another algorithm.
        key = private_key("RSA")
        application = jwt_client(key)
        token = client_assertion(application.client_id, key, "RS256")
        header = b64url(b'{"alg":"PS256","kid":"' + key.get("kid").encode() + b'"}')
        relabelled = header + token[token.index(".") :]

        assert_invalid_client(push_assertion(client, application, relabelled), "does not verify with the client's keys")

    @override_settings(DJANGO_PAR={"ASYMMETRIC_SIGNING_ALGS": ["ES256"]})
    def test_algorithm_left_out_of_the_setting(self, client):
        key = private_key("RSA")
        application = jwt_client(key)

        response = push_assertion(client, application, client_assertion(application.client_id, key, "RS256"))

        assert_invalid_client(response, "The signing algorithm 'RS256' is not allowed")

    @pytest.mark.parametrize(
        "assertion_type",
        ["urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "", "jwt-bearer"],
        ids=["saml2", "empty", "short"],
    )
    def test_wrong_client_assertion_type(self, client, ec_client, assertion_type):
        token = client_assertion(ec_client.client_id)

        response = push_assertion(client, ec_client, token, client_assertion_type=assertion_type)

        assert_invalid_client(
            response, "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )

    def test_a_key_of_another_type_under_the_named_kid(self, client, ec_client):
        # The registered EC key's kid on an RS256 signature: no key type confusion, no server error.
        rsa_key = jwk.JWK.generate(kty="RSA", size=2048, kid=private_key("EC").get("kid"))

        token = client_assertion(ec_client.client_id, rsa_key, "RS256")

        assert_invalid_client(push_assertion(client, ec_client, token), "does not verify with the client's keys")

    @pytest.mark.parametrize(
        "header",
        [{"crit": ["b64"], "b64": True}, {"b64": True}],
        ids=["crit", "b64"],
    )
    def test_header_extensions_are_refused(self, client, ec_client, header):
        # RFC 7515 §4.1.11: extensions the server does not understand; signed with the right key.
        key = private_key("EC")
        protected = json.dumps({"alg": "ES256", "kid": key.get("kid"), **header})
        # jwcrypto's core signer: its JWS object refuses to sign b64 without crit.
        parts = JWSCore("ES256", key, protected, json.dumps(assertion_claims(ec_client.client_id)).encode()).sign()
        token = f"{parts['protected']}.{parts['payload'].decode()}.{parts['signature']}"

        assert_invalid_client(push_assertion(client, ec_client, token), "extension this server does not support")
        assert not UsedAssertion.objects.exists()

    @pytest.mark.parametrize(
        "token",
        ["not-a-jwt", "a.b.c", "e30.e30", "é.e30.e30", "e30.e30.*"],
        ids=["no-dots", "garbage", "two-parts", "non-ascii", "bad-signature-encoding"],
    )
    def test_malformed_assertion(self, client, ec_client, token):
        assert_invalid_client(push_assertion(client, ec_client, token), "Invalid client assertion")

    def test_json_serialization_is_refused_rfc7519_1(self, client, ec_client):
        # jwcrypto alone reads a JSON-serialized JWS with exactly two dots (here in the unprotected header).
        signed = jws.JWS(json.dumps(assertion_claims(ec_client.client_id)).encode())
        signed.add_signature(
            private_key("EC"), alg="ES256", protected=json.dumps({"alg": "ES256"}), header={"x": "a.b.c"}
        )

        response = push_assertion(client, ec_client, signed.serialize())

        assert_invalid_client(response, "Invalid client assertion: The JWT is malformed")
        assert not UsedAssertion.objects.exists()

    def test_assertion_and_basic_header_together_rfc6749_2_3(self, client, ec_client):
        token = client_assertion(ec_client.client_id)

        response = push_assertion(
            client, ec_client, token, authorization=basic_auth(ec_client.client_id, CLIENT_SECRET)
        )

        assert_oauth_error(response, 400, "invalid_request", "More than one client authentication method")
        assert not PushedRequest.objects.exists()
        assert not UsedAssertion.objects.exists()

    def test_assertion_and_client_secret_together(self, client, ec_client):
        token = client_assertion(ec_client.client_id)

        response = push_assertion(client, ec_client, token, client_secret=CLIENT_SECRET)

        assert_oauth_error(response, 400, "invalid_request", "More than one client authentication method")

    def test_client_registered_for_client_secret_basic(self, client):
        key = private_key("EC")
        application = jwt_client(key, method="client_secret_basic")

        response = push_assertion(client, application, client_assertion(application.client_id, key, "ES256"))

        assert_invalid_client(response, "This client must authenticate with client_secret_basic")

    def test_private_key_jwt_client_refuses_its_secret(self, client, ec_client):
        response = push_form(
            client, code_request(ec_client), authorization=basic_auth(ec_client.client_id, CLIENT_SECRET)
        )

        assert_invalid_client(response, "This client must authenticate with private_key_jwt")

    def test_client_without_registered_keys(self, client):
        application = jwt_client()  # private_key_jwt, but neither jwks nor jwks_uri

        response = push_assertion(client, application, client_assertion(application.client_id))

        assert_invalid_client(response, "The client has registered no keys")

    def test_malformed_registered_jwks(self, client):
        application = jwt_client(jwks={"keys": [{"kty": "EC", "crv": "P-256", "x": "??"}]})

        response = push_assertion(client, application, client_assertion(application.client_id, kid=None))

        assert_invalid_client(response, "The client's JWK Set is malformed")

    def test_disabled_application(self, client, ec_client):
        # DOT's is_usable() is the hook; a client whose model says no cannot authenticate.
        with mock.patch.object(type(ec_client), "is_usable", return_value=False):
            response = push_assertion(client, ec_client, client_assertion(ec_client.client_id))

        assert_invalid_client(response, "sub names no usable client")


# -- client_secret_jwt ------------------------------------------------------------------


class TestClientSecretJwt:
    @pytest.fixture
    def plain_app(self, db: None) -> Any:
        application = PlainSecretApplicationFactory(client_secret=LONG_SECRET)
        ClientMetadata.objects.create(application=application, token_endpoint_auth_method="client_secret_jwt")
        return application

    def test_unhashed_secret_client(self, client, plain_app):
        token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS256")

        row = assert_pushed(push_assertion(client, plain_app, token))

        assert row.application == plain_app

    def test_each_accepted_audience(self, client, plain_app):
        for aud in (ISSUER, TOKEN_ENDPOINT, PAR_ENDPOINT):
            token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS256", aud=aud)
            assert_pushed(push_assertion(client, plain_app, token))

    def test_hashed_secret_is_refused_clearly_in_the_log_only(self, client):
        application = ConfidentialApplicationFactory(client_secret=make_password(LONG_SECRET))
        token = client_assertion(application.client_id, secret_key(LONG_SECRET), "HS256")

        response = push_assertion(client, application, token)

        # The reason is signalled; the client is not told how this client's secret is stored.
        body = assert_invalid_client(response, "client_secret_jwt needs the client secret stored unhashed")
        assert "hashed" not in body["error_description"]

    def test_wrong_secret(self, client, plain_app):
        token = client_assertion(plain_app.client_id, secret_key("another-secret-of-enough-length-0123456789"), "HS256")

        assert_invalid_client(push_assertion(client, plain_app, token), "does not verify with the client's keys")

    def test_hmac_algorithm_not_enabled(self, client, plain_app):
        token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS512")

        assert_invalid_client(push_assertion(client, plain_app, token), "The signing algorithm 'HS512' is not allowed")

    @override_settings(DJANGO_PAR={"HMAC_SIGNING_ALGS": ["HS256", "HS512"]})
    def test_hmac_algorithm_enabled_by_the_setting(self, client, plain_app):
        token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS512")

        assert_pushed(push_assertion(client, plain_app, token))

    def test_secret_shorter_than_the_hash_is_refused_rfc7518_3_2(self, client):
        # RFC 7518 §3.2: an HS256 key has at least 256 bits; CLIENT_SECRET has 240.
        application = PlainSecretApplicationFactory()
        token = sign(assertion_claims(application.client_id), secret_key(LONG_SECRET), "HS256")
        short = _hs256_with(CLIENT_SECRET.encode(), token)

        assert_invalid_client(push_assertion(client, application, short), "at least 32 bytes")

    def test_replayed_jti(self, client, plain_app):
        token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS256")
        assert_pushed(push_assertion(client, plain_app, token))
        PushedRequest.objects.all().delete()

        assert_invalid_client(push_assertion(client, plain_app, token), "this jti was used before")

    def test_expired(self, client, plain_app):
        now = int(time.time())
        token = client_assertion(plain_app.client_id, secret_key(LONG_SECRET), "HS256", iat=now - 200, exp=now - 100)

        assert_invalid_client(push_assertion(client, plain_app, token), "The JWT has expired")

    def test_private_key_jwt_client_refuses_client_secret_jwt(self, client):
        application = jwt_client(
            private_key("EC"), application=PlainSecretApplicationFactory(client_secret=LONG_SECRET)
        )
        token = client_assertion(application.client_id, secret_key(LONG_SECRET), "HS256")

        assert_invalid_client(push_assertion(client, application, token), "must authenticate with private_key_jwt")

    def test_client_secret_jwt_client_refuses_private_key_jwt(self, client):
        key = private_key("EC")
        application = jwt_client(
            key, method="client_secret_jwt", application=PlainSecretApplicationFactory(client_secret=LONG_SECRET)
        )

        response = push_assertion(client, application, client_assertion(application.client_id, key, "ES256"))

        assert_invalid_client(response, "must authenticate with client_secret_jwt")


# -- the replay store under concurrency (database servers only) --------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_assertion_succeed_once():
    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers need a database server (DJANGO_PAR_TEST_DB=postgresql|mariadb)")
    application = jwt_client(private_key("EC"))
    token = client_assertion(application.client_id)
    data = {**code_request(application), **assertion_params(token)}
    statuses: list[int] = []
    start = threading.Barrier(6)

    def attempt() -> None:
        try:
            start.wait(timeout=30)
            statuses.append(push_form(Client(), data).status_code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [201, 401, 401, 401, 401, 401]
    assert UsedAssertion.objects.count() == 1
    assert PushedRequest.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("atomic_requests", [False, True], ids=["autocommit", "ATOMIC_REQUESTS"])
def test_a_replay_is_refused_and_the_next_assertion_is_accepted(monkeypatch, atomic_requests):
    # Outside a test transaction: the replay store in autocommit, and inside a site's request transaction.
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", atomic_requests)
    application = jwt_client(private_key("EC"))
    replayed = {**code_request(application), **assertion_params(client_assertion(application.client_id))}
    assert push_form(Client(), replayed).status_code == 201

    assert_authentication_failed(push_form(Client(), replayed), "this jti was used before")
    assert PushedRequest.objects.count() == 1

    fresh = {**code_request(application), **assertion_params(client_assertion(application.client_id))}
    assert push_form(Client(), fresh).status_code == 201
    assert (UsedAssertion.objects.count(), PushedRequest.objects.count()) == (2, 2)


# -- what the registered key itself says (RFC 7517 §4.2-§4.4) ---------------------------


class TestRegisteredKeyParameters:
    def registered(self, key: jwk.JWK, **parameters: Any) -> Any:
        return jwt_client(jwks={"keys": [{**public_jwk(key), **parameters}]})

    def test_key_for_encryption_only_is_not_used_to_verify(self, client):
        key = private_key("EC", kid="encryption-key")
        application = self.registered(key, use="enc")

        response = push_assertion(client, application, client_assertion(application.client_id, key, "ES256"))

        assert_invalid_client(response, "does not verify with the client's keys")

    def test_key_for_signatures_is_used(self, client):
        key = private_key("EC", kid="signature-key")
        application = self.registered(key, use="sig")

        assert_pushed(push_assertion(client, application, client_assertion(application.client_id, key, "ES256")))

    def test_key_ops_without_verify_is_not_used(self, client):
        key = private_key("EC", kid="wrap-key")
        application = self.registered(key, key_ops=["wrapKey"])

        response = push_assertion(client, application, client_assertion(application.client_id, key, "ES256"))

        assert_invalid_client(response, "does not verify with the client's keys")

    def test_key_bound_to_another_algorithm_is_not_used(self, client):
        key = private_key("RSA", kid="rs256-only-key")
        application = self.registered(key, alg="RS256")

        response = push_assertion(client, application, client_assertion(application.client_id, key, "PS256"))

        assert_invalid_client(response, "does not verify with the client's keys")

    def test_key_bound_to_its_algorithm_is_used(self, client):
        key = private_key("RSA", kid="ps256-only-key")
        application = self.registered(key, alg="PS256")

        assert_pushed(push_assertion(client, application, client_assertion(application.client_id, key, "PS256")))
