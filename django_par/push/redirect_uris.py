"""Unregistered redirect URIs in pushed requests (RFC 9126 §2.4).

A push is authenticated, so a confidential client may be allowed to name a
``redirect_uri`` it has not registered. Off by default; on only where both the
server (``DJANGO_PAR["ALLOW_UNREGISTERED_REDIRECT_URIS"]``) and the client
(``ClientMetadata.allow_unregistered_redirect_uris``) allow it, and never for a
public client, whose push proves nothing about who sent it (RFC 9126 §2.4). Such a
URI must be https (http on a loopback host while ``DEBUG`` is on, for
development), without fragment (RFC 6749 §3.1.2) or userinfo, and on one of the
client's host patterns when it has any.

The pushed URI is where the code goes and what the token request must repeat:
DOT keeps it on the grant and compares the token request's ``redirect_uri`` to it.
For DOT's own checks of the authorization request, the application is handed to
DOT with the URI added (:func:`django_par.dot.with_redirect_uri`), on this request
only.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from oauth2_provider.models import AbstractApplication

from ..conf import par_settings
from ..errors import InvalidRequest
from ..models import client_metadata

# A host name (RFC 1123 labels), or "*." and one for any of its subdomains.
_HOST_PATTERN = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def check_host_patterns(value: str) -> list[str]:
    """The patterns of ``value`` (separated by spaces); ValueError names a bad one."""
    patterns = value.split()
    for pattern in patterns:
        if pattern != pattern.lower() or not _HOST_PATTERN.fullmatch(pattern):
            raise ValueError(f"{pattern!r} is not a host name (lower case) or *. and a host name.")
    return patterns


def host_matches(host: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):  # one or more labels before the domain, never the domain itself
                return True
        elif host == pattern:
            return True
    return False


def allowed_for(application: Any) -> bool:
    """Whether ``application`` may push unregistered redirect URIs: server, client, confidential."""
    return bool(
        par_settings.ALLOW_UNREGISTERED_REDIRECT_URIS
        and application.client_type == AbstractApplication.CLIENT_CONFIDENTIAL
        and client_metadata(application).allow_unregistered_redirect_uris
    )


def check_unregistered(application: Any, redirect_uri: str) -> None:
    """The §2.4 policy on a pushed redirect_uri the client has not registered."""
    parts = urlsplit(redirect_uri)
    host = parts.hostname or ""
    if "#" in redirect_uri:
        # RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
        raise InvalidRequest("redirect_uri must not contain a fragment.")
    if "@" in parts.netloc:
        raise InvalidRequest("redirect_uri must not contain user information.")
    if not host:
        raise InvalidRequest("redirect_uri must be an absolute https URI.")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS and settings.DEBUG):
        # RFC 9700 §4.1.1 / RFC 6749 §10.5: codes travel over TLS; loopback http in development only.
        raise InvalidRequest("An unregistered redirect_uri must use https.")
    patterns = check_host_patterns(client_metadata(application).unregistered_redirect_uri_hosts)
    if patterns and not host_matches(host, patterns):
        raise InvalidRequest("redirect_uri is not on a host this client may use.")


def is_unregistered(application: Any, redirect_uri: str) -> bool:
    return redirect_uri not in application.redirect_uris.split()


def accepted_unregistered(application: Any, redirect_uri: str) -> bool:
    """Whether ``redirect_uri`` is an unregistered URI the policy accepts (the policy read now)."""
    if not allowed_for(application) or not is_unregistered(application, redirect_uri):
        return False
    try:
        check_unregistered(application, redirect_uri)
    except InvalidRequest:
        return False
    return True
