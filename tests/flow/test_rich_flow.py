"""Richer pushed requests through the whole flow with the test client: push, consent, code, token, refresh.

authorization_details (RFC 9396 §7, §7.3, §6.1, §9.2), resource (RFC 8707, DOT 3.4's audience
restriction), unregistered redirect URIs (RFC 9126 §2.4); with each client authentication
method and with DPoP (RFC 9449).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, override_settings
from jwcrypto import jwk
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from django_par import dot
from django_par.dpop import binding
from django_par.flow import granted_details
from django_par.models import AuthorizationDetails, ClientMetadata
from tests.conftest import basic_auth, code_request, push
from tests.dpop.helpers import TOKEN_ENDPOINT, dpop_key, proof, thumbprint
from tests.helpers.factories import (
    CLIENT_SECRET,
    REDIRECT_URI,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
)
from tests.helpers.flow_helpers import (
    CODE_CHALLENGE,
    CODE_VERIFIER,
    TOKEN_PATH,
    Browser,
    assert_error_page,
    authorization_response,
    authorize_url,
    location,
    plain_url,
    response_parameters,
)
from tests.helpers.jwt_helpers import (
    DJANGO_PAR_VALIDATOR,
    assertion_params,
    b64url,
    client_assertion,
    dot_validator,
    private_key,
    public_jwks,
)
from tests.helpers.rich_requests import ACCOUNTS, PAYMENT, RICH_SETTINGS, details_json

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.helpers.flow_fixtures"]

needs_rfc8707 = pytest.mark.skipif(not dot.supports_resource_indicators(), reason="DOT before 3.4 has no RFC 8707")

API = "https://api.example.org/"
OTHER_API = "https://other.example.org/v1"
UNREGISTERED = "https://app.example.org/cb/session-42"
EC_KEY = private_key("EC")
METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt", "none")
# jwcrypto refuses HMAC keys shorter than the hash (RFC 7518 §3.2): client_secret_jwt gets a long secret.
LONG_SECRET = "a-client-secret-long-enough-for-client-secret-jwt-" + "x" * 20


@pytest.fixture(autouse=True)
def validator(settings: Any) -> Any:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        yield


def make_client(method: str = "client_secret_basic", skip: bool = False, **metadata: Any) -> Any:
    factory = PublicApplicationFactory if method == "none" else PlainSecretApplicationFactory
    secret = LONG_SECRET if method == "client_secret_jwt" else CLIENT_SECRET
    application = factory(skip_authorization=skip, client_secret=secret, hash_client_secret=False)
    fields: dict[str, Any] = {"authorization_details_types": ["payment_initiation", "account_information"]}
    if method == "private_key_jwt":
        fields.update(token_endpoint_auth_method="private_key_jwt", jwks=public_jwks(EC_KEY))
    elif method == "client_secret_jwt":
        fields.update(token_endpoint_auth_method="client_secret_jwt")
    fields.update(metadata)
    ClientMetadata.objects.create(application=application, **fields)
    application.method = method
    return application


def authenticated(
    application: Any, data: list[tuple[str, str]], aud: str
) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The form and headers of a request from ``application`` with its authentication method."""
    method = getattr(application, "method", "client_secret_basic")
    headers: dict[str, str] = {}
    if method == "client_secret_basic":
        headers["authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
    elif method == "client_secret_post":
        data = [*data, ("client_id", application.client_id), ("client_secret", CLIENT_SECRET)]
    elif method == "private_key_jwt":
        data = [*data, *assertion_params(client_assertion(application.client_id, EC_KEY, aud=aud)).items()]
    elif method == "client_secret_jwt":
        key = jwk.JWK(kty="oct", k=b64url(LONG_SECRET.encode()))
        data = [*data, *assertion_params(client_assertion(application.client_id, key, "HS256", aud=aud)).items()]
    else:
        data = [*data, ("client_id", application.client_id)]
    return data, headers


def rich_push(application: Any, *extra: tuple[str, str], dpop: str | None = None, **overrides: str | None) -> Any:
    overrides.setdefault("code_challenge", CODE_CHALLENGE)
    base = [(k, v) for k, v in code_request(application, **overrides).items() if k != "client_id"]
    data, headers = authenticated(application, [*base, *extra], "http://testserver/o")
    if dpop is not None:
        headers["DPoP"] = dpop
    return push(Client(), data, **headers)


def request_uri_of(response: Any) -> str:
    assert response.status_code == 201, response.content
    return str(response.json()["request_uri"])


def token_request(application: Any, data: dict[str, str], dpop: str | None = None) -> Any:
    form, headers = authenticated(application, list(data.items()), "http://testserver/o")
    if dpop is not None:
        headers["DPoP"] = dpop
    return Client().post(TOKEN_PATH, urlencode(form), content_type="application/x-www-form-urlencoded", headers=headers)


def redeem(application: Any, code: str, redirect_uri: str = REDIRECT_URI, **extra: str) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return token_request(application, {**data, "code_verifier": CODE_VERIFIER, **extra}, extra.pop("dpop", None))


def consent_and_code(browser: Browser, application: Any, request_uri: str) -> tuple[Any, str]:
    url = authorize_url(application, request_uri)
    page = browser.get(url)
    assert page.status_code == 200, page.content[:500]
    return page, authorization_response(browser.consent(url))["code"]


# -- authorization_details -------------------------------------------------------------------------


@override_settings(DJANGO_PAR=RICH_SETTINGS)
@pytest.mark.parametrize("method", METHODS)
def test_authorization_details_from_push_to_token_and_refresh(method: str, logged_in_browser: Browser) -> None:
    application = make_client(method)
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT, ACCOUNTS))))
    page, code = consent_and_code(logged_in_browser, application, request_uri)
    assert page.context["authorization_details"] == [PAYMENT, ACCOUNTS]
    grant = get_grant_model().objects.get(code=code)
    assert granted_details.grant_details(grant) == [PAYMENT, ACCOUNTS]

    response = redeem(application, code)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["authorization_details"] == [PAYMENT, ACCOUNTS]  # RFC 9396 §7
    access = get_access_token_model().objects.get(token=body["access_token"])
    assert granted_details.introspection_claims(access) == {"authorization_details": [PAYMENT, ACCOUNTS]}

    again = token_request(application, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert again.status_code == 200, again.content
    assert again.json()["authorization_details"] == [PAYMENT, ACCOUNTS]  # §7.3


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_token_request_may_narrow_but_never_widen(logged_in_browser: Browser) -> None:
    application = make_client()
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT))))
    _page, code = consent_and_code(logged_in_browser, application, request_uri)
    wider = redeem(application, code, authorization_details=details_json(PAYMENT, ACCOUNTS))
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_authorization_details", wider.content
    # The refused request spent nothing: the code still works, for what was granted or part of it.
    response = redeem(application, code, authorization_details=details_json(PAYMENT))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["authorization_details"] == [PAYMENT]
    other = token_request(
        application,
        {
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "authorization_details": details_json(ACCOUNTS),
        },
    )
    assert other.status_code == 400 and other.json()["error"] == "invalid_authorization_details"


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_refresh_narrowed_to_part_of_the_grant(logged_in_browser: Browser) -> None:
    application = make_client()
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT, ACCOUNTS))))
    _page, code = consent_and_code(logged_in_browser, application, request_uri)
    body = redeem(application, code).json()
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    narrowed = token_request(application, {**data, "authorization_details": details_json(ACCOUNTS)})
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["authorization_details"] == [ACCOUNTS]


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_without_authorization_details_the_token_response_has_none(logged_in_browser: Browser) -> None:
    application = make_client()
    _page, code = consent_and_code(logged_in_browser, application, request_uri_of(rich_push(application)))
    body = redeem(application, code).json()
    assert "authorization_details" not in body
    assert not AuthorizationDetails.objects.exists()


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_denied_consent_keeps_nothing(logged_in_browser: Browser) -> None:
    application = make_client()
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT))))
    url = authorize_url(application, request_uri)
    assert logged_in_browser.get(url).status_code == 200
    assert authorization_response(logged_in_browser.consent(url, allow=False))["error"] == "access_denied"
    assert not AuthorizationDetails.objects.exists()


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_skip_authorization_client_gets_the_details_too(logged_in_browser: Browser) -> None:
    application = make_client(skip=True)
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(ACCOUNTS))))
    code = authorization_response(logged_in_browser.get(authorize_url(application, request_uri)))["code"]
    assert redeem(application, code).json()["authorization_details"] == [ACCOUNTS]


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_plain_authorization_request_with_details_refused(logged_in_browser: Browser) -> None:
    application = make_client()
    response = logged_in_browser.get(plain_url(application, authorization_details=details_json(ACCOUNTS)))
    assert_error_page(response, "invalid_request")
    assert b"only in a pushed authorization request" in response.content
    assert not get_grant_model().objects.exists()


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_details_with_dpop(logged_in_browser: Browser) -> None:
    application = make_client("none")
    key = dpop_key()
    pushed = rich_push(application, ("authorization_details", details_json(PAYMENT)), dpop=proof(key))
    _page, code = consent_and_code(logged_in_browser, application, request_uri_of(pushed))
    response = token_request(
        application,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": CODE_VERIFIER,
        },
        dpop=proof(key, htu=TOKEN_ENDPOINT),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP" and body["authorization_details"] == [PAYMENT]
    refresh = token_request(
        application,
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        dpop=proof(key, htu=TOKEN_ENDPOINT),
    )
    assert refresh.status_code == 200, refresh.content
    assert refresh.json()["authorization_details"] == [PAYMENT]
    access = get_access_token_model().objects.get(token=refresh.json()["access_token"])
    assert binding.access_token_jkt(access) == thumbprint(key)
    assert granted_details.access_token_details(access) == [PAYMENT]


