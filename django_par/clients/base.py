"""The contract of client authentication backends (RFC 6749 §2.3).

Backends are chosen by dotted path in ``DJANGO_PAR["CLIENT_AUTH_BACKENDS"]`` and
tried in order, as Django's authentication backends are:

* ``authenticate(request, params)`` returns ``None`` when the request carries no
  credentials of its kind ("not mine, try the next");
* it returns an :class:`AuthenticatedClient` when they are good;
* it raises :class:`~django_par.errors.InvalidClient` when they are there but wrong.

The same backends serve the PAR endpoint and, through
:mod:`django_par.clients.validator`, DOT's token endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

# Parameters that carry client credentials; never stored, logged or echoed.
CREDENTIAL_PARAMETERS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})


@dataclass(frozen=True)
class AuthenticatedClient:
    application: Any
    method: str


class ClientAuthBackend:
    """Base class of client authentication backends."""

    #: The ``token_endpoint_auth_method`` name (RFC 7591 §2) this backend implements.
    method: str = ""

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        raise NotImplementedError
