"""DOT's token endpoint (RFC 6749 §3.2), served by django_par.

Clients authenticate here through DOT's validator, which with
``django_par.clients.validator`` is the same pipeline as at the PAR endpoint.
The view itself adds what only a view can: Django's error reports (the 500
page, with ``DEBUG`` on or off, admin e-mails) hide every credential and grant in
the body, where DOT's view hides ``password`` (and, from DOT 3.4, ``client_secret``)
only, and with ``DEBUG`` off only; a body in another charset than UTF-8 is
refused before Django decodes it with the codec that charset names; and it
answers 429 when client authentication is over a limit of
:mod:`django_par.limits` (raised inside oauthlib, see
:func:`django_par.clients.validator.answering_too_many_requests`). A DPoP proof
(RFC 9449 §5) is verified here, before DOT reads anything, and handed to DOT's
validator (:func:`django_par.dpop.grants.presenting`), which binds what it
issues to the proof's key; a refused proof spends no code.
"""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.models import get_grant_model
from oauth2_provider.views import TokenView as DotTokenView

from ..clients.validator import answering_too_many_requests
from ..dpop import grants, nonces
from ..errors import OAuthError
from ..push.form import read_post
from .reports import hide_credentials_in_reports
from .responses import backend_failures, json_error_response

# Body parameters that authenticate a client or redeem a grant (RFC 6749 §2.3.1, §4.1.3, §4.3.2, §6;
# RFC 7523 §2.2; RFC 7636 §4.5; RFC 8628 §3.4): each would let a reader of a report act as the client.
SENSITIVE_TOKEN_PARAMETERS = (
    "client_secret",
    "client_assertion",
    "code",
    "code_verifier",
    "refresh_token",
    "password",
    "device_code",
)


def hide_token_parameters(request: HttpRequest) -> None:
    """What ``sensitive_post_parameters`` sets, for the token endpoint's list."""
    request.sensitive_post_parameters = SENSITIVE_TOKEN_PARAMETERS  # type: ignore[attr-defined]


class TokenView(DotTokenView):
    """DOT's ``TokenView``; its error reports show no credential nor grant."""

    # Every variable of this call and of the calls below it (the validator, the hasher) too.
    @method_decorator(sensitive_variables())
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        hide_token_parameters(request)
        hide_credentials_in_reports(request)
        try:
            # Before DOT reads request.POST: its errors as OAuth errors, and never the codec a charset names.
            read_post(request)
            # 503 on a backend failure (docs/failures.md).
            with answering_too_many_requests(), backend_failures():
                proof = grants.request_proof(request)
                # One transaction, so a fault between DOT's token save and its code deletion
                # leaves neither: a code never yields two tokens.
                with transaction.atomic(router.db_for_write(get_grant_model())), grants.presenting(proof):
                    response: HttpResponse = super().post(request, *args, **kwargs)
        except OAuthError as error:  # read_post, a DPoP proof, TooManyRequests, TemporarilyUnavailable
            return json_error_response(error)
        if response.status_code == 200:
            # RFC 9449 §8.2: a fresh nonce with every answer while nonces are on.
            for name, value in nonces.nonce_headers().items():
                response[name] = value
        return response

    def create_token_response(self, request: HttpRequest) -> Any:
        # DOT's sensitive_post_parameters (on post in 3.0, on the grant's response in 3.4)
        # replaced the list on its way here: set ours again before any credential is read.
        hide_token_parameters(request)
        return super().create_token_response(request)