def test_details_rows_go_with_their_tokens() -> None:
    application = make_client()
    grant = get_grant_model().objects.create(
        application=application,
        user=application.user,
        code="c0de",
        expires="2999-01-01T00:00Z",
        redirect_uri=REDIRECT_URI,
    )
    with granted_details.approving([ACCOUNTS]):
        granted_details.grant_created(grant)
    grant.delete()
    assert not AuthorizationDetails.objects.exists()


# -- resource (RFC 8707) ------------------------------------------------------------------------------


@needs_rfc8707
@pytest.mark.parametrize("skip", [False, True])
def test_pushed_resources_restrict_the_tokens(skip: bool, logged_in_browser: Browser) -> None:
    application = make_client(skip=skip)
    request_uri = request_uri_of(rich_push(application, ("resource", API), ("resource", OTHER_API)))
    url = authorize_url(application, request_uri)
    if skip:
        code = authorization_response(logged_in_browser.get(url))["code"]
    else:
        _page, code = consent_and_code(logged_in_browser, application, request_uri)
    assert get_grant_model().objects.get(code=code).resource == [API, OTHER_API]
    body = redeem(application, code).json()
    access = get_access_token_model().objects.get(token=body["access_token"])
    assert access.resource == [API, OTHER_API]
    assert access.allows_audience(API + "accounts") and access.allows_audience(OTHER_API)
    assert not access.allows_audience("https://elsewhere.example.org/")
    assert get_refresh_token_model().objects.get(token=body["refresh_token"]).resource == [API, OTHER_API]


