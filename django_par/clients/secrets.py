"""Client secrets: ``client_secret_basic`` and ``client_secret_post`` (RFC 6749 §2.3.1).

The secret is checked against DOT's stored (usually hashed) value.

DOT hashes client secrets with Django's password hasher (PBKDF2, about 200 ms of
CPU). Paying that on every request caps an endpoint near 10 requests/s per
core, so after one successful check django_par keeps, in Django's cache, a
keyed digest of the good secret:

* the cache key contains a digest of the *stored hash*: changing the secret
  changes the key, so the old entry is never consulted again;
* the cached value is an HMAC of the secret under a key derived from
  ``SECRET_KEY``: reading the cache does not reveal the secret, nor let anyone
  test guesses without the server's key;
* only a secret that passed the slow check is cached; a later secret is
  compared in constant time with the cached digest, so with a warm entry a
  wrong secret is refused without the slow hash too;
* entries live ``SECRET_CACHE_TTL`` seconds (0 turns the cache off).

Measured with ``benchmarks/micro.py``: the hasher costs about 230,000 µs of CPU
per check, a cache hit 5-7 µs in process (about 140 µs on Redis).

Where the slow hash would run, :mod:`django_par.limits` decides first whether it
may (failed checks per client and address, hashes per client and per address):
over a limit the answer is 429 without hashing (``benchmarks/flood.py``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus

from django.contrib.auth.hashers import check_password, identify_hasher
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from .. import limits
from ..conf import par_settings
from ..errors import InvalidClient
from .base import AuthenticatedClient, ClientAuthBackend
from .cache import get_cache
from .registry import load_application

_HMAC_SALT = "django_par.client_secrets"


def _cache_key(application: Any, stored: str) -> str:
    stored_digest = hashlib.sha256(stored.encode()).hexdigest()[:32]
    return f"django_par.secret.{application.pk}.{stored_digest}"


def _secret_digest(secret: str) -> str:
    return salted_hmac(_HMAC_SALT, secret, algorithm="sha256").hexdigest()


def verify_client_secret(application: Any, secret: str, address: str = "") -> bool:
    """True when ``secret`` is the application's client secret.

    An empty secret never matches and never reaches a password hasher. ``address``
    is the request's source address, for the limits on the slow hash: over one,
    :class:`~django_par.errors.TooManyRequests` is raised and nothing is hashed.
    """
    stored = application.client_secret or ""
    if not secret or not stored:
        return False
    try:
        identify_hasher(stored)
    except ValueError:  # stored unhashed (hash_client_secret=False)
        return constant_time_compare(secret, stored)
    ttl = par_settings.SECRET_CACHE_TTL
    if not ttl:
        return _slow_check(application, secret, stored, address)
    cache = get_cache(par_settings.SECRET_CACHE_ALIAS)
    key = _cache_key(application, stored)
    known_good = cache.get(key)
    if known_good is not None:
        return constant_time_compare(_secret_digest(secret), known_good)
    if not _slow_check(application, secret, stored, address):
        return False
    cache.set(key, _secret_digest(secret), ttl)
    return True


def _slow_check(application: Any, secret: str, stored: str, address: str) -> bool:
    """The password hasher, within the limits (it is the CPU an attacker would spend)."""
    limits.before_slow_hash(application.client_id, address)
    verified = check_password(secret, stored)
    limits.after_slow_hash(application.client_id, address, verified)
    return verified


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


def authenticate_secret(client_id: str, secret: str, method: str, address: str = "") -> AuthenticatedClient:
    application = load_application(client_id)
    # Unknown client and wrong secret answer alike. No hasher runs for an unknown
    # client: client ids are not secrets (RFC 6749 §2.2), and a slow hash per
    # made-up id would hand out CPU to anyone.
    # The client reads one description for both (django_par.clients.pipeline); these are the logged reasons.
    if application is None:
        raise InvalidClient("No usable client has this client_id.")
    if not verify_client_secret(application, secret, address):
        raise InvalidClient("The client secret does not match.")
    return AuthenticatedClient(application, method)


class ClientSecretBasic(ClientAuthBackend):
    """``client_secret_basic``: the secret in an HTTP Basic header."""

    method = "client_secret_basic"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        return authenticate_secret(*credentials, self.method, limits.client_address(request))


class ClientSecretPost(ClientAuthBackend):
    """``client_secret_post``: ``client_id`` and ``client_secret`` in the body."""

    method = "client_secret_post"

    def authenticate(self, request: HttpRequest, params: Mapping[str, str]) -> AuthenticatedClient | None:
        if "client_secret" not in params:
            return None
        client_id = params.get("client_id", "")
        return authenticate_secret(client_id, params["client_secret"], self.method, limits.client_address(request))
