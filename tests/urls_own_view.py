"""A site's own authorization view with PushedAuthorizationMixin, routed before DOT's."""

from django.urls import include, path
from oauth2_provider.views import AuthorizationView

from django_par.views.authorize import PushedAuthorizationMixin
from django_par.views.par import PushedAuthorizationRequestView


class SiteAuthorizationView(PushedAuthorizationMixin, AuthorizationView):
    template_name = "oauth2_provider/authorize.html"


urlpatterns = [
    path("o/authorize/", SiteAuthorizationView.as_view()),
    path("o/", include(([path("par/", PushedAuthorizationRequestView.as_view(), name="par")], "django_par"))),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
