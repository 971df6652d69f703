"""Richer pushed requests at the PAR endpoint: resource (RFC 8707), authorization_details (RFC 9396),
unregistered redirect URIs (RFC 9126 §2.4) and the per-client request_uri lifetime."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings

from django_par import dot
from django_par.models import ClientMetadata, PushedRequest
from django_par.push import resources
from tests.conftest import assert_oauth_error, basic_auth, code_request, push
from tests.helpers.factories import (
    CLIENT_SECRET,
    ConfidentialApplicationFactory,
    PlainSecretApplicationFactory,
    PublicApplicationFactory,
)
from tests.helpers.jwt_helpers import assert_pushed, jwt_client, private_key, request_object_claims, sign
from tests.helpers.rich_requests import ACCOUNTS, PAYMENT, RICH_SETTINGS, details_json

pytestmark = pytest.mark.django_db

needs_rfc8707 = pytest.mark.skipif(not dot.supports_resource_indicators(), reason="DOT before 3.4 has no RFC 8707")
without_rfc8707 = pytest.mark.skipif(dot.supports_resource_indicators(), reason="DOT 3.4 has RFC 8707")

API = "https://api.example.org/"
OTHER_API = "https://other.example.org/v1"
UNREGISTERED = "https://app.example.org/cb/session-42"
EC_KEY = private_key("EC")


def push_as(application: Any, data: Any) -> Any:
    headers = {}
    if application.client_type == application.CLIENT_CONFIDENTIAL:
        headers["authorization"] = basic_auth(application.client_id, CLIENT_SECRET)
    return push(Client(), data, **headers)


def form(application: Any, *extra: tuple[str, str], **overrides: str | None) -> list[tuple[str, str]]:
    return [*code_request(application, **overrides).items(), *extra]


@pytest.fixture
def app() -> Any:
    return PlainSecretApplicationFactory()


@pytest.fixture
def rar_app() -> Any:
    application = PlainSecretApplicationFactory()
    ClientMetadata.objects.create(
        application=application, authorization_details_types=["payment_initiation", "account_information"]
    )
    return application


# -- resource (RFC 8707) --------------------------------------------------------------------


@needs_rfc8707
def test_resource_may_repeat_and_is_stored(app: Any) -> None:
    row = assert_pushed(push_as(app, form(app, ("resource", API), ("resource", OTHER_API), ("resource", API))))
    assert resources.stored_resources(row.parameters) == [API, OTHER_API]  # duplicates dropped, order kept


@needs_rfc8707
def test_other_parameters_sent_twice_are_still_refused(app: Any) -> None:
    response = push_as(app, form(app, ("scope", "read"), ("resource", API)))
    assert_oauth_error(response, 400, "invalid_request", "scope was sent more than once")


@needs_rfc8707
@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("/relative/path", "absolute URI"),
        ("api.example.org", "absolute URI"),
        ("https://api.example.org/#frag", "fragment"),
        ("https://api.example.org/a b", "no spaces"),
        ("https://user@api.example.org/", "no user information"),
        ("https://api.example.org:99999/", "bad host or port"),
        ("urn:example:no-host", "with a host"),
    ],
)
def test_bad_resource_is_invalid_target(app: Any, value: str, part: str) -> None:
    assert_oauth_error(push_as(app, form(app, ("resource", API), ("resource", value))), 400, "invalid_target", part)
    assert not PushedRequest.objects.exists()


@needs_rfc8707
def test_too_many_resources_refused(app: Any) -> None:
    extra = [("resource", f"https://api{n}.example.org/") for n in range(resources.MAX_RESOURCES + 1)]
    assert_oauth_error(push_as(app, form(app, *extra)), 400, "invalid_target", "At most")


@needs_rfc8707
@pytest.mark.parametrize(("claim", "stored"), [(API, [API]), ([API, OTHER_API], [API, OTHER_API])])
def test_resource_claim_string_or_array(claim: Any, stored: list[str]) -> None:
    application = jwt_client(EC_KEY, method="", application=PlainSecretApplicationFactory())
    token = sign(request_object_claims(application.client_id, resource=claim), EC_KEY, "ES256")
    row = assert_pushed(push_as(application, {"request": token}))
    assert resources.stored_resources(row.parameters) == stored


@needs_rfc8707
@pytest.mark.parametrize("claim", [[], 42, {"a": API}, [API, 7]])
def test_bad_resource_claim_refused(claim: Any) -> None:
    application = jwt_client(EC_KEY, method="", application=PlainSecretApplicationFactory())
    token = sign(request_object_claims(application.client_id, resource=claim), EC_KEY, "ES256")
    assert_oauth_error(push_as(application, {"request": token}), 400, "invalid_target")


@without_rfc8707
def test_resource_refused_where_dot_has_no_rfc8707(app: Any) -> None:
    # Tokens without the audience restriction the client asked for: refused rather than ignored.
    response = push_as(app, form(app, ("resource", API)))
    assert_oauth_error(response, 400, "invalid_target", "does not support resource indicators")


# -- authorization_details (RFC 9396) --------------------------------------------------------


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_authorization_details_stored_as_the_validators_return_them(rar_app: Any) -> None:
    sent = {**PAYMENT, "unknownField": "dropped by the validator"}
    row = assert_pushed(push_as(rar_app, form(rar_app, ("authorization_details", details_json(sent, ACCOUNTS)))))
    assert json.loads(row.parameters["authorization_details"]) == [PAYMENT, ACCOUNTS]


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_authorization_details_claim_is_an_array(rar_app: Any) -> None:
    jwt_app = jwt_client(EC_KEY, method="", application=PlainSecretApplicationFactory())
    ClientMetadata.objects.filter(application=jwt_app).update(authorization_details_types=["payment_initiation"])
    token = sign(request_object_claims(jwt_app.client_id, authorization_details=[PAYMENT]), EC_KEY, "ES256")
    row = assert_pushed(push_as(jwt_app, {"request": token}))
    assert json.loads(row.parameters["authorization_details"]) == [PAYMENT]
    as_string = sign(
        request_object_claims(jwt_app.client_id, authorization_details=details_json(PAYMENT)), EC_KEY, "ES256"
    )
    assert_oauth_error(push_as(jwt_app, {"request": as_string}), 400, "invalid_authorization_details", "array")


@override_settings(DJANGO_PAR=RICH_SETTINGS)
@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("not json", "not valid JSON"),
        ('{"type": "payment_initiation"}', "non-empty JSON array"),
        ("[]", "non-empty JSON array"),
        ('["payment_initiation"]', "must be a JSON object"),
        ('[{"actions": ["x"]}]', "needs a string type"),
        ('[{"type": 7}]', "needs a string type"),
        ('[{"type": "account_information", "actions": "read"}]', "actions field must be an array of strings"),
        ('[{"type": "account_information", "identifier": 7}]', "identifier field must be a string"),
        ('[{"type": "account_information", "x": "\\u0000"}]', "NUL"),
        ('[{"type": "payment_initiation"}]', "instructedAmount.amount"),
        ('[{"type": "loan_application"}]', "may not request"),
        ("[" * 40 + "]" * 40, "nested more than"),
        (details_json(*[ACCOUNTS] * 21), "at most 20 elements"),
    ],
)
def test_bad_authorization_details_refused(rar_app: Any, value: str, part: str) -> None:
    response = push_as(rar_app, form(rar_app, ("authorization_details", value)))
    assert_oauth_error(response, 400, "invalid_authorization_details", part)
    assert not PushedRequest.objects.exists()


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_type_the_client_may_use_but_the_server_does_not_know(rar_app: Any) -> None:
    ClientMetadata.objects.filter(application=rar_app).update(authorization_details_types=["unknown_here"])
    rar_app.refresh_from_db()
    response = push_as(rar_app, form(rar_app, ("authorization_details", '[{"type": "unknown_here"}]')))
    assert_oauth_error(response, 400, "invalid_authorization_details", "Unknown authorization details type")


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_validator_raising_an_oauth_error_keeps_it(rar_app: Any) -> None:
    ClientMetadata.objects.filter(application=rar_app).update(authorization_details_types=["refused_by_oauth_error"])
    rar_app.refresh_from_db()
    response = push_as(rar_app, form(rar_app, ("authorization_details", '[{"type": "refused_by_oauth_error"}]')))
    assert_oauth_error(response, 400, "invalid_request", "may not ask for this")


def test_client_without_types_may_not_request_any(app: Any) -> None:
    response = push_as(app, form(app, ("authorization_details", details_json(PAYMENT))))
    assert_oauth_error(response, 400, "invalid_authorization_details", "may not request")


@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_authorization_details_sent_twice_refused(rar_app: Any) -> None:
    pair = ("authorization_details", details_json(ACCOUNTS))
    assert_oauth_error(push_as(rar_app, form(rar_app, pair, pair)), 400, "invalid_request", "more than once")


# -- unregistered redirect URIs (RFC 9126 §2.4) ---------------------------------------------------


def allowing_client(hosts: str = "", factory: Any = PlainSecretApplicationFactory) -> Any:
    application = factory()
    ClientMetadata.objects.create(
        application=application, allow_unregistered_redirect_uris=True, unregistered_redirect_uri_hosts=hosts
    )
    return application


ALLOW = {"ALLOW_UNREGISTERED_REDIRECT_URIS": True}


@override_settings(DJANGO_PAR=ALLOW)
def test_unregistered_redirect_uri_accepted_when_server_and_client_allow() -> None:
    application = allowing_client()
    row = assert_pushed(push_as(application, code_request(application, redirect_uri=UNREGISTERED)))
    assert row.parameters["redirect_uri"] == UNREGISTERED


def test_unregistered_redirect_uri_refused_by_default() -> None:
    application = allowing_client()  # the client allows it, the server does not
    response = push_as(application, code_request(application, redirect_uri=UNREGISTERED))
    assert_oauth_error(response, 400, "invalid_request", "does not exactly match")


@override_settings(DJANGO_PAR=ALLOW)
def test_unregistered_redirect_uri_needs_the_client_switch(app: Any) -> None:
    response = push_as(app, code_request(app, redirect_uri=UNREGISTERED))
    assert_oauth_error(response, 400, "invalid_request", "does not exactly match")


@override_settings(DJANGO_PAR=ALLOW)
def test_unregistered_redirect_uri_never_for_public_clients() -> None:
    application = allowing_client(factory=PublicApplicationFactory)
    response = push_as(application, code_request(application, redirect_uri=UNREGISTERED))
    assert_oauth_error(response, 400, "invalid_request", "does not exactly match")


@override_settings(DJANGO_PAR=ALLOW)
@pytest.mark.parametrize(
    ("uri", "part"),
    [
        ("http://app.example.org/cb", "must use https"),
        ("https://app.example.org/cb#x", "fragment"),
        ("https://someone@app.example.org/cb", "user information"),
        ("http://127.0.0.1:8000/cb", "must use https"),  # DEBUG is off
        ("https:///cb", "absolute https URI"),
    ],
)
def test_unregistered_redirect_uri_policy(uri: str, part: str) -> None:
    application = allowing_client()
    assert_oauth_error(push_as(application, code_request(application, redirect_uri=uri)), 400, "invalid_request", part)


@override_settings(DJANGO_PAR=ALLOW, DEBUG=True)
def test_loopback_http_in_development() -> None:
    application = allowing_client()
    assert_pushed(push_as(application, code_request(application, redirect_uri="http://127.0.0.1:8000/cb")))


@override_settings(DJANGO_PAR=ALLOW)
@pytest.mark.parametrize(
    ("uri", "accepted"),
    [
        ("https://app.example.org/cb", True),
        ("https://eu.apps.example.net/cb", True),
        ("https://deep.eu.apps.example.net/cb", True),
        ("https://apps.example.net/cb", False),  # *. means subdomains only
        ("https://evilapps.example.net/cb", False),
        ("https://app.example.org.evil.example/cb", False),
    ],
)
def test_unregistered_redirect_uri_host_patterns(uri: str, accepted: bool) -> None:
    application = allowing_client("app.example.org *.apps.example.net")
    response = push_as(application, code_request(application, redirect_uri=uri))
    if accepted:
        assert_pushed(response)
    else:
        assert_oauth_error(response, 400, "invalid_request", "not on a host this client may use")


# -- per-client request_uri lifetime --------------------------------------------------------------


def test_client_request_uri_lifetime_is_reported_and_applied() -> None:
    application = PlainSecretApplicationFactory()
    ClientMetadata.objects.create(application=application, request_uri_lifetime=600)
    response = push_as(application, code_request(application))
    assert response.json()["expires_in"] == 600
    row = assert_pushed(response)
    assert timedelta(seconds=599) < row.expires_at - row.created_at <= timedelta(seconds=600)


def test_default_lifetime_without_a_client_value(app: Any) -> None:
    assert push_as(app, code_request(app)).json()["expires_in"] == 90


@pytest.mark.parametrize(("stored", "applied"), [(1, 5), (100000, 3600)])
def test_out_of_range_client_lifetime_is_held_to_the_bounds(stored: int, applied: int) -> None:
    application = ConfidentialApplicationFactory(client_secret=CLIENT_SECRET, hash_client_secret=False)
    ClientMetadata.objects.create(application=application, request_uri_lifetime=stored)  # no form: no validation
    assert push_as(application, code_request(application)).json()["expires_in"] == applied


@override_settings(DJANGO_PAR={"FAPI2_SECURITY_PROFILE": True})
def test_fapi2_caps_the_client_lifetime() -> None:
    from django_par.flow.lifecycle import request_uri_lifetime

    application = PlainSecretApplicationFactory()
    ClientMetadata.objects.create(application=application, request_uri_lifetime=3600)
    assert request_uri_lifetime(application) == 599


@pytest.mark.parametrize("validator", ["returns_another_type", "returns_no_json"])
def test_a_broken_validator_is_a_configuration_error(validator: str) -> None:
    # A site's bug, not the client's: loud, and nothing is stored.
    from django.core.exceptions import ImproperlyConfigured

    from django_par.push.authorization_details import check_authorization_details

    application = PlainSecretApplicationFactory()
    ClientMetadata.objects.create(application=application, authorization_details_types=["broken"])
    types = {"broken": f"tests.helpers.rich_requests.{validator}"}
    with override_settings(DJANGO_PAR={"AUTHORIZATION_DETAILS_TYPES": types}), pytest.raises(ImproperlyConfigured):
        check_authorization_details('[{"type": "broken"}]', application)
