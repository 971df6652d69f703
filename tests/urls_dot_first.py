"""A URLconf that includes DOT's URLs before django_par's: DOT's authorize/ wins."""

from django.urls import include, path

urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("o/", include("django_par.urls")),
]
