"""The one place where OAuth errors become HTTP responses, and backend failures OAuth errors."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from ..dpop.resources import challenge
from ..errors import OAuthError, TemporarilyUnavailable, backend_failure_types
from .error_pages import client_link, error_page

logger = logging.getLogger("django_par.unavailable")

# A site overrides it like any app template (see docs/templates.md).
ERROR_TEMPLATE = "django_par/error.html"


def no_store(response: HttpResponse) -> HttpResponse:
    # RFC 9126 §2.2 / RFC 6749 §5.1: PAR answers must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def json_error_response(error: OAuthError) -> HttpResponse:
    """The error as JSON; its headers too (a 401's WWW-Authenticate, a 429's or 503's Retry-After)."""
    return no_store(_with_headers(JsonResponse(error.as_dict(), status=error.status), error))


def html_error_response(request: HttpRequest, error: OAuthError) -> HttpResponse:
    """An error page for the browser: never a redirect to an unverified client."""
    nonce = secrets.token_urlsafe(16)
    unavailable = isinstance(error, TemporarilyUnavailable)
    context = {
        "error": {"error": error.error, "description": error.description},
        "page": error_page(error),
        # The way back reads the client (cache, database): not when a backend just failed.
        "client_link": None if unavailable else client_link(request),
        "csp_nonce": nonce,
    }
    if unavailable:
        # Without the request: its context processors (the user, the session) would reach
        # the database or cache that just failed, and turn this page into a 500.
        response = HttpResponse(render_to_string(ERROR_TEMPLATE, context), status=503)
    else:
        response = render(request, ERROR_TEMPLATE, context, status=error.status)
    response["Content-Security-Policy"] = page_csp(nonce)
    return no_store(_with_headers(response, error))


def _with_headers(response: HttpResponse, error: OAuthError) -> HttpResponse:
    for name, value in error.headers.items():
        response[name] = value
    return response


@contextmanager
def backend_failures() -> Iterator[None]:
    """Turn a failure of the database or of a cache django_par needs into TemporarilyUnavailable.

    The one seam for docs/failures.md: the views wrap their work in it and answer the error
    like any other (503, ``Retry-After``). Whatever the failed call wrote is in the state the
    stores' atomic moves leave it: a request_uri is spent at most once, so a fault never
    yields a second code (RFC 9126 §7.3), only, when in doubt, none.
    """
    try:
        yield
    except backend_failure_types() as failure:
        # The cause for the operator; the client reads only "retry later".
        logger.warning("A backend failed (%s); answering 503.", type(failure).__name__, exc_info=True)
        raise TemporarilyUnavailable(
            "The server cannot reach one of its services at the moment; retry shortly."
        ) from failure


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
    response = _with_headers(JsonResponse(error.as_dict(), status=status), error)
    if status < 500:  # a 503 is no challenge: the client's credentials were not the problem
        response["WWW-Authenticate"] = challenge(error, scheme)
    return no_store(response)
