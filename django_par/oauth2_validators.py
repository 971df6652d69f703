"""DOT's request validator with django_par's JWT client assertions at the token endpoint.

Enable it so that a client that pushed with ``private_key_jwt`` or
``client_secret_jwt`` can redeem its code the same way::

    OAUTH2_PROVIDER = {"OAUTH2_VALIDATOR_CLASS": "django_par.oauth2_validators.OAuth2Validator"}

A site with its own validator puts :class:`ClientAssertionMixin` in front of it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from oauth2_provider.oauth2_validators import OAuth2Validator as DotOAuth2Validator
from oauthlib.common import Request

from .assertions import ClientAssertionBackend
from .client_auth import get_backends, required_auth_method
from .errors import InvalidClient


def _body_parameters(request: Request) -> dict[str, str]:
    return {name: value for name, value in (request.decoded_body or []) if value}


def _django_request(request: Request) -> HttpRequest:
    """A Django request rebuilt from the oauthlib one, for the issuer and endpoint URLs.

    The backends derive the assertion audiences from a Django request, and DOT's
    issuer helper takes only those. DOT hands oauthlib a copy of the request's
    META as its headers, so host and scheme come out as the original request's.
    """
    django_request = HttpRequest()
    django_request.META = dict(request.headers or {})
    django_request.path = django_request.path_info = urlsplit(request.uri).path
    secure = django_request.META.get("wsgi.url_scheme") == "https" or bool(
        django_request.META.get("X_DJANGO_OAUTH_TOOLKIT_SECURE")
    )
    django_request._get_scheme = lambda: "https" if secure else "http"  # type: ignore[method-assign]
    return django_request


class ClientAssertionMixin:
    """Authenticate clients by JWT assertion; leave everything else to DOT."""

    def client_authentication_required(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        if "client_assertion" in _body_parameters(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        params = _body_parameters(request)
        has_header = bool((request.headers or {}).get("HTTP_AUTHORIZATION"))
        if "client_assertion" not in params:
            if not super().authenticate_client(request, *args, **kwargs):  # type: ignore[misc]
                return False
            return _method_allowed(request.client, "client_secret_basic" if has_header else "client_secret_post")
        if has_header or "client_secret" in params:
            return False  # RFC 6749 §2.3: one authentication method per request
        django_request = _django_request(request)
        for backend in get_backends():
            if not isinstance(backend, ClientAssertionBackend):
                continue
            try:
                client = backend.authenticate(django_request, params)
            except InvalidClient:
                return False
            if client is None:
                continue
            client_id = client.application.client_id
            # RFC 7521 §4.2: a client_id sent beside the assertion names the same client.
            if params.get("client_id", client_id) != client_id or not _method_allowed(client.application, client.method):
                return False
            request.client = client.application
            request.client_id = client_id
            return True
        return False


def _method_allowed(application: Any, method: str) -> bool:
    required = required_auth_method(application)
    return not required or required == method


class OAuth2Validator(ClientAssertionMixin, DotOAuth2Validator):
    """DOT's validator, plus JWT client assertions."""
