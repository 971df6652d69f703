"""``none``: a public client identified by ``client_id`` alone (RFC 6749 §2.1)."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest
from oauth2_provider.models import AbstractApplication

from ..errors import InvalidClient
from .base import AuthenticatedClient, ClientAuthBackend
from .registry import load_application


class PublicClient(ClientAuthBackend):
    """``none``: a public client identified by ``client_id`` alone."""

    method = "none"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        if "client_id" not in params or "client_assertion" in params:
            return None
        application = load_application(params["client_id"])
        # The client reads one description for both (django_par.clients.pipeline); these are the logged reasons.
        if application is None:
            raise InvalidClient("No usable client has this client_id.")
        if application.client_type != AbstractApplication.CLIENT_PUBLIC:
            raise InvalidClient("A confidential client sent no credentials.")
        return AuthenticatedClient(application, self.method)
