"""A URLconf that forgot django_par's authorization view: DOT's own serves authorize/."""

from django.urls import include, path

from django_par.views.par import PushedAuthorizationRequestView

urlpatterns = [
    # Only the PAR endpoint of django_par, under its namespace.
    path("o/", include(([path("par/", PushedAuthorizationRequestView.as_view(), name="par")], "django_par"))),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
