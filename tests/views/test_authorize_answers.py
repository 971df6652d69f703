"""What every answer of the authorization endpoint carries, pushed or not.

- ``Cache-Control: no-store`` and ``Pragma: no-cache`` on each kind of answer:
  the login redirect, the consent page, the redirect with a code or an error,
  the form_post page, the error pages, the prompt=none errors.
- ``iss`` (RFC 9207 §2) once in every authorization response that goes to the
  client, in the query or the fragment, for requests that were not pushed too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import override_settings

from tests.helpers.factories import ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    AUTHORIZE_PATH,
    ISSUER,
    Browser,
    authorization_response,
    authorize_url,
    location,
    parse_forms,
    plain_url,
    push_request,
)

# The browser, user and client fixtures of the flow helpers.
pytest_plugins = ["tests.helpers.flow_fixtures"]

pytestmark = [
    pytest.mark.django_db,
    # DOT warns that the implicit grant is discouraged (RFC 9700); it is still allowed by default.
    pytest.mark.filterwarnings("ignore:The OAuth 2.0 implicit grant:DeprecationWarning"),
]

# DOT 3.4 adds iss itself when this is on; older DOT releases ignore the key.
DOT_ADDS_ISS = override_settings(
    OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True}
)


def implicit_app() -> Any:
    return ConfidentialApplicationFactory(authorization_grant_type="implicit", skip_authorization=True)


def plain_consent(browser: Browser, url: str, allow: bool) -> Any:
    """Submit DOT's consent form of a plain request, with the hidden fields DOT put in it."""
    page = browser.get(url)
    assert page.status_code == 200, page.content[:300]
    inputs = parse_forms(page.content.decode()).inputs
    fields = {str(field["name"]): field.get("value") or "" for field in inputs if field.get("name")}
    fields = {name: value for name, value in fields.items() if name not in {"allow", "csrfmiddlewaretoken"}}
    return browser.consent(url, allow=allow, **fields)


def iss_values(url: str) -> tuple[list[str], list[str]]:
    """The iss values in the query and in the fragment of ``url``."""
    parts = urlsplit(url)
    query = [value for name, value in parse_qsl(parts.query) if name == "iss"]
    fragment = [value for name, value in parse_qsl(parts.fragment) if name == "iss"]
    return query, fragment


# -- Cache-Control: no-store -----------------------------------------------------------


def anonymous(user: Any) -> Browser:
    return Browser()


def logged_in(user: Any) -> Browser:
    browser = Browser()
    browser.force_login(user)
    return browser


