"""Signed request objects pushed in the ``request`` parameter (RFC 9101, RFC 9126 §3)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest

from ..clients.base import AuthenticatedClient
from ..conf import par_settings
from ..dot import issuer
from ..errors import InvalidRequest, InvalidRequestObject
from ..jose.jwt import ClientClaims, JwtError, Profile, parse, verify
from ..jose.keys import client_key_set
from ..models import client_metadata
from . import authorization_details, resources

# RFC 9101 §4: explicit typing; plain JWT and no typ are accepted too.
ACCEPTED_TYPES = frozenset({"oauth-authz-req+jwt", "jwt"})


def request_object_parameters(request: HttpRequest, client: AuthenticatedClient, request_object: str) -> dict[str, str]:
    """The authorization parameters carried by a verified request object."""
    metadata = client_metadata(client.application)
    try:
        parsed = parse(request_object)
    except JwtError as exc:
        raise InvalidRequestObject(str(exc)) from None
    typ = parsed.header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES):
        raise InvalidRequestObject(f"The request object typ {typ!r} is not accepted.")
    algorithms = par_settings.ASYMMETRIC_SIGNING_ALGS
    if metadata.request_object_signing_alg:
        algorithms = [alg for alg in algorithms if alg == metadata.request_object_signing_alg]
    try:
        verified = verify(
            parsed,
            REQUEST_OBJECT,
            client_id=client.application.client_id,
            audiences={issuer(request)},
            algorithms=algorithms,
            key_set=lambda refresh: client_key_set(metadata, refresh=refresh),
            max_lifetime=par_settings.REQUEST_OBJECT_MAX_LIFETIME,
        )
    except JwtError as exc:
        raise InvalidRequestObject(str(exc)) from None
    return {name: _as_parameter(name, value) for name, value in verified.claims.items() if name not in JWT_CLAIMS}


# Claims about the JWT itself, not authorization parameters.
JWT_CLAIMS = frozenset({"iss", "aud", "exp", "nbf", "iat", "jti", "sub"})

REQUEST_OBJECT = Profile(
    client_claims=(
        # RFC 9126 §3: the request object's client_id is the authenticated client.
        ClientClaims(("client_id",), "The client_id claim does not match the authenticated client."),
        # RFC 9101 §4: iss is the client_id of the client that signed it.
        ClientClaims(("iss",), "The iss claim must be the client_id."),
    ),
    # RFC 9101 §4: aud names the authorization server (its issuer).
    audience_error="The aud claim must be the issuer.",
    # RFC 9101 §6.3: a request object never nests another.
    forbidden=("request", "request_uri"),
    forbidden_error="A request object must not contain request or request_uri.",
)


def _is_utf8_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_parameter(name: str, value: Any) -> str:
    """A claim as the string the same parameter would be in a form."""
    if name == resources.NAME:
        return resources.from_claim(value)  # RFC 8707 §2: a string or an array of strings
    if name == authorization_details.NAME:
        return authorization_details.from_claim(value)  # RFC 9396 §3: the array itself
    if isinstance(value, str):
        # What form_body refuses in a form: NUL, and text that is not UTF-8 (a lone surrogate).
        if "\x00" in value or not _is_utf8_text(value):
            raise InvalidRequestObject(f"The {name} claim holds characters no parameter may hold.")
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return json.dumps(value)
    raise InvalidRequestObject(f"The {name} claim has an unexpected type.")


def require_signed_request_object(client: AuthenticatedClient) -> None:
    if par_settings.REQUIRE_SIGNED_REQUEST_OBJECT or client_metadata(client.application).require_signed_request_object:
        raise InvalidRequest("This client must push a signed request object (the request parameter).")
