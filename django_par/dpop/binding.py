"""Where the DPoP key of a code, an access token or a refresh token is kept (RFC 9449 §6, §10).

A :class:`~django_par.models.DPoPBinding` row beside DOT's Grant, AccessToken or
RefreshToken holds the key's thumbprint (``jkt``); no row means the token is not
bound (a Bearer token). A pushed request's binding is its ``dpop_jkt`` parameter,
stored with the other pushed parameters.
"""

from __future__ import annotations

from typing import Any

from ..models import DPoPBinding, beside_row

__all__ = [
    "access_token_jkt",
    "bind_access_token",
    "bind_grant",
    "bind_refresh_token",
    "grant_jkt",
    "refresh_token_jkt",
]


def _jkt(**lookup: Any) -> str | None:
    jkt: str | None = DPoPBinding.objects.filter(**lookup).values_list("jkt", flat=True).first()
    return jkt


_MEMO = "_django_par_dpop_jkt"


def access_token_jkt(token: Any) -> str | None:
    """The thumbprint a DOT AccessToken is bound to; None for a Bearer token.

    Read once per token object: on a resource request DOT's validator and django_par's
    resource view both ask (one query, not two).
    """
    if _MEMO not in vars(token):
        setattr(token, _MEMO, _jkt(access_token_id=token.pk))
    jkt: str | None = getattr(token, _MEMO)
    return jkt


def refresh_token_jkt(token: Any) -> str | None:
    """The thumbprint a DOT RefreshToken is bound to (§5: public clients' refresh tokens)."""
    return _jkt(refresh_token_id=token.pk)


def grant_jkt(grant: Any) -> str | None:
    """The thumbprint a DOT Grant (authorization code) is bound to (§10).

    No query for a grant read with its rows beside it (:func:`django_par.dot.exchange_grant`).
    """
    row = beside_row(grant, "par_dpopbinding")
    return None if row is None else str(row.jkt)


def bind_access_token(token: Any, jkt: str) -> None:
    DPoPBinding.objects.create(access_token=token, jkt=jkt)
    setattr(token, _MEMO, jkt)


def bind_refresh_token(token: Any, jkt: str) -> None:
    DPoPBinding.objects.create(refresh_token=token, jkt=jkt)


def bind_grant(grant: Any, jkt: str) -> None:
    DPoPBinding.objects.create(grant=grant, jkt=jkt)
