"""Protected resources of the test site: django_par's view, decorator and DRF class, and DOT's own view."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views import ProtectedResourceView as DotProtectedResourceView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_par.contrib.rest_framework import DPoPAuthentication
from django_par.views.resources import ProtectedResourceView, protected_resource


def _answer(request: Any, token: Any) -> dict[str, str]:
    return {"user": request.resource_owner.get_username(), "scope": token.scope}


class ReadView(ProtectedResourceView):
    required_scopes = ["read"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse(_answer(request, request.access_token))  # type: ignore[attr-defined]

    post = get


@protected_resource(scopes=["read"])
def read_function(request: HttpRequest) -> HttpResponse:
    return JsonResponse(_answer(request, request.access_token))  # type: ignore[attr-defined]


class DrfView(APIView):  # type: ignore[misc]
    authentication_classes = [DPoPAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username(), "scope": request.auth.scope})


class DotView(DotProtectedResourceView):  # type: ignore[misc]
    """DOT's own view: django_par's validator alone keeps DPoP-bound tokens out of it."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return JsonResponse({"user": request.resource_owner.get_username()})
