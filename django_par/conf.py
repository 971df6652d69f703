"""The one settings table of django_par.

A site configures the app with one dict in its settings module::

    DJANGO_PAR = {"REQUEST_URI_LIFETIME": 90}

Every key is optional. :data:`SETTINGS` states each key's default, type,
allowed range and whether it is a dotted import path; the system checks
(:mod:`django_par.checks`) hold a site's values to it. Policy that combines
settings (FAPI 2.0, for one) lives with the rule, not here.

The dict is read once and again whenever ``setting_changed`` reports a new one,
so ``override_settings`` in tests takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


@dataclass(frozen=True)
class Setting:
    default: Any
    #: The type a value is converted to when read.
    kind: type
    #: The allowed range of a number of seconds, checked by E004.
    seconds: tuple[int, int] | None = None
    #: A dotted import path, or a list of them, checked by E003.
    import_path: bool = False
    #: A rate "N/S" (django_par.limits.parse_rate), checked by E009.
    rate: bool = False


SETTINGS: dict[str, Setting] = {
    # Seconds during which a pushed request_uri can first be used (RFC 9126 §2.2).
    "REQUEST_URI_LIFETIME": Setting(90, int, seconds=(5, 3600)),
    # Seconds a flow may take once its request_uri was first used (login, MFA,
    # consent); reloads within that time keep working (RFC 9126 §4).
    "FLOW_LIFETIME": Setting(1800, int, seconds=(60, 86400)),
    # Refuse authorization requests that were not pushed, for every client.
    # A client's ClientMetadata.require_pushed_authorization_requests adds to it.
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": Setting(False, bool),
    # Where pushed requests are kept (see django_par.flow.stores): the database,
    # or "django_par.flow.stores.CacheStore" for a cache shared by many app servers.
    "STORE": Setting("django_par.flow.stores.DatabaseStore", str, import_path=True),
    # Cache alias (settings.CACHES) of the CacheStore.
    "STORE_CACHE_ALIAS": Setting("default", str),
    # Client authentication backends, tried in order (see django_par.clients.base).
    "CLIENT_AUTH_BACKENDS": Setting(
        [
            "django_par.clients.secrets.ClientSecretBasic",
            "django_par.clients.secrets.ClientSecretPost",
            "django_par.clients.assertions.PrivateKeyJwt",
            "django_par.clients.assertions.ClientSecretJwt",
            "django_par.clients.public.PublicClient",
        ],
        list,
        import_path=True,
    ),
    # Let confidential clients, too, change the port of a registered loopback redirect URI
    # (RFC 8252 §7.3 is for native apps, which are public clients).
    "LOOPBACK_ANY_PORT_FOR_CONFIDENTIAL_CLIENTS": Setting(False, bool),
    # Minimum length of the state and nonce parameters.
    "STATE_MIN_LENGTH": Setting(8, int),
    "NONCE_MIN_LENGTH": Setting(8, int),
    # Largest accepted request body, in bytes (larger: 413).
    "MAX_BODY_SIZE": Setting(64 * 1024, int),
    # Deepest nesting of arrays and objects accepted in JSON a client sends (JWS headers and
    # payloads, claims, login_hint); its size is bounded by MAX_BODY_SIZE (django_par.bounded_json).
    "JSON_MAX_DEPTH": Setting(32, int),
    # Seconds a verified (hashed) client secret is remembered, as a keyed digest,
    # so that later requests skip the slow password hash; 0 turns it off.
    "SECRET_CACHE_TTL": Setting(300, int, seconds=(0, 3600)),
    # Cache alias (settings.CACHES) for it; None: django_par's in-process cache.
    "SECRET_CACHE_ALIAS": Setting(None, str),
    # Seconds a loaded client (application and ClientMetadata) is kept in the
    # cache; saving or deleting either evicts it. 0 turns it off.
    "CLIENT_CACHE_TTL": Setting(10, int, seconds=(0, 3600)),
    # Cache alias (settings.CACHES) for it; None: django_par's in-process cache,
    # where an eviction reaches other processes only through the TTL.
    "CLIENT_CACHE_ALIAS": Setting(None, str),
    # Realm announced in the WWW-Authenticate challenge of a 401.
    "AUTHENTICATION_REALM": Setting("django-par", str),
    # -- JWTs: client assertions (RFC 7523) and request objects (RFC 9101) --
    # Algorithms accepted for private_key_jwt assertions and request objects.
    "ASYMMETRIC_SIGNING_ALGS": Setting(["RS256", "PS256", "ES256", "EdDSA"], list),
    # Algorithms accepted for client_secret_jwt assertions.
    "HMAC_SIGNING_ALGS": Setting(["HS256"], list),
    # Seconds of clock difference tolerated on exp, iat and nbf.
    "CLOCK_SKEW": Setting(30, int, seconds=(0, 300)),
    # Longest accepted lifetime (exp - iat, or exp - now) of a client assertion.
    "ASSERTION_MAX_LIFETIME": Setting(300, int, seconds=(10, 3600)),
    # Longest accepted lifetime of a request object.
    "REQUEST_OBJECT_MAX_LIFETIME": Setting(3600, int, seconds=(10, 86400)),
    # Accept only the issuer as the audience of a client assertion; otherwise the
    # issuer, the token endpoint and the PAR endpoint (RFC 9126 §2).
    "ASSERTION_AUDIENCE_ISSUER_ONLY": Setting(False, bool),
    # Refuse pushes that are not a signed request object, for every client.
    "REQUIRE_SIGNED_REQUEST_OBJECT": Setting(False, bool),
    # Fetching a client's jwks_uri: timeout of the whole fetch, size cap, cache lifetime.
    "JWKS_URI_TIMEOUT": Setting(5, float, seconds=(1, 60)),
    "JWKS_URI_MAX_BYTES": Setting(64 * 1024, int),
    "JWKS_URI_CACHE_TTL": Setting(300, int, seconds=(0, 86400)),
    # Least seconds between two fetches forced by an unknown kid, per jwks_uri.
    "JWKS_URI_MIN_REFRESH_INTERVAL": Setting(60, int, seconds=(0, 3600)),
    # A failed jwks_uri fetch is remembered this many seconds, doubling per consecutive
    # failure up to the maximum; meanwhile pushes naming the client fail without a fetch.
    "JWKS_URI_FAILURE_BACKOFF": Setting(5, int, seconds=(1, 300)),
    "JWKS_URI_FAILURE_BACKOFF_MAX": Setting(300, int, seconds=(1, 3600)),
    # Seconds past JWKS_URI_CACHE_TTL during which the last good key set is still used
    # while its jwks_uri fails; 0: never.
    "JWKS_URI_STALE_TTL": Setting(3600, int, seconds=(0, 86400)),
    # Allow jwks_uri hosts on loopback or private networks (development, tests).
    "JWKS_URI_ALLOW_PRIVATE_ADDRESSES": Setting(False, bool),
    # CA bundle file for jwks_uri TLS verification; None: the system's.
    "JWKS_URI_CA_BUNDLE": Setting(None, str),
    # Cache alias (settings.CACHES) holding fetched key sets.
    "JWKS_CACHE_ALIAS": Setting("default", str),
    # Seconds a JWT-secured authorization response (JARM) is valid.
    "AUTHORIZATION_RESPONSE_LIFETIME": Setting(120, int, seconds=(10, 600)),
    # -- limits (django_par.limits; docs/security.md) --
    # Cache alias (settings.CACHES) of the rate-limit counters; share it between processes (Redis).
    "LIMITS_CACHE_ALIAS": Setting("default", str),
    # Failed slow-hash secret checks per (client, source address), "N/S"; None: no limit.
    "AUTH_FAILURE_RATE": Setting("10/60", str, rate=True),
    # Slow password hashes per client and per source address, "N/S"; None: no limit.
    "SLOW_HASH_RATE_PER_CLIENT": Setting("30/60", str, rate=True),
    "SLOW_HASH_RATE_PER_ADDRESS": Setting("60/60", str, rate=True),
    # Pushes per client at the PAR endpoint, "N/S" (RFC 9126 §2.3); None: no limit.
    "PUSH_RATE_LIMIT": Setting(None, str, rate=True),
    # Unused, unexpired request_uri values a client may hold; None: no limit.
    "MAX_OUTSTANDING_REQUEST_URIS": Setting(None, int),
    # When the limits cache fails: False lets requests through (logged), True answers 503 (docs/failures.md).
    "LIMITS_FAIL_CLOSED": Setting(False, bool),
    # The FAPI 2.0 Security Profile (django_par.fapi2 holds every rule it turns on).
    "FAPI2_SECURITY_PROFILE": Setting(False, bool),
    # -- DPoP (RFC 9449; django_par.dpop, docs/dpop.md) --
    # Algorithms accepted for DPoP proofs: asymmetric only (never "none" nor HMAC, §4.2).
    "DPOP_SIGNING_ALGS": Setting(
        ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"], list
    ),
    # Oldest accepted proof, in seconds since its iat (§4.3 step 11); CLOCK_SKEW is added both ways.
    "DPOP_PROOF_MAX_AGE": Setting(60, int, seconds=(1, 600)),
    # Require a server nonce in proofs at the PAR and token endpoints (§8).
    "DPOP_NONCES": Setting(False, bool),
    # Seconds one nonce is current; the previous one is still accepted for as long.
    "DPOP_NONCE_LIFETIME": Setting(300, int, seconds=(10, 86400)),
    # Require DPoP-bound access tokens of every client; ClientMetadata.dpop_bound_access_tokens per client.
    "DPOP_BOUND_ACCESS_TOKENS": Setting(False, bool),
    # -- richer pushed requests (docs/rich-requests.md) --
    # The authorization_details types (RFC 9396) the server accepts: {type: dotted path of a validator},
    # a callable (element, client) -> element to store, raising ValueError or an OAuth error to refuse it.
    "AUTHORIZATION_DETAILS_TYPES": Setting({}, dict),
    # Let confidential clients whose ClientMetadata.allow_unregistered_redirect_uris is on push a
    # redirect_uri they have not registered (RFC 9126 §2.4).
    "ALLOW_UNREGISTERED_REDIRECT_URIS": Setting(False, bool),
    # Prometheus metrics fed by the signals (django_par.metrics; needs prometheus_client).
    "PROMETHEUS_METRICS": Setting(False, bool),
}

DEFAULTS: dict[str, Any] = {name: setting.default for name, setting in SETTINGS.items()}
# Allowed range of each lifetime, in seconds.
LIFETIME_RANGES: dict[str, tuple[int, int]] = {
    name: setting.seconds for name, setting in SETTINGS.items() if setting.seconds is not None
}
# Keys whose values are dotted import paths.
IMPORT_PATH_KEYS: tuple[str, ...] = tuple(name for name, setting in SETTINGS.items() if setting.import_path)
# Keys whose values are rates "N/S".
RATE_KEYS: tuple[str, ...] = tuple(name for name, setting in SETTINGS.items() if setting.rate)


class ParSettings:
    """Typed access to ``settings.DJANGO_PAR``, defaults from :data:`SETTINGS`."""

    REQUEST_URI_LIFETIME: int
    FLOW_LIFETIME: int
    REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: bool
    STORE: str
    STORE_CACHE_ALIAS: str
    CLIENT_AUTH_BACKENDS: list[str]
    LOOPBACK_ANY_PORT_FOR_CONFIDENTIAL_CLIENTS: bool
    STATE_MIN_LENGTH: int
    NONCE_MIN_LENGTH: int
    MAX_BODY_SIZE: int
    JSON_MAX_DEPTH: int
    SECRET_CACHE_TTL: int
    SECRET_CACHE_ALIAS: str | None
    CLIENT_CACHE_TTL: int
    CLIENT_CACHE_ALIAS: str | None
    AUTHENTICATION_REALM: str
    ASYMMETRIC_SIGNING_ALGS: list[str]
    HMAC_SIGNING_ALGS: list[str]
    CLOCK_SKEW: int
    ASSERTION_MAX_LIFETIME: int
    REQUEST_OBJECT_MAX_LIFETIME: int
    ASSERTION_AUDIENCE_ISSUER_ONLY: bool
    REQUIRE_SIGNED_REQUEST_OBJECT: bool
    JWKS_URI_TIMEOUT: float
    JWKS_URI_MAX_BYTES: int
    JWKS_URI_CACHE_TTL: int
    JWKS_URI_MIN_REFRESH_INTERVAL: int
    JWKS_URI_FAILURE_BACKOFF: int
    JWKS_URI_FAILURE_BACKOFF_MAX: int
    JWKS_URI_STALE_TTL: int
    JWKS_URI_ALLOW_PRIVATE_ADDRESSES: bool
    JWKS_URI_CA_BUNDLE: str | None
    JWKS_CACHE_ALIAS: str
    AUTHORIZATION_RESPONSE_LIFETIME: int
    FAPI2_SECURITY_PROFILE: bool
    LIMITS_CACHE_ALIAS: str
    AUTH_FAILURE_RATE: str | None
    SLOW_HASH_RATE_PER_CLIENT: str | None
    SLOW_HASH_RATE_PER_ADDRESS: str | None
    PUSH_RATE_LIMIT: str | None
    MAX_OUTSTANDING_REQUEST_URIS: int | None
    DPOP_SIGNING_ALGS: list[str]
    DPOP_PROOF_MAX_AGE: int
    DPOP_NONCES: bool
    DPOP_NONCE_LIFETIME: int
    DPOP_BOUND_ACCESS_TOKENS: bool
    AUTHORIZATION_DETAILS_TYPES: dict[str, str]
    ALLOW_UNREGISTERED_REDIRECT_URIS: bool
    LIMITS_FAIL_CLOSED: bool
    PROMETHEUS_METRICS: bool

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
        for name in SETTINGS:
            self.__dict__.pop(name, None)

    def get(self, key: str) -> Any:
        """The raw value: the site's, or the default."""
        return self.user_settings.get(key, SETTINGS[key].default)

    def __getattr__(self, name: str) -> Any:
        # Called only on a miss: the converted value is then kept as an attribute until the next reload.
        setting = SETTINGS.get(name)
        if setting is None:
            raise AttributeError(name)
        value = self.get(name)
        # A setting whose default is None is optional: None (or "") means unset.
        converted = None if value is None or (setting.default is None and value == "") else setting.kind(value)
        setattr(self, name, converted)
        return converted


par_settings = ParSettings()


def _reload_par_settings(*, setting: str, **kwargs: Any) -> None:
    if setting == "DJANGO_PAR":
        par_settings.reload()


setting_changed.connect(_reload_par_settings)
