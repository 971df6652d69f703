"""Every JSON value a client sends is bounded in depth and size (django_par.bounded_json).

Python's json module raises RecursionError about 1,000 deep (a 500 from JWT parsing), and a
``claims`` value some 940 deep used to pass the push and fail at the authorization endpoint,
in DOT's json.dumps, after its request_uri was spent. Each is now refused when it arrives.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from django_par.jose.jwt import JwtError, parse
from django_par.models import PushedRequest
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET
from tests.helpers.jwt_helpers import (
    DJANGO_PAR_VALIDATOR,
    JWT_BEARER,
    assert_invalid_client,
    assertion_claims,
    assertion_params,
    b64url,
    dot_validator,
    jwt_client,
    private_key,
    push_form,
    request_object_claims,
    sign,
)

pytestmark = pytest.mark.django_db

# Python's json module raises RecursionError about 1,000 deep on Python 3.10 and 3.11, some 5,000
# deep from 3.12 on: both depths are tried, each well within MAX_BODY_SIZE as a JWT.
DEEP = 1000
DEEPER = 20_000
depths = pytest.mark.parametrize("depth", [DEEP, DEEPER])
EC_KEY = private_key("EC")


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text: ``leaf`` inside ``depth`` arrays."""
    return "[" * depth + leaf + "]" * depth


def nested_object(depth: int) -> str:
    """JSON text: ``depth`` objects, one inside the other."""
    return '{"a":' * depth + "1" + "}" * depth


def with_member(document: dict[str, Any], name: str, raw: str) -> bytes:
    """``document`` as JSON with one more member whose value is the raw JSON text ``raw``."""
    return (json.dumps(document)[:-1] + f', "{name}": {raw}}}').encode()


def forged_jwt(header: bytes, payload: bytes) -> str:
    """A compact JWS with any header and payload; its signature is never reached."""
    return f"{b64url(header)}.{b64url(payload)}.{b64url(b'not-a-signature')}"


@pytest.fixture
def ec_client(db: None) -> Any:
    return jwt_client(EC_KEY)


class TestClientAssertions:
    """RFC 7523 §3: an assertion that cannot be read is a failed client authentication (401)."""

    def deep_header(self, depth: int) -> bytes:
        return with_member({"alg": "ES256", "kid": EC_KEY.get("kid")}, "x", nested(depth))

    def deep_payload(self, client_id: str, depth: int) -> bytes:
        return with_member(assertion_claims(client_id), "x", nested(depth))

    @depths
    def test_deep_header_at_the_par_endpoint(self, client, ec_client, depth):
        token = forged_jwt(self.deep_header(depth), json.dumps(assertion_claims(ec_client.client_id)).encode())
        response = push_form(client, {**code_request(ec_client), **assertion_params(token)})

        assert_invalid_client(response, "The JWT header is nested more than 32 deep")

    @depths
    def test_deep_payload_at_the_par_endpoint(self, client, ec_client, depth):
        token = forged_jwt(b'{"alg": "ES256"}', self.deep_payload(ec_client.client_id, depth))
        response = push_form(client, {**code_request(ec_client), **assertion_params(token)})

        assert_invalid_client(response, "The JWT payload is nested more than 32 deep")

    @depths
    @pytest.mark.parametrize("part", ["header", "payload"])
    def test_deep_assertion_at_the_token_endpoint(self, client, settings, ec_client, part, depth):
        if part == "header":
            token = forged_jwt(self.deep_header(depth), json.dumps(assertion_claims(ec_client.client_id)).encode())
        else:
            token = forged_jwt(b'{"alg": "ES256"}', self.deep_payload(ec_client.client_id, depth))
        body = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": token}

        with dot_validator(settings, DJANGO_PAR_VALIDATOR):
            response = client.post("/o/token/", body)

        assert response.status_code in (400, 401), response.content
        assert response.json()["error"] == "invalid_client"

    def test_a_lone_surrogate_in_sub_is_refused(self, client, ec_client):
        # json reads "\ud800" into a str no UTF-8 encoder accepts: the client lookup's cache key failed on it.
        payload = json.dumps(assertion_claims(ec_client.client_id)).replace(
            f'"sub": "{ec_client.client_id}"', '"sub": "\\ud800"'
        )
        token = forged_jwt(b'{"alg": "ES256"}', payload.encode())
        response = push_form(client, {**code_request(ec_client), **assertion_params(token)})

        assert_invalid_client(response, "The JWT payload holds a string that is not Unicode text")

    def test_an_oversized_payload_is_refused_before_it_is_read(self, settings):
        # At the token endpoint Django bounds the body (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB), not MAX_BODY_SIZE.
        settings.DJANGO_PAR = {"MAX_BODY_SIZE": 1024}
        token = forged_jwt(b'{"alg": "ES256"}', with_member({"sub": "c"}, "x", json.dumps("x" * 1024)))

        with pytest.raises(JwtError, match="The JWT payload is larger than 1024 bytes"):
            parse(token)