@needs_rfc8707
def test_token_request_may_narrow_the_resources(logged_in_browser: Browser) -> None:
    application = make_client()
    request_uri = request_uri_of(rich_push(application, ("resource", API), ("resource", OTHER_API)))
    _page, code = consent_and_code(logged_in_browser, application, request_uri)
    body = redeem(application, code, resource=OTHER_API).json()
    assert get_access_token_model().objects.get(token=body["access_token"]).resource == [OTHER_API]


@needs_rfc8707
def test_pushed_request_without_resource_gives_unrestricted_tokens(logged_in_browser: Browser) -> None:
    application = make_client()
    _page, code = consent_and_code(logged_in_browser, application, request_uri_of(rich_push(application)))
    body = redeem(application, code).json()
    assert get_access_token_model().objects.get(token=body["access_token"]).resource == []


# -- unregistered redirect URIs (RFC 9126 §2.4) -----------------------------------------------------


ALLOW = {"ALLOW_UNREGISTERED_REDIRECT_URIS": True}


@override_settings(DJANGO_PAR=ALLOW)
@pytest.mark.parametrize("skip", [False, True])
def test_code_goes_to_the_pushed_unregistered_uri(skip: bool, logged_in_browser: Browser) -> None:
    application = make_client(skip=skip, allow_unregistered_redirect_uris=True)
    request_uri = request_uri_of(rich_push(application, redirect_uri=UNREGISTERED))
    url = authorize_url(application, request_uri)
    if skip:
        answer = logged_in_browser.get(url)
    else:
        assert logged_in_browser.get(url).status_code == 200
        answer = logged_in_browser.consent(url)
    base, query, _fragment = response_parameters(location(answer))
    assert base == UNREGISTERED
    code = query["code"]
    # The token request must repeat the pushed URI (RFC 6749 §4.1.3), which DOT compares to the grant's.
    refused = redeem(application, code, redirect_uri=REDIRECT_URI)
    assert refused.status_code == 400, refused.content
    assert refused.json() == {"error": "invalid_request", "error_description": "Mismatching redirect URI."}
    response = redeem(application, code, redirect_uri=UNREGISTERED)
    assert response.status_code == 200, response.content


