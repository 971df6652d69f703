"""Rich authorization requests: the rules on ``authorization_details`` (RFC 9396).

Accepted at the PAR endpoint only, as a form parameter holding a JSON array or as
a request object claim holding the array (RFC 9396 §3). A plain authorization
request carrying it is refused: the details are too large and too sensitive for
the front channel, and only a pushed request has them checked before the user
sees them. Each element is checked here in order:

1. the value is a JSON array (within ``bounded_json``'s size and depth limits) of
   objects, each with a string ``type`` (§2);
2. the common fields, where present, have their §2.2 types;
3. the type is one the client may request (``ClientMetadata.authorization_details_types``)
   and one the server knows (``DJANGO_PAR["AUTHORIZATION_DETAILS_TYPES"]``);
4. the type's validator (a dotted path in that setting) returns the element to
   store, or raises ``ValueError`` or a :class:`~django_par.errors.OAuthError`.

Anything refused is ``invalid_authorization_details`` (§5). The checked array is
stored with the pushed request as compact JSON; what happens to it once approved
is :mod:`django_par.flow.granted_details`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..bounded_json import InvalidJson, client_json, strings_in
from ..conf import par_settings
from ..errors import InvalidAuthorizationDetails, InvalidRequest, OAuthError
from ..models import client_metadata

NAME = "authorization_details"
# RFC 9396 §2.2: the common data fields and the JSON type of each.
STRING_ARRAY_FIELDS = ("locations", "actions", "datatypes", "privileges")
STRING_FIELDS = ("identifier",)
# Enough for any real request (a payment, a few accounts); each is bounded by the body size.
MAX_ELEMENTS = 20

Validator = Callable[[dict[str, Any], Any], Any]


def supported_types() -> list[str]:
    """The types the server accepts, for discovery (RFC 9396 §10.1)."""
    return sorted(par_settings.AUTHORIZATION_DETAILS_TYPES)


def from_claim(value: Any) -> str:
    """A request object's ``authorization_details`` claim (an array, §3) as the form parameter's text."""
    if not isinstance(value, list):
        raise InvalidAuthorizationDetails("The authorization_details claim must be a JSON array.")
    return json.dumps(value)


def refuse_in_plain_request(names: Any) -> None:
    """A plain authorization request must not carry authorization_details: push it (RFC 9396 §3, RFC 9126)."""
    if NAME in names:
        raise InvalidRequest("authorization_details is accepted only in a pushed authorization request.")


def needs_fresh_consent(params: Mapping[str, Any]) -> bool:
    """Authorization details are approved request by request (RFC 9396 §3 shows them to the user):
    an earlier approval of the client's scopes does not cover them, so DOT's automatic approval
    from a live token does not apply (a ``skip_authorization`` client, trusted by the site, is not asked)."""
    return bool(params.get(NAME))


def parse(text: str) -> list[dict[str, Any]]:
    """The array of objects with a string type (§2), or ``invalid_authorization_details``."""
    try:
        value = client_json(text, what=NAME)
    except InvalidJson as exc:
        raise InvalidAuthorizationDetails(str(exc)) from None
    if not isinstance(value, list) or not value:
        raise InvalidAuthorizationDetails("authorization_details must be a non-empty JSON array.")
    if len(value) > MAX_ELEMENTS:
        raise InvalidAuthorizationDetails(f"authorization_details may hold at most {MAX_ELEMENTS} elements.")
    if _holds_nul(value):
        # As in a form: no value holds NUL, and PostgreSQL cannot store it in JSON.
        raise InvalidAuthorizationDetails("authorization_details holds a NUL character.")
    for element in value:
        if not isinstance(element, dict):
            raise InvalidAuthorizationDetails("Each authorization_details element must be a JSON object.")
        kind = element.get("type")
        if not isinstance(kind, str) or not kind:
            raise InvalidAuthorizationDetails("Each authorization_details element needs a string type.")
        _check_common_fields(element)
    return value


def _holds_nul(value: Any) -> bool:
    return any("\x00" in text for text in strings_in(value))


def _check_common_fields(element: Mapping[str, Any]) -> None:
    for name in STRING_ARRAY_FIELDS:
        if name in element:
            items = element[name]
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise InvalidAuthorizationDetails(f"The {name} field must be an array of strings (RFC 9396 §2.2).")
    for name in STRING_FIELDS:
        if name in element and not isinstance(element[name], str):
            raise InvalidAuthorizationDetails(f"The {name} field must be a string (RFC 9396 §2.2).")


def type_validator(kind: str) -> Validator:
    """The validator the settings name for ``kind``; checked at start-up by django_par.E012."""
    path = par_settings.AUTHORIZATION_DETAILS_TYPES[kind]
    validator: Validator = import_string(path)
    return validator


def check_element(element: dict[str, Any], application: Any, allowed: list[str]) -> dict[str, Any]:
    kind = element["type"]
    if kind not in allowed:
        raise InvalidAuthorizationDetails(f"This client may not request authorization details of type {kind!r}.")
    if kind not in par_settings.AUTHORIZATION_DETAILS_TYPES:
        raise InvalidAuthorizationDetails(f"Unknown authorization details type {kind!r}.")
    try:
        checked = type_validator(kind)(element, application)
    except OAuthError:
        raise
    except ValueError as exc:
        raise InvalidAuthorizationDetails(str(exc) or f"The {kind} authorization details are not valid.") from None
    if not isinstance(checked, dict) or checked.get("type") != kind:
        raise ImproperlyConfigured(f"The validator of authorization details type {kind!r} must return the element.")
    return checked


def check_authorization_details(text: str, application: Any) -> str:
    """The pushed ``authorization_details``, each element checked; the JSON text to store."""
    elements = parse(text)
    allowed = client_metadata(application).authorization_details_types or []
    checked = [check_element(element, application, allowed) for element in elements]
    try:
        return json.dumps(checked, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        raise ImproperlyConfigured("An authorization details validator returned a value that is not JSON.") from None


def stored_details(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The checked details of stored parameters (none: an empty list)."""
    text = params.get(NAME)
    if not text:
        return []
    details: list[dict[str, Any]] = json.loads(text)
    return details


def narrowed(text: str, granted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """RFC 9396 §6.1: a token request may ask for part of what was granted, never more.

    Each requested element must equal one granted element: this server does not
    merge or split elements, so narrowing means choosing among them.
    """
    requested = parse(text)
    for element in requested:
        if element not in granted:
            raise InvalidAuthorizationDetails("The token request asks for authorization details that were not granted.")
    return requested
