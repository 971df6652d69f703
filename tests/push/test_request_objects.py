"""Signed request objects pushed in the ``request`` parameter (RFC 9126 §3, RFC 9101)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import override_settings
from jwcrypto import jwk, jws
from jwcrypto.jws import JWSCore

from django_par.models import ClientMetadata, PushedRequest
from tests.conftest import assert_oauth_error, basic_auth, code_request
from tests.helpers.factories import (
    CLIENT_SECRET,
    OTHER_REDIRECT_URI,
    REDIRECT_URI,
    ConfidentialApplicationFactory,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
)
from tests.helpers.jwt_helpers import (
    ASYMMETRIC_ALGS,
    ISSUER,
    PAR_ENDPOINT,
    RO_STATE,
    assert_pushed,
    assertion_params,
    b64url,
    client_assertion,
    jwt_client,
    key_for,
    private_key,
    push_form,
    request_object_claims,
    sign,
    unsigned_jwt,
    with_payload,
)

pytestmark = pytest.mark.django_db

EC_KEY = private_key("EC")


def signed_client(*keys: Any, **metadata: Any) -> Any:
    """A confidential client that authenticates with client_secret_basic and signs with ``keys``.

    Its secret is stored unhashed, so that the slow password hasher stays out of these tests.
    """
    metadata.setdefault("application", PlainSecretApplicationFactory())
    return jwt_client(*(keys or (EC_KEY,)), method="", **metadata)


def push_request_object(client: Any, application: Any, request_object: str, **form: str) -> Any:
    """Push ``request_object`` with client_secret_basic, plus any other ``form`` parameters."""
    return push_form(
        client,
        {"request": request_object, **form},
        authorization=basic_auth(application.client_id, CLIENT_SECRET),
    )


def request_object(
    application: Any, key: Any = EC_KEY, alg: str = "ES256", typ: str | None = None, **claims: Any
) -> str:
    header = {"typ": typ} if typ else {}
    return sign(request_object_claims(application.client_id, **claims), key, alg, **header)


def assert_invalid_request_object(response: Any, description_part: str) -> None:
    assert_oauth_error(response, 400, "invalid_request_object", description_part)
    assert not PushedRequest.objects.exists()


@pytest.fixture
def app(db: None) -> Any:
    return signed_client()


class TestAccepted:
    @pytest.mark.parametrize("alg", ASYMMETRIC_ALGS)
    def test_each_algorithm(self, client, alg):
        key = key_for(alg)
        application = signed_client(key)

        row = assert_pushed(push_request_object(client, application, request_object(application, key, alg)))

        assert row.application == application
        assert row.parameters["state"] == RO_STATE

    def test_stored_parameters_are_the_claims_without_jwt_claims(self, client, app):
        row = assert_pushed(
            push_request_object(client, app, request_object(app, sub="someone", nonce="nonce-in-the-ro"))
        )

        assert row.parameters == {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid read",
            "state": RO_STATE,
            "nonce": "nonce-in-the-ro",
            "code_challenge": code_request(app)["code_challenge"],
            "code_challenge_method": "S256",
        }

    @pytest.mark.parametrize("typ", ["oauth-authz-req+jwt", "JWT", "jwt", None])
    def test_accepted_typ_rfc9101_4(self, client, app, typ):
        assert_pushed(push_request_object(client, app, request_object(app, typ=typ)))

    def test_audience_list_with_the_issuer(self, client, app):
        assert_pushed(push_request_object(client, app, request_object(app, aud=["https://other.example", ISSUER])))

    def test_issuer_with_trailing_slash(self, client, app):
        assert_pushed(push_request_object(client, app, request_object(app, aud=ISSUER + "/")))

    def test_per_client_algorithm(self, client):
        key = private_key("RSA")
        application = signed_client(key, request_object_signing_alg="PS256")

        assert_pushed(push_request_object(client, application, request_object(application, key, "PS256")))

    def test_with_private_key_jwt_authentication(self, client):
        application = jwt_client(EC_KEY)
        form = {"request": request_object(application), **assertion_params(client_assertion(application.client_id))}

        row = assert_pushed(push_form(client, form))

        assert row.parameters["state"] == RO_STATE

    def test_public_client_with_registered_keys(self, client):
        application = jwt_client(EC_KEY, method="", application=PublicApplicationFactory())

        response = push_form(client, {"client_id": application.client_id, "request": request_object(application)})

        assert assert_pushed(response).application == application

    @override_settings(DJANGO_PAR={"REQUEST_OBJECT_MAX_LIFETIME": 7200})
    def test_max_lifetime_follows_the_setting(self, client, app):
        assert_pushed(push_request_object(client, app, request_object(app, lifetime=5000)))


class TestOnlyTheRequestObjectCounts:
    def test_form_parameters_outside_the_request_object_are_ignored_rfc9126_3(self, client, app):
        response = push_request_object(
            client,
            app,
            request_object(app),
            state="state-from-the-form-ignored",
            nonce="nonce-from-the-form-only",
            redirect_uri=OTHER_REDIRECT_URI,
            scope="write",
        )

        row = assert_pushed(response)
        assert row.parameters["state"] == RO_STATE
        assert row.parameters["redirect_uri"] == REDIRECT_URI
        assert row.parameters["scope"] == "openid read"
        assert "nonce" not in row.parameters

    def test_claims_are_validated_like_a_plain_push_bad_redirect_uri(self, client, app):
        response = push_request_object(client, app, request_object(app, redirect_uri="https://attacker.example/cb"))

        assert_oauth_error(response, 400, "invalid_request", "redirect_uri does not exactly match")
        assert not PushedRequest.objects.exists()

    def test_claims_are_validated_like_a_plain_push_short_state(self, client, app):
        response = push_request_object(client, app, request_object(app, state="short"))

        assert_oauth_error(response, 400, "invalid_request", "state must be at least 8 characters long")

    def test_claims_are_validated_like_a_plain_push_bad_code_challenge_method(self, client, app):
        response = push_request_object(client, app, request_object(app, code_challenge_method="S512"))

        assert_oauth_error(response, 400, "invalid_request", "code_challenge_method must be plain or S256")

    def test_max_age_number_and_claims_object_are_stored_as_strings(self, client, app):
        claims_request = {"id_token": {"email": None, "acr": {"essential": True}}}

        row = assert_pushed(push_request_object(client, app, request_object(app, max_age=300, claims=claims_request)))

        assert row.parameters["max_age"] == "300"
        assert isinstance(row.parameters["claims"], str)
        assert json.loads(row.parameters["claims"]) == claims_request

    @pytest.mark.parametrize(
        "name,value",
        [("max_age", 1.5), ("max_age", True), ("scope", ["openid", "read"]), ("state", None)],
        ids=["float", "bool", "list", "null"],
    )
    def test_claims_of_other_types_are_refused(self, client, app, name, value):
        claims = request_object_claims(app.client_id)
        claims[name] = value  # set after building: a None stays as a JSON null
        token = sign(claims, EC_KEY, "ES256")

        assert_invalid_request_object(
            push_request_object(client, app, token), f"The {name} claim has an unexpected type"
        )

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("state-\x00-0123456", "The state claim holds characters"),
            # Refused with the payload (django_par.bounded_json), wherever in it the surrogate is.
            ("state-\ud800-0123456", "The JWT payload holds a string that is not Unicode text"),
        ],
        ids=["nul", "lone surrogate"],
    )
    def test_claims_with_characters_no_form_can_carry_are_refused(self, client, app, value, message):
        # JSON can escape both; neither can be stored in PostgreSQL's text or jsonb.
        token = request_object(app, state=value)

        assert_invalid_request_object(push_request_object(client, app, token), message)

    def test_negative_max_age_is_invalid_request(self, client, app):
        response = push_request_object(client, app, request_object(app, max_age=-1))

        assert_oauth_error(response, 400, "invalid_request", "max_age must be a non-negative integer")


class TestRefused:
    def test_alg_none(self, client, app):
        token = unsigned_jwt(request_object_claims(app.client_id))

        assert_invalid_request_object(
            push_request_object(client, app, token), "The signing algorithm 'none' is not allowed"
        )

    def test_hmac_with_the_client_secret(self, client):
        secret = "a-client-secret-long-enough-for-HS256-0123456789"
        application = signed_client(
            application=ConfidentialApplicationFactory(client_secret=secret, hash_client_secret=False)
        )
        token = request_object(application, jwk.JWK(kty="oct", k=b64url(secret.encode())), "HS256")

        response = push_form(client, {"request": token}, authorization=basic_auth(application.client_id, secret))

        assert_invalid_request_object(response, "The signing algorithm 'HS256' is not allowed")

    def test_per_client_algorithm_refuses_the_others(self, client):
        key = private_key("RSA")
        application = signed_client(key, request_object_signing_alg="PS256")

        response = push_request_object(client, application, request_object(application, key, "RS256"))

        assert_invalid_request_object(response, "The signing algorithm 'RS256' is not allowed")

    @override_settings(DJANGO_PAR={"ASYMMETRIC_SIGNING_ALGS": ["PS256"]})
    def test_per_client_algorithm_outside_the_setting(self, client):
        key = private_key("RSA")
        application = signed_client(key, request_object_signing_alg="RS256")

        response = push_request_object(client, application, request_object(application, key, "RS256"))

        assert_invalid_request_object(response, "The signing algorithm 'RS256' is not allowed")

    @pytest.mark.parametrize("typ", ["at+jwt", "dpop+jwt", "JOSE", ["jwt"]])
    def test_wrong_typ(self, client, app, typ):
        token = sign(request_object_claims(app.client_id), EC_KEY, "ES256", typ=typ)

        assert_invalid_request_object(push_request_object(client, app, token), "The request object typ")

    def test_client_id_claim_of_another_client_rfc9126_3(self, client, app):
        other = ConfidentialApplicationFactory()

        response = push_request_object(client, app, request_object(app, client_id=other.client_id))

        assert_invalid_request_object(response, "The client_id claim does not match the authenticated client")

    def test_client_id_claim_missing(self, client, app):
        response = push_request_object(client, app, request_object(app, client_id=None))

        assert_invalid_request_object(response, "The client_id claim does not match the authenticated client")

    def test_iss_is_not_the_client_id(self, client, app):
        other = ConfidentialApplicationFactory()

        response = push_request_object(client, app, request_object(app, iss=other.client_id))

        assert_invalid_request_object(response, "The iss claim must be the client_id")

    @pytest.mark.parametrize("aud", ["https://other-server.example/o", PAR_ENDPOINT, "http://testserver/o/token/"])
    def test_aud_is_not_the_issuer(self, client, app, aud):
        response = push_request_object(client, app, request_object(app, aud=aud))

        assert_invalid_request_object(response, "The aud claim must be the issuer")

    def test_aud_missing(self, client, app):
        response = push_request_object(client, app, request_object(app, aud=None))

        assert_invalid_request_object(response, "The aud claim is missing or malformed")

    def test_expired(self, client, app):
        now = int(time.time())

        response = push_request_object(client, app, request_object(app, iat=now - 600, nbf=now - 600, exp=now - 60))

        assert_invalid_request_object(response, "The JWT has expired")

    def test_exp_missing(self, client, app):
        response = push_request_object(client, app, request_object(app, exp=None))

        assert_invalid_request_object(response, "The exp claim is required")

    def test_nbf_in_the_future(self, client, app):
        now = int(time.time())

        response = push_request_object(client, app, request_object(app, nbf=now + 300, exp=now + 600))

        assert_invalid_request_object(response, "The JWT is not valid yet (nbf)")

    def test_lifetime_over_request_object_max_lifetime(self, client, app):
        response = push_request_object(client, app, request_object(app, lifetime=4000))

        assert_invalid_request_object(response, "longer than the allowed 3600 seconds")

    @override_settings(DJANGO_PAR={"REQUEST_OBJECT_MAX_LIFETIME": 60})
    def test_max_lifetime_setting_lowered(self, client, app):
        response = push_request_object(client, app, request_object(app, lifetime=120))

        assert_invalid_request_object(response, "longer than the allowed 60 seconds")

    @pytest.mark.parametrize("nested", ["request", "request_uri"])
    def test_nested_request_or_request_uri_rfc9101_6_3(self, client, app, nested):
        response = push_request_object(client, app, request_object(app, **{nested: "urn:example:nested"}))

        assert_invalid_request_object(response, "must not contain request or request_uri")

    def test_signed_with_another_key(self, client, app):
        impostor = jwk.JWK.generate(kty="EC", crv="P-256", kid=EC_KEY.get("kid"))

        response = push_request_object(client, app, request_object(app, impostor))

        assert_invalid_request_object(response, "does not verify with the client's keys")

    def test_signed_by_another_clients_key(self, client, app):
        other_key = private_key("EC", kid="other-client-ro-key")
        jwt_client(other_key)

        response = push_request_object(client, app, request_object(app, other_key))

        assert_invalid_request_object(response, "does not verify with the client's keys")

    def test_tampered_payload(self, client, app):
        token = request_object(app)
        tampered = with_payload(token, request_object_claims(app.client_id, state="state-swapped-in-transit"))

        assert_invalid_request_object(push_request_object(client, app, tampered), "does not verify")

    @pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "e30.WzFd.c2ln"], ids=["no-dots", "garbage", "array"])
    def test_malformed(self, client, app, token):
        response = push_request_object(client, app, token)

        assert_invalid_request_object(response, "JWT")

    def test_client_without_keys(self, client):
        application = ConfidentialApplicationFactory()

        response = push_request_object(client, application, request_object(application))

        assert_invalid_request_object(response, "The client has registered no keys")

    def test_request_and_request_uri_together(self, client, app):
        response = push_request_object(client, app, request_object(app), request_uri="urn:example:x")

        assert_oauth_error(response, 400, "invalid_request", "request_uri must not be sent")

    def test_refusal_precedes_nothing_stored_for_an_unauthenticated_client(self, client, app):
        response = push_form(client, {"request": request_object(app)}, authorization=basic_auth(app.client_id, "wrong"))

        assert_oauth_error(response, 401, "invalid_client", "Client authentication failed")

    @pytest.mark.parametrize("header", [{"crit": ["b64"], "b64": True}, {"b64": True}], ids=["crit", "b64"])
    def test_header_extensions_are_refused_rfc7515_4_1_11(self, client, app, header):
        # jwcrypto understands b64 (RFC 7797) and would accept it; a JWT never needs it.
        protected = json.dumps({"alg": "ES256", "kid": EC_KEY.get("kid"), **header})
        parts = JWSCore("ES256", EC_KEY, protected, json.dumps(request_object_claims(app.client_id)).encode()).sign()
        token = f"{parts['protected']}.{parts['payload'].decode()}.{parts['signature']}"

        assert_invalid_request_object(push_request_object(client, app, token), "extension this server does not support")

    def test_json_serialization_is_refused_rfc7519_1(self, client, app):
        signed = jws.JWS(json.dumps(request_object_claims(app.client_id)).encode())
        signed.add_signature(EC_KEY, alg="ES256", protected=json.dumps({"alg": "ES256"}), header={"kid": "a.b.c"})
        token = signed.serialize()  # two dots, which jwcrypto alone would read as a JWS

        assert_invalid_request_object(push_request_object(client, app, token), "The JWT is malformed")

    @pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
    @pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1" + "0" * 400])
    def test_non_finite_time_claim_is_refused_not_a_500(self, client, app, claim, value):
        members = {**request_object_claims(app.client_id), claim: "@"}
        token = sign(json.dumps(members).replace('"@"', value), EC_KEY, "ES256")

        assert_invalid_request_object(
            push_request_object(client, app, token), f"The {claim} claim must be a finite number"
        )


class TestRegisteredClaimsOfOtherTypes:
    def test_non_string_sub_and_jti_are_left_alone(self, client, app):
        # RFC 7519 makes them StringOrURI, and jwcrypto's own claim checks would refuse them;
        # a request object's sub and jti are not authorization parameters and were always dropped.
        row = assert_pushed(push_request_object(client, app, request_object(app, sub=42, jti=7)))

        assert "sub" not in row.parameters and "jti" not in row.parameters


class TestRequiredSignedRequestObject:
    def test_client_metadata_refuses_a_plain_push(self, client):
        application = signed_client(require_signed_request_object=True)

        response = push_form(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert_oauth_error(response, 400, "invalid_request", "This client must push a signed request object")
        assert not PushedRequest.objects.exists()

    def test_client_metadata_accepts_a_request_object(self, client):
        application = signed_client(require_signed_request_object=True)

        assert_pushed(push_request_object(client, application, request_object(application)))

    def test_other_clients_are_not_affected(self, client):
        signed_client(require_signed_request_object=True)
        other = ConfidentialApplicationFactory()

        assert_pushed(push_form(client, code_request(other), authorization=basic_auth(other.client_id, CLIENT_SECRET)))

    @override_settings(DJANGO_PAR={"REQUIRE_SIGNED_REQUEST_OBJECT": True})
    def test_setting_refuses_a_plain_push_for_every_client(self, client):
        application = ConfidentialApplicationFactory()
        assert not ClientMetadata.objects.filter(application=application).exists()

        response = push_form(
            client, code_request(application), authorization=basic_auth(application.client_id, CLIENT_SECRET)
        )

        assert_oauth_error(response, 400, "invalid_request", "This client must push a signed request object")

    @override_settings(DJANGO_PAR={"REQUIRE_SIGNED_REQUEST_OBJECT": True})
    def test_setting_accepts_a_request_object(self, client, app):
        assert_pushed(push_request_object(client, app, request_object(app)))

    @override_settings(DJANGO_PAR={"REQUIRE_SIGNED_REQUEST_OBJECT": True})
    def test_setting_with_an_unsigned_request_object(self, client, app):
        response = push_request_object(client, app, unsigned_jwt(request_object_claims(app.client_id)))

        assert_invalid_request_object(response, "'none' is not allowed")
