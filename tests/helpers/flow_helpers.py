"""Helpers for driving the authorization endpoint as a browser and a client would.

Test modules get the fixtures at the end by loading them as a plugin,
``pytest_plugins = ["tests.helpers.flow_fixtures"]``, or by importing them by name.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from django.contrib.auth.hashers import make_password
from django.db.models import F
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AbstractApplication, get_access_token_model

from django_par.flow.request_uri import request_uri_digest
from django_par.models import PushedRequest
from tests.conftest import basic_auth, code_request, push
from tests.helpers.factories import CLIENT_SECRET, REDIRECT_URI, ConfidentialApplicationFactory, UserFactory

# The issuer identifier of the test server (RFC 9207 iss), as DOT derives it
# from the "o/" mount in tests/urls.py.
ISSUER = "http://testserver/o"
AUTHORIZE_PATH = "/o/authorize/"
LOGIN_PATH = "/accounts/login/"
TOKEN_PATH = "/o/token/"

PASSWORD = "correct-horse-battery-staple"
# Hashed once: the PBKDF2 hasher of the test settings is deliberately slow.
HASHED_PASSWORD = make_password(PASSWORD)

# RFC 7636 §4.1-4.2: a verifier of 43-128 unreserved characters; S256 challenge.
CODE_VERIFIER = "flow-helpers-pkce-verifier-0123456789-abcdefghijklmnop"
CODE_CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).rstrip(b"=").decode()

# Distinctive pushed values, so that a leak into a URL or page is easy to spot.
STATE = "state-pushed-only-Q7m2"
NONCE = "nonce-pushed-only-K9x4"
CLAIMS_MARKER = "urn:example:acr:pushed-only-Z3"
CLAIMS = json.dumps({"id_token": {"acr": {"essential": True, "values": [CLAIMS_MARKER]}}})


def push_request(application: Any, **overrides: str | None) -> str:
    """Push an authorization request for ``application``; return its request_uri.

    Defaults: response_type=code, scope "openid read", the module's state,
    nonce and S256 code_challenge. An override of ``None`` leaves a parameter out.
    """
    params: dict[str, str | None] = {"code_challenge": CODE_CHALLENGE, "state": STATE, "nonce": NONCE}
    params.update(overrides)
    headers = {}
    if application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL:
        headers["authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
    response = push(Client(), code_request(application, **params), **headers)
    assert response.status_code == 201, response.content
    return str(response.json()["request_uri"])


def authorize_url(application: Any, request_uri: str, **extra: str) -> str:
    """The authorization URL a client sends the browser to (RFC 9126 §4)."""
    return AUTHORIZE_PATH + "?" + urlencode({"client_id": application.client_id, "request_uri": request_uri, **extra})


def plain_request(application: Any, **overrides: str | None) -> dict[str, str]:
    """A complete authorization request sent through the browser, not pushed (None drops a parameter)."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "read",
        "state": STATE,
        "code_challenge": CODE_CHALLENGE,
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in params.items() if value is not None}


def plain_url(application: Any, **overrides: str | None) -> str:
    return AUTHORIZE_PATH + "?" + urlencode(plain_request(application, **overrides))


def pushed_row(request_uri: str) -> PushedRequest:
    return PushedRequest.objects.get(request_uri_digest=request_uri_digest(request_uri))


def move_back_in_time(request_uri: str, seconds: float) -> None:
    """Pretend the pushed request was pushed (and used) ``seconds`` earlier."""
    delta = timedelta(seconds=seconds)
    PushedRequest.objects.filter(request_uri_digest=request_uri_digest(request_uri)).update(
        created_at=F("created_at") - delta, expires_at=F("expires_at") - delta
    )
    PushedRequest.objects.filter(request_uri_digest=request_uri_digest(request_uri), used_at__isnull=False).update(
        used_at=F("used_at") - delta
    )


def grant_prior_token(user: Any, application: Any, scope: str) -> Any:
    """An unexpired access token: the user approved ``scope`` for this client before."""
    return get_access_token_model().objects.create(
        user=user,
        application=application,
        token=f"prior-token-{user.pk}-{application.pk}-{scope.replace(' ', '-')}",
        scope=scope,
        expires=timezone.now() + timedelta(hours=1),
    )


