"""Configuration of richer pushed requests: checks E012/E013, discovery, the admin inline's
validation, and the consent page's ``{% authorization_details %}`` tag (RFC 9396 §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.template import Context, Template
from django.test import Client, RequestFactory, override_settings
from oauth2_provider.models import get_application_model

from django_par import checks
from django_par.admin import RICH_REQUEST_FIELDS, ClientMetadataInline
from django_par.models import ClientMetadata
from tests.helpers.factories import ConfidentialApplicationFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator
from tests.helpers.rich_requests import ACCOUNTS, PAYMENT, RICH_SETTINGS, TYPES

# -- checks -----------------------------------------------------------------------------------------


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_valid_types_pass_e012() -> None:
    with override_settings(DJANGO_PAR=RICH_SETTINGS):
        assert [m for m in checks.check_settings() if m.id == "django_par.E012"] == []


@pytest.mark.parametrize(
    ("types", "part"),
    [
        ({"x": "tests.helpers.rich_requests.missing"}, "cannot import"),
        ({"x": "tests.helpers.rich_requests.TYPES"}, "not callable"),
        ({"x": 42}, "dotted path"),
        ({"": "tests.helpers.rich_requests.account_information"}, "non-empty string"),
    ],
)
def test_bad_validator_paths_are_e012(types: dict[Any, Any], part: str) -> None:
    with override_settings(DJANGO_PAR={"AUTHORIZATION_DETAILS_TYPES": types}):
        errors = [m for m in checks.check_settings() if m.id == "django_par.E012"]
    assert len(errors) == 1 and part in errors[0].msg, errors


def test_types_not_a_dict_is_e008() -> None:
    with override_settings(DJANGO_PAR={"AUTHORIZATION_DETAILS_TYPES": ["payment_initiation"]}):
        assert "django_par.E008" in ids(checks.check_settings())


def test_details_without_the_validator_mixin_is_e013(settings: Any) -> None:
    with override_settings(DJANGO_PAR=RICH_SETTINGS):
        assert ids(checks.check_authorization_details_validator()) == ["django_par.E013"]
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR=RICH_SETTINGS):
        assert checks.check_authorization_details_validator() == []
    assert checks.check_authorization_details_validator() == []  # no types: nothing to keep


# -- discovery ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_discovery_lists_the_types_when_there_are_any() -> None:
    path = "/o/.well-known/openid-configuration"
    assert "authorization_details_types_supported" not in Client().get(path).json()
    with override_settings(DJANGO_PAR=RICH_SETTINGS):
        assert Client().get(path).json()["authorization_details_types_supported"] == sorted(TYPES)


# -- the admin inline ----------------------------------------------------------------------------------


def inline_form(application: Any, **data: Any) -> Any:
    inline = ClientMetadataInline(get_application_model(), admin.site)
    request = RequestFactory().get("/")
    request.user = type("Superuser", (), {"has_perm": lambda *args: True, "is_active": True})()
    form_class = inline.get_formset(request).form
    assert set(RICH_REQUEST_FIELDS) <= set(form_class.base_fields)
    fields = {
        "application": application.pk,
        "authorization_details_types": "[]",
        "unregistered_redirect_uri_hosts": "",
        **data,
    }
    return form_class(data=fields, instance=ClientMetadata(application=application))


@pytest.mark.django_db
@override_settings(DJANGO_PAR=RICH_SETTINGS)
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"authorization_details_types": '"payment_initiation"'}, "authorization_details_types"),
        ({"authorization_details_types": '["a", "a"]'}, "authorization_details_types"),
        ({"authorization_details_types": "[1]"}, "authorization_details_types"),
        ({"authorization_details_types": "not json"}, "authorization_details_types"),
        ({"authorization_details_types": '["loan_application"]'}, "authorization_details_types"),
        ({"unregistered_redirect_uri_hosts": "https://app.example.org"}, "unregistered_redirect_uri_hosts"),
        ({"unregistered_redirect_uri_hosts": "App.Example.org"}, "unregistered_redirect_uri_hosts"),
        ({"unregistered_redirect_uri_hosts": "*"}, "unregistered_redirect_uri_hosts"),
        ({"request_uri_lifetime": "4"}, "request_uri_lifetime"),
        ({"request_uri_lifetime": "3601"}, "request_uri_lifetime"),
        ({"request_uri_lifetime": "-1"}, "request_uri_lifetime"),
    ],
)
def test_admin_form_errors(data: dict[str, str], field: str) -> None:
    form = inline_form(ConfidentialApplicationFactory(), **data)
    assert not form.is_valid()
    assert field in form.errors, form.errors


@pytest.mark.django_db
@override_settings(DJANGO_PAR={**RICH_SETTINGS, "FAPI2_SECURITY_PROFILE": True})
def test_admin_form_holds_fapi2_lifetime() -> None:
    form = inline_form(ConfidentialApplicationFactory(), request_uri_lifetime="600")
    assert not form.is_valid() and "request_uri_lifetime" in form.errors


@pytest.mark.django_db
@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_admin_form_accepts_good_values() -> None:
    form = inline_form(
        ConfidentialApplicationFactory(),
        authorization_details_types='["payment_initiation"]',
        allow_unregistered_redirect_uris="on",
        unregistered_redirect_uri_hosts="app.example.org *.apps.example.net",
        request_uri_lifetime="600",
    )
    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.authorization_details_types == ["payment_initiation"] and saved.request_uri_lifetime == 600


# -- the consent page's tag ----------------------------------------------------------------------------


def render(details: Any, source: str = "{% load django_par %}{% authorization_details %}") -> str:
    return Template(source).render(Context({"authorization_details": details}))


def test_default_template_lists_fields_readably_never_as_json() -> None:
    html = render([PAYMENT, ACCOUNTS])
    assert "<dt>Creditor name</dt><dd>Merchant A</dd>" in html
    assert "<dt>Instructed amount</dt>" in html and "<dd>123.50</dd>" in html
    assert "<li>list_accounts</li>" in html and "<h4>Account information</h4>" in html
    assert 'data-type="payment_initiation"' in html and 'data-type="account_information"' in html
    assert "{" not in html and "[" not in html  # no raw JSON


def test_values_are_escaped() -> None:
    html = render([{"type": "account_information", "note": "<script>alert(1)</script>", "<b>": True}])
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html and "<dd>yes</dd>" in html


def test_nothing_without_details() -> None:
    assert render([]) == "" and render(None) == ""


def test_explicit_argument() -> None:
    source = "{% load django_par %}{% authorization_details mine %}"
    assert "Merchant A" in Template(source).render(Context({"mine": [PAYMENT]}))


def test_a_type_template_overrides_the_default(tmp_path: Path, settings: Any) -> None:
    folder = tmp_path / "django_par" / "authorization_details"
    folder.mkdir(parents=True)
    (folder / "payment_initiation.html").write_text(
        "<p class=payment>Pay {{ detail.instructedAmount.amount }} {{ detail.instructedAmount.currency }}"
        " to {{ detail.creditorName }}</p>"
    )
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [str(tmp_path)]}]
    html = render([PAYMENT, ACCOUNTS])
    assert "<p class=payment>Pay 123.50 EUR to Merchant A</p>" in html
    assert 'data-type="account_information"' in html  # the other type: the default


@pytest.mark.parametrize("kind", ["../../secret", "a/b", "x" * 101, 7])
def test_types_that_cannot_name_a_file_use_the_default(kind: Any) -> None:
    assert "authorization-detail" in render([{"type": kind, "a": "b"}])


# -- the admin change page, end to end -------------------------------------------------------------------


def change_page_data(response: Any) -> dict[str, Any]:
    """What a browser would POST back unchanged from an admin change page (its forms' current values)."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value not in (None, False):
                data[form.add_prefix(name)] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


@pytest.mark.django_db
@override_settings(DJANGO_PAR=RICH_SETTINGS)
def test_admin_change_page_reports_bad_values_as_form_errors(admin_client: Any) -> None:
    from django.urls import reverse

    metadata = ClientMetadata.objects.create(application=ConfidentialApplicationFactory())
    url = reverse("admin:oauth2_provider_application_change", args=[metadata.application.pk])
    data = change_page_data(admin_client.get(url))
    bad = {
        **data,
        "par_metadata-0-authorization_details_types": "[1, 2]",
        "par_metadata-0-unregistered_redirect_uri_hosts": "https://x.example",
        "par_metadata-0-request_uri_lifetime": "99999",
    }
    response = admin_client.post(url, bad)
    assert response.status_code == 200  # the page again, with errors; not a 500
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"] if type(f.opts) is ClientMetadataInline]
    assert set(formset.forms[0].errors) == {
        "authorization_details_types",
        "unregistered_redirect_uri_hosts",
        "request_uri_lifetime",
    }
    good = {
        **data,
        "par_metadata-0-authorization_details_types": '["account_information"]',
        "par_metadata-0-allow_unregistered_redirect_uris": "on",
        "par_metadata-0-unregistered_redirect_uri_hosts": "*.apps.example.net",
        "par_metadata-0-request_uri_lifetime": "300",
    }
    assert admin_client.post(url, good).status_code == 302
    metadata.refresh_from_db()
    assert metadata.authorization_details_types == ["account_information"]
    assert metadata.allow_unregistered_redirect_uris and metadata.request_uri_lifetime == 300
