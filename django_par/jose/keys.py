"""A client's public keys: its registered ``jwks`` or its ``jwks_uri``.

A ``jwks_uri`` is fetched by :mod:`django_par.jose.fetch` and cached in Django's
cache for ``JWKS_URI_CACHE_TTL`` seconds.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from django.core.cache import caches
from jwcrypto import jwk

from ..conf import par_settings
from ..models import ClientMetadata
from .fetch import KeyLookupError, fetch_jwks

__all__ = ["KeyLookupError", "client_key_set"]


def _cache_key(uri: str) -> str:
    return "django_par.jwks." + hashlib.sha256(uri.encode()).hexdigest()


def _key_set(document: Any) -> jwk.JWKSet:
    return _parsed_key_set(json.dumps(document, sort_keys=True))


@lru_cache(maxsize=256)
def _parsed_key_set(document: str) -> jwk.JWKSet:
    """Parsed once per distinct key set: the keys are only read afterwards.

    Measured (``benchmarks/micro.py key-sets``): parsing a one-key RSA set costs
    43–45 µs, a hit 4 µs; 39–41 µs of a private_key_jwt push's 1.2–1.7 ms.
    """
    try:
        return jwk.JWKSet.from_json(document)
    except Exception:  # jwcrypto raises several types for malformed sets
        raise KeyLookupError("The client's JWK Set is malformed.") from None


def client_key_set(metadata: ClientMetadata, *, refresh: bool = False) -> jwk.JWKSet:
    """The client's keys; ``refresh`` bypasses the jwks_uri cache (unknown kid).

    A forced refresh happens at most once per ``JWKS_URI_MIN_REFRESH_INTERVAL``
    per URI: a JWT naming an unknown kid is sent before its signature is
    checked, so anyone could otherwise make the server fetch on every request.
    """
    if metadata.jwks:
        return _key_set(metadata.jwks)
    if not metadata.jwks_uri:
        raise KeyLookupError("The client has registered no keys (jwks or jwks_uri).")
    cache = caches[par_settings.JWKS_CACHE_ALIAS]
    key = _cache_key(metadata.jwks_uri)
    document = cache.get(key)
    # A forced refresh at most once per interval and URI: anyone can send a made-up kid.
    if (
        refresh
        and document is not None
        and cache.add(key + ".refreshed", True, par_settings.JWKS_URI_MIN_REFRESH_INTERVAL)
    ):
        document = None
    if document is None:
        document = fetch_jwks(metadata.jwks_uri)
        cache.set(key, document, par_settings.JWKS_URI_CACHE_TTL)
    return _key_set(document)
