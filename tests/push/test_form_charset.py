"""Form bodies are UTF-8 (RFC 6749 Appendix B): a charset naming anything else is refused, never used.

Django decodes a body with whatever Python codec its Content-Type's charset names;
``unicode_escape`` turns the six ASCII characters ``\\ud800`` into a lone surrogate,
which no database, cache key nor hash accepts (a 500 at the push, or a stored push
whose every authorization page load is a 500).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django
import pytest
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from django_par.errors import OAuthError
from django_par.models import PushedRequest
from django_par.push.form import FORM_CONTENT_TYPE, read_form_parameters
from tests.conftest import assert_oauth_error, basic_auth, code_request, par_url, push
from tests.helpers.factories import CLIENT_SECRET

pytestmark = pytest.mark.django_db

# The escape unicode_escape turns into the lone surrogate U+D800, percent-encoded for the form.
ESCAPED_SURROGATE = "%5Cud800"


def form_type(charset: str) -> str:
    return f"{FORM_CONTENT_TYPE}; charset={charset}"


def raw_post(client: Any, url: str, body: str, charset: str, **headers: str) -> Any:
    """POST ``body`` as UTF-8 bytes, whatever the charset says (the test client's post() would encode with it)."""
    return client.generic("POST", url, body.encode(), content_type=form_type(charset), headers=headers)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "Utf-8", '"utf-8"', "us-ascii", "US-ASCII", '"US-ASCII"'])
def test_utf8_and_ascii_are_accepted(client, confidential_app, basic, charset):
    response = push(client, code_request(confidential_app), authorization=basic, content_type=form_type(charset))

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    "charset", ["unicode_escape", "latin-1", "iso-8859-1", "utf-16", "utf-7", "cp1252", "utf8", "", "no-such-codec"]
)
def test_any_other_charset_is_refused(client, confidential_app, basic, charset):
    response = raw_post(client, par_url(), urlencode(code_request(confidential_app)), charset, authorization=basic)

    assert_oauth_error(response, 415, "invalid_request", "must be UTF-8")
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize("name", ["client_id", "client_secret"])
def test_unicode_escape_cannot_smuggle_a_surrogate_into_credentials(client, confidential_app, name):
    params = {**code_request(confidential_app), "client_secret": CLIENT_SECRET}
    params.pop(name)
    body = urlencode(params) + f"&{name}={ESCAPED_SURROGATE}"

    response = push(client, body, content_type=form_type("unicode_escape"))

    assert_oauth_error(response, 415, "invalid_request")


def test_unicode_escape_cannot_smuggle_a_surrogate_into_a_stored_push(client, confidential_app, basic):
    params = code_request(confidential_app, state=None)
    body = urlencode(params) + f"&state=state-{ESCAPED_SURROGATE}-0123"

    response = push(client, body, authorization=basic, content_type=form_type("unicode_escape"))

    assert_oauth_error(response, 415, "invalid_request")
    assert not PushedRequest.objects.exists()


@pytest.mark.parametrize("charset", ["latin-1", "unicode_escape"])
def test_a_basic_header_is_not_decoded_with_the_body_charset(client, confidential_app, charset):
    # The charset describes the body only; it is refused before any credential is read.
    header = basic_auth(confidential_app.client_id, CLIENT_SECRET)

    response = raw_post(client, par_url(), urlencode(code_request(confidential_app)), charset, authorization=header)

    assert_oauth_error(response, 415, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"state=%ED%A0%80", id="percent-encoded surrogate"),
        pytest.param(b"state=\xed\xa0\x80", id="raw encoded surrogate"),
        pytest.param(b"state=\xe9", id="latin-1 byte"),
        pytest.param(b"state=%E9", id="percent-encoded latin-1 byte"),
    ],
)
def test_utf8_is_decoded_strictly(client, confidential_app, basic, body):
    response = push(client, body, authorization=basic, content_type=form_type("utf-8"))

    assert_oauth_error(response, 400, "invalid_request", "not valid UTF-8")


class TestTokenEndpoint:
    """DOT's token endpoint reads request.POST, which Django decodes with the named codec."""

    def token_request(self, client: Any, application: Any, charset: str, secret: str = CLIENT_SECRET) -> Any:
        body = f"grant_type=client_credentials&client_id={application.client_id}&client_secret={secret}"
        return raw_post(client, "/o/token/", body, charset)

    @pytest.mark.parametrize("charset", ["unicode_escape", "latin-1", "utf-16"])
    def test_another_charset_gets_a_json_error(self, client, confidential_app, charset):
        response = self.token_request(client, confidential_app, charset, secret=ESCAPED_SURROGATE)

        assert_oauth_error(response, 415, "invalid_request", "must be UTF-8")

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            pytest.param(b"a=1&" * 1001, FORM_CONTENT_TYPE, id="more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS"),
            pytest.param(
                b"client_assertion=" + b"x" * 20_000,  # no boundary: one part whose "headers" never end
                "multipart/form-data; boundary=x",
                id="malformed multipart",
                marks=pytest.mark.skipif(django.VERSION < (5, 0), reason="Django 4.2 reads it as an empty form"),
            ),
        ],
    )
    def test_a_body_django_cannot_parse_gets_a_json_error(self, client, body, content_type):
        # Found by tests/fuzz: Django answered a malformed multipart body with its HTML 400.
        response = client.generic("POST", "/o/token/", body, content_type=content_type)

        assert_oauth_error(response, 400, "invalid_request", "malformed")

    def test_a_body_over_djangos_limit_gets_a_json_413(self, client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
        body = b"grant_type=client_credentials&x=" + b"y" * 100
        response = client.generic("POST", "/o/token/", body, content_type=FORM_CONTENT_TYPE)

        assert_oauth_error(response, 413, "invalid_request", "too large")

    @pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "us-ascii"])
    def test_utf8_reaches_dot(self, client, confidential_app, charset):
        response = self.token_request(client, confidential_app, charset, secret="wrong")

        assert response.status_code == 401  # DOT's answer to a wrong secret: the body was read
        assert response.json()["error"] == "invalid_client"


factory = RequestFactory()
charsets = st.one_of(
    st.sampled_from(["utf-8", "UTF-8", "us-ascii", "unicode_escape", "latin-1", "utf-16", "utf_8", "UTF8"]),
    # No NUL: Django's request constructor itself fails on it (codecs.lookup), and no HTTP server passes it on.
    st.text(st.characters(codec="ascii", exclude_characters='\x00;,"\\\r\n'), max_size=20),
)


@settings(max_examples=200, deadline=None)
@given(charsets, st.binary(max_size=200))
def test_a_charset_is_compared_never_used(charset: str, body: bytes) -> None:
    content_type = form_type(charset)
    request = factory.generic("POST", "/o/par/", body, content_type=content_type, CONTENT_TYPE=content_type)
    try:
        params = read_form_parameters(request)
    except OAuthError as error:
        if error.status == 415:
            assert charset.strip().lower() not in ("utf-8", "us-ascii")
            return
        assert error.status == 400
        return
    # Accepted: the body was UTF-8, and every value is text a UTF-8 encoder takes.
    assert charset.strip().lower() in ("utf-8", "us-ascii")
    body.decode("utf-8")
    for name, value in params.items():
        (name + value).encode("utf-8")
