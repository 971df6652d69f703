"""DPoP at protected resources (RFC 9449 §7): the ``DPoP`` scheme, the proof's ``ath``, the token's key.

A protected-resource request passes two steps:

1. :func:`accept_dpop_authorization`, before DOT looks at the token: for
   ``Authorization: DPoP <token>`` the proof is verified for this request and this
   token (``ath``), the token is handed on to DOT as a bearer token, and the proof's
   key thumbprint is remembered in ``request.META`` under a name no client header
   can take (Django prefixes every HTTP header with ``HTTP_``);
2. :func:`check_token_binding`, once DOT has found a valid token: its bound key
   and the proof's key must agree. DOT's validator runs it on every token it
   accepts (:class:`django_par.clients.validator.OAuth2Validator`), so DOT's own
   resource views refuse a DPoP-bound token sent as a bearer token too (§7.2);
   django_par's resource views and DRF class run it themselves as well, for sites
   with another validator.

Failures raise :class:`InvalidToken` or the proof errors of :mod:`.proofs`;
:func:`django_par.views.responses.resource_error_response` answers them with a
``WWW-Authenticate`` challenge (§7.1).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from .. import dot
from ..conf import par_settings
from ..errors import InvalidDPoPProof, InvalidRequest, OAuthError
from .binding import access_token_jkt
from .proofs import allowed_algorithms, endpoint_uri, verify_proof

#: Where the verified proof's key thumbprint travels with the request, to DOT's validator too
#: (DOT copies ``META`` into oauthlib's headers). Clients cannot send it: their headers are ``HTTP_*``.
PROOF_JKT = "django_par.dpop_jkt"


class InvalidToken(OAuthError):
    """RFC 6750 §3.1 ``invalid_token``: missing, unknown, expired, revoked, or not usable this way."""

    error = "invalid_token"
    status = 401


class TokenRequired(InvalidToken):
    """No access token at all: RFC 6750 §3.1 says the challenge then carries no error code."""


class InsufficientScope(OAuthError):
    """RFC 6750 §3.1 ``insufficient_scope``: a good token without the scopes this resource needs."""

    error = "insufficient_scope"
    status = 403


def authorization_scheme(request: HttpRequest) -> str:
    """The Authorization header's scheme, lower case ("" without one)."""
    return str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")[0].lower()


def client_scheme(request: HttpRequest) -> str:
    """The scheme the client sent, also after :func:`accept_dpop_authorization` has rewritten it."""
    return "dpop" if request.META.get(PROOF_JKT) else authorization_scheme(request)


def accept_dpop_authorization(request: HttpRequest) -> None:
    """Verify a ``DPoP``-scheme request's proof; hand its token on to DOT as a bearer token.

    A request in another scheme (or with no Authorization header) is left as it is.
    """
    request.META.pop(PROOF_JKT, None)
    if authorization_scheme(request) != "dpop":
        return
    # RFC 9449 §7.1: token68 after the scheme; one token, nothing else.
    parts = str(request.META["HTTP_AUTHORIZATION"]).split()
    if len(parts) != 2:
        raise InvalidToken("The DPoP authorization header must carry exactly one access token.")
    token = parts[1]
    # RFC 9449 §4.3: htu is the request's URI without query and fragment; §7: ath binds the token.
    # Server nonces (§9) are for the authorization server's endpoints only here.
    proof = verify_proof(
        request, htm=request.method or "GET", htu=endpoint_uri(request), access_token=token, require_nonce=False
    )
    if proof is None:
        raise InvalidDPoPProof("A DPoP proof is required with the DPoP authorization scheme.")
    request.META["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    request.META[PROOF_JKT] = proof.jkt


def proof_jkt(headers: Any) -> str | None:
    """The verified proof's key thumbprint in a Django ``META`` or in DOT's copy of it (oauthlib headers)."""
    value = headers.get(PROOF_JKT) if headers is not None else None
    return str(value) if value else None


def check_token_binding(access_token: Any, jkt_of_proof: str | None) -> None:
    """RFC 9449 §7.1, §7.2: a bound token only with a proof by its key; a proof only with a bound token."""
    bound_to = access_token_jkt(access_token)
    if bound_to is None and jkt_of_proof is None:
        return
    if bound_to is None:
        raise InvalidToken("This access token is not bound to a DPoP key: send it as a bearer token.")
    if jkt_of_proof is None:
        raise InvalidToken("This access token is bound to a DPoP key: send it with the DPoP scheme and a proof.")
    if not constant_time_compare(bound_to, jkt_of_proof):
        raise InvalidToken("The DPoP proof is not signed by the key this access token is bound to.")


def introspection_claims(access_token: Any) -> dict[str, Any]:
    """RFC 9449 §6.2: what an introspection answer about a bound token adds (none: an empty dict)."""
    jkt = access_token_jkt(access_token)
    return {"token_type": "DPoP", "cnf": {"jkt": jkt}} if jkt else {}


def authenticate_resource_request(request: HttpRequest, scopes: list[str]) -> tuple[Any, Any]:
    """The (user, access token) of a protected-resource request, in the Bearer or the DPoP scheme.

    Raises :class:`InvalidToken`, :class:`InsufficientScope` or a DPoP proof error.
    """
    scheme = authorization_scheme(request)
    if scheme not in ("bearer", "dpop"):
        raise TokenRequired("An access token is required.")
    accept_dpop_authorization(request)
    valid, core_request = dot.verify_resource_request(request, scopes)
    if not valid:
        raise _dot_error(core_request)
    check_token_binding(core_request.access_token, proof_jkt(request.META))
    return core_request.user, core_request.access_token


def _dot_error(core_request: Any) -> OAuthError:
    """DOT's reason for refusing a token (ours, when django_par's validator refused it), as an error."""
    reported = getattr(core_request, "oauth2_error", None) or {}
    description = reported.get("error_description") or "The access token is invalid, expired or revoked."
    if reported.get("error") == "insufficient_scope":
        return InsufficientScope(description)
    if reported.get("error") == "invalid_request":
        return InvalidRequest(description)
    return InvalidToken(description)


def _quoted(value: str) -> str:
    # RFC 9110 §5.6.4 quoted-string: escape what would end it; a header value has no line breaks.
    value = value.replace("\r", " ").replace("\n", " ")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(error: OAuthError | None, scheme: str) -> str:
    """``WWW-Authenticate`` for a refused resource request (RFC 9449 §7.1, RFC 6750 §3).

    The error goes in the challenge of the scheme the client used; the ``DPoP`` challenge
    with its ``algs`` is always there, so a bearer client learns that DPoP is supported.
    """
    detail = ""
    if error is not None and not isinstance(error, TokenRequired):
        detail = f", error={_quoted(error.error)}, error_description={_quoted(error.description)}"
    realm = f"realm={_quoted(par_settings.AUTHENTICATION_REALM)}"
    dpop = f"DPoP {realm}, algs={_quoted(' '.join(allowed_algorithms()))}"
    if scheme != "dpop":
        return f"Bearer {realm}{detail}, {dpop}"
    return f"{dpop}{detail}, Bearer {realm}"
