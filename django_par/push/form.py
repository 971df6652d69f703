"""Reading an application/x-www-form-urlencoded request body strictly."""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from ..conf import par_settings
from ..errors import InvalidRequest, RequestTooLarge, UnsupportedMediaType
from . import resources

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# RFC 6749 Appendix B: form bodies are UTF-8; US-ASCII is a subset of it.
FORM_CHARSETS = frozenset({"utf-8", "us-ascii"})


def check_form_charset(request: HttpRequest) -> None:
    """Refuse a body whose Content-Type names a charset other than UTF-8 (or US-ASCII).

    Django decodes a body with whatever Python codec the charset names (``unicode_escape``
    turns ``\\ud800`` into a lone surrogate, which no database nor hash accepts): the
    charset is only compared here, and the body read as UTF-8 whatever it says.
    """
    charset = (request.content_params or {}).get("charset")
    if charset is not None and charset.lower() not in FORM_CHARSETS:
        raise UnsupportedMediaType("The request body must be UTF-8: charset=utf-8 or no charset.")


def read_post(request: HttpRequest) -> None:
    """For a view that reads ``request.POST`` (DOT's token endpoint): parse it now, or an OAuth error.

    The body must be UTF-8, as here; Django then decodes it as UTF-8 (Django 4.2 would use
    the codec a charset names, Django 5.1+ refuses any charset but ``utf-8`` with an HTML 400,
    ``us-ascii`` included). A body Django cannot parse (a malformed multipart body, too many
    fields, too large) is an OAuth error too, not Django's HTML 400.
    """
    check_form_charset(request)
    request.encoding = "utf-8"
    try:
        request.POST  # noqa: B018  (parsed here, once; DOT reads the parsed QueryDict)
    except RequestDataTooBig:
        raise RequestTooLarge("The request body is too large.") from None
    except (SuspiciousOperation, BadRequest, MultiPartParserError, ValueError):
        raise InvalidRequest("The request body is malformed.") from None


def read_form_parameters(request: HttpRequest) -> dict[str, str]:
    """The body's parameters, one value each; empty values count as omitted.

    RFC 6749 §3.1: parameters MUST NOT be included more than once, and one sent
    without a value is treated as omitted. RFC 8707 §2 makes ``resource`` the one
    exception: its values are kept together, as one JSON array (:mod:`.resources`).
    """
    if request.content_type != FORM_CONTENT_TYPE:
        raise UnsupportedMediaType(f"The request body must be {FORM_CONTENT_TYPE}.")
    check_form_charset(request)
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
        # Strict UTF-8, before and after percent-decoding: invalid bytes and encoded surrogates are refused.
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except ValueError:  # also UnicodeDecodeError
        raise InvalidRequest("The request body is not valid UTF-8 form data.") from None
    params: dict[str, str] = {}
    resource_values: list[str] = []
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            # No parameter legitimately holds NUL, and PostgreSQL cannot store it in text or JSON.
            raise InvalidRequest("The request body contains a NUL character.")
        if name == resources.NAME:
            # RFC 8707 §2: the client MAY use the resource parameter multiple times.
            if value != "":
                resource_values.append(value)
            continue
        if name in params:
            raise InvalidRequest(f"The parameter {name} was sent more than once.")
        params[name] = value
    if resource_values:
        params[resources.NAME] = resources.encode(resource_values)
    return {name: value for name, value in params.items() if value != ""}
