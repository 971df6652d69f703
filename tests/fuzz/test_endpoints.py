"""Fuzzing the PAR, authorization and token endpoints: no input gets a 5xx.

Hypothesis generates bodies (form fields with known parameter names and hostile values, raw
bytes), content types with any charset, ``Authorization`` headers, and JWTs (any header and
claims, deep nesting, huge numbers, NaN), some signed with the client's real key so that they
reach the claim rules. The properties:

- never a 5xx;
- at the PAR and token endpoints, every 4xx is a JSON object with ``error``;
- a ``201`` push stored only parameters that pass the parameter rules, for the client that
  authenticated, and its authorization URL does not fail either.

The number of examples comes from the Hypothesis profile (``tests/conftest.py``): ``ci`` (the
default) runs a bounded, derandomized number; ``HYPOTHESIS_PROFILE=long`` runs thousands.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jwcrypto import jws

from django_par.flow.request_uri import request_uri_digest
from django_par.models import PushedRequest
from django_par.push.parameters import AUTHORIZATION_PARAMETERS, check_parameter_rules, check_redirect_uri_registered
from tests.conftest import CODE_CHALLENGE, FORM_CONTENT_TYPE, basic_auth
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, PlainSecretApplicationFactory, UserFactory
from tests.helpers.jwt_helpers import (
    DJANGO_PAR_VALIDATOR,
    ISSUER,
    JWT_BEARER,
    b64url,
    dot_validator,
    jwt_client,
    private_key,
)

pytestmark = pytest.mark.django_db

EC_KEY = private_key("EC", kid="fuzz-ec")
# The fixtures (clients, a user) are made once per test and shared by its examples, on purpose.
fuzz_settings = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Clients:
    """The registered clients the generated requests name: one with a secret, one with keys."""

    def __init__(self) -> None:
        self.secret_app = PlainSecretApplicationFactory()  # unhashed: no slow hasher per example
        self.jwt_app = jwt_client(EC_KEY, method="", application=PlainSecretApplicationFactory())
        self.client_ids = [self.secret_app.client_id, self.jwt_app.client_id]


@pytest.fixture
def clients(db: None) -> Clients:
    return Clients()


# -- values -----------------------------------------------------------------------------------

DEEP_JSON = ["[" * 2000 + "]" * 2000, '{"a":' * 1500 + "1" + "}" * 1500, "[" * 40, "{" * 3000]
HOSTILE_TEXT = [
    "",
    "\x00",
    "%00",
    "%ED%A0%80",
    "\\ud800",
    '"\\ud800"',
    "NaN",
    "Infinity",
    "1e999",
    "9" * 5000,
    "-1",
    "²",
    "é" * 50,
    "a" * 5000,
    "openid read",
    "code",
    "code id_token",
    "token",
    "none",
    "login consent",
    "query",
    "form_post.jwt",
    "plain",
    "S256",
    CODE_CHALLENGE,
    REDIRECT_URI,
    REDIRECT_URI + "?x=1",
    "http://127.0.0.1:8200@evil.example/cb",
    "urn:ietf:params:oauth:request_uri:abc",
    JWT_BEARER,
    '{"username": "alice"}',
    '{"userinfo": {"email": {"essential": true}}}',
    '{"userinfo": NaN}',
    *DEEP_JSON,
]
texts = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=20),
    st.from_regex(r"[A-Za-z0-9\-._~]{43,128}", fullmatch=True),
)
# JSON numbers as text: what json.dumps cannot write (NaN, Infinity) and what overflows a float.
raw_numbers = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "1" + "0" * 400, "-0", "1.5", "0"])


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    """JSON text, possibly non-standard (NaN), deep or with lone surrogate escapes."""
    choice = draw(st.integers(0, 3))
    if choice == 0:
        return draw(st.sampled_from(DEEP_JSON))
    if choice == 1:
        return draw(raw_numbers)
    if choice == 2:
        return '"\\ud800"'
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
    value = draw(
        st.recursive(leaves, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3))
    )
    return json.dumps(value)


@st.composite
def claim_sets(draw: st.DrawFn, clients: Clients) -> str:
    """The payload of a JWT: mostly plausible claims, each of which may be replaced by hostile JSON."""
    client_id = draw(st.sampled_from([*clients.client_ids, "unknown-client"]))
    now = 1_700_000_000 if draw(st.booleans()) else int(__import__("time").time())
    members: dict[str, str] = {
        "iss": json.dumps(client_id),
        "sub": json.dumps(client_id),
        "client_id": json.dumps(client_id),
        "aud": json.dumps(draw(st.sampled_from([ISSUER, ISSUER + "/token/", "https://other.example"]))),
        "exp": str(now + draw(st.integers(-100, 10**6))),
        "iat": str(now),
        "jti": json.dumps(draw(st.text(min_size=1, max_size=10))),
        "response_type": '"code"',
        "redirect_uri": json.dumps(REDIRECT_URI),
        "scope": '"openid read"',
        "state": '"state-0123456789"',
    }
    for name in draw(st.lists(st.sampled_from([*members, *AUTHORIZATION_PARAMETERS, "request", "x"]), max_size=4)):
        members[name] = draw(st.one_of(json_texts(), texts.map(json.dumps)))
    for name in draw(st.lists(st.sampled_from(list(members)), max_size=3)):
        members.pop(name, None)
    return "{" + ", ".join(f"{json.dumps(name)}: {value}" for name, value in members.items()) + "}"


@st.composite
def jwts(draw: st.DrawFn, clients: Clients) -> str:
    """A compact JWS: forged (any header and payload) or signed with the client's key (any payload)."""
    payload = draw(claim_sets(clients))
    if draw(st.booleans()):
        token = jws.JWS(payload.encode())
        token.add_signature(EC_KEY, alg="ES256", protected=json.dumps({"alg": "ES256", "kid": EC_KEY.get("kid")}))
        return str(token.serialize(compact=True))
    header = draw(
        st.one_of(
            st.sampled_from(
                ['{"alg": "ES256"}', '{"alg": "none"}', '{"alg": "HS256"}', '{"alg": "ES256", "crit": ["x"]}']
            ),
            json_texts(),
            st.builds(lambda alg, kid: json.dumps({"alg": alg, "kid": kid}), texts, texts),
            st.builds(lambda deep: '{"alg": "ES256", "x": ' + deep + "}", st.sampled_from(DEEP_JSON)),
        )
    )
    signature = draw(st.binary(max_size=80))
    return ".".join(b64url(part) for part in (header.encode("utf-8", "surrogatepass"), payload.encode(), signature))