@override_settings(DJANGO_PAR=ALLOW)
def test_unregistered_uri_no_longer_allowed_at_authorization(logged_in_browser: Browser) -> None:
    application = make_client(skip=True, allow_unregistered_redirect_uris=True)
    request_uri = request_uri_of(rich_push(application, redirect_uri=UNREGISTERED))
    metadata = ClientMetadata.objects.get(application=application)
    metadata.allow_unregistered_redirect_uris = False
    metadata.save()  # evicts the cached client
    answer = logged_in_browser.get(authorize_url(application, request_uri))
    assert answer.status_code == 400, answer.status_code
    assert not get_grant_model().objects.exists()


# -- consent is asked for the details every time -------------------------------------------------------


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_a_live_token_does_not_approve_new_details(settings: Any, user: Any, logged_in_browser: Browser) -> None:
    from tests.helpers.flow_helpers import grant_prior_token

    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REQUEST_APPROVAL_PROMPT": "auto"}
    application = make_client()
    grant_prior_token(user, application, "openid read")
    # Without details DOT approves silently from the live token ...
    silent = logged_in_browser.get(authorize_url(application, request_uri_of(rich_push(application))))
    assert "code" in authorization_response(silent)
    # ... with details the user is asked.
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT))))
    page = logged_in_browser.get(authorize_url(application, request_uri))
    assert page.status_code == 200 and page.context["authorization_details"] == [PAYMENT]
    # And prompt=none cannot approve them.
    request_uri = request_uri_of(
        rich_push(application, ("authorization_details", details_json(PAYMENT)), prompt="none")
    )
    answer = authorization_response(logged_in_browser.get(authorize_url(application, request_uri)))
    assert answer["error"] == "consent_required"
    assert not AuthorizationDetails.objects.exists()


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_prompt_none_with_details_for_a_trusted_client(logged_in_browser: Browser) -> None:
    application = make_client(skip=True)  # skip_authorization: the site approves for the user
    request_uri = request_uri_of(
        rich_push(application, ("authorization_details", details_json(ACCOUNTS)), prompt="none")
    )
    code = authorization_response(logged_in_browser.get(authorize_url(application, request_uri)))["code"]
    assert redeem(application, code).json()["authorization_details"] == [ACCOUNTS]


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_refresh_without_rotation_keeps_details_and_refuses_narrowing(
    settings: Any, logged_in_browser: Browser
) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ROTATE_REFRESH_TOKEN": False}
    application = make_client()
    request_uri = request_uri_of(rich_push(application, ("authorization_details", details_json(PAYMENT, ACCOUNTS))))
    _page, code = consent_and_code(logged_in_browser, application, request_uri)
    body = redeem(application, code).json()
    data = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    narrowed = token_request(application, {**data, "authorization_details": details_json(ACCOUNTS)})
    assert narrowed.status_code == 400 and narrowed.json()["error"] == "invalid_authorization_details"
    again = token_request(application, data)
    assert again.status_code == 200, again.content
    assert again.json()["authorization_details"] == [PAYMENT, ACCOUNTS]
    access = get_access_token_model().objects.get(token=again.json()["access_token"])
    assert granted_details.access_token_details(access) == [PAYMENT, ACCOUNTS]
