"""What a person reads on django_par's HTML error pages: the one table from error to words.

A browser lands on these pages only when no authorization response can be sent to
the client (the request_uri cannot be resolved, PAR is required): the page says
what happened and what to do, and links back to the client only through the origin
of one of its registered redirect URIs, never through anything the query names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..clients.registry import load_application
from ..errors import OAuthError


@dataclass(frozen=True)
class ErrorPage:
    title: Any  # lazy translated strings
    what_happened: Any
    what_to_do: Any


START_AGAIN = _("Return to the application and start again.")

EXPIRED = ErrorPage(_("Sign-in link expired"), _("This sign-in link has expired."), START_AGAIN)
SPENT = ErrorPage(
    _("Sign-in link already used"),
    _("This sign-in link has already been used: each link works once."),
    _("Return to the application and start again. If you have just signed in, you can close this page."),
)
SPENT_OR_EXPIRED = ErrorPage(
    _("Sign-in link no longer valid"), _("This sign-in link has already been used or has expired."), START_AGAIN
)
UNKNOWN = ErrorPage(
    _("Sign-in link not recognised"),
    _("This sign-in link is not one this server knows: it may be incomplete, or so old that it was deleted."),
    START_AGAIN,
)
OTHER_CLIENT = ErrorPage(
    _("Sign-in link not recognised"),
    _("This sign-in link was made for another application than the one named in the address."),
    START_AGAIN,
)
PAR_REQUIRED = ErrorPage(
    _("Sign-in not started correctly"),
    _("The application sent you here in a way this server does not accept for it."),
    _("Return to the application and try again. If this keeps happening, tell the application's support."),
)
TOO_MANY = ErrorPage(
    _("Too many attempts"),
    _("Too many sign-in attempts were made in a short time."),
    _("Wait a minute, then return to the application and start again."),
)
UNAVAILABLE = ErrorPage(
    _("Sign-in briefly unavailable"),
    _("This server cannot reach one of its services at the moment."),
    _("Wait a moment, then reload this page."),
)
GENERIC = ErrorPage(
    _("Sign-in request not valid"),
    _("The application sent you here with a sign-in request this server cannot accept."),
    _("Return to the application and try again. If this keeps happening, tell the application's support."),
)

# The descriptions django_par.flow.lifecycle raises, then error codes, then statuses.
BY_DESCRIPTION: dict[str, ErrorPage] = {
    "The request_uri has expired.": EXPIRED,
    "The request_uri has already been used.": SPENT,
    "The request_uri has already been used or has expired.": SPENT_OR_EXPIRED,
    "The request_uri is unknown.": UNKNOWN,
    "The request_uri was not issued by this server.": UNKNOWN,
    "The request_uri was not pushed by this client.": OTHER_CLIENT,
    "This client must use pushed authorization requests.": PAR_REQUIRED,
}
BY_ERROR: dict[str, ErrorPage] = {"invalid_request_uri": UNKNOWN}
BY_STATUS: dict[int, ErrorPage] = {429: TOO_MANY, 503: UNAVAILABLE}


def error_page(error: OAuthError) -> ErrorPage:
    return BY_DESCRIPTION.get(error.description) or BY_STATUS.get(error.status) or BY_ERROR.get(error.error) or GENERIC


def client_link(request: HttpRequest) -> tuple[str, str] | None:
    """(name, URL) of the client named by the query: the origin of its first registered
    http(s) redirect URI, a place the client chose itself; None when there is none."""
    client_ids = request.GET.getlist("client_id")
    if len(client_ids) != 1:
        return None
    application = load_application(client_ids[0])
    if application is None:
        return None
    for redirect_uri in str(application.redirect_uris or "").split():
        parts = urlsplit(redirect_uri)
        if parts.scheme in ("http", "https") and parts.netloc and "@" not in parts.netloc:
            return str(application.name or application.client_id), f"{parts.scheme}://{parts.netloc}/"
    return None
