"""What operators see in the admin: the derived expired state, times, parameters,
the PAR client metadata inline's validation, the overview's figures."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jwcrypto import jwk

from django_par.admin import ClientMetadataForm, ClientMetadataInline, local_time
from django_par.admin_overview import overview_context
from django_par.jose.keys import check_public_key_set
from django_par.models import ClientMetadata, PushedRequest
from tests.helpers.factories import ClientMetadataFactory, ConfidentialApplicationFactory, PushedRequestFactory

pytestmark = pytest.mark.django_db

State = PushedRequest.State
CHANGELIST = "admin:django_par_pushedrequest_changelist"
OVERVIEW = "admin:django_par_pushedrequest_overview"


def rows(admin_client: Any, **query: str) -> set[PushedRequest]:
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


@pytest.fixture
def mixed() -> dict[str, PushedRequest]:
    past = timezone.now() - timedelta(minutes=1)
    return {
        "pushed": PushedRequestFactory(),
        "pushed_expired": PushedRequestFactory(expired=True),
        "in_use": PushedRequestFactory(state=State.IN_USE),
        "in_use_expired": PushedRequestFactory(state=State.IN_USE, expires_at=past),
        "consumed": PushedRequestFactory(state=State.CONSUMED, expires_at=past),
    }


class TestExpiredState:
    def test_the_list_shows_expired_for_pushed_and_in_use_rows_past_their_time(self, admin_client, mixed):
        response = admin_client.get(reverse(CHANGELIST))
        shown = {
            row.pk: cell
            for row, cell in zip(response.context["cl"].result_list, self.state_cells(response), strict=True)
        }
        assert shown[mixed["pushed"].pk] == "pushed"
        assert shown[mixed["pushed_expired"].pk] == "expired"
        assert shown[mixed["in_use"].pk] == "in use"
        assert shown[mixed["in_use_expired"].pk] == "expired"
        assert shown[mixed["consumed"].pk] == "consumed"  # a consumed row is done, never "expired"

    @staticmethod
    def state_cells(response: Any) -> list[str]:
        html = response.content.decode()
        return re.findall(r'<td class="field-state_shown">([^<]*)</td>', html)

    def test_the_filter_offers_expired_and_separates_it(self, admin_client, mixed):
        response = admin_client.get(reverse(CHANGELIST))
        (spec,) = [spec for spec in response.context["cl"].filter_specs if str(spec.title) == "state"]
        assert "expired" in [str(label) for _, label in spec.lookup_choices]

        assert rows(admin_client, state="expired") == {mixed["pushed_expired"], mixed["in_use_expired"]}
        assert rows(admin_client, state="pushed") == {mixed["pushed"]}
        assert rows(admin_client, state="in_use") == {mixed["in_use"]}
        assert rows(admin_client, state="consumed") == {mixed["consumed"]}
        assert rows(admin_client) == set(mixed.values())

    def test_the_detail_view_says_expired(self, admin_client, mixed):
        url = reverse("admin:django_par_pushedrequest_change", args=[mixed["pushed_expired"].pk])
        html = admin_client.get(url).content.decode()
        assert re.search(r'<div class="readonly">expired</div>', html), html


class TestTimesAndParameters:
    def test_times_have_seconds_and_the_zone(self, settings):
        settings.TIME_ZONE = "Europe/Paris"
        moment = datetime(2026, 7, 1, 10, 20, 30, tzinfo=dt_timezone.utc)
        assert local_time(moment) == "2026-07-01 12:20:30 CEST"
        settings.TIME_ZONE = "UTC"
        assert local_time(moment) == "2026-07-01 10:20:30 UTC"
        assert local_time(None) == "-"

    def test_the_detail_view_pretty_prints_parameters_and_shows_seconds(self, admin_client, settings):
        settings.TIME_ZONE = "UTC"
        created = datetime(2026, 7, 1, 10, 20, 30, tzinfo=dt_timezone.utc)
        row = PushedRequestFactory(created_at=created, parameters={"scope": "openid", "state": "<s>"})
        html = admin_client.get(reverse("admin:django_par_pushedrequest_change", args=[row.pk])).content.decode()
        assert "2026-07-01 10:20:30 UTC" in html
        assert (
            "<pre>{\n  &quot;scope&quot;: &quot;openid&quot;,\n  &quot;state&quot;: &quot;&lt;s&gt;&quot;\n}</pre>"
            in html
        )

    def test_the_list_shows_seconds(self, admin_client, settings):
        settings.TIME_ZONE = "UTC"
        PushedRequestFactory(created_at=datetime(2026, 7, 1, 10, 20, 30, tzinfo=dt_timezone.utc))
        assert "2026-07-01 10:20:30 UTC" in admin_client.get(reverse(CHANGELIST)).content.decode()


class TestPurgeMessage:
    def test_the_purge_action_reports_the_count(self, admin_client):
        PushedRequestFactory(expired=True)
        live = PushedRequestFactory()
        response = admin_client.post(
            reverse(CHANGELIST), {"action": "purge_expired", "_selected_action": [str(live.pk)]}, follow=True
        )
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["Purged 1 expired pushed request."]


def public_jwk() -> dict[str, Any]:
    return dict(json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="k1").export_public()))


def private_jwk() -> dict[str, Any]:
    return dict(json.loads(jwk.JWK.generate(kty="EC", crv="P-256", kid="k2").export_private()))


class TestJwkSetRule:
    def test_a_set_of_public_keys_passes(self):
        check_public_key_set({"keys": [public_jwk()]})

    @pytest.mark.parametrize(
        "document",
        [
            {"keys": [private_jwk()]},
            {"keys": [public_jwk(), private_jwk()]},
            {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            {"keys": [{"kty": "nonsense"}]},
            {"keys": "no list"},
            [public_jwk()],
            "garbage",
            {"kty": "EC"},
        ],
        ids=["private", "one-private", "symmetric", "bad-key", "keys-not-list", "bare-list", "string", "single-key"],
    )
    def test_anything_else_is_refused(self, document):
        with pytest.raises(ValueError):
            check_public_key_set(document)


class TestClientMetadataInline:
    def form(self, **data: Any) -> ClientMetadataForm:
        application = ConfidentialApplicationFactory()
        return ClientMetadataForm(data={"application": application.pk, "token_endpoint_auth_method": "", **data})

    def test_public_keys_are_saved_as_json(self):
        form = self.form(jwks=json.dumps({"keys": [public_jwk()]}))
        assert form.is_valid(), form.errors
        assert form.save().jwks["keys"][0]["kid"] == "k1"

    @pytest.mark.parametrize("jwks", ["{not json", json.dumps({"keys": [private_jwk()]}), "[]"])
    def test_a_private_key_or_garbage_is_a_form_error(self, jwks):
        form = self.form(jwks=jwks)
        assert not form.is_valid()
        assert "jwks" in form.errors

    def test_empty_jwks_is_none_and_shown_empty_not_null(self, admin_client):
        form = self.form(jwks="")
        assert form.is_valid(), form.errors
        assert form.save().jwks is None
        metadata = ClientMetadataFactory()
        html = admin_client.get(
            reverse("admin:oauth2_provider_application_change", args=[metadata.application.pk])
        ).content.decode()
        textarea = re.search(r'<textarea name="par_metadata-0-jwks"[^>]*>(.*?)</textarea>', html, re.S)
        assert textarea is not None and textarea.group(1).strip() == ""

    def test_algorithms_are_choices(self):
        form = self.form()
        assert [value for value, _ in form.fields["request_object_signing_alg"].choices] == [
            "",
            "RS256",
            "PS256",
            "ES256",
            "EdDSA",
        ]
        assert not self.form(request_object_signing_alg="none").is_valid()
        assert self.form(request_object_signing_alg="ES256").is_valid()
        assert not self.form(authorization_signed_response_alg="HS256").is_valid()

    def test_the_inline_is_titled_par_client_metadata(self, admin_client, confidential_app):
        response = admin_client.get(reverse("admin:oauth2_provider_application_change", args=[confidential_app.pk]))
        (formset,) = [f for f in response.context["inline_admin_formsets"] if type(f.opts) is ClientMetadataInline]
        # Django's inline script builds "Add another <name>" from this.
        assert json.loads(formset.inline_formset_data())["options"]["addText"] == "Add another PAR client metadata"
        assert "PAR client metadata" in response.content.decode()

    def test_the_admin_refuses_a_private_key(self, admin_client, confidential_app):
        url = reverse("admin:oauth2_provider_application_change", args=[confidential_app.pk])
        page = admin_client.get(url)
        data = {
            name: value
            for name, value in page.context["adminform"].form.initial.items()
            if value is not None and not isinstance(value, (list, dict))
        }
        data.update(
            {
                "client_id": confidential_app.client_id,
                "client_type": confidential_app.client_type,
                "authorization_grant_type": confidential_app.authorization_grant_type,
                "redirect_uris": confidential_app.redirect_uris,
                "post_logout_redirect_uris": "",
                "allowed_origins": "",
                "algorithm": confidential_app.algorithm,
                "name": confidential_app.name,
                "client_secret": "",
                "par_metadata-TOTAL_FORMS": "1",
                "par_metadata-INITIAL_FORMS": "0",
                "par_metadata-MIN_NUM_FORMS": "0",
                "par_metadata-MAX_NUM_FORMS": "1",
                "par_metadata-0-jwks": json.dumps({"keys": [private_jwk()]}),
                "par_metadata-0-token_endpoint_auth_method": "private_key_jwt",
            }
        )
        response = admin_client.post(url, data)
        assert response.status_code == 200  # the form again, with the error
        assert "is private: register public keys only" in response.content.decode()
        assert not ClientMetadata.objects.filter(application=confidential_app).exists()


class TestOverview:
    @pytest.fixture
    def now(self) -> datetime:
        return timezone.now()

    def test_figures_per_state_client_and_hour(self, now):
        alpha = ConfidentialApplicationFactory(client_id="alpha")
        beta = ConfidentialApplicationFactory(client_id="beta")
        two_hours_ago = now - timedelta(hours=2)
        PushedRequestFactory(application=alpha)  # pushed, live
        PushedRequestFactory(application=alpha, state=State.CONSUMED, created_at=two_hours_ago)
        PushedRequestFactory(application=alpha, state=State.CONSUMED, created_at=two_hours_ago)
        PushedRequestFactory(application=beta, created_at=two_hours_ago, expires_at=two_hours_ago)  # expired unused
        PushedRequestFactory(application=beta, state=State.IN_USE, created_at=two_hours_ago, expires_at=now)
        PushedRequestFactory(application=beta, created_at=now - timedelta(hours=25))  # outside the window

        context = overview_context(now)

        assert context["states"] == {"pushed": 1, "in_use": 0, "consumed": 2, "expired": 2, "total": 5}
        clients = {row["client_id"]: row for row in context["clients"]}
        assert clients["alpha"]["total"] == 3 and clients["alpha"]["consumed"] == 2
        assert clients["beta"]["total"] == 2 and clients["beta"]["expired"] == 2
        assert [row["client_id"] for row in context["clients"]] == ["alpha", "beta"]
        hours = context["hours"]
        assert len(hours) == 24
        assert hours[-1] == {**hours[-1], "total": 1, "consumed": 0, "expired_unused": 0}
        assert hours[-3] == {**hours[-3], "total": 4, "consumed": 2, "expired_unused": 1}
        assert sum(hour["total"] for hour in hours) == 5
        bar = context["chart"]["bars"][-3]
        assert (bar.consumed, bar.expired_unused, bar.other) == (2, 1, 1)
        assert bar.consumed_height == pytest.approx(2 * bar.expired_height)

    def test_the_page_draws_the_chart(self, admin_client):
        PushedRequestFactory(application=ConfidentialApplicationFactory(client_id="gamma"), state=State.CONSUMED)
        response = admin_client.get(reverse(OVERVIEW))
        html = response.content.decode()
        assert response.status_code == 200
        assert '<svg id="par-chart"' in html and html.count('fill="#2da44e"') >= 24
        assert "<td>gamma</td>" in html

    def test_the_changelist_links_to_it(self, admin_client):
        assert reverse(OVERVIEW) in admin_client.get(reverse(CHANGELIST)).content.decode()

    def test_staff_without_view_permission_is_refused(self, client, django_user_model):
        user = django_user_model.objects.create_user("staff", password="x", is_staff=True)
        client.force_login(user)
        assert client.get(reverse(OVERVIEW)).status_code == 403

    def test_the_figures_take_a_constant_number_of_queries(self, django_assert_num_queries, now):
        for n in range(5):
            PushedRequestFactory(application=ConfidentialApplicationFactory(client_id=f"c{n}"))
        with django_assert_num_queries(4):  # states, clients, their client_ids, hours
            overview_context(now)


# -- the JWK Set rule on any JSON an operator may paste ------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
key_like = st.fixed_dictionaries(
    {"kty": st.sampled_from(["EC", "RSA", "OKP", "oct", "x"])},
    optional={
        "crv": st.sampled_from(["P-256", "Ed25519", "nope"]),
        "x": st.text(max_size=50),
        "y": st.text(max_size=50),
        "d": st.text(max_size=50),
        "n": st.text(max_size=50),
        "e": st.text(max_size=8),
        "k": st.text(max_size=20),
    },
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.one_of(json_values, st.fixed_dictionaries({"keys": st.lists(key_like | json_values, max_size=3)})))
def test_the_jwk_set_rule_answers_any_json_with_a_value_error_or_nothing(document):
    try:
        check_public_key_set(document)
    except ValueError:
        return
    # Accepted: a JWK Set whose every key jwcrypto reads as public.
    keys = jwk.JWKSet.from_json(json.dumps(document))["keys"]
    assert len(keys) == len(document["keys"]) and not any(key.has_private for key in keys)
