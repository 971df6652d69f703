"""Endpoint URLs follow the URLconf and the script prefix in force, also when remembered."""

from __future__ import annotations

from django.test import override_settings
from django.urls import clear_script_prefix, include, path, set_script_prefix

from django_par.clients.assertions import endpoint_urls
from django_par.views.par import PushedAuthorizationRequestView

# This module is also a URLconf: the PAR endpoint mounted elsewhere.
urlpatterns = [
    path("elsewhere/", include(([path("par/", PushedAuthorizationRequestView.as_view(), name="par")], "django_par"))),
]

ISSUER = "http://testserver/o"


def test_the_urlconf_in_force_is_used_each_time() -> None:
    assert endpoint_urls(ISSUER, "django_par:par") == ["http://testserver/o/par/"]
    with override_settings(ROOT_URLCONF=__name__):
        assert endpoint_urls(ISSUER, "django_par:par", "oauth2_provider:token") == ["http://testserver/elsewhere/par/"]
    assert endpoint_urls(ISSUER, "django_par:par") == ["http://testserver/o/par/"]


def test_the_script_prefix_in_force_is_used_each_time() -> None:
    assert endpoint_urls(ISSUER, "oauth2_provider:token") == ["http://testserver/o/token/"]
    set_script_prefix("/idp/")
    try:
        assert endpoint_urls(ISSUER, "oauth2_provider:token") == ["http://testserver/idp/o/token/"]
    finally:
        clear_script_prefix()
    assert endpoint_urls(ISSUER, "oauth2_provider:token") == ["http://testserver/o/token/"]
