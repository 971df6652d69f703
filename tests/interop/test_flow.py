"""A full PAR flow between a real OAuth client library and a live server.

requests-oauth2client plays the relying party: it reads the OpenID discovery
document, pushes the authorization request (RFC 9126), validates the
authorization response (state, RFC 9207 ``iss``), exchanges the code with its
PKCE verifier and validates the ID token against the server's JWKS. A plain
``requests.Session`` plays the user's browser in between: it follows the
short authorization URL to the login page, logs in, approves on the consent
page and stops at the redirect to the client's redirect_uri.

Every HTTP exchange crosses a real socket to pytest-django's ``live_server``,
so these tests need a transactional database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit, urlunsplit

import pytest
import requests
from django.contrib.auth.hashers import make_password
from jwskate import JwkSet
from requests_oauth2client import (
    AuthorizationRequest,
    AuthorizationResponse,
    BearerToken,
    ClientSecretBasic,
    IdToken,
    InvalidGrant,
    OAuth2Client,
    PublicApp,
    RequestUriParameterAuthorizationRequest,
)

from tests.helpers.factories import (
    CLIENT_SECRET,
    REDIRECT_URI,
    ConfidentialApplicationFactory,
    PublicApplicationFactory,
    UserFactory,
)

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

# Generous: the password hasher is slow on purpose, and CI machines are small.
HTTP_TIMEOUT = 60
USER_PASSWORD = "correct-horse-battery-staple"
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


class TimeoutSession(requests.Session):
    """A session whose requests never wait forever."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


# -- reading HTML forms like a browser ----------------------------------------


@dataclass
class Form:
    attrs: dict[str, str]
    inputs: list[dict[str, str]] = field(default_factory=list)

    def submission(self, submit: str | None = None, **values: str) -> dict[str, str]:
        """The fields a browser sends: every non-button input, ``values`` typed in, the clicked button."""
        data = {
            item["name"]: item.get("value", "")
            for item in self.inputs
            if item.get("name") and item.get("type", "text").lower() not in ("submit", "button", "image", "reset")
        }
        for name, value in values.items():
            assert name in data, f"the form has no field {name!r}: {sorted(data)}"
            data[name] = value
        if submit is not None:
            buttons = [item for item in self.inputs if item.get("name") == submit and item.get("type") == "submit"]
            assert buttons, f"the form has no submit button named {submit!r}"
            data[submit] = buttons[0].get("value", "")
        return data

    def action_url(self, page_url: str) -> str:
        # An absent or empty action submits to the page's own URL (HTML §4.10.21.3).
        return urljoin(page_url, self.attrs.get("action") or page_url)


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values))
            self.in_form = True
        elif tag in ("input", "button") and self.in_form:
            if tag == "button":
                values.setdefault("type", "submit")
            self.forms[-1].inputs.append(values)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False


def find_form(html: str, with_field: str) -> Form:
    parser = FormParser()
    parser.feed(html)
    matching = [form for form in parser.forms if any(item.get("name") == with_field for item in form.inputs)]
    assert len(matching) == 1, f"expected one form with a {with_field!r} field, found {len(matching)}"
    assert matching[0].attrs.get("method", "get").lower() == "post"
    return matching[0]


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def without_query(url: str) -> str:
    scheme, netloc, path, _, _ = urlsplit(url)
    return urlunsplit((scheme, netloc, path, "", ""))


# -- the browser ----------------------------------------------------------------


def authorize_in_browser(
    authorization_url: str, username: str, password: str, request: AuthorizationRequest, application_name: str
) -> str:
    """Drive a browser from the authorization URL to the redirect; return its Location.

    The browser follows no redirect by itself, so that every hop is checked and
    the final redirect to the client (which does not exist) is never fetched.
    """
    browser = TimeoutSession()

    # 1. Not logged in: the authorization endpoint sends the browser to log in,
    # with a `next` that carries only client_id and request_uri.
    response = browser.get(authorization_url, allow_redirects=False)
    assert response.status_code == 302, response.text
    login_url = urljoin(authorization_url, response.headers["Location"])
    assert urlsplit(login_url).path == "/accounts/login/"
    (next_url,) = query_of(login_url)["next"]
    assert set(query_of(next_url)) == {"client_id", "request_uri"}
    assert urljoin(authorization_url, next_url) == authorization_url

    # 2. The login page and its form, CSRF token included.
    response = browser.get(login_url, allow_redirects=False)
    assert response.status_code == 200, response.text
    assert "csrftoken" in browser.cookies
    login_form = find_form(response.text, "password")
    data = login_form.submission(username=username, password=password)
    assert data["csrfmiddlewaretoken"] and data["next"] == next_url
    response = browser.post(login_form.action_url(response.url), data=data, allow_redirects=False)
    assert response.status_code == 302, f"login failed: {response.status_code} {response.text[:2000]}"
    back_url = urljoin(response.url, response.headers["Location"])
    assert back_url == authorization_url

    # 3. Logged in: the consent page. None of the pushed values travels through it.
    response = browser.get(back_url, allow_redirects=False)
    assert response.status_code == 200, response.text
    assert application_name in response.text
    for secret_value in (request.state, request.nonce, request.code_challenge):
        assert secret_value and secret_value not in response.text
    consent_form = find_form(response.text, "allow")
    data = consent_form.submission(submit="allow")
    assert data["csrfmiddlewaretoken"]

    # 4. Approve: a 302 to the client's redirect_uri, which is not followed.
    response = browser.post(consent_form.action_url(response.url), data=data, allow_redirects=False)
    assert response.status_code == 302, f"consent failed: {response.status_code} {response.text[:2000]}"
    location = response.headers["Location"]

    # 5. The request_uri was spent on that response (RFC 9126 §7.3).
    response = browser.get(authorization_url, allow_redirects=False)
    assert response.status_code == 400
    assert "invalid_request_uri" in response.text
    return location


