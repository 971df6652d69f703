"""The one settings object of django_par.

A site configures the app with one dict in its settings module::

    DJANGO_PAR = {"REQUEST_URI_LIFETIME": 90}

Every key is optional; each property below documents its default. The dict is
looked up once and again whenever ``setting_changed`` reports a new one, so
``override_settings`` in tests takes effect at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Seconds during which a pushed request_uri can first be used (RFC 9126 §2.2).
    "REQUEST_URI_LIFETIME": 90,
    # Seconds a flow may take once its request_uri was first used (login, MFA,
    # consent); reloads within that time keep working (RFC 9126 §4).
    "FLOW_LIFETIME": 1800,
    # Refuse authorization requests that were not pushed, for every client.
    # A client's ClientMetadata.require_pushed_authorization_requests adds to it.
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    # Where pushed requests are kept (see django_par.stores): the database, or
    # "django_par.stores.CacheStore" for a cache shared by many app servers.
    "STORE": "django_par.stores.DatabaseStore",
    # Cache alias (settings.CACHES) of the CacheStore.
    "STORE_CACHE_ALIAS": "default",
    # Client authentication backends, tried in order (see django_par.client_auth).
    "CLIENT_AUTH_BACKENDS": [
        "django_par.client_auth.ClientSecretBasic",
        "django_par.client_auth.ClientSecretPost",
        "django_par.assertions.PrivateKeyJwt",
        "django_par.assertions.ClientSecretJwt",
        "django_par.client_auth.PublicClient",
    ],
    # Minimum length of the state and nonce parameters.
    "STATE_MIN_LENGTH": 8,
    "NONCE_MIN_LENGTH": 8,
    # Largest accepted request body, in bytes (larger: 413).
    "MAX_BODY_SIZE": 64 * 1024,
    # Seconds a verified (hashed) client secret is remembered, as a keyed digest,
    # so that later requests skip the slow password hash; 0 turns it off.
    "SECRET_CACHE_TTL": 300,
    # Cache alias (settings.CACHES) for it; None: django_par's in-process cache.
    "SECRET_CACHE_ALIAS": None,
    # Seconds a loaded client (application and ClientMetadata) is kept in the
    # cache; saving or deleting either evicts it. 0 turns it off.
    "CLIENT_CACHE_TTL": 10,
    # Cache alias (settings.CACHES) for it; None: django_par's in-process cache,
    # where an eviction reaches other processes only through the TTL.
    "CLIENT_CACHE_ALIAS": None,
    # Realm announced in the WWW-Authenticate challenge of a 401.
    "AUTHENTICATION_REALM": "django-par",
    # -- JWTs: client assertions (RFC 7523) and request objects (RFC 9101) --
    # Algorithms accepted for private_key_jwt assertions and request objects.
    "ASYMMETRIC_SIGNING_ALGS": ["RS256", "PS256", "ES256", "EdDSA"],
    # Algorithms accepted for client_secret_jwt assertions.
    "HMAC_SIGNING_ALGS": ["HS256"],
    # Seconds of clock difference tolerated on exp, iat and nbf.
    "CLOCK_SKEW": 30,
    # Longest accepted lifetime (exp - iat, or exp - now) of a client assertion.
    "ASSERTION_MAX_LIFETIME": 300,
    # Longest accepted lifetime of a request object.
    "REQUEST_OBJECT_MAX_LIFETIME": 3600,
    # Accept only the issuer as the audience of a client assertion (FAPI 2.0);
    # otherwise the issuer, the token endpoint and the PAR endpoint (RFC 9126 §2).
    "ASSERTION_AUDIENCE_ISSUER_ONLY": False,
    # Refuse pushes that are not a signed request object, for every client.
    "REQUIRE_SIGNED_REQUEST_OBJECT": False,
    # Fetching a client's jwks_uri.
    "JWKS_URI_TIMEOUT": 5,
    "JWKS_URI_MAX_BYTES": 64 * 1024,
    "JWKS_URI_CACHE_TTL": 300,
    # Least seconds between two fetches forced by an unknown kid, per jwks_uri.
    "JWKS_URI_MIN_REFRESH_INTERVAL": 60,
    # Allow jwks_uri hosts on loopback or private networks (development, tests).
    "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": False,
    # CA bundle file for jwks_uri TLS verification; None: the system's.
    "JWKS_URI_CA_BUNDLE": None,
    # Cache alias (settings.CACHES) holding fetched key sets.
    "JWKS_CACHE_ALIAS": "default",
    # Seconds a JWT-secured authorization response (JARM) is valid.
    "AUTHORIZATION_RESPONSE_LIFETIME": 120,
    # The FAPI 2.0 Security Profile rules for pushed requests.
    "FAPI2_SECURITY_PROFILE": False,
}

# Allowed range of each lifetime, in seconds.
LIFETIME_RANGES: dict[str, tuple[int, int]] = {
    "REQUEST_URI_LIFETIME": (5, 3600),
    "FLOW_LIFETIME": (60, 86400),
    "CLOCK_SKEW": (0, 300),
    "ASSERTION_MAX_LIFETIME": (10, 3600),
    "REQUEST_OBJECT_MAX_LIFETIME": (10, 86400),
    "JWKS_URI_TIMEOUT": (1, 60),
    "JWKS_URI_CACHE_TTL": (0, 86400),
    "JWKS_URI_MIN_REFRESH_INTERVAL": (0, 3600),
    "AUTHORIZATION_RESPONSE_LIFETIME": (10, 600),
    "SECRET_CACHE_TTL": (0, 3600),
    "CLIENT_CACHE_TTL": (0, 3600),
}

# Keys whose values are dotted import paths (checked by the system checks).
IMPORT_PATH_KEYS: tuple[str, ...] = ("CLIENT_AUTH_BACKENDS", "STORE")


class ParSettings:
    """Typed access to ``settings.DJANGO_PAR`` with the documented defaults."""

    def __init__(self) -> None:
        self._user_settings: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        # Read through LazySettings once, not on each of the dozen reads of a push.
        if self._user_settings is None:
            value = getattr(settings, "DJANGO_PAR", {})
            self._user_settings = value if isinstance(value, dict) else {}
        return self._user_settings

    def reload(self) -> None:
        self._user_settings = None

    def get(self, key: str) -> Any:
        return self.user_settings.get(key, DEFAULTS[key])

    @property
    def REQUEST_URI_LIFETIME(self) -> int:
        return int(self.get("REQUEST_URI_LIFETIME"))

    @property
    def FLOW_LIFETIME(self) -> int:
        return int(self.get("FLOW_LIFETIME"))

    @property
    def REQUIRE_PUSHED_AUTHORIZATION_REQUESTS(self) -> bool:
        return self.FAPI2_SECURITY_PROFILE or bool(self.get("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"))

    @property
    def STORE(self) -> str:
        return str(self.get("STORE"))

    @property
    def STORE_CACHE_ALIAS(self) -> str:
        return str(self.get("STORE_CACHE_ALIAS"))

    @property
    def CLIENT_AUTH_BACKENDS(self) -> list[str]:
        return list(self.get("CLIENT_AUTH_BACKENDS"))

    @property
    def STATE_MIN_LENGTH(self) -> int:
        return int(self.get("STATE_MIN_LENGTH"))

    @property
    def NONCE_MIN_LENGTH(self) -> int:
        return int(self.get("NONCE_MIN_LENGTH"))

    @property
    def MAX_BODY_SIZE(self) -> int:
        return int(self.get("MAX_BODY_SIZE"))

    @property
    def CLIENT_CACHE_TTL(self) -> int:
        return int(self.get("CLIENT_CACHE_TTL"))

    @property
    def CLIENT_CACHE_ALIAS(self) -> str | None:
        value = self.get("CLIENT_CACHE_ALIAS")
        return None if value is None else str(value)

    @property
    def SECRET_CACHE_TTL(self) -> int:
        return int(self.get("SECRET_CACHE_TTL"))

    @property
    def SECRET_CACHE_ALIAS(self) -> str | None:
        value = self.get("SECRET_CACHE_ALIAS")
        return None if value is None else str(value)

    @property
    def AUTHENTICATION_REALM(self) -> str:
        return str(self.get("AUTHENTICATION_REALM"))

    @property
    def ASYMMETRIC_SIGNING_ALGS(self) -> list[str]:
        return list(self.get("ASYMMETRIC_SIGNING_ALGS"))

    @property
    def HMAC_SIGNING_ALGS(self) -> list[str]:
        return list(self.get("HMAC_SIGNING_ALGS"))

    @property
    def CLOCK_SKEW(self) -> int:
        return int(self.get("CLOCK_SKEW"))

    @property
    def ASSERTION_MAX_LIFETIME(self) -> int:
        return int(self.get("ASSERTION_MAX_LIFETIME"))

    @property
    def REQUEST_OBJECT_MAX_LIFETIME(self) -> int:
        return int(self.get("REQUEST_OBJECT_MAX_LIFETIME"))

    @property
    def ASSERTION_AUDIENCE_ISSUER_ONLY(self) -> bool:
        return self.FAPI2_SECURITY_PROFILE or bool(self.get("ASSERTION_AUDIENCE_ISSUER_ONLY"))

    @property
    def REQUIRE_SIGNED_REQUEST_OBJECT(self) -> bool:
        return bool(self.get("REQUIRE_SIGNED_REQUEST_OBJECT"))

    @property
    def JWKS_URI_TIMEOUT(self) -> float:
        return float(self.get("JWKS_URI_TIMEOUT"))

    @property
    def JWKS_URI_MAX_BYTES(self) -> int:
        return int(self.get("JWKS_URI_MAX_BYTES"))

    @property
    def JWKS_URI_CACHE_TTL(self) -> int:
        return int(self.get("JWKS_URI_CACHE_TTL"))

    @property
    def JWKS_URI_MIN_REFRESH_INTERVAL(self) -> int:
        return int(self.get("JWKS_URI_MIN_REFRESH_INTERVAL"))

    @property
    def JWKS_URI_ALLOW_PRIVATE_ADDRESSES(self) -> bool:
        return bool(self.get("JWKS_URI_ALLOW_PRIVATE_ADDRESSES"))

    @property
    def JWKS_URI_CA_BUNDLE(self) -> str | None:
        value = self.get("JWKS_URI_CA_BUNDLE")
        return str(value) if value else None

    @property
    def JWKS_CACHE_ALIAS(self) -> str:
        return str(self.get("JWKS_CACHE_ALIAS"))

    @property
    def AUTHORIZATION_RESPONSE_LIFETIME(self) -> int:
        return int(self.get("AUTHORIZATION_RESPONSE_LIFETIME"))

    @property
    def FAPI2_SECURITY_PROFILE(self) -> bool:
        return bool(self.get("FAPI2_SECURITY_PROFILE"))


par_settings = ParSettings()


def _reload_par_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == "DJANGO_PAR":
        par_settings.reload()


setting_changed.connect(_reload_par_settings)
