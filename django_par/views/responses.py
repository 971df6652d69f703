"""The one place where OAuth errors become HTTP responses."""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from ..dpop.resources import challenge
from ..errors import OAuthError
from .error_pages import client_link, error_page

# A site overrides it like any app template (see docs/templates.md).
ERROR_TEMPLATE = "django_par/error.html"


def no_store(response: HttpResponse) -> HttpResponse:
    # RFC 9126 §2.2 / RFC 6749 §5.1: PAR answers must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def json_error_response(error: OAuthError) -> HttpResponse:
    """The error as JSON; its headers too (a 401's WWW-Authenticate, a 429's Retry-After)."""
    response = JsonResponse(error.as_dict(), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return no_store(response)


def html_error_response(request: HttpRequest, error: OAuthError) -> HttpResponse:
    """An error page for the browser: never a redirect to an unverified client."""
    nonce = secrets.token_urlsafe(16)
    context = {
        "error": {"error": error.error, "description": error.description},
        "page": error_page(error),
        "client_link": client_link(request),
        "csp_nonce": nonce,
    }
    response = render(request, ERROR_TEMPLATE, context, status=error.status)
    response["Content-Security-Policy"] = page_csp(nonce)
    for name, value in error.headers.items():  # a 429's Retry-After
        response[name] = value
    return no_store(response)


def page_csp(nonce: str) -> str:
    """The policy of django_par's own pages: nothing loads; only their nonced inline style and script run."""
    return (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )


# RFC 6750 §3.1: a request without the needed scope is forbidden, a malformed one bad; the rest is 401.
_RESOURCE_STATUS = {"insufficient_scope": 403, "invalid_request": 400}


def resource_error_response(error: OAuthError, scheme: str) -> HttpResponse:
    """A protected resource's refusal (RFC 6750 §3, RFC 9449 §7.1), with its ``WWW-Authenticate`` challenge.

    ``scheme`` is the Authorization scheme the client used ("bearer", "dpop" or ""). A DPoP
    proof error is an authentication failure here (401), where the token endpoint says 400.
    """
    status = error.status if error.status >= 500 else _RESOURCE_STATUS.get(error.error, 401)
    response = JsonResponse(error.as_dict(), status=status)
    for name, value in error.headers.items():
        response[name] = value
    response["WWW-Authenticate"] = challenge(error, scheme)
    return no_store(response)
