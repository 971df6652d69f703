"""The one client-authentication pipeline, for the PAR endpoint and DOT's token endpoint.

It runs the configured backends (:mod:`django_par.clients.base`) in order, then
applies the per-client method policy. The PAR endpoint calls
:func:`authenticate_client` directly; DOT's token endpoint reaches it through
:mod:`django_par.clients.validator`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

from .. import fapi2
from ..conf import par_settings
from ..errors import InvalidClient, InvalidRequest
from ..models import PushedRequest, client_metadata
from ..signals import request_rejected
from .base import AuthenticatedClient, ClientAuthBackend

logger = logging.getLogger("django_par.clients")


@cache
def _backend(path: str) -> ClientAuthBackend:
    backend: ClientAuthBackend = import_string(path)()
    return backend


def get_backends() -> list[ClientAuthBackend]:
    return [_backend(path) for path in par_settings.CLIENT_AUTH_BACKENDS]


def _credential_carriers(request: HttpRequest, params: Mapping[str, str]) -> list[str]:
    carriers = []
    if request.META.get("HTTP_AUTHORIZATION"):
        carriers.append("Authorization header")
    carriers.extend(name for name in ("client_secret", "client_assertion") if name in params)
    return carriers


def required_auth_method(application: Any) -> str:
    """The only method the client may use ("" for any): FAPI 2.0's, else its registered one."""
    return fapi2.required_auth_method() or str(client_metadata(application).token_endpoint_auth_method)


def challenge_headers() -> dict[str, str]:
    # RFC 6749 §5.2 / RFC 9110 §15.5.2: a 401 names the scheme to use, Basic here.
    return {"WWW-Authenticate": f'Basic realm="{par_settings.AUTHENTICATION_REALM}"'}


# Every client authentication failure answers alike: which part failed (no such client,
# no keys, a hashed secret...) would tell an attacker which client ids exist and how they are set up.
FAILED = "Client authentication failed."


def _failed(request: HttpRequest, error: InvalidClient) -> InvalidClient:
    """The one answer to a failed client authentication; the reason goes to the log and the signal."""
    failure = InvalidClient(FAILED, headers={**error.headers, **challenge_headers()})
    failure.reason = error.reason or error.description
    # The reason names no credential: backends describe what was wrong, never the secret or assertion.
    # Quoted and cut (%.300r): it may carry a client's own values, such as a JWT's alg.
    logger.warning("Client authentication failed at %.200r: %.300r", request.path, failure.reason)
    request_rejected.send(sender=PushedRequest, pushed_request=None, request=request, error=failure)
    return failure


def authenticate_client(request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient:
    """Authenticate the client of a request or raise an OAuth error."""
    carriers = _credential_carriers(request, params)
    if len(carriers) > 1:
        # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
        raise InvalidRequest(f"More than one client authentication method was used: {', '.join(carriers)}.")
    try:
        client = None
        for backend in get_backends():
            client = backend.authenticate(request, params)
            if client is not None:
                break
        if client is None:
            raise InvalidClient("The client did not authenticate.")
        required = required_auth_method(client.application)
        if required and required != client.method:
            raise InvalidClient(f"This client must authenticate with {required}.")
    except InvalidClient as error:
        raise _failed(request, error) from None
    if params.get("client_id", client.application.client_id) != client.application.client_id:
        # RFC 7521 §4.2 / RFC 6749 §2.3: a client_id beside the credentials names the same client.
        raise InvalidRequest("client_id does not match the authenticated client.")
    return client
