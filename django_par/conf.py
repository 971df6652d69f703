"""The one settings object of django_par.

A site configures the app with one dict in its settings module::

    DJANGO_PAR = {"REQUEST_URI_LIFETIME": 90}

Every key is optional; each property below documents its default. Values are read
on every access, so ``override_settings`` in tests takes effect at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Seconds during which a pushed request_uri can first be used (RFC 9126 §2.2).
    "REQUEST_URI_LIFETIME": 90,
    # Seconds a flow may take once its request_uri was first used (login, MFA,
    # consent); reloads within that time keep working (RFC 9126 §4).
    "FLOW_LIFETIME": 1800,
    # Refuse authorization requests that were not pushed, for every client.
    # A client's ClientMetadata.require_pushed_authorization_requests adds to it.
    "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS": False,
    # Client authentication backends, tried in order (see django_par.client_auth).
    "CLIENT_AUTH_BACKENDS": [
        "django_par.client_auth.ClientSecretBasic",
        "django_par.client_auth.ClientSecretPost",
        "django_par.client_auth.PublicClient",
    ],
    # Minimum length of the state and nonce parameters.
    "STATE_MIN_LENGTH": 8,
    "NONCE_MIN_LENGTH": 8,
    # Largest accepted request body, in bytes (larger: 413).
    "MAX_BODY_SIZE": 64 * 1024,
    # Realm announced in the WWW-Authenticate challenge of a 401.
    "AUTHENTICATION_REALM": "django-par",
}

# Allowed range of each lifetime, in seconds.
LIFETIME_RANGES: dict[str, tuple[int, int]] = {
    "REQUEST_URI_LIFETIME": (5, 3600),
    "FLOW_LIFETIME": (60, 86400),
}

# Keys whose values are dotted import paths (checked by the system checks).
IMPORT_PATH_KEYS: tuple[str, ...] = ("CLIENT_AUTH_BACKENDS",)


class ParSettings:
    """Typed access to ``settings.DJANGO_PAR`` with the documented defaults."""

    @property
    def user_settings(self) -> dict[str, Any]:
        value = getattr(settings, "DJANGO_PAR", {})
        return value if isinstance(value, dict) else {}

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
        return bool(self.get("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS"))

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
    def AUTHENTICATION_REALM(self) -> str:
        return str(self.get("AUTHENTICATION_REALM"))


par_settings = ParSettings()
