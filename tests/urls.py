from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="admin/login.html"), name="login"),
    path("o/", include("django_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
