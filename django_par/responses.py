"""The one place where OAuth errors become HTTP responses."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from .errors import OAuthError


def no_store(response: HttpResponse) -> HttpResponse:
    # RFC 9126 §2.2 / RFC 6749 §5.1: PAR answers must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def json_error_response(error: OAuthError) -> HttpResponse:
    response = JsonResponse(error.as_dict(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return no_store(response)