# -- requests ---------------------------------------------------------------------------------

KNOWN_NAMES = [
    *AUTHORIZATION_PARAMETERS,
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "request",
    "request_uri",
    "grant_type",
    "code",
    "code_verifier",
    "refresh_token",
]


@st.composite
def form_fields(draw: st.DrawFn, clients: Clients) -> list[tuple[str, str]]:
    """Form fields: a plausible push (or token request) for a real client, then hostile changes."""
    fields: dict[str, str] = {}
    if draw(st.booleans()):
        fields.update(
            response_type="code",
            client_id=clients.secret_app.client_id,
            redirect_uri=REDIRECT_URI,
            scope="openid read",
            state="state-0123456789",
            code_challenge=CODE_CHALLENGE,
            code_challenge_method="S256",
        )
    if draw(st.booleans()):  # for the token endpoint; ignored by the PAR endpoint
        fields["grant_type"] = draw(st.sampled_from(["authorization_code", "client_credentials", "refresh_token"]))
    how = draw(st.sampled_from(["none", "secret", "assertion", "request"]))
    if how == "secret":
        fields["client_secret"] = draw(st.sampled_from([CLIENT_SECRET, "wrong"]) | texts)
    elif how == "assertion":
        fields.update(client_assertion_type=JWT_BEARER, client_assertion=draw(jwts(clients)))
    elif how == "request":
        fields["request"] = draw(jwts(clients))
    names = st.sampled_from(KNOWN_NAMES) | st.text(min_size=1, max_size=10)
    for name, value in draw(st.lists(st.tuples(names, texts | json_texts()), max_size=5)):
        fields[name] = value
    pairs = list(fields.items())
    if draw(st.booleans()) and pairs:
        pairs.append(draw(st.sampled_from(pairs)))  # a repeated parameter
    return pairs