def pushed_login_redirect(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    return anonymous(user).get(authorize_url(application, push_request(application)))


def plain_login_redirect(user: Any) -> Any:
    return anonymous(user).get(plain_url(ConfidentialApplicationFactory()))


def pushed_consent_page(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    return logged_in(user).get(authorize_url(application, push_request(application)))


def plain_consent_page(user: Any) -> Any:
    return logged_in(user).get(plain_url(ConfidentialApplicationFactory()))


def pushed_code(user: Any) -> Any:
    application = ConfidentialApplicationFactory(skip_authorization=True)
    return logged_in(user).get(authorize_url(application, push_request(application)))


def plain_code(user: Any) -> Any:
    return logged_in(user).get(plain_url(ConfidentialApplicationFactory(skip_authorization=True)))


def pushed_code_after_consent(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    url = authorize_url(application, push_request(application))
    browser = logged_in(user)
    browser.get(url)
    return browser.consent(url, allow=True)


def plain_code_after_consent(user: Any) -> Any:
    return plain_consent(logged_in(user), plain_url(ConfidentialApplicationFactory()), allow=True)


def pushed_access_denied(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    url = authorize_url(application, push_request(application))
    browser = logged_in(user)
    browser.get(url)
    return browser.consent(url, allow=False)


def plain_access_denied(user: Any) -> Any:
    return plain_consent(logged_in(user), plain_url(ConfidentialApplicationFactory()), allow=False)


def plain_error_redirect(user: Any) -> Any:
    return logged_in(user).get(plain_url(ConfidentialApplicationFactory(skip_authorization=True), scope="admin"))


def pushed_form_post_page(user: Any) -> Any:
    application = ConfidentialApplicationFactory(skip_authorization=True)
    return logged_in(user).get(authorize_url(application, push_request(application, response_mode="form_post")))


def pushed_error_page(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    return anonymous(user).get(authorize_url(application, "urn:ietf:params:oauth:request_uri:unknown"))


def plain_error_page_of_dot(user: Any) -> Any:
    return logged_in(user).get(
        AUTHORIZE_PATH + "?" + urlencode({"client_id": "no-such-client", "response_type": "code"})
    )


@override_settings(DJANGO_PAR={"REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": True})
def plain_refused_par_required(user: Any) -> Any:
    return logged_in(user).get(plain_url(ConfidentialApplicationFactory()))


def pushed_prompt_none_error(user: Any) -> Any:
    application = ConfidentialApplicationFactory()
    return anonymous(user).get(authorize_url(application, push_request(application, prompt="none")))


def plain_prompt_none_error(user: Any) -> Any:
    return anonymous(user).get(plain_url(ConfidentialApplicationFactory(), prompt="none"))


ANSWERS: dict[str, tuple[Callable[[Any], Any], int]] = {
    "pushed login redirect": (pushed_login_redirect, 302),
    "plain login redirect": (plain_login_redirect, 302),
    "pushed consent page": (pushed_consent_page, 200),
    "plain consent page": (plain_consent_page, 200),
    "pushed code without consent page": (pushed_code, 302),
    "plain code without consent page": (plain_code, 302),
    "pushed code after consent": (pushed_code_after_consent, 302),
    "plain code after consent": (plain_code_after_consent, 302),
    "pushed access_denied": (pushed_access_denied, 302),
    "plain access_denied": (plain_access_denied, 302),
    "plain invalid_scope redirect": (plain_error_redirect, 302),
    "pushed form_post page": (pushed_form_post_page, 200),
    "pushed error page": (pushed_error_page, 400),
    "plain error page of DOT": (plain_error_page_of_dot, 400),
    "plain request refused, PAR required": (plain_refused_par_required, 400),
    "pushed prompt=none error": (pushed_prompt_none_error, 302),
    "plain prompt=none error": (plain_prompt_none_error, 302),
}


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_answer_is_no_store(user: Any, answer: str) -> None:
    make, status = ANSWERS[answer]
    response = make(user)
    assert response.status_code == status, (response.status_code, response.get("Location"), response.content[:300])
    assert response["Cache-Control"] == "no-store"
    assert response["Pragma"] == "no-cache"


# -- iss on every authorization response (RFC 9207 §2) ----------------------------------


def test_a_plain_code_response_carries_iss(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    answer = authorization_response(logged_in_browser.get(plain_url(skip_consent_app)))
    assert set(answer) == {"code", "state", "iss"}
    assert answer["iss"] == ISSUER


def test_a_plain_access_denied_carries_iss(logged_in_browser: Browser, confidential_app: Any) -> None:
    response = plain_consent(logged_in_browser, plain_url(confidential_app), allow=False)
    answer = authorization_response(response)
    assert answer["error"] == "access_denied"
    assert answer["iss"] == ISSUER


def test_a_plain_error_redirect_carries_iss(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    answer = authorization_response(logged_in_browser.get(plain_url(skip_consent_app, scope="admin")))
    assert answer["error"] == "invalid_scope"
    assert answer["iss"] == ISSUER


def test_a_plain_prompt_none_error_carries_iss(browser: Browser, confidential_app: Any) -> None:
    answer = authorization_response(browser.get(plain_url(confidential_app, prompt="none")))
    assert answer["error"] == "login_required"
    assert answer["iss"] == ISSUER


def test_a_plain_fragment_response_carries_iss_in_the_fragment(logged_in_browser: Browser) -> None:
    application = implicit_app()
    url = plain_url(application, response_type="token", code_challenge=None, code_challenge_method=None)
    response = logged_in_browser.get(url)
    answer = authorization_response(response, in_fragment=True)
    assert answer["access_token"]
    assert iss_values(location(response)) == ([], [ISSUER])


@pytest.mark.parametrize("dot_adds_iss", [False, True], ids=["DOT adds none", "DOT adds iss"])
def test_a_plain_response_has_one_iss(logged_in_browser: Browser, skip_consent_app: Any, dot_adds_iss: bool) -> None:
    if dot_adds_iss:
        with DOT_ADDS_ISS:
            response = logged_in_browser.get(plain_url(skip_consent_app))
    else:
        response = logged_in_browser.get(plain_url(skip_consent_app))
    assert iss_values(location(response)) == ([ISSUER], [])


@pytest.mark.parametrize("dot_adds_iss", [False, True], ids=["DOT adds none", "DOT adds iss"])
@pytest.mark.parametrize("response_mode", ["query", "fragment"])
def test_a_pushed_response_still_has_one_iss(
    logged_in_browser: Browser, skip_consent_app: Any, dot_adds_iss: bool, response_mode: str
) -> None:
    url = authorize_url(skip_consent_app, push_request(skip_consent_app, response_mode=response_mode))
    if dot_adds_iss:
        with DOT_ADDS_ISS:
            response = logged_in_browser.get(url)
    else:
        response = logged_in_browser.get(url)
    expected = ([ISSUER], []) if response_mode == "query" else ([], [ISSUER])
    assert iss_values(location(response)) == expected


def test_a_pushed_implicit_response_has_one_iss_in_the_fragment(logged_in_browser: Browser) -> None:
    application = implicit_app()
    request_uri = push_request(
        application, response_type="token", scope="read", code_challenge=None, code_challenge_method=None
    )
    response = logged_in_browser.get(authorize_url(application, request_uri))
    assert iss_values(location(response)) == ([], [ISSUER])


# -- prompt=none of a plain request: no open redirect (DOT before 3.4 had one) ----------------


@pytest.mark.parametrize(
    "client_id, redirect_uri",
    [("no-such-client", "https://evil.example/cb"), (None, "https://evil.example/cb")],
    ids=["unknown client", "registered client, other redirect_uri"],
)
def test_a_plain_prompt_none_never_redirects_to_an_unregistered_uri(
    browser: Browser, confidential_app: Any, client_id: str | None, redirect_uri: str
) -> None:
    url = plain_url(confidential_app, prompt="none", redirect_uri=redirect_uri)
    if client_id is not None:
        url = plain_url(confidential_app, prompt="none", redirect_uri=redirect_uri, client_id=client_id)
    response = browser.get(url)
    assert response.status_code == 400, response.get("Location")
    assert not response.has_header("Location")
