"""Accepting a pushed authorization request (RFC 9126 §2)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import django
from django.http import HttpRequest
from django.utils import timezone
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .client_auth import authenticate_client
from .conf import par_settings
from .errors import InvalidRequest
from .fapi import check_fapi2_push
from .form_body import read_form_parameters
from .models import PushedRequest, request_uri_digest
from .request_objects import request_object_parameters, require_signed_request_object
from .signals import request_pushed
from .stores import get_store
from .validation import validate_pushed_parameters

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


@dataclass(frozen=True)
class PushResult:
    request_uri: str
    expires_in: int


def new_request_uri() -> str:
    # RFC 9126 §7.1: the reference must be unguessable; 256 random bits.
    return REQUEST_URI_PREFIX + secrets.token_urlsafe(32)


class _AuthorizationHeaderFilter(SafeExceptionReporterFilter):
    """Django 4.2's report filter, also hiding the Authorization header, as Django 5.0+ does."""

    hidden_settings = re.compile(SafeExceptionReporterFilter.hidden_settings.pattern + "|AUTH", flags=re.I)


# Django 4.2 shows the Basic credentials of the Authorization header in error reports.
_LEGACY_REPORT_FILTER = _AuthorizationHeaderFilter() if django.VERSION < (5, 0) else None


# Error reports (the 500 page, admin e-mails) hide the credentials in the body and
# every variable of this call and of the calls below it.
@sensitive_variables()
@sensitive_post_parameters("client_secret", "client_assertion")
def push_authorization_request(request: HttpRequest) -> PushResult:
    """Authenticate, validate and store a pushed request; raise OAuthError when bad."""
    if _LEGACY_REPORT_FILTER is not None and type(get_default_exception_reporter_filter()) is SafeExceptionReporterFilter:
        request.exception_reporter_filter = _LEGACY_REPORT_FILTER  # type: ignore[attr-defined]
    params = read_form_parameters(request)
    client = authenticate_client(request, params)
    if "request_uri" in params:
        # RFC 9126 §2.1: the request_uri parameter MUST NOT be provided in a push.
        raise InvalidRequest("request_uri must not be sent to the pushed authorization request endpoint.")
    if "request" in params:
        # RFC 9126 §3: only the request object's claims count, beside client authentication.
        params = request_object_parameters(request, client, params["request"])
    else:
        require_signed_request_object(client)
    params["client_id"] = client.application.client_id
    if par_settings.FAPI2_SECURITY_PROFILE:
        check_fapi2_push(params)
    parameters = validate_pushed_parameters(request, params, client.application)

    request_uri = new_request_uri()
    lifetime = par_settings.REQUEST_URI_LIFETIME
    now = timezone.now()
    pushed = PushedRequest(
        request_uri_digest=request_uri_digest(request_uri),
        application=client.application,
        parameters=parameters,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetime),
    )
    get_store().save(pushed)
    request_pushed.send(sender=PushedRequest, pushed_request=pushed, request=request)
    return PushResult(request_uri, lifetime)
