"""Reading an application/x-www-form-urlencoded request body strictly."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.http import HttpRequest

from ..conf import par_settings
from ..errors import InvalidRequest, RequestTooLarge, UnsupportedMediaType

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def read_form_parameters(request: HttpRequest) -> dict[str, str]:
    """The body's parameters, one value each; empty values count as omitted.

    RFC 6749 §3.1: parameters MUST NOT be included more than once, and one sent
    without a value is treated as omitted.
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise UnsupportedMediaType(f"The request body must be {FORM_CONTENT_TYPE}.")
    limit = par_settings.MAX_BODY_SIZE
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidRequest("The Content-Length header is malformed.") from None
    if declared > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        text = body.decode(request.encoding or "utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, LookupError, ValueError):
        raise InvalidRequest("The request body is not valid form data.") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            # No parameter legitimately holds NUL, and PostgreSQL cannot store it in text or JSON.
            raise InvalidRequest("The request body contains a NUL character.")
        if name in params:
            raise InvalidRequest(f"The parameter {name} was sent more than once.")
        params[name] = value
    return {name: value for name, value in params.items() if value != ""}