def encode_pairs(pairs: list[tuple[str, str]]) -> bytes:
    # surrogatepass: a generated lone surrogate travels as its (invalid) UTF-8 bytes.
    return "&".join(
        quote(name.encode("utf-8", "surrogatepass")) + "=" + quote(value.encode("utf-8", "surrogatepass"))
        for name, value in pairs
    ).encode()


@st.composite
def bodies(draw: st.DrawFn, clients: Clients) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:  # raw text fields, not percent-encoded
        pairs = draw(form_fields(clients))
        return "&".join(f"{n}={v}" for n, v in pairs).encode("utf-8", "surrogatepass")
    return encode_pairs(draw(form_fields(clients)))


content_types = st.one_of(
    st.just(FORM_CONTENT_TYPE),
    st.builds(
        lambda charset: f"{FORM_CONTENT_TYPE}; charset={charset}",
        st.sampled_from(["utf-8", "UTF-8", '"utf-8"', "us-ascii", "unicode_escape", "latin-1", "utf-16", "utf-7", ""])
        | st.text(st.characters(codec="ascii", exclude_characters="\x00;,\r\n"), max_size=12),
    ),
    st.sampled_from(["", "text/plain", "application/json", "multipart/form-data; boundary=x", "application/jwt"]),
)


@st.composite
def authorization_headers(draw: st.DrawFn, clients: Clients) -> str | None:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return None
    if kind == 1:
        return basic_auth(draw(st.sampled_from(clients.client_ids)), CLIENT_SECRET)
    if kind == 2:
        return "Basic " + base64.b64encode(draw(st.binary(max_size=60))).decode()
    if kind == 3:
        pair = f"{draw(texts)}:{draw(texts)}".encode("utf-8", "surrogatepass")
        return "Basic " + base64.b64encode(pair).decode()
    scheme = draw(st.sampled_from(["Basic", "basic", "Bearer", "DPoP", "", "Basic  "]))
    # Header values are Latin-1 in WSGI; no CR, LF nor NUL (servers refuse them).
    token = draw(st.text(st.characters(max_codepoint=255, exclude_characters="\x00\r\n"), max_size=40))
    return f"{scheme} {token}"


def post(client: Client, url: str, body: bytes, content_type: str, authorization: str | None) -> Any:
    headers = {"authorization": authorization} if authorization is not None else {}
    # CONTENT_TYPE given again: the test client leaves it out for an empty body.
    return client.generic("POST", url, body, content_type=content_type, headers=headers, CONTENT_TYPE=content_type)


def assert_json_error(response: Any) -> None:
    assert response.status_code < 500, response.content[:2000]
    if 400 <= response.status_code < 500:
        assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:500])
        body = json.loads(response.content)
        assert "error" in body, response.content[:500]
        event(f"{response.status_code} {body['error']}")
    else:
        event(str(response.status_code))


def assert_valid_push(response: Any, clients: Clients, user_client: Client) -> None:
    """A 201 stored only parameters that pass the rules, and its authorization URL does not fail."""
    request_uri = response.json()["request_uri"]
    row = PushedRequest.objects.get(request_uri_digest=request_uri_digest(request_uri))
    params = row.parameters
    assert set(params) <= set(AUTHORIZATION_PARAMETERS)
    assert params["client_id"] == row.application.client_id
    assert row.application.client_id in clients.client_ids
    for name, value in params.items():
        assert isinstance(value, str) and value and "\x00" not in value, (name, value)
        value.encode("utf-8")
    check_parameter_rules(params)
    check_redirect_uri_registered(row.application, params["redirect_uri"])
    query = urlencode({"client_id": params["client_id"], "request_uri": request_uri})
    page = user_client.get(f"/o/authorize/?{query}")
    assert page.status_code < 500, page.content[:2000]


@pytest.fixture
def user_client(db: None) -> Client:
    browser = Client(raise_request_exception=False)
    browser.force_login(UserFactory())
    return browser


# -- the tests --------------------------------------------------------------------------------


