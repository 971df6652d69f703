"""Protected resources that accept DPoP-bound access tokens (RFC 9449 §7) as well as bearer tokens.

Next to DOT's ``ProtectedResourceView`` and ``protected_resource``: the same
token checks (DOT's validator, scopes), plus the ``DPoP`` scheme with its proof,
and a DPoP-bound token refused as a bearer token. Refusals carry a
``WWW-Authenticate`` challenge naming both schemes (§7.1). The rules are in
:mod:`django_par.dpop.resources`; these views only translate HTTP.

Also here: DOT's userinfo endpoint taking DPoP-bound tokens through the same
check, and DOT's introspection answering ``cnf.jkt`` for a bound token (§6.2)
and the token's approved ``authorization_details`` (RFC 9396 §9.2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import View
from oauth2_provider.views import IntrospectTokenView as DotIntrospectTokenView
from oauth2_provider.views import UserInfoView as DotUserInfoView

from .. import dot
from ..dpop.resources import authenticate_resource_request, client_scheme
from ..dpop.resources import introspection_claims as dpop_introspection_claims
from ..errors import OAuthError
from ..flow.granted_details import introspection_claims as details_introspection_claims
from .responses import backend_failures, json_error_response, resource_error_response


def _authenticate(request: HttpRequest, scopes: list[str]) -> HttpResponse | None:
    """None when the request may reach the resource (its owner and token then set on it), else the refusal."""
    try:
        with backend_failures():  # 503 when the database or a cache is down (docs/failures.md)
            request.resource_owner, request.access_token = authenticate_resource_request(request, scopes)  # type: ignore[attr-defined]
    except OAuthError as error:
        return resource_error_response(error, client_scheme(request))
    return None


class ProtectedResourceMixin:
    """Put in front of a view: only a request with a valid access token (Bearer or DPoP) reaches it.

    ``required_scopes`` lists the scopes the token must hold. The view finds the
    user in ``request.resource_owner`` and DOT's token in ``request.access_token``.
    """

    required_scopes: list[str] = []

    def get_scopes(self) -> list[str]:
        return list(self.required_scopes)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "OPTIONS":  # a CORS preflight carries no credentials
            refusal = _authenticate(request, self.get_scopes())
            if refusal is not None:
                return refusal
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc,no-any-return]


class ProtectedResourceView(ProtectedResourceMixin, View):
    """A generic view protected by an access token, Bearer or DPoP."""


def protected_resource(
    scopes: list[str] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorator for a function view: what :class:`ProtectedResourceMixin` does for a class."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = _authenticate(request, list(scopes or []))
            return refusal if refusal is not None else view(request, *args, **kwargs)

        return protected

    return decorator


class UserInfoView(DotUserInfoView):
    """DOT's userinfo endpoint (OIDC Core §5.3), taking DPoP-bound tokens in the DPoP scheme."""

    # As DOT's: a client POSTs here with its token, not with a browser's CSRF token.
    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The token is checked here (binding included, whatever the site's validator), then DOT
        # builds the claims from it as usual; OIDC Core §5.3: the token must hold "openid".
        refusal = _authenticate(request, ["openid"]) if request.method != "OPTIONS" else None
        if refusal is not None:
            return refusal
        try:
            with backend_failures():
                return super().dispatch(request, *args, **kwargs)  # type: ignore[no-any-return]
        except OAuthError as error:
            return json_error_response(error)


class IntrospectTokenView(DotIntrospectTokenView):
    """DOT's introspection (RFC 7662), adding for an active token its DPoP key (``cnf.jkt``,
    RFC 9449 §6.2) and its approved ``authorization_details`` (RFC 9396 §9.2)."""

    @method_decorator(csrf_exempt)
    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            with backend_failures():  # 503, not DOT's 500, when the database is down
                return super().dispatch(request, *args, **kwargs)  # type: ignore[no-any-return]
        except OAuthError as error:
            return json_error_response(error)

    @staticmethod
    def get_token_response(token_value: str | None = None) -> HttpResponse:
        response: HttpResponse = DotIntrospectTokenView.get_token_response(token_value)
        if response.status_code != 200 or token_value is None:
            return response
        data = json.loads(response.content)
        token = dot.access_token_for_value(token_value) if data.get("active") else None
        if token is None:
            return response
        extra = {**dpop_introspection_claims(token), **details_introspection_claims(token)}
        if extra:
            response.content = json.dumps({**data, **extra}).encode()
        return response
