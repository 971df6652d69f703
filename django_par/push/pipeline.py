"""Accepting a pushed authorization request, step by step in RFC 9126 §2's order.

1. read the form body strictly (:mod:`.form`);
2. authenticate the client (:mod:`django_par.clients.pipeline`), RFC 9126 §2, and hold it to its
   push rate (:mod:`django_par.limits`), §2.3; verify its DPoP proof, if any (RFC 9449 §10,
   :mod:`django_par.dpop`);
3. refuse ``request_uri`` (§2.1), take a signed request object's claims (§3, :mod:`.request_objects`);
4. apply FAPI 2.0 (:mod:`django_par.fapi2`) and the parameter rules, then DOT's validation (:mod:`.parameters`),
   and bind the request to the proof's key or its ``dpop_jkt`` (RFC 9449 §10);
5. store the request and issue its request_uri (:mod:`django_par.flow.lifecycle`), §2.2, unless
   the client holds its limit of unused ones (§2.3).
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from .. import fapi2, limits
from ..clients.base import AuthenticatedClient
from ..clients.pipeline import authenticate_client
from ..dpop import grants
from ..errors import InvalidRequest, OAuthError
from ..flow.lifecycle import PushResult, store_pushed_request
from ..flow.stores import get_store
from ..models import PushedRequest
from ..signals import request_rejected
from .form import read_form_parameters
from .parameters import validate_pushed_parameters
from .request_objects import request_object_parameters, require_signed_request_object


# Error reports (the 500 page, admin e-mails) hide the credentials in the body and
# every variable of this call and of the calls below it.
@sensitive_variables()
@sensitive_post_parameters("client_secret", "client_assertion")
def push_authorization_request(request: HttpRequest) -> PushResult:
    """Authenticate, validate and store a pushed request; raise OAuthError when bad."""
    params = read_form_parameters(request)
    client = authenticate_client(request, params)  # a failure is signalled there, once
    try:
        return _accept(request, client, params)
    except OAuthError as error:
        # For auditing and metrics: a push refused after its client was known.
        request_rejected.send(
            sender=PushedRequest, pushed_request=None, request=request, error=error, application=client.application
        )
        raise


def _accept(request: HttpRequest, client: AuthenticatedClient, params: dict[str, str]) -> PushResult:
    # RFC 9126 §2.3: 429 over the client's rate; after authentication, so only the client spends it.
    limits.check_push_rate(client.application)
    # RFC 9449 §10: the proof is checked (and its jti spent) before anything is stored.
    proof = grants.request_proof(request)
    if "request_uri" in params:
        # RFC 9126 §2.1: the request_uri parameter MUST NOT be provided in a push.
        raise InvalidRequest("request_uri must not be sent to the pushed authorization request endpoint.")
    if "request" in params:
        # RFC 9126 §3: only the request object's claims count, beside client authentication.
        params = request_object_parameters(request, client, params["request"])
    else:
        require_signed_request_object(client)
    params["client_id"] = client.application.client_id
    fapi2.check_push(params)
    parameters = validate_pushed_parameters(request, params, client.application)
    jkt = grants.push_binding(proof, params)
    if jkt is not None:
        parameters["dpop_jkt"] = jkt
    limit = limits.outstanding_limit(client.application)
    if limit is None:
        return store_pushed_request(request, client.application, parameters)
    with get_store().outstanding_slot(client.application, limit, timezone.now()) as free:
        if not free:
            raise limits.too_many_outstanding(limit)
        return store_pushed_request(request, client.application, parameters)