class Browser:
    """A test client that behaves like a browser: cookies and CSRF tokens."""

    def __init__(self) -> None:
        self.client = Client(enforce_csrf_checks=True)

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, str]) -> Any:
        return self.client.post(url, {"csrfmiddlewaretoken": self.csrf_token, **data})

    @property
    def csrf_token(self) -> str:
        if "csrftoken" not in self.client.cookies:
            # As a browser that has shown some form of the site (here the login page).
            self.get(LOGIN_PATH)
        return str(self.client.cookies["csrftoken"].value)

    def force_login(self, user: Any) -> None:
        self.client.force_login(user)

    def log_in(self, user: Any, next_url: str) -> Any:
        """Fill in the login form as a user would; return the login view's answer."""
        login_url = LOGIN_PATH + "?" + urlencode({"next": next_url})
        page = self.get(login_url)
        assert page.status_code == 200, page.status_code
        return self.post(login_url, {"username": user.username, "password": PASSWORD, "next": next_url})

    def consent(self, url: str, allow: bool = True, **fields: str) -> Any:
        """Submit the consent form at ``url`` (Authorize or Cancel), plus any ``fields``."""
        data = dict(fields)
        if allow:
            data["allow"] = "Authorize"
        return self.post(url, data)

    @property
    def session(self) -> Any:
        return self.client.session


def location(response: Any) -> str:
    assert response.status_code == 302, (response.status_code, response.content[:500])
    return str(response["Location"])


def response_parameters(url: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL without query and fragment, query parameters, fragment parameters)."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return base, dict(parse_qsl(parts.query)), dict(parse_qsl(parts.fragment))


def authorization_response(response: Any, in_fragment: bool = False) -> dict[str, str]:
    """The parameters of a redirect to the client's REDIRECT_URI, checking where they are."""
    base, query, fragment = response_parameters(location(response))
    assert base == REDIRECT_URI
    if in_fragment:
        assert query == {}, query
        return fragment
    assert fragment == {}, fragment
    return query


def login_next(response: Any) -> str:
    """The ``next`` URL of a redirect to the login page."""
    parts = urlsplit(location(response))
    assert parts.path == LOGIN_PATH, location(response)
    return parse_qs(parts.query)["next"][0]


def assert_short_url(url: str, application: Any, request_uri: str) -> None:
    """The URL is the authorization endpoint with client_id and request_uri only."""
    parts = urlsplit(url)
    assert parts.path == AUTHORIZE_PATH
    assert parse_qs(parts.query) == {"client_id": [application.client_id], "request_uri": [request_uri]}
    assert parts.fragment == ""


def assert_error_page(response: Any, error: str) -> None:
    """An HTML error page naming ``error``: no redirect, nothing for the client."""
    assert response.status_code == 400, (response.status_code, response.get("Location"))
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert f"Error: {error}" in html, html
    assert "code=" not in html


class FormParser(HTMLParser):
    """Collects the forms and input fields of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self.forms.append(dict(attrs))
        elif tag == "input":
            self.inputs.append(dict(attrs))


def parse_forms(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


def exchange_code(application: Any, code: str, verifier: str = CODE_VERIFIER, redirect_uri: str = REDIRECT_URI) -> Any:
    """The client redeems the code at DOT's token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier}
    headers = {}
    if application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL:
        headers["authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
    else:
        data["client_id"] = application.client_id
    return Client().post(TOKEN_PATH, urlencode(data), content_type="application/x-www-form-urlencoded", headers=headers)


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWS compact serialisation (not verified: only its claims are tested)."""
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


# -- fixtures ------------------------------------------------------------------


@pytest.fixture
def user(db: None) -> Any:
    """A user who can log in with PASSWORD."""
    return UserFactory(password=HASHED_PASSWORD)


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def logged_in_browser(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


@pytest.fixture
def skip_consent_app(db: None) -> Any:
    """A trusted client: DOT grants it without a consent page (skip_authorization)."""
    return ConfidentialApplicationFactory(skip_authorization=True)