# -- the relying party ------------------------------------------------------------


@dataclass
class FlowResult:
    client: OAuth2Client
    request: AuthorizationRequest
    pushed: RequestUriParameterAuthorizationRequest
    location: str
    response: AuthorizationResponse
    token: BearerToken


def run_flow(server_url: str, auth: requests.auth.AuthBase, application: Any, user: Any) -> FlowResult:
    issuer = f"{server_url}/o"
    # testing=True only lifts the library's https-only rule for endpoint URLs.
    client = OAuth2Client.from_discovery_endpoint(
        url=f"{issuer}/.well-known/openid-configuration",
        issuer=issuer,
        auth=auth,
        redirect_uri=REDIRECT_URI,
        session=TimeoutSession(),
        testing=True,
    )
    assert client.issuer == issuer
    assert client.pushed_authorization_request_endpoint == f"{server_url}/o/par/"
    assert client.authorization_endpoint == f"{server_url}/o/authorize/"
    assert client.jwks_uri == f"{issuer}/.well-known/jwks.json"
    assert len(client.authorization_server_jwks) >= 1

    # Push: state, nonce and a PKCE S256 pair are generated by the library.
    # RFC 9207 made mandatory: validate_callback() refuses a response without
    # an iss equal to the discovered issuer.
    request = client.authorization_request(scope="openid read", authorization_response_iss_parameter_supported=True)
    assert request.issuer == issuer
    assert request.code_challenge_method == "S256" and request.code_verifier and request.code_challenge
    assert request.state and request.nonce
    pushed = client.pushed_authorization_request(request)
    assert isinstance(pushed, RequestUriParameterAuthorizationRequest)
    assert pushed.request_uri.startswith(REQUEST_URI_PREFIX)
    assert pushed.expires_at is not None
    authorization_url = pushed.uri
    assert without_query(authorization_url) == client.authorization_endpoint
    assert query_of(authorization_url) == {"client_id": [application.client_id], "request_uri": [pushed.request_uri]}

    location = authorize_in_browser(authorization_url, user.username, USER_PASSWORD, request, application.name)

    # The authorization response, checked by hand and then by the library.
    assert without_query(location) == REDIRECT_URI
    params = query_of(location)
    assert set(params) == {"code", "state", "iss"}, params
    assert params["state"] == [request.state]
    assert params["iss"] == [issuer]
    assert params["code"][0]
    response = request.validate_callback(location)
    assert response.code == params["code"][0]
    assert response.state == request.state
    # The library keeps the received iss among the extra parameters.
    assert response.iss == issuer
    assert response.code_verifier == request.code_verifier
    assert response.nonce == request.nonce

    # The code exchange; with validate=True the library checks the ID token
    # (signature with the discovered JWKS, aud, azp, exp, nonce, at_hash; not
    # iss, as the response object does not carry it as its `issuer`).
    token = client.authorization_code(response, validate=True)
    assert token.access_token and token.token_type.lower() == "bearer"
    assert set(token.scope.split()) == {"openid", "read"}
    assert isinstance(token.id_token, IdToken), "the token response carries no ID token"

    # The same checks once more, independently: keys fetched here from the
    # JWKS document, each expected claim spelled out.
    jwks = JwkSet(requests.get(f"{issuer}/.well-known/jwks.json", timeout=HTTP_TIMEOUT).json())
    id_token = token.id_token
    assert id_token.alg == "RS256"
    id_token.validate(
        jwks.get_jwk_by_kid(id_token.kid),
        alg="RS256",
        issuer=issuer,
        audience=application.client_id,
        nonce=request.nonce,
    )
    assert id_token.issuer == issuer
    assert application.client_id in id_token.audiences
    assert id_token.nonce == request.nonce
    assert id_token.subject == str(user.pk)

    # The access token works at the UserInfo endpoint.
    assert client.userinfo(token)["sub"] == str(user.pk)

    # An authorization code is good for one exchange only.
    with pytest.raises(InvalidGrant):
        client.authorization_code(response, validate=False)

    return FlowResult(client, request, pushed, location, response, token)


@pytest.fixture
def user(transactional_db: None) -> Any:
    return UserFactory(password=make_password(USER_PASSWORD))


def test_confidential_client_with_client_secret_basic(live_server: Any, user: Any) -> None:
    application = ConfidentialApplicationFactory()
    auth = ClientSecretBasic(application.client_id, CLIENT_SECRET)
    result = run_flow(live_server.url, auth, application, user)
    assert result.client.client_id == application.client_id


def test_public_client_with_client_id_only(live_server: Any, user: Any) -> None:
    application = PublicApplicationFactory()
    result = run_flow(live_server.url, PublicApp(application.client_id), application, user)
    assert result.client.client_id == application.client_id
