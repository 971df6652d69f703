from django.urls import path

from .views import PushedAuthorizationRequestView

app_name = "django_par"

urlpatterns = [
    path("par/", PushedAuthorizationRequestView.as_view(), name="par"),
]
