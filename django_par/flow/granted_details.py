"""Authorization details once approved: kept with the grant and the tokens (RFC 9396 §7, §9.2).

The pushed request's checked details (:mod:`django_par.push.authorization_details`)
are what the user sees on the consent page and approves. When DOT creates the code,
an :class:`~django_par.models.AuthorizationDetails` row beside its Grant keeps them;
at the token endpoint they pass to the access token and the refresh token, and the
token response carries them (§7). A refresh carries forward those of the refresh
token (§7.3). A token request may narrow them (§6.1), never widen them.

The authorization view hands the approved details to DOT's validator through
:func:`approving`, a context variable set around DOT's creation of the authorization
response: the validator never reads them from the request, so a plain request cannot
smuggle any in. DOT's validator reaches the rest through
:class:`django_par.dot.AuthorizationDetailsValidatorMixin`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..errors import InvalidAuthorizationDetails
from ..models import AuthorizationDetails, beside_row
from ..push import authorization_details

NAME = authorization_details.NAME

_APPROVED: ContextVar[list[dict[str, Any]] | None] = ContextVar("django_par_approved_details", default=None)


@contextmanager
def approving(details: list[dict[str, Any]]) -> Iterator[None]:
    """Within it, the code DOT creates carries ``details`` (the pushed request's, as shown to the user)."""
    token = _APPROVED.set(details or None)
    try:
        yield
    finally:
        _APPROVED.reset(token)


def _details(**lookup: Any) -> list[dict[str, Any]] | None:
    details: list[dict[str, Any]] | None = (
        AuthorizationDetails.objects.filter(**lookup).values_list("details", flat=True).first()
    )
    return details


def grant_details(grant: Any) -> list[dict[str, Any]] | None:
    """The details a DOT Grant (authorization code) carries; no query for a grant read with
    its rows beside it (:func:`django_par.dot.exchange_grant`)."""
    row = beside_row(grant, "par_authorizationdetails")
    details: list[dict[str, Any]] | None = None if row is None else row.details
    return details


def access_token_details(token: Any) -> list[dict[str, Any]] | None:
    return _details(access_token_id=token.pk)


def refresh_token_details(token: Any) -> list[dict[str, Any]] | None:
    return _details(refresh_token_id=token.pk)


def grant_created(grant: Any) -> None:
    details = _APPROVED.get()
    if details:
        AuthorizationDetails.objects.create(grant=grant, details=details)


def for_token_request(granted: list[dict[str, Any]] | None, requested: str | None) -> list[dict[str, Any]] | None:
    """What the tokens of this token request carry: the granted details, or the part requested (§6.1)."""
    if requested is None:
        return granted
    return authorization_details.narrowed(requested, granted or [])


def access_token_created(access_token: Any, details: list[dict[str, Any]] | None) -> None:
    """§7: the access token carries the details (:func:`token_response` says which)."""
    if details:
        AuthorizationDetails.objects.create(access_token=access_token, details=details)


def token_response(token: dict[str, Any], details: list[dict[str, Any]] | None) -> None:
    """§7: the token response names the details its access token carries."""
    if details:
        token[NAME] = details


def refuse_narrowing_in_place() -> None:
    """§6.1 on a refresh that reuses the access token (DOT's ROTATE_REFRESH_TOKEN off): refused,
    as the reused token keeps the details it was issued with."""
    raise InvalidAuthorizationDetails("Authorization details can be narrowed only when refresh tokens rotate.")


def refresh_token_created(refresh_token: Any, details: list[dict[str, Any]] | None) -> None:
    """§7.3: a refresh gives the same details again (or part of them), never more."""
    if details:
        AuthorizationDetails.objects.create(refresh_token=refresh_token, details=details)


def introspection_claims(access_token: Any) -> dict[str, Any]:
    """§9.2: the member an introspection answer about ``access_token`` adds (none: an empty dict)."""
    details = access_token_details(access_token)
    return {NAME: details} if details else {}