class TestRequestObjects:
    """RFC 9101 §6.3: a request object that cannot be read is invalid_request_object (400)."""

    def push(self, client: Any, application: Any, token: str) -> Any:
        return push_form(client, {"request": token}, authorization=basic_auth(application.client_id, CLIENT_SECRET))

    @pytest.fixture
    def app(self, db: None) -> Any:
        from tests.helpers.factories import PlainSecretApplicationFactory

        return jwt_client(EC_KEY, method="", application=PlainSecretApplicationFactory())

    @depths
    def test_deep_header(self, client, app, depth):
        header = with_member({"alg": "ES256"}, "x", nested(depth))
        token = forged_jwt(header, json.dumps(request_object_claims(app.client_id)).encode())

        assert_oauth_error(
            self.push(client, app, token), 400, "invalid_request_object", "header is nested more than 32"
        )
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize(
        "raw",
        [nested(DEEP), nested_object(DEEP), nested(DEEPER), nested_object(DEEPER // 4)],
        ids=["arrays", "objects", "more arrays", "more objects"],
    )
    def test_deep_claims_object_inside_the_payload(self, client, app, raw):
        token = forged_jwt(b'{"alg": "ES256"}', with_member(request_object_claims(app.client_id), "claims", raw))

        assert_oauth_error(
            self.push(client, app, token), 400, "invalid_request_object", "payload is nested more than 32"
        )
        assert not PushedRequest.objects.exists()

    def test_a_claims_object_as_deep_as_allowed_is_stored(self, client, app):
        # The payload is one level: its claims member may nest JSON_MAX_DEPTH - 1 more.
        claims = json.loads(nested_object(31))
        token = sign(request_object_claims(app.client_id, claims=claims), EC_KEY, "ES256")

        response = self.push(client, app, token)

        assert response.status_code == 201, response.content
        assert json.loads(PushedRequest.objects.get().parameters["claims"]) == claims


class TestFormParameters:
    """RFC 9126 §2.1: the pushed parameters are checked before anything is stored."""

    @pytest.mark.parametrize("depth", [33, 940, DEEP, 4000])
    def test_deep_claims_is_refused_at_push_time(self, client, confidential_app, basic, depth):
        response = push(client, code_request(confidential_app, claims=nested_object(depth)), authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "claims is nested more than 32 deep")
        assert not PushedRequest.objects.exists()

    def test_claims_as_deep_as_allowed_is_stored(self, client, confidential_app, basic):
        claims = nested_object(32)
        response = push(client, code_request(confidential_app, claims=claims), authorization=basic)

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().parameters["claims"] == claims

    @pytest.mark.parametrize("login_hint", ['{"username": "a", "x": ' + nested(DEEP) + "}", "{" + nested(DEEP)])
    def test_deep_login_hint_is_refused(self, client, confidential_app, basic, login_hint):
        response = push(client, code_request(confidential_app, login_hint=login_hint), authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "login_hint is nested more than 32 deep")
        assert not PushedRequest.objects.exists()

    def test_the_depth_follows_the_setting(self, client, confidential_app, basic, settings):
        settings.DJANGO_PAR = {"JSON_MAX_DEPTH": 3}
        accepted = push(client, code_request(confidential_app, claims=nested_object(3)), authorization=basic)
        refused = push(client, code_request(confidential_app, claims=nested_object(4)), authorization=basic)

        assert accepted.status_code == 201, accepted.content
        assert_oauth_error(refused, 400, "invalid_request", "claims is nested more than 3 deep")

    def test_a_lone_surrogate_escape_in_claims_is_refused(self, client, confidential_app, basic):
        response = push(
            client, code_request(confidential_app, claims='{"userinfo": {"\\ud800": null}}'), authorization=basic
        )

        assert_oauth_error(response, 400, "invalid_request", "claims holds a string that is not Unicode text")
