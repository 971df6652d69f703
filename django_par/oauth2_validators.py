"""DOT's request validator with django_par's JWT client assertions at the token endpoint.

Enable it so that a client that pushed with ``private_key_jwt`` or
``client_secret_jwt`` can redeem its code the same way::

    OAUTH2_PROVIDER = {"OAUTH2_VALIDATOR_CLASS": "django_par.oauth2_validators.OAuth2Validator"}

A site with its own validator puts :class:`ClientAssertionMixin` in front of it.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator as DotOAuth2Validator
from oauthlib.common import Request

from .assertions import ClientAssertionBackend
from .client_auth import get_backends
from .errors import InvalidClient


def _body_parameters(request: Request) -> dict[str, str]:
    return {name: value for name, value in (request.decoded_body or []) if value}


class ClientAssertionMixin:
    """Authenticate clients by JWT assertion; leave everything else to DOT."""

    def client_authentication_required(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        if "client_assertion" in _body_parameters(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        params = _body_parameters(request)
        if "client_assertion" not in params:
            return super().authenticate_client(request, *args, **kwargs)  # type: ignore[misc,no-any-return]
        for backend in get_backends():
            if not isinstance(backend, ClientAssertionBackend):
                continue
            try:
                client = backend.authenticate(request, params)
            except InvalidClient:
                return False
            if client is not None:
                request.client = client.application
                request.client_id = client.application.client_id
                return True
        return False


class OAuth2Validator(ClientAssertionMixin, DotOAuth2Validator):
    """DOT's validator, plus JWT client assertions."""
