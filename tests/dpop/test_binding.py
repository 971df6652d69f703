"""Where DPoP bindings are kept: django_par.dpop.binding, beside DOT's tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model

from django_par.dpop import binding
from django_par.models import DPoPBinding
from tests.helpers.factories import ConfidentialApplicationFactory

pytestmark = pytest.mark.django_db
JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


def tokens() -> tuple[object, object, object]:
    application = ConfidentialApplicationFactory()
    user = get_user_model().objects.create_user("alice")
    expires = timezone.now() + timedelta(hours=1)
    access = get_access_token_model().objects.create(user=user, application=application, token="at", expires=expires)
    refresh = get_refresh_token_model().objects.create(
        user=user, application=application, token="rt", access_token=access
    )
    grant = get_grant_model().objects.create(
        user=user, application=application, code="c", expires=expires, redirect_uri="https://x/cb"
    )
    return access, refresh, grant


def test_unbound_is_none() -> None:
    access, refresh, grant = tokens()
    assert binding.access_token_jkt(access) is None
    assert binding.refresh_token_jkt(refresh) is None
    assert binding.grant_jkt(grant) is None


def test_bound() -> None:
    access, refresh, grant = tokens()
    binding.bind_access_token(access, JKT)
    binding.bind_refresh_token(refresh, "r" * 43)
    binding.bind_grant(grant, "g" * 43)
    assert binding.access_token_jkt(access) == JKT
    assert binding.refresh_token_jkt(refresh) == "r" * 43
    assert binding.grant_jkt(grant) == "g" * 43


def test_deleted_with_the_token() -> None:
    access, _refresh, grant = tokens()
    binding.bind_access_token(access, JKT)
    binding.bind_grant(grant, JKT)
    access.delete()
    grant.delete()
    assert not DPoPBinding.objects.exists()
