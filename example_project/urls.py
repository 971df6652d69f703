from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from example_project.demo.api import MeView
from example_project.demo.views import callback, exchange, home, start

urlpatterns = [
    # django_par first: its views take over some of DOT's paths under /o/.
    path("o/", include("django_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", home, name="demo-home"),
    path("demo/start/<slug:slug>/", start, name="demo-start"),
    path("demo/callback/", callback, name="demo-callback"),
    path("demo/exchange/", exchange, name="demo-exchange"),
    # A protected API taking bearer and DPoP-bound access tokens.
    path("api/me/", MeView.as_view(), name="demo-api-me"),
]
