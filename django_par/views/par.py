from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..dpop import nonces
from ..errors import MethodNotAllowed, OAuthError
from ..push.pipeline import push_authorization_request
from .reports import hide_credentials_in_reports
from .responses import backend_failures, json_error_response, no_store


class PushedAuthorizationRequestView(View):
    """``POST /o/par/``: the pushed authorization request endpoint (RFC 9126 §2)."""

    http_method_names = ["post"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # Clients authenticate themselves, with no CSRF token. Marked once here rather
        # than by method_decorator, which wraps the method anew on every request.
        return csrf_exempt(super().as_view(**initkwargs))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        hide_credentials_in_reports(request)
        try:
            with backend_failures():  # 503 when the database or a cache fails (docs/failures.md)
                result = push_authorization_request(request)
        except OAuthError as error:
            return json_error_response(error)
        body = {"request_uri": result.request_uri, "expires_in": result.expires_in}
        response = JsonResponse(body, status=201)
        # RFC 9449 §8.2: a fresh nonce with every answer while nonces are on.
        for name, value in nonces.nonce_headers().items():
            response[name] = value
        return no_store(response)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = json_error_response(MethodNotAllowed("The PAR endpoint accepts only POST."))
        response["Allow"] = "POST"
        return response
