"""The life of a pushed request: stored, resolved, started, consumed (RFC 9126 §2.2, §4).

A pushed request moves PUSHED -> IN_USE (first use; reloads allowed) ->
CONSUMED (its one authorization response). The store makes both moves atomic,
so two browsers racing cannot both win.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils import timezone

from .. import fapi2
from ..clients.registry import load_application
from ..conf import LIFETIME_RANGES, par_settings
from ..errors import InvalidRequest, InvalidRequestUri, OAuthError
from ..models import PushedRequest, client_metadata
from ..signals import request_consumed, request_first_used, request_pushed, request_rejected
from .request_uri import REQUEST_URI_PREFIX, new_request_uri, request_uri_digest
from .stores import get_store

State = PushedRequest.State


@dataclass(frozen=True)
class PushResult:
    request_uri: str
    expires_in: int


def request_uri_lifetime(application: Any) -> int:
    """Seconds a new request_uri of ``application`` is usable for a first use (RFC 9126 §2.2).

    The client's ``request_uri_lifetime`` (a cross-device handoff needs longer than a
    redirect), else ``REQUEST_URI_LIFETIME``; held to the setting's range, and under
    600 seconds with FAPI 2.0, whatever the row says (the admin form refuses more).
    """
    lifetime = client_metadata(application).request_uri_lifetime or par_settings.REQUEST_URI_LIFETIME
    low, high = LIFETIME_RANGES["REQUEST_URI_LIFETIME"]
    return min(max(lifetime, low), high, fapi2.max_request_uri_lifetime())


def store_pushed_request(request: HttpRequest, application: Any, parameters: dict[str, str]) -> PushResult:
    """Store validated parameters; the new request_uri is usable for :func:`request_uri_lifetime` seconds."""
    request_uri = new_request_uri()
    lifetime = request_uri_lifetime(application)
    now = timezone.now()
    pushed = PushedRequest(
        request_uri_digest=request_uri_digest(request_uri),
        application=application,
        parameters=parameters,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    get_store().save(pushed)
    request_pushed.send(sender=PushedRequest, pushed_request=pushed, request=request)
    return PushResult(request_uri, lifetime)


def resolve_request_uri(request: HttpRequest, query: QueryDict) -> PushedRequest:
    """The pushed request named by the query's request_uri, now in use."""
    try:
        pushed = _find_usable(query)
    except OAuthError as error:
        request_rejected.send(sender=PushedRequest, pushed_request=None, request=request, error=error)
        raise
    if pushed.state == State.PUSHED:
        _start_flow(request, pushed)
    return pushed


def _find_usable(query: QueryDict) -> PushedRequest:
    for name in ("request_uri", "client_id"):
        # RFC 6749 §3.1: parameters must not be repeated; which copy would win is a parser's guess.
        if len(query.getlist(name)) > 1:
            raise InvalidRequest(f"{name} was sent more than once.")
    if "request" in query:
        raise InvalidRequest("request and request_uri cannot be sent together.")
    client_id = query.get("client_id")
    if not client_id:
        # RFC 9126 §4: client_id is required beside request_uri.
        raise InvalidRequest("client_id is required with request_uri.")
    request_uri = query.get("request_uri", "")
    if not request_uri.startswith(REQUEST_URI_PREFIX):
        raise InvalidRequestUri("The request_uri was not issued by this server.")
    pushed = get_store().find(request_uri_digest(request_uri))
    if pushed is None:
        raise InvalidRequestUri("The request_uri is unknown.")
    application = load_application(client_id)  # usually from the client cache
    # RFC 9126 §4: the request_uri is bound to the client that pushed it.
    if application is None or pushed.application_id != application.pk:
        raise InvalidRequestUri("The request_uri was not pushed by this client.")
    pushed.application = application
    if pushed.state == State.CONSUMED:
        raise InvalidRequestUri("The request_uri has already been used.")
    if pushed.is_expired():
        raise InvalidRequestUri("The request_uri has expired.")
    return pushed


def _start_flow(request: HttpRequest, pushed: PushedRequest) -> None:
    """First use: from now on the flow lifetime, not the push lifetime, applies."""
    now = timezone.now()
    flow_ends = now + timedelta(seconds=par_settings.FLOW_LIFETIME)
    if get_store().start_flow(pushed, now, flow_ends):
        pushed.state, pushed.used_at, pushed.expires_at = State.IN_USE, now, flow_ends
        request_first_used.send(sender=PushedRequest, pushed_request=pushed, request=request)
        return
    current = get_store().find(pushed.request_uri_digest)  # another request moved it meanwhile
    if current is None or current.state == State.CONSUMED or current.is_expired():
        raise InvalidRequestUri("The request_uri has already been used.")
    pushed.state, pushed.used_at, pushed.expires_at = current.state, current.used_at, current.expires_at


def consume(request: HttpRequest, pushed: PushedRequest) -> None:
    """Spend the request_uri on its one authorization response (RFC 9126 §7.3)."""
    now = timezone.now()
    if not get_store().consume(pushed, now):
        error = InvalidRequestUri("The request_uri has already been used or has expired.")
        request_rejected.send(sender=PushedRequest, pushed_request=pushed, request=request, error=error)
        raise error
    pushed.state, pushed.consumed_at = State.CONSUMED, now
    request_consumed.send(sender=PushedRequest, pushed_request=pushed, request=request)


def par_required_for_every_client() -> bool:
    """The server-wide floor, which a client cannot opt out of (RFC 9126 §5)."""
    return par_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS or fapi2.par_required()


def require_pushed_request(request: HttpRequest, application: Any) -> None:
    """Refuse a plain authorization request where PAR is required (RFC 9126 §5, §6)."""
    if par_required_for_every_client() or client_metadata(application).require_pushed_authorization_requests:
        error = InvalidRequest("This client must use pushed authorization requests.")
        request_rejected.send(sender=PushedRequest, pushed_request=None, request=request, error=error)
        raise error
