"""The admin of pushed requests and of the per-client PAR metadata."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from django_par.admin import ClientMetadataInline
from django_par.flow.request_uri import request_uri_digest
from django_par.models import PushedRequest
from tests.conftest import code_request, push
from tests.helpers.factories import ClientMetadataFactory, ConfidentialApplicationFactory, PushedRequestFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_par_pushedrequest_changelist"


def changelist_rows(admin_client, **query: str) -> list[PushedRequest]:
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


class TestRequestUriNeverShown:
    @pytest.fixture
    def pushed(self, client, confidential_app, basic) -> tuple[str, PushedRequest]:
        request_uri = push(client, code_request(confidential_app), authorization=basic).json()["request_uri"]
        return request_uri, PushedRequest.objects.get()

    def test_changelist_shows_only_the_short_digest(self, admin_client, pushed):
        request_uri, row = pushed
        page = admin_client.get(reverse(CHANGELIST)).content.decode()

        assert row.request_uri_digest[:12] in page
        assert row.request_uri_digest not in page
        assert request_uri not in page
        assert request_uri.rsplit(":", 1)[1] not in page

    def test_change_page_shows_only_the_short_digest(self, admin_client, pushed):
        request_uri, row = pushed
        response = admin_client.get(reverse("admin:django_par_pushedrequest_change", args=[row.pk]))
        page = response.content.decode()

        assert response.status_code == 200
        assert row.request_uri_digest[:12] in page
        assert row.request_uri_digest not in page
        assert request_uri.rsplit(":", 1)[1] not in page
        assert row.request_uri_digest == request_uri_digest(request_uri)


class TestReadOnly:
    def test_no_add_permission(self, admin_client):
        response = admin_client.get(reverse("admin:django_par_pushedrequest_add"))
        assert response.status_code == 403

    def test_changelist_offers_no_add_link(self, admin_client):
        page = admin_client.get(reverse(CHANGELIST)).content.decode()
        assert reverse("admin:django_par_pushedrequest_add") not in page

    def test_change_page_cannot_be_saved(self, admin_client):
        row = PushedRequestFactory()
        url = reverse("admin:django_par_pushedrequest_change", args=[row.pk])

        page = admin_client.get(url)
        posted = admin_client.post(url, {"state": "consumed", "parameters": "{}"})

        assert page.context["has_change_permission"] is False
        assert posted.status_code == 403
        row.refresh_from_db()
        assert row.state == PushedRequest.State.PUSHED


class TestFiltersAndSearch:
    @pytest.fixture
    def rows(self) -> dict[str, PushedRequest]:
        first_client = ConfidentialApplicationFactory(client_id="alpha-client")
        second_client = ConfidentialApplicationFactory(client_id="beta-client")
        return {
            "alpha_pushed": PushedRequestFactory(application=first_client),
            "alpha_consumed": PushedRequestFactory(application=first_client, state=PushedRequest.State.CONSUMED),
            "beta_pushed": PushedRequestFactory(application=second_client),
        }

    def test_unfiltered_lists_every_row(self, admin_client, rows):
        assert set(changelist_rows(admin_client)) == set(rows.values())

    def test_filter_by_state(self, admin_client, rows):
        assert set(changelist_rows(admin_client, state__exact="consumed")) == {rows["alpha_consumed"]}
        assert set(changelist_rows(admin_client, state__exact="pushed")) == {rows["alpha_pushed"], rows["beta_pushed"]}

    def test_filter_by_client(self, admin_client, rows):
        beta = rows["beta_pushed"].application
        assert set(changelist_rows(admin_client, application__id__exact=str(beta.pk))) == {rows["beta_pushed"]}

    def test_filters_are_offered(self, admin_client, rows):
        response = admin_client.get(reverse(CHANGELIST))
        filter_titles = {str(spec.title) for spec in response.context["cl"].filter_specs}
        assert {"state", "application"} <= filter_titles

    def test_search_by_client_id(self, admin_client, rows):
        assert set(changelist_rows(admin_client, q="beta-client")) == {rows["beta_pushed"]}
        assert set(changelist_rows(admin_client, q="alpha")) == {rows["alpha_pushed"], rows["alpha_consumed"]}
        assert changelist_rows(admin_client, q="gamma") == []


class TestPurgeAction:
    def test_purge_deletes_only_expired_rows(self, admin_client):
        live_selected = PushedRequestFactory()
        live_other = PushedRequestFactory()
        expired_rows = [PushedRequestFactory(expired=True) for _ in range(3)]

        response = admin_client.post(
            reverse(CHANGELIST),
            {"action": "purge_expired", "_selected_action": [str(live_selected.pk)]},
            follow=True,
        )

        assert response.status_code == 200
        assert set(PushedRequest.objects.all()) == {live_selected, live_other}
        assert not PushedRequest.objects.filter(pk__in=[row.pk for row in expired_rows]).exists()
        assert any("Purged 3" in str(message) for message in get_messages(response.wsgi_request))

    def test_purge_action_is_offered(self, admin_client):
        PushedRequestFactory()
        response = admin_client.get(reverse(CHANGELIST))
        assert "purge_expired" in dict(response.context["action_form"].fields["action"].choices)


class TestClientMetadataInline:
    def test_inline_is_on_dot_application_change_page(self, admin_client, confidential_app):
        response = admin_client.get(reverse("admin:oauth2_provider_application_change", args=[confidential_app.pk]))

        assert response.status_code == 200
        inline_classes = [type(formset.opts) for formset in response.context["inline_admin_formsets"]]
        assert ClientMetadataInline in inline_classes
        assert 'name="par_metadata-TOTAL_FORMS"' in response.content.decode()

    def test_inline_shows_existing_metadata(self, admin_client):
        metadata = ClientMetadataFactory(token_endpoint_auth_method="client_secret_basic")
        response = admin_client.get(reverse("admin:oauth2_provider_application_change", args=[metadata.application.pk]))

        (formset,) = [f for f in response.context["inline_admin_formsets"] if type(f.opts) is ClientMetadataInline]
        (form,) = formset.formset.forms
        assert form.instance == metadata
        assert form.initial["token_endpoint_auth_method"] == "client_secret_basic"
        # A scheme-less jwks_uri is read as https, never http.
        assert form.fields["jwks_uri"].clean("keys.example.org/jwks.json") == "https://keys.example.org/jwks.json"


class TestDateFilter:
    def test_changelist_filters_by_creation_date(self, admin_client):
        # Works on every database: no time zone conversion in SQL (MariaDB
        # without time zone tables cannot do one).
        old = PushedRequestFactory(created_at=timezone.now() - timedelta(days=30))
        recent = PushedRequestFactory()
        since = (timezone.now() - timedelta(days=7)).isoformat()

        assert set(changelist_rows(admin_client, created_at__gte=since)) == {recent}
        assert set(changelist_rows(admin_client)) == {old, recent}