@fuzz_settings
@given(data=st.data())
def test_par_endpoint(clients: Clients, user_client: Client, data: st.DataObject) -> None:
    body = data.draw(bodies(clients), label="body")
    content_type = data.draw(content_types, label="content_type")
    authorization = data.draw(authorization_headers(clients), label="authorization")

    response = post(Client(raise_request_exception=False), "/o/par/", body, content_type, authorization)

    assert_json_error(response)
    assert response.status_code in (201, 400, 401, 413, 415), response.content[:500]
    if response.status_code == 201:
        assert_valid_push(response, clients, user_client)


@fuzz_settings
@given(data=st.data())
def test_par_endpoint_with_a_well_formed_push(clients: Clients, user_client: Client, data: st.DataObject) -> None:
    # An authenticated, form-encoded UTF-8 push: every example reaches the parameter rules.
    pairs = data.draw(form_fields(clients), label="fields")
    pairs = [(n, v) for n, v in pairs if n not in ("client_secret", "client_assertion", "client_assertion_type")]
    authorization = basic_auth(clients.secret_app.client_id, CLIENT_SECRET)
    if any(name == "request" for name, _ in pairs):
        authorization = basic_auth(clients.jwt_app.client_id, CLIENT_SECRET)

    response = post(
        Client(raise_request_exception=False), "/o/par/", encode_pairs(pairs), FORM_CONTENT_TYPE, authorization
    )

    assert_json_error(response)
    if response.status_code == 201:
        assert_valid_push(response, clients, user_client)


@st.composite
def authorization_queries(draw: st.DrawFn, clients: Clients) -> str:
    pairs = []
    if draw(st.booleans()):
        pairs.append(("client_id", draw(st.sampled_from(clients.client_ids) | texts)))
    if draw(st.booleans()):
        prefix = "urn:ietf:params:oauth:request_uri:"
        pairs.append(("request_uri", draw(st.sampled_from([prefix, prefix + "x" * 43]) | texts)))
    names = st.sampled_from([*AUTHORIZATION_PARAMETERS, "request_uri", "request"]) | st.text(min_size=1, max_size=8)
    pairs += draw(st.lists(st.tuples(names, texts), max_size=5))
    if draw(st.booleans()):
        return encode_pairs(pairs).decode()
    return "&".join(f"{n}={v}" for n, v in pairs)  # not percent-encoded


@fuzz_settings
@given(data=st.data())
def test_authorization_endpoint(clients: Clients, user_client: Client, data: st.DataObject) -> None:
    query = data.draw(authorization_queries(clients), label="query")
    logged_in = data.draw(st.booleans(), label="logged_in")
    # A GET has no body, but a Content-Type charset still sets the codec Django decodes the query with.
    content_type = data.draw(st.none() | content_types, label="content_type")
    browser = user_client if logged_in else Client(raise_request_exception=False)

    # QUERY_STRING as a WSGI server hands it over: Latin-1 text of the raw bytes.
    raw = query.encode("utf-8", "surrogatepass").decode("latin-1")
    extra = {"CONTENT_TYPE": content_type} if content_type is not None else {}
    response = browser.generic("GET", "/o/authorize/", QUERY_STRING=raw, **extra)

    event(str(response.status_code))
    assert response.status_code < 500, response.content[:2000]


@fuzz_settings
@given(data=st.data())
def test_token_endpoint(clients: Clients, settings: Any, data: st.DataObject) -> None:
    body = data.draw(bodies(clients), label="body")
    content_type = data.draw(content_types, label="content_type")
    authorization = data.draw(authorization_headers(clients), label="authorization")

    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        response = post(Client(raise_request_exception=False), "/o/token/", body, content_type, authorization)

    assert_json_error(response)


def test_authorization_endpoint_ignores_a_charset_naming_another_codec(clients: Clients) -> None:
    browser = Client(raise_request_exception=False)
    content_type = "text/plain; charset=unicode_escape"

    response = browser.generic(
        "GET", "/o/authorize/", QUERY_STRING="client_id=\\ud800&response_type=code", CONTENT_TYPE=content_type
    )

    assert response.status_code < 500


def test_authorization_endpoint_with_a_malformed_percent_escape(user_client: Client) -> None:
    response = user_client.generic("GET", "/o/authorize/", QUERY_STRING="response_type=%:")

    assert response.status_code == 400
    assert response["Cache-Control"] == "no-store"
