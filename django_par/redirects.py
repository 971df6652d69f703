"""Building authorization responses sent back to the client's redirect_uri."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def response_url(redirect_uri: str, response: Mapping[str, Any], response_mode: str) -> str:
    """``redirect_uri`` with the response in its query or fragment."""
    scheme, netloc, path, query, fragment = urlsplit(redirect_uri)
    if response_mode == "fragment":
        fragment = urlencode(dict(response))
    else:
        query = urlencode([*parse_qsl(query, keep_blank_values=True), *response.items()])
    return urlunsplit((scheme, netloc, path, query, fragment))


def error_response_url(parameters: Mapping[str, str], error: str, description: str) -> str:
    """An error authorization response (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).

    Built in the query; the response mode and ``iss`` are applied on delivery.
    """
    response = {"error": error, "error_description": description}
    if "state" in parameters:
        response["state"] = parameters["state"]
    return response_url(parameters["redirect_uri"], response, "query")
