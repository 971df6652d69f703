"""DOT's request validator, authenticating clients through django_par's pipeline.

Enable it so that DOT's token endpoint authenticates clients exactly as the PAR
endpoint does: the same backends (secrets, ``private_key_jwt``,
``client_secret_jwt``, public clients), the same per-client method policy and
the same verified-secret cache, so a code exchange or a refresh by a client
with a hashed secret does not pay the slow password hash every time::

    OAUTH2_PROVIDER = {"OAUTH2_VALIDATOR_CLASS": "django_par.clients.validator.OAuth2Validator"}

A site with its own validator puts :class:`ClientAuthenticationMixin` in front of it.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator as DotOAuth2Validator
from oauthlib.common import Request

from .. import dot
from ..errors import OAuthError
from .pipeline import authenticate_client


class ClientAuthenticationMixin:
    """Client authentication at DOT's token endpoint by :func:`~django_par.clients.pipeline.authenticate_client`."""

    def client_authentication_required(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        if "client_assertion" in dot.body_parameters(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        try:
            client = authenticate_client(dot.django_request(request), dot.body_parameters(request))
        except OAuthError:  # oauthlib answers invalid_client (401) for any failure
            return False
        request.client = client.application
        request.client_id = client.application.client_id
        return True


class OAuth2Validator(ClientAuthenticationMixin, DotOAuth2Validator):
    """DOT's validator, with django_par's client authentication."""
