"""Resource indicators in a pushed request (RFC 8707 §2).

``resource`` is the one authorization parameter a client may send more than once
(RFC 8707 §2); in a request object it is a string or an array of strings. Between
reading and validating, the values travel among the other (single-valued, string)
parameters as one JSON array string (:func:`encode`); the stored parameter is that
array, checked. At the authorization endpoint the values are handed to DOT as
repeated query parameters, as a plain request sends them, so that DOT 3.4's own
RFC 8707 handling (the grant's and the tokens' ``resource``, ``allows_audience``)
applies to pushed requests exactly as to plain ones.

On a DOT release without RFC 8707 (DOT before 3.4) a pushed ``resource`` is
refused with ``invalid_target``: DOT would issue tokens without the audience
restriction the client asked for, which the client cannot detect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .. import dot
from ..errors import InvalidRequest, InvalidTarget

NAME = "resource"
# RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# Characters no URI holds (RFC 3986 §2): whitespace, controls, and those outside ASCII.
_NOT_URI = re.compile(r"[^\x21-\x7e]")
# Enough for any real audience list; each value is bounded by the body size.
MAX_RESOURCES = 20


def encode(values: list[Any]) -> str:
    """The values as the one string parameter they travel as until validated."""
    return json.dumps(values)


def from_claim(value: Any) -> str:
    """A request object's ``resource`` claim: a string or an array of strings (RFC 8707 §2)."""
    if isinstance(value, str):
        return encode([value])
    if isinstance(value, list) and value:
        return encode(value)
    raise InvalidTarget("The resource claim must be a string or a non-empty array of strings.")


def check_resource(value: Any) -> str:
    """One resource indicator: an absolute URI without fragment (RFC 8707 §2); the value."""
    if not isinstance(value, str) or not value:
        raise InvalidTarget("Each resource must be a non-empty string.")
    if _NOT_URI.search(value):
        raise InvalidTarget("A resource must be a URI: no spaces, control or non-ASCII characters.")
    if "#" in value:
        # RFC 8707 §2: it MUST NOT include a fragment component.
        raise InvalidTarget("A resource must not contain a fragment.")
    scheme, _, _ = value.partition(":")
    if not _SCHEME.fullmatch(scheme) or ":" not in value:
        # RFC 8707 §2: an absolute URI (RFC 3986 §4.3).
        raise InvalidTarget("A resource must be an absolute URI.")
    try:
        urlsplit(value).port  # noqa: B018 - raises ValueError for a bad port or IPv6 literal
    except ValueError:
        raise InvalidTarget("A resource must be an absolute URI: bad host or port.") from None
    if not dot.is_valid_resource_uri(value):
        # DOT's own rule (a host, no userinfo), which it applies again on the consent form.
        raise InvalidTarget("A resource must be an absolute URI with a host and no user information.")
    return value


def check_resources(encoded: str) -> list[str]:
    """The pushed resource values, each checked, duplicates dropped; ``invalid_target`` otherwise."""
    if not dot.supports_resource_indicators():
        raise InvalidTarget("This server does not support resource indicators (RFC 8707).")
    try:
        values = json.loads(encoded)
    except ValueError:
        raise InvalidRequest("The resource parameter is malformed.") from None
    if not isinstance(values, list) or not values:
        raise InvalidTarget("The resource parameter must name at least one resource.")
    if len(values) > MAX_RESOURCES:
        raise InvalidTarget(f"At most {MAX_RESOURCES} resources may be requested.")
    return list(dict.fromkeys(check_resource(value) for value in values))


def stored_resources(params: Mapping[str, Any]) -> list[str]:
    """The checked resources of stored parameters (none: an empty list)."""
    value = params.get(NAME)
    if not value:
        return []
    resources = json.loads(value)
    return [item for item in resources if isinstance(item, str)]
