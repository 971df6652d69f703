"""DPoP at the PAR, authorization and token endpoints (RFC 9449 §5, §10): what is bound, and when it must match.

- a push is bound to the key of its proof, or to its ``dpop_jkt`` parameter (§10);
- the code issued for a bound request is bound to that key, and so is the code of a
  plain authorization request carrying ``dpop_jkt`` (§10);
- at the token endpoint the proof's key (:func:`presenting`) must be the key the code or
  refresh token is bound to; access tokens issued with a proof are bound to its key and
  are of type ``DPoP`` (§5), and so are the refresh tokens of public clients (§5).

DOT's validator reaches these functions through :class:`django_par.dot.DPoPValidatorMixin`.
Without that mixin in ``OAUTH2_VALIDATOR_CLASS`` nothing could be bound, so DPoP is off
everywhere (:func:`supported`): proofs and ``dpop_jkt`` are ignored, as by a server without
DPoP, rather than accepted and then not enforced.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest
from oauth2_provider.settings import oauth2_settings

from .. import fapi2
from ..conf import par_settings
from ..dot import DPoPValidatorMixin
from ..errors import InvalidDPoPProof, InvalidRequest
from ..models import client_metadata
from . import binding
from .proofs import Proof, endpoint_uri, verify_proof

# RFC 7638 §3 with SHA-256: 32 bytes, base64url without padding.
JKT = re.compile(r"[A-Za-z0-9_-]{43}")

_PRESENTED: ContextVar[Proof | None] = ContextVar("django_par_dpop_proof", default=None)


def supported() -> bool:
    """Whether DOT's validator binds codes and tokens to DPoP keys (``DPoPValidatorMixin``)."""
    validator: Any = oauth2_settings.OAUTH2_VALIDATOR_CLASS
    return isinstance(validator, type) and issubclass(validator, DPoPValidatorMixin)


def request_proof(request: HttpRequest) -> Proof | None:
    """The verified proof of a POST to the PAR or token endpoint; ``htu`` is that endpoint (§4.3)."""
    if not supported() or "HTTP_DPOP" not in request.META:
        return None  # no proof (verify_proof's answer too), without building the endpoint's URI
    return verify_proof(request, htm="POST", htu=endpoint_uri(request))


def push_binding(proof: Proof | None, params: Mapping[str, str]) -> str | None:
    """§10: the thumbprint a pushed request is bound to, from its proof or its ``dpop_jkt``."""
    if not supported():
        return None
    requested = _requested_jkt(params)
    if proof is not None and requested is not None and requested != proof.jkt:
        raise InvalidDPoPProof("dpop_jkt is not the thumbprint of the DPoP proof's key.")
    jkt = proof.jkt if proof is not None else requested
    if jkt is None and fapi2.dpop_bound_codes_required():
        raise InvalidDPoPProof("FAPI 2.0 requires a DPoP-bound request: send a DPoP proof or dpop_jkt.")
    return jkt


def code_binding(query: Mapping[str, str]) -> str | None:
    """§10: the thumbprint the code of an authorization request (its parameters) is bound to."""
    return _requested_jkt(query)


def _requested_jkt(params: Mapping[str, str]) -> str | None:
    value = params.get("dpop_jkt")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not JKT.fullmatch(value):
        raise InvalidRequest("dpop_jkt must be a base64url SHA-256 JWK thumbprint (RFC 7638).")
    return value


# -- the token endpoint -----------------------------------------------------


@contextmanager
def presenting(proof: Proof | None) -> Iterator[None]:
    """Within it, ``proof`` is the verified proof of the token request DOT is handling."""
    token = _PRESENTED.set(proof)
    try:
        yield
    finally:
        _PRESENTED.reset(token)


def presented() -> Proof | None:
    return _PRESENTED.get()


def required_for(application: Any) -> bool:
    """Whether the client's access tokens must be DPoP-bound: per client, server-wide, or FAPI 2.0."""
    return (
        par_settings.DPOP_BOUND_ACCESS_TOKENS
        or fapi2.dpop_required()
        or client_metadata(application).dpop_bound_access_tokens
    )


def check_token_request(application: Any) -> None:
    """A client that must use DPoP sends a proof with every token request."""
    if presented() is None and required_for(application):
        raise InvalidDPoPProof("This client must send a DPoP proof to the token endpoint.")


def check_bound(jkt: str | None, what: str) -> None:
    """A code or refresh token bound to a key is redeemed only with a proof of that key (§5, §10)."""
    if jkt is None:
        return
    proof = presented()
    if proof is None:
        raise InvalidDPoPProof(f"The {what} is DPoP-bound: a DPoP proof of its key is required.")
    if proof.jkt != jkt:
        raise InvalidDPoPProof(f"The DPoP proof's key is not the one the {what} is bound to.")


def access_token_created(access_token: Any, token: dict[str, Any]) -> None:
    """§5: an access token issued with a proof is bound to its key, and says so (token_type DPoP)."""
    proof = presented()
    if proof is None:
        return
    binding.bind_access_token(access_token, proof.jkt)
    token["token_type"] = "DPoP"


def access_token_reissued(access_token: Any, token: dict[str, Any]) -> None:
    """An access token issued before and handed out again says whether it is DPoP-bound."""
    if access_token is not None and binding.access_token_jkt(access_token) is not None:
        token["token_type"] = "DPoP"


def refresh_token_created(refresh_token: Any, application: Any) -> None:
    """§5: a public client's refresh token is bound to the proof's key (a confidential client authenticates)."""
    proof = presented()
    if proof is not None and application.client_type == application.CLIENT_PUBLIC:
        binding.bind_refresh_token(refresh_token, proof.jkt)


def grant_created(grant: Any, jkt: str | None) -> None:
    if jkt is not None:
        binding.bind_grant(grant, jkt)
