"""DPoP in discovery, the FAPI 2.0 switch, the system checks and the admin inline."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory, override_settings
from oauth2_provider.models import get_application_model

from django_par import checks
from django_par.admin import ClientMetadataInline
from django_par.models import PushedRequest
from tests.conftest import code_request, push
from tests.dpop.helpers import dpop_key, proof, thumbprint
from tests.helpers.factories import PublicApplicationFactory
from tests.helpers.jwt_helpers import DJANGO_PAR_VALIDATOR, dot_validator

pytestmark = pytest.mark.django_db
FAPI2 = {"FAPI2_SECURITY_PROFILE": True}


def test_discovery_lists_the_dpop_algorithms(client: Client, settings: Any) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        document = client.get("/o/.well-known/openid-configuration").json()
        assert document["dpop_signing_alg_values_supported"] == [
            "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"
        ]  # fmt: skip
        with override_settings(DJANGO_PAR=FAPI2):
            document = client.get("/o/.well-known/openid-configuration").json()
        assert document["dpop_signing_alg_values_supported"] == ["ES256", "PS256", "EdDSA"]


def test_without_the_validator_mixin_dpop_is_off(client: Client) -> None:
    """DOT's own validator could bind nothing: no DPoP in discovery, proofs and dpop_jkt ignored."""
    document = client.get("/o/.well-known/openid-configuration").json()
    assert "dpop_signing_alg_values_supported" not in document
    application = PublicApplicationFactory()
    response = push(Client(), code_request(application, dpop_jkt=thumbprint(dpop_key())), DPoP="not-a-proof")
    assert response.status_code == 201, response.content
    assert "dpop_jkt" not in PushedRequest.objects.get().parameters


def test_fapi2_requires_a_bound_push(settings: Any) -> None:
    """Under FAPI 2.0 the binding is required; the public client is refused anyway, so the rule is tested directly."""
    from django_par.dpop.grants import push_binding
    from django_par.errors import InvalidDPoPProof

    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR=FAPI2):
        with pytest.raises(InvalidDPoPProof, match=r"FAPI 2\.0 requires a DPoP-bound request"):
            push_binding(None, {})
        assert push_binding(None, {"dpop_jkt": thumbprint(dpop_key())}) == thumbprint(dpop_key())
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        assert push_binding(None, {}) is None


def test_fapi2_requires_dpop_of_every_client() -> None:
    from django_par.dpop.grants import required_for

    application = PublicApplicationFactory()
    assert not required_for(application)
    with override_settings(DJANGO_PAR=FAPI2):
        assert required_for(application)


def test_fapi2_clock_skew_too_small_is_e011(settings: Any) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR={**FAPI2, "CLOCK_SKEW": 5}):
        assert [error.id for error in checks.check_settings()] == ["django_par.E011"]


@pytest.mark.parametrize("skew", [10, 30, 60])
def test_fapi2_clock_skew_within_range(settings: Any, skew: int) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR={**FAPI2, "CLOCK_SKEW": skew}):
        assert checks.check_settings() == []


def test_fapi2_clock_skew_too_large_is_e011(settings: Any) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR={**FAPI2, "CLOCK_SKEW": 61}):
        assert [error.id for error in checks.check_settings()] == ["django_par.E011"]


@pytest.mark.parametrize("setting", [FAPI2, {"DPOP_BOUND_ACCESS_TOKENS": True}])
def test_required_dpop_without_the_mixin_is_e010(settings: Any, setting: dict[str, Any]) -> None:
    with override_settings(DJANGO_PAR=setting):
        assert [error.id for error in checks.check_dpop_validator()] == ["django_par.E010"]
    with dot_validator(settings, DJANGO_PAR_VALIDATOR), override_settings(DJANGO_PAR=setting):
        assert checks.check_dpop_validator() == []
    assert checks.check_dpop_validator() == []


def test_admin_inline_has_the_field() -> None:
    inline = ClientMetadataInline(get_application_model(), admin.site)
    request = RequestFactory().get("/")
    request.user = type("Superuser", (), {"has_perm": lambda *args: True, "is_active": True})()
    assert "dpop_bound_access_tokens" in inline.get_formset(request).form.base_fields


def test_success_carries_no_nonce_header_when_off(settings: Any) -> None:
    with dot_validator(settings, DJANGO_PAR_VALIDATOR):
        response = push(Client(), code_request(PublicApplicationFactory()), DPoP=proof())
    assert response.status_code == 201 and "DPoP-Nonce" not in response
    assert PushedRequest.objects.get().parameters["dpop_jkt"] == thumbprint(dpop_key())
