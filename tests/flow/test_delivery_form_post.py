"""Pushed requests answered in the form_post response mode (OAuth 2.0 Form Post Response Mode).

Every authorization response of a pushed request with response_mode=form_post
(a code after consent or without a consent page, access_denied, a prompt=none
error, tokens of the implicit grant) is a 200 HTML page whose one form POSTs
the response parameters to the redirect URI: never cached, under a
Content-Security-Policy that allows only the page's own inline script (by the
hash of the text actually sent), with a ``<noscript>`` button for browsers
without JavaScript.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.factories import REDIRECT_URI, ConfidentialApplicationFactory
from tests.helpers.flow_helpers import (
    ISSUER,
    STATE,
    Browser,
    assert_error_page,
    authorize_url,
    exchange_code,
    login_next,
    push_request,
)
from tests.helpers.response_mode_helpers import (
    FormPostPage,
    assert_form_post,
    csp_directives,
    form_post_page,
    script_hash,
)

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.helpers.flow_fixtures"]

# A state that would break out of an attribute, open a tag or start an entity
# if it were not escaped; also non-ASCII text.
HOSTILE_STATE = "st\"ate' onfocus=alert(1) x=\"><script>alert('x')</script>&amp;&lt;é€ <!--"


# -- the helpers can fail -----------------------------------------------------------


def test_the_page_checks_fail_on_a_wrong_hash_or_a_missing_noscript_button() -> None:
    """Sanity check of the checks used below: a page they must refuse."""
    page = FormPostPage(
        html="",
        forms=[{"method": "post", "action": REDIRECT_URI}],
        inputs=[{"type": "hidden", "name": "code", "value": "x"}],
        scripts=["document.forms[0].submit();"],
        script_attrs=[{}],
        noscript_buttons=[{"type": "submit"}],
        csp=csp_directives(
            f"default-src 'none'; script-src {script_hash('document.forms[0].submit();')}; frame-ancestors 'none'"
        ),
    )
    assert assert_form_post(page, REDIRECT_URI) == {"code": "x"}
    with pytest.raises(AssertionError):
        assert_form_post(FormPostPage(**{**page.__dict__, "scripts": ["document.forms[0].submit() ;"]}), REDIRECT_URI)
    with pytest.raises(AssertionError):
        assert_form_post(FormPostPage(**{**page.__dict__, "noscript_buttons": []}), REDIRECT_URI)
    with pytest.raises(AssertionError):
        assert_form_post(page, REDIRECT_URI + "x")


# -- code responses ----------------------------------------------------------------


def test_after_login_and_consent_the_code_is_posted_to_the_redirect_uri(
    browser: Browser, user: Any, confidential_app: Any
) -> None:
    request_uri = push_request(confidential_app, response_mode="form_post")
    next_url = login_next(browser.get(authorize_url(confidential_app, request_uri)))
    browser.log_in(user, next_url)
    assert browser.get(next_url).status_code == 200  # the consent page

    page = form_post_page(browser.consent(next_url, allow=True))
    fields = assert_form_post(page, REDIRECT_URI)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == STATE
    assert fields["iss"] == ISSUER  # RFC 9207
    # The posted code is a real one.
    token_response = exchange_code(confidential_app, fields["code"])
    assert token_response.status_code == 200, token_response.content


def test_a_skip_authorization_client_gets_the_form_without_a_consent_page(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, response_mode="form_post")
    page = form_post_page(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    fields = assert_form_post(page, REDIRECT_URI)
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == STATE
    assert fields["iss"] == ISSUER
    assert exchange_code(skip_consent_app, fields["code"]).status_code == 200


def test_the_form_post_page_spends_the_request_uri(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    """The page is the authorization response: reloading it must not give a second code."""
    request_uri = push_request(skip_consent_app, response_mode="form_post")
    url = authorize_url(skip_consent_app, request_uri)
    form_post_page(logged_in_browser.get(url))
    assert_error_page(logged_in_browser.get(url), "invalid_request_uri")


def test_the_code_is_only_in_the_form_body(logged_in_browser: Browser, skip_consent_app: Any) -> None:
    """Nothing of the response leaks into the form's action URL."""
    request_uri = push_request(skip_consent_app, response_mode="form_post")
    page = form_post_page(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    fields = assert_form_post(page, REDIRECT_URI)
    assert "?" not in str(page.action) and "#" not in str(page.action)
    assert page.html.count(fields["code"]) == 1


# -- error responses ----------------------------------------------------------------


def test_a_denied_consent_posts_access_denied(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, response_mode="form_post")
    url = authorize_url(confidential_app, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    fields = assert_form_post(form_post_page(logged_in_browser.consent(url, allow=False)), REDIRECT_URI)
    assert fields["error"] == "access_denied"
    assert set(fields) <= {"error", "error_description", "state", "iss"}
    assert fields["state"] == STATE
    assert fields["iss"] == ISSUER


def test_prompt_none_without_a_login_posts_login_required(browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, response_mode="form_post", prompt="none")
    fields = assert_form_post(form_post_page(browser.get(authorize_url(confidential_app, request_uri))), REDIRECT_URI)
    assert set(fields) == {"error", "error_description", "state", "iss"}
    assert fields["error"] == "login_required"
    assert fields["error_description"]
    assert fields["state"] == STATE
    assert fields["iss"] == ISSUER


def test_prompt_none_without_consent_posts_consent_required(logged_in_browser: Browser, confidential_app: Any) -> None:
    request_uri = push_request(confidential_app, response_mode="form_post", prompt="none")
    page = form_post_page(logged_in_browser.get(authorize_url(confidential_app, request_uri)))
    fields = assert_form_post(page, REDIRECT_URI)
    assert fields["error"] == "consent_required"
    assert fields["state"] == STATE


# -- tokens of the implicit grant ----------------------------------------------------------


def test_implicit_tokens_are_posted_not_put_in_a_url(logged_in_browser: Browser) -> None:
    application = ConfidentialApplicationFactory(authorization_grant_type="implicit", skip_authorization=True)
    request_uri = push_request(
        application,
        response_type="token",
        response_mode="form_post",
        scope="read",
        code_challenge=None,
        code_challenge_method=None,
    )
    page = form_post_page(logged_in_browser.get(authorize_url(application, request_uri)))
    fields = assert_form_post(page, REDIRECT_URI)
    assert fields["access_token"]
    assert fields["token_type"] == "Bearer"
    assert fields["state"] == STATE
    assert fields["iss"] == ISSUER
    assert "code" not in fields


# -- escaping -------------------------------------------------------------------------


def test_a_hostile_state_round_trips_unchanged_and_stays_in_its_attribute(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    request_uri = push_request(skip_consent_app, response_mode="form_post", state=HOSTILE_STATE)
    page = form_post_page(logged_in_browser.get(authorize_url(skip_consent_app, request_uri)))
    fields = assert_form_post(page, REDIRECT_URI)  # still one script, no inline handler
    assert fields["state"] == HOSTILE_STATE
    assert set(fields) == {"code", "state", "iss"}  # no extra attribute became a field
    assert "alert" not in "".join(page.scripts)
    assert page.html.count("<script") == 1
    assert "<!--" not in page.html
    assert HOSTILE_STATE not in page.html  # only its escaped form is in the HTML
    assert '"><script>' not in page.html


def test_a_redirect_uri_with_a_query_and_a_port(logged_in_browser: Browser) -> None:
    """The action keeps the registered URI exactly (its & escaped in HTML)."""
    redirect_uri = "https://client.example.org:8443/cb?tenant=a&lang=en"
    application = ConfidentialApplicationFactory(redirect_uris=redirect_uri, skip_authorization=True)
    request_uri = push_request(application, response_mode="form_post", redirect_uri=redirect_uri)
    page = form_post_page(logged_in_browser.get(authorize_url(application, request_uri)))
    fields = assert_form_post(page, redirect_uri)
    assert "tenant=a&lang" not in page.html  # & is escaped in the attribute
    # The redirect URI's own parameters stay in the action, not among the response fields.
    assert set(fields) == {"code", "state", "iss"}


def test_the_csp_hash_matches_the_received_script_not_a_constant(
    logged_in_browser: Browser, skip_consent_app: Any
) -> None:
    """The hash in the header is recomputed here from the page: the two must agree byte for byte."""
    request_uri = push_request(skip_consent_app, response_mode="form_post")
    response = logged_in_browser.get(authorize_url(skip_consent_app, request_uri))
    page = form_post_page(response)
    [script] = page.scripts
    assert "submit" in script
    assert csp_directives(response["Content-Security-Policy"])["script-src"] == [script_hash(script)]
    for directive, sources in page.csp.items():
        assert "'unsafe-inline'" not in sources, directive
        assert "'unsafe-eval'" not in sources, directive
        assert "*" not in sources, directive
