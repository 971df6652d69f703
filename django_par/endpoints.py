"""The server's own identifiers: its issuer and endpoint URLs."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from oauth2_provider.settings import oauth2_settings


def issuer(request: Any) -> str:
    """The issuer identifier (RFC 8414 §2), for ``iss`` and audience checks.

    ``request`` is a Django or an oauthlib request, as DOT accepts both.
    """
    # DOT 3.2+ has a dedicated OAuth issuer; older releases only the OIDC one.
    get_issuer = getattr(oauth2_settings, "oauth2_authorization_server_issuer", None) or oauth2_settings.oidc_issuer
    return str(get_issuer(request)).rstrip("/")


def endpoint_urls(issuer_url: str, *url_names: str) -> list[str]:
    """Absolute URLs of the named endpoints that the URLconf routes, beside ``issuer_url``."""
    # The issuer is the prefix of DOT's URLs; its origin is what reverse() paths hang from.
    scheme, _, rest = issuer_url.partition("://")
    origin = f"{scheme}://{rest.split('/', 1)[0]}"
    urlconf, prefix = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    paths = (_path(name, urlconf, prefix) for name in url_names)
    return [origin + path for path in paths if path is not None]


@lru_cache(maxsize=64)
def _path(name: str, urlconf: Any, prefix: str) -> str | None:
    """reverse(name), remembered: a client assertion's audience check asks on every push.

    The URLconf in force and the script prefix are part of the key.
    """
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None
