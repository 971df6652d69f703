"""The PAR endpoint as a whole: success response, storage, refused requests (RFC 9126 §2)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from django_par.flow.request_uri import request_uri_digest
from django_par.models import PushedRequest
from tests.conftest import (
    REQUEST_URI_PREFIX,
    assert_oauth_error,
    basic_auth,
    code_request,
    par_url,
    push,
)
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI

pytestmark = pytest.mark.django_db


def request_uri_reference(request_uri: str) -> str:
    assert request_uri.startswith(REQUEST_URI_PREFIX), request_uri
    return request_uri[len(REQUEST_URI_PREFIX) :]


class TestSuccess:
    def test_push_answers_201_with_request_uri_and_expires_in_rfc9126_2_2(self, client, confidential_app, basic):
        response = push(client, code_request(confidential_app), authorization=basic)

        assert response.status_code == 201, response.content
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "no-store"
        body = response.json()
        assert set(body) == {"request_uri", "expires_in"}
        assert body["expires_in"] == 90
        assert isinstance(body["expires_in"], int)

    def test_request_uri_carries_at_least_128_random_bits_rfc9126_7_1(self, client, confidential_app, basic):
        reference = request_uri_reference(
            push(client, code_request(confidential_app), authorization=basic).json()["request_uri"]
        )
        # base64url without padding: every character carries 6 bits.
        decoded = base64.urlsafe_b64decode(reference + "=" * (-len(reference) % 4))
        assert len(decoded) * 8 >= 128

    def test_every_push_gets_a_new_request_uri(self, client, confidential_app, basic):
        uris = {
            push(client, code_request(confidential_app), authorization=basic).json()["request_uri"] for _ in range(3)
        }
        assert len(uris) == 3
        assert PushedRequest.objects.count() == 3

    @override_settings(DJANGO_PAR={"REQUEST_URI_LIFETIME": 30})
    def test_expires_in_and_expires_at_follow_request_uri_lifetime(self, client, confidential_app, basic):
        response = push(client, code_request(confidential_app), authorization=basic)

        assert response.json()["expires_in"] == 30
        row = PushedRequest.objects.get()
        assert row.expires_at - row.created_at == timedelta(seconds=30)

    def test_stored_row_holds_digest_client_parameters_and_state(self, client, confidential_app, basic):
        params = code_request(confidential_app, nonce="nonce-0123456789")
        request_uri = push(client, params, authorization=basic).json()["request_uri"]

        row = PushedRequest.objects.get()
        assert row.request_uri_digest == request_uri_digest(request_uri)
        assert row.application == confidential_app
        assert row.state == PushedRequest.State.PUSHED
        assert row.used_at is None and row.consumed_at is None
        assert row.expires_at - row.created_at == timedelta(seconds=90)
        assert row.parameters == params

    def test_raw_request_uri_is_nowhere_in_the_stored_row(self, client, confidential_app, basic):
        request_uri = push(client, code_request(confidential_app), authorization=basic).json()["request_uri"]
        reference = request_uri_reference(request_uri)

        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {PushedRequest._meta.db_table}")
            (raw_row,) = cursor.fetchall()
        dumped = json.dumps([str(value) for value in raw_row])
        assert reference not in dumped
        assert request_uri_digest(request_uri) in dumped

    def test_client_secret_is_not_stored_client_secret_post(self, client, confidential_app):
        params = code_request(confidential_app, client_secret=CLIENT_SECRET)
        assert push(client, params).status_code == 201

        row = PushedRequest.objects.get()
        assert "client_secret" not in row.parameters
        assert CLIENT_SECRET not in json.dumps(row.parameters)

    def test_client_id_is_stored_even_when_only_in_basic_header(self, client, confidential_app, basic):
        params = code_request(confidential_app, client_id=None)
        assert push(client, params, authorization=basic).status_code == 201

        assert PushedRequest.objects.get().parameters["client_id"] == confidential_app.client_id

    def test_unknown_parameters_are_ignored_not_stored(self, client, confidential_app, basic):
        params = code_request(confidential_app, favourite_colour="blue", x_extension="1")
        response = push(client, params, authorization=basic)

        assert response.status_code == 201, response.content
        stored = PushedRequest.objects.get().parameters
        assert "favourite_colour" not in stored and "x_extension" not in stored

    def test_empty_parameter_counts_as_omitted_rfc6749_3_1(self, client, confidential_app, basic):
        params = code_request(confidential_app, state="", nonce="")
        assert push(client, params, authorization=basic).status_code == 201

        stored = PushedRequest.objects.get().parameters
        assert "state" not in stored and "nonce" not in stored

    def test_form_content_type_with_charset_is_accepted(self, client, confidential_app, basic):
        response = push(
            client,
            code_request(confidential_app),
            authorization=basic,
            content_type="application/x-www-form-urlencoded; charset=UTF-8",
        )
        assert response.status_code == 201, response.content

    def test_push_needs_no_csrf_token(self, confidential_app, basic):
        csrf_checking_client = Client(enforce_csrf_checks=True)
        response = push(csrf_checking_client, code_request(confidential_app), authorization=basic)
        assert response.status_code == 201, response.content

    def test_prompt_none_push_succeeds_rfc9126_2_1(self, client, confidential_app, basic):
        # The user is not there at push time: prompt=none is for the authorization endpoint to act on.
        response = push(client, code_request(confidential_app, prompt="none"), authorization=basic)

        assert response.status_code == 201, response.content
        assert PushedRequest.objects.get().parameters["prompt"] == "none"


class TestRefused:
    def test_request_uri_in_the_push_is_refused_rfc9126_2_1(self, client, confidential_app, basic):
        params = code_request(confidential_app, request_uri=REQUEST_URI_PREFIX + "abc")
        response = push(client, params, authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "request_uri")
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize("name", ["state", "client_id", "scope", "unknown_extension"])
    def test_parameter_sent_twice_is_refused_rfc6749_3_1(self, client, confidential_app, basic, name):
        pairs = [(key, value) for key, value in code_request(confidential_app).items() if key != name]
        pairs += [(name, "value-one-1"), (name, "value-two-2")]
        response = push(client, pairs, authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", f"{name} was sent more than once")
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize(
        "content_type",
        ["application/json", "multipart/form-data; boundary=xyz", "text/plain", "application/x-www-form-urlencodedx"],
    )
    def test_non_form_body_is_refused_with_415(self, client, confidential_app, basic, content_type):
        body = json.dumps(code_request(confidential_app))
        response = push(client, body, authorization=basic, content_type=content_type)

        assert_oauth_error(response, 415, "invalid_request", "application/x-www-form-urlencoded")
        assert not PushedRequest.objects.exists()

    def test_body_without_content_type_is_refused_with_415(self, client, confidential_app, basic):
        response = client.generic(
            "POST", par_url(), data=b"response_type=code", HTTP_AUTHORIZATION=basic, CONTENT_TYPE=""
        )
        assert_oauth_error(response, 415, "invalid_request")

    @override_settings(DJANGO_PAR={"MAX_BODY_SIZE": 400})
    def test_over_size_body_is_refused_with_413(self, client, confidential_app, basic):
        body = "&".join(f"{key}={quote(value)}" for key, value in code_request(confidential_app).items())
        padded = body + "&padding=" + "x" * (401 - len(body) - len("&padding="))
        assert len(padded) == 401

        response = push(client, padded, authorization=basic)

        assert_oauth_error(response, 413, "invalid_request", "400 bytes")
        assert not PushedRequest.objects.exists()

    @override_settings(DJANGO_PAR={"MAX_BODY_SIZE": 400})
    def test_body_of_exactly_max_body_size_is_accepted(self, client, confidential_app, basic):
        body = "&".join(f"{key}={quote(value)}" for key, value in code_request(confidential_app).items())
        padded = body + "&padding=" + "x" * (400 - len(body) - len("&padding="))
        assert len(padded) == 400

        assert push(client, padded, authorization=basic).status_code == 201

    def test_declared_content_length_over_the_limit_is_refused_before_reading(self, client, confidential_app, basic):
        with override_settings(DJANGO_PAR={"MAX_BODY_SIZE": 10}):
            response = client.generic(
                "POST",
                par_url(),
                data=b"response_type=code&more=data",
                content_type="application/x-www-form-urlencoded",
                HTTP_AUTHORIZATION=basic,
            )
        assert_oauth_error(response, 413, "invalid_request")

    def test_malformed_content_length_is_invalid_request(self, client, confidential_app, basic):
        response = client.generic(
            "POST",
            par_url(),
            data=b"response_type=code",
            content_type="application/x-www-form-urlencoded",
            HTTP_AUTHORIZATION=basic,
            CONTENT_LENGTH="eighteen",
        )
        assert_oauth_error(response, 400, "invalid_request", "Content-Length")
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "head", "options"])
    def test_other_methods_get_405_with_allow_post(self, client, method):
        response = getattr(client, method)(par_url())

        assert response.status_code == 405
        assert response["Allow"] == "POST"
        assert response["Cache-Control"] == "no-store"
        if method != "head":
            assert response.json()["error"] == "invalid_request"

    def test_request_object_is_not_stored(self, client, confidential_app, basic):
        params = code_request(confidential_app, request="eyJhbGciOiJub25lIn0.e30.")
        response = push(client, params, authorization=basic)

        body = assert_oauth_error(response, 400, response.json().get("error"))
        assert body["error"] in {"request_not_supported", "invalid_request_object"}
        assert not PushedRequest.objects.exists()


class TestHostileInput:
    """Whatever the body, the answer is an OAuth error, never a 500."""

    @pytest.mark.parametrize(
        ("body", "status", "error"),
        [
            pytest.param(b"", 401, "invalid_client", id="empty body"),
            pytest.param(b"&&&", 401, "invalid_client", id="only separators"),
            pytest.param(b"=", 401, "invalid_client", id="empty name"),
            pytest.param(b"client_id=%ff%fe", 400, "invalid_request", id="invalid utf-8 escape"),
            pytest.param(b"client_id=\xff\xfe", 400, "invalid_request", id="raw invalid utf-8"),
            pytest.param(b"client_id=%ED%A0%80", 400, "invalid_request", id="utf-8 surrogate"),
            pytest.param(b"client_id=abc%00def", 400, "invalid_request", id="nul in value"),
            pytest.param(b"state%00=x&client_id=abc", 400, "invalid_request", id="nul in name"),
            pytest.param(b"client_id=" + b"a" * 60000, 401, "invalid_client", id="huge client_id"),
            pytest.param(b"client_id=%zz", 401, "invalid_client", id="bad percent escape"),
        ],
    )
    def test_hostile_body_gets_an_oauth_error(self, client, db, body, status, error):
        response = client.generic("POST", par_url(), data=body, CONTENT_TYPE="application/x-www-form-urlencoded")

        assert_oauth_error(response, status, error)
        assert not PushedRequest.objects.exists()

    @pytest.mark.parametrize(
        "overrides",
        [
            pytest.param({"state": "state-\x00-0123"}, id="nul in state"),
            pytest.param({"redirect_uri": REDIRECT_URI + "\x00"}, id="nul in redirect_uri"),
            pytest.param({"scope": "openid\x00read"}, id="nul in scope"),
            pytest.param({"claims": "[" * 5000}, id="deeply nested claims"),
            pytest.param({"claims": '{"a":' * 3000}, id="deeply nested claims object"),
            pytest.param({"login_hint": '{"a":[' + "[" * 5000}, id="deeply nested login_hint"),
            pytest.param({"max_age": "²"}, id="superscript digit max_age"),
            pytest.param({"max_age": "9" * 5000}, id="enormous max_age"),
            pytest.param({"code_challenge": "é" * 50}, id="non-ascii code_challenge"),
            pytest.param({"response_type": "code\x00"}, id="nul in response_type"),
        ],
    )
    def test_hostile_parameter_of_an_authenticated_client_never_500s(self, client, confidential_app, basic, overrides):
        response = push(client, code_request(confidential_app, **overrides), authorization=basic)

        assert response.status_code < 500
        assert response["Cache-Control"] == "no-store"
        if response.status_code != 201:
            assert response.json()["error"] == "invalid_request"

    def test_nul_is_refused_before_reaching_the_database(self, client, confidential_app, basic):
        # PostgreSQL cannot store NUL in text or jsonb; it must be refused on every database alike.
        response = push(client, code_request(confidential_app, state="state-\x00-0123"), authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "NUL")

    def test_deeply_nested_claims_is_refused(self, client, confidential_app, basic):
        response = push(client, code_request(confidential_app, claims="[" * 5000), authorization=basic)

        assert_oauth_error(response, 400, "invalid_request", "claims is nested more than 32 deep")

    def test_huge_client_id_in_basic_header(self, client, db):
        response = push(client, {"response_type": "code"}, authorization=basic_auth("c" * 20000, "secret"))

        assert_oauth_error(response, 401, "invalid_client")


class TestQueryCount:
    def test_push_loads_the_client_once_and_stays_bounded(self, client, confidential_app, basic):
        params = code_request(confidential_app, nonce="nonce-0123456789")
        with CaptureQueriesContext(connection) as queries:
            response = push(client, params, authorization=basic)

        assert response.status_code == 201, response.content
        application_table = confidential_app._meta.db_table
        loads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
        assert len([sql for sql in loads if application_table in sql]) == 1, loads
        inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1
        assert len(queries.captured_queries) <= 4, [q["sql"] for q in queries.captured_queries]

    def test_public_client_push_query_bound(self, client, public_app, django_assert_max_num_queries):
        with django_assert_max_num_queries(4):
            response = push(client, code_request(public_app))
        assert response.status_code == 201, response.content
