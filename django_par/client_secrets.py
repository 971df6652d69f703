"""Checking a client secret against DOT's stored (usually hashed) value.

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
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.hashers import check_password, identify_hasher
from django.utils.crypto import constant_time_compare, salted_hmac

from .caching import get_cache
from .conf import par_settings

_HMAC_SALT = "django_par.client_secrets"


def _cache_key(application: Any, stored: str) -> str:
    stored_digest = hashlib.sha256(stored.encode()).hexdigest()[:32]
    return f"django_par.secret.{application.pk}.{stored_digest}"


def _secret_digest(secret: str) -> str:
    return salted_hmac(_HMAC_SALT, secret, algorithm="sha256").hexdigest()


def verify_client_secret(application: Any, secret: str) -> bool:
    """True when ``secret`` is the application's client secret.

    An empty secret never matches and never reaches a password hasher.
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
        return check_password(secret, stored)
    cache = get_cache(par_settings.SECRET_CACHE_ALIAS)
    key = _cache_key(application, stored)
    known_good = cache.get(key)
    if known_good is not None:
        return constant_time_compare(_secret_digest(secret), known_good)
    if not check_password(secret, stored):
        return False
    cache.set(key, _secret_digest(secret), ttl)
    return True

