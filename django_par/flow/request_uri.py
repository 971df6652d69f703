"""The request_uri: its creation and the digest under which it is stored (RFC 9126 §2.2)."""

from __future__ import annotations

import hashlib
import secrets

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def new_request_uri() -> str:
    # RFC 9126 §7.1: the reference must be unguessable; 256 random bits.
    return REQUEST_URI_PREFIX + secrets.token_urlsafe(32)


def request_uri_digest(request_uri: str) -> str:
    """The stored form of a request_uri: a copy of the table yields no usable URI."""
    return hashlib.sha256(request_uri.encode("utf-8")).hexdigest()
