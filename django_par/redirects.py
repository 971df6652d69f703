"""Building authorization responses sent back to the client's redirect_uri."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest

from .endpoints import issuer


def default_response_mode(response_type: str) -> str:
    # OAuth 2.0 Multiple Response Types §5: fragment when tokens come from this endpoint.
    return "query" if response_type.split() in ([], ["code"]) else "fragment"


def response_url(redirect_uri: str, response: Mapping[str, Any], response_mode: str) -> str:
    """``redirect_uri`` with the response in its query or fragment."""
    scheme, netloc, path, query, fragment = urlsplit(redirect_uri)
    if response_mode == "fragment":
        fragment = urlencode(dict(response))
    else:
        query = urlencode([*parse_qsl(query, keep_blank_values=True), *response.items()])
    return urlunsplit((scheme, netloc, path, query, fragment))


def with_issuer(url: str, iss: str) -> str:
    """Add ``iss`` (RFC 9207) beside the response parameters unless already there."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    in_fragment = bool(fragment)
    carrier = fragment if in_fragment else query
    pairs = parse_qsl(carrier, keep_blank_values=True)
    if any(name == "iss" for name, _ in pairs):
        return url
    carrier = urlencode([*pairs, ("iss", iss)])
    if in_fragment:
        return urlunsplit((scheme, netloc, path, query, carrier))
    return urlunsplit((scheme, netloc, path, carrier, fragment))


def error_response_url(request: HttpRequest, parameters: Mapping[str, str], error: str, description: str) -> str:
    """An error authorization response (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6)."""
    response = {"error": error, "error_description": description}
    if "state" in parameters:
        response["state"] = parameters["state"]
    mode = parameters.get("response_mode") or default_response_mode(parameters.get("response_type", ""))
    return with_issuer(response_url(parameters["redirect_uri"], response, mode), issuer(request))
