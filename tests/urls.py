from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from tests.resources import views as resources

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("o/", include("django_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    # Protected resources (tests/resources).
    path("api/view/", resources.ReadView.as_view(), name="api-view"),
    path("api/function/", resources.read_function, name="api-function"),
    path("api/drf/", resources.DrfView.as_view(), name="api-drf"),
    path("api/dot/", resources.DotView.as_view(), name="api-dot"),
]
