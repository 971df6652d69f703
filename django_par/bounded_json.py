"""Parsing JSON a client sends, bounded in size and in nesting depth.

Python's json module reads any size, and nests until the interpreter's
recursion limit, where it raises ``RecursionError``; a value it did read some
940 deep can still fail later, in a ``json.dumps`` far from the request that
sent it. Every JSON value django_par reads from a client (JWS headers and
payloads, ``claims``, ``login_hint``) goes through :func:`loads`, which:

- refuses text larger than ``max_bytes`` before reading it;
- refuses text nested deeper than ``max_depth`` after a scan of its strings and
  brackets (a regular expression and a counter, no recursion), before the json
  module recurses into it;
- refuses strings that are not Unicode text (a lone surrogate written as a
  ``\\ud800`` escape, RFC 8259 §8.2), which no UTF-8 encoder downstream (a
  database, a cache key, a hash) accepts.

Errors are :class:`InvalidJson` (a ``ValueError``), whose message names the
value; callers turn them into their OAuth error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .conf import par_settings

__all__ = ["InvalidJson", "JsonLimitExceeded", "JsonSyntaxError", "client_json", "loads", "nesting_depth"]


class InvalidJson(ValueError):
    """The text is not JSON this server reads; the message says why."""


class JsonSyntaxError(InvalidJson):
    """The text is not JSON (RFC 8259), or not UTF-8."""


class JsonLimitExceeded(InvalidJson):
    """The text is larger, or nested deeper, than allowed (whether it is valid JSON or not)."""


# A JSON string (RFC 8259 §7), or one bracket. In the part of a text that the json module reads
# before any syntax error, every quote outside a string opens one, so the brackets counted here
# are at least those it recurses into; in valid JSON, exactly those. An unterminated string runs
# to the end (the json module stops there): a match never fails once begun, so the scan takes
# linear time whatever the text (with a closing quote required, '"\\"\\"\\"...' takes quadratic).
_STRING_OR_BRACKET = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)
# A \u escape of a UTF-16 surrogate: only then can a parsed string hold a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def nesting_depth(text: str, limit: int) -> int:
    """How deep arrays and objects nest in ``text``; counting stops past ``limit``.

    ``1`` is depth 0, ``[1]`` depth 1, ``{"a": [1]}`` depth 2.
    """
    depth = deepest = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        char = match.group()[0]
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif char in "]}":
            depth -= 1
    return deepest


def strings_in(value: Any) -> Iterator[str]:
    """Every key and string of a parsed JSON value, walked without recursion (depth is the client's)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed value holds, in a key or a string, a character UTF-8 cannot encode."""
    for text in strings_in(value):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def loads(text: str | bytes, *, max_bytes: int, max_depth: int, what: str) -> Any:
    """The value of the JSON ``text``, once it is within the limits; :class:`InvalidJson` otherwise.

    ``bytes`` must be UTF-8 (RFC 8259 §8.1). ``what`` names the value in error messages.
    """
    if len(text) > max_bytes:
        raise JsonLimitExceeded(f"{what} is larger than {max_bytes} bytes.")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonSyntaxError(f"{what} is not valid JSON.") from None
    elif len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise JsonLimitExceeded(f"{what} is larger than {max_bytes} bytes.")
    if nesting_depth(text, max_depth) > max_depth:
        raise JsonLimitExceeded(f"{what} is nested more than {max_depth} deep.")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: only with a max_depth near the recursion limit
        raise JsonSyntaxError(f"{what} is not valid JSON.") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise InvalidJson(f"{what} holds a string that is not Unicode text.")
    return value


def client_json(text: str | bytes, *, what: str) -> Any:
    """:func:`loads` with the limits of the settings: ``MAX_BODY_SIZE`` bytes, ``JSON_MAX_DEPTH`` deep."""
    return loads(text, max_bytes=par_settings.MAX_BODY_SIZE, max_depth=par_settings.JSON_MAX_DEPTH, what=what)
