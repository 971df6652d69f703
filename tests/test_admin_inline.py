"""The ClientMetadata inline reaches DOT's application admin whatever the order of INSTALLED_APPS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.checks import run_checks
from oauth2_provider.models import get_application_model

from django_par.admin import ClientMetadataInline, has_inline

REPO_ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import django
django.setup()
from django.core.checks import run_checks
from django_par.admin import has_inline
print(has_inline(), sorted(m.id for m in run_checks() if m.id and m.id.startswith("django_par.")))
"""


@pytest.mark.parametrize(
    "order",
    [
        "django.contrib.admin,oauth2_provider,django_par",
        "django.contrib.admin,django_par,oauth2_provider",  # django_par's admin module is imported before DOT's
        "django_par,oauth2_provider,django.contrib.admin",
        "django_par,django.contrib.admin,oauth2_provider",
    ],
)
def test_the_inline_is_installed_in_every_order(order: str) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.helpers.settings_app_order",
        "DJANGO_PAR_TEST_APP_ORDER": order,
        "PYTHONPATH": str(REPO_ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True []"


def test_a_site_admin_registered_afterwards_is_reported_by_w003() -> None:
    application_model = get_application_model()
    original = type(admin.site._registry[application_model])
    admin.site.unregister(application_model)
    admin.site.register(application_model, admin.ModelAdmin)  # a site's own admin, without the inline
    try:
        assert not has_inline()
        assert "django_par.W003" in {message.id for message in run_checks()}
    finally:
        admin.site.unregister(application_model)
        admin.site.register(application_model, original)
    assert ClientMetadataInline in original.inlines
    assert "django_par.W003" not in {message.id for message in run_checks()}
