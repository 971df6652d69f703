"""Client authentication at the PAR endpoint (RFC 9126 §2, RFC 6749 §2.3).

Backends are chosen by dotted path in ``DJANGO_PAR["CLIENT_AUTH_BACKENDS"]`` and
tried in order, as Django's authentication backends are. The contract of a
backend, stated by :class:`ClientAuthBackend`:

* ``authenticate(request, params)`` returns ``None`` when the request carries no
  credentials of its kind ("not mine, try the next");
* it returns an :class:`AuthenticatedClient` when they are good;
* it raises :class:`~django_par.errors.InvalidClient` when they are there but wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from django.db.models.signals import pre_save
from django.http import HttpRequest
from django.utils.module_loading import import_string
from oauth2_provider.models import AbstractApplication, get_application_model

from .caching import get_cache
from .client_secrets import verify_client_secret
from .conf import par_settings
from .errors import InvalidClient, InvalidRequest
from .models import client_metadata

CLIENT_ID_MAX_LENGTH = 255
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


def load_application(client_id: str) -> Any | None:
    """The usable application with this client_id (with its PAR metadata), or None.

    Found applications are kept in ``CLIENT_CACHE_ALIAS`` for ``CLIENT_CACHE_TTL``
    seconds; saving or deleting an application or its metadata evicts it.
    """
    if not client_id or len(client_id) > CLIENT_ID_MAX_LENGTH or "\x00" in client_id:
        return None
    application = _cached_application(client_id)
    if application is None:
        return None
    is_usable = getattr(application, "is_usable", None)
    if is_usable is not None and not is_usable(None):
        return None
    return application


def _application_cache_key(client_id: str) -> str:
    return "django_par.client." + hashlib.sha256(client_id.encode()).hexdigest()


def _cached_application(client_id: str) -> Any | None:
    ttl = par_settings.CLIENT_CACHE_TTL
    cache = get_cache(par_settings.CLIENT_CACHE_ALIAS)
    key = _application_cache_key(client_id)
    if ttl:
        cached = cache.get(key)
        if cached is not None:
            return cached
    # client_id is unique: a slice, not first(), which would add an ORDER BY.
    found = list(get_application_model().objects.select_related("par_metadata").filter(client_id=client_id)[:1])
    if not found:
        return None
    if ttl:
        cache.set(key, found[0], ttl)  # with its metadata, or the absence of a row
    return found[0]


def evict_cached_application(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Signal receiver: an application or its metadata changed; forget the cached copy.

    Before a save the stored client_id is evicted too, in case it is being renamed.
    """
    application_model = get_application_model()
    application = instance if isinstance(instance, application_model) else getattr(instance, "application", None)
    if application is None:
        return
    client_ids = {application.client_id}
    if kwargs.get("signal") is pre_save and application.pk is not None:
        client_ids.update(application_model.objects.filter(pk=application.pk).values_list("client_id", flat=True))
    get_cache(par_settings.CLIENT_CACHE_ALIAS).delete_many([_application_cache_key(client_id) for client_id in client_ids])


def basic_credentials(request: HttpRequest) -> tuple[str, str] | None:
    """The (client_id, client_secret) of an HTTP Basic header, or None without one.

    RFC 6749 §2.3.1: both are form-urlencoded before base64. A malformed header
    is an authentication failure, not a missing one.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClient("The Basic authorization header is malformed.") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise InvalidClient("The Basic authorization header is malformed.")
    return unquote_plus(client_id), unquote_plus(secret)


def authenticate_secret(client_id: str, secret: str, method: str) -> AuthenticatedClient:
    application = load_application(client_id)
    # Unknown client and wrong secret answer alike. No hasher runs for an unknown
    # client: client ids are not secrets (RFC 6749 §2.2), and a slow hash per
    # made-up id would hand out CPU to anyone.
    if application is None or not verify_client_secret(application, secret):
        raise InvalidClient("Client authentication failed.")
    return AuthenticatedClient(application, method)


class ClientSecretBasic(ClientAuthBackend):
    """``client_secret_basic``: the secret in an HTTP Basic header."""

    method = "client_secret_basic"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        return authenticate_secret(*credentials, self.method)


class ClientSecretPost(ClientAuthBackend):
    """``client_secret_post``: ``client_id`` and ``client_secret`` in the body."""

    method = "client_secret_post"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        if "client_secret" not in params:
            return None
        return authenticate_secret(params.get("client_id", ""), params["client_secret"], self.method)


class PublicClient(ClientAuthBackend):
    """``none``: a public client identified by ``client_id`` alone (RFC 6749 §2.1)."""

    method = "none"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        if "client_id" not in params or "client_assertion" in params:
            return None
        application = load_application(params["client_id"])
        if application is None or application.client_type != AbstractApplication.CLIENT_PUBLIC:
            raise InvalidClient("Client authentication failed.")
        return AuthenticatedClient(application, self.method)


@lru_cache(maxsize=None)
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
    """The only method the client may use ("" for any): its registered one, private_key_jwt under FAPI 2.0."""
    if par_settings.FAPI2_SECURITY_PROFILE:
        return "private_key_jwt"  # FAPI 2.0 §5.3.2.1
    return str(client_metadata(application).token_endpoint_auth_method)


def challenge_headers() -> dict[str, str]:
    # RFC 6749 §5.2 / RFC 9110 §15.5.2: a 401 names the scheme to use, Basic here.
    return {"WWW-Authenticate": f'Basic realm="{par_settings.AUTHENTICATION_REALM}"'}


def authenticate_client(request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient:
    """Authenticate the client of a PAR request or raise an OAuth error."""
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
        error.headers.update(challenge_headers())
        raise
    if params.get("client_id", client.application.client_id) != client.application.client_id:
        raise InvalidRequest("client_id does not match the authenticated client.")
    return client
