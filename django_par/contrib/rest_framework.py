"""Django REST framework authentication for DPoP-bound and bearer access tokens (RFC 9449 §7).

Next to DOT's ``OAuth2Authentication``::

    REST_FRAMEWORK = {"DEFAULT_AUTHENTICATION_CLASSES": ["django_par.contrib.rest_framework.DPoPAuthentication"]}

It accepts ``Authorization: Bearer <token>`` and ``Authorization: DPoP <token>``
with a ``DPoP`` proof carrying ``ath``, refuses a DPoP-bound token sent as a bearer
token, and challenges with ``WWW-Authenticate: Bearer ..., DPoP algs=...`` (§7.1).
Requires ``djangorestframework`` (the ``drf`` extra).
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework.request import Request

from ..dpop.resources import authenticate_resource_request, authorization_scheme, challenge, client_scheme
from ..errors import OAuthError, TemporarilyUnavailable
from ..views.responses import backend_failures

_ERROR = "django_par_resource_error"


class Unavailable(APIException):
    """503 when the database or a cache is down (docs/failures.md); DRF sends ``wait`` as Retry-After."""

    status_code = 503
    default_code = "temporarily_unavailable"

    def __init__(self, error: OAuthError, *, retry_after: int) -> None:
        super().__init__(error.as_dict())
        self.wait = retry_after


class DPoPAuthentication(BaseAuthentication):
    """(user, access token) for a request with a valid Bearer or DPoP access token; None without one."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if authorization_scheme(request._request) not in ("bearer", "dpop"):
            return None  # not ours: another authentication class may take it
        try:
            with backend_failures():
                return authenticate_resource_request(request._request, [])
        except TemporarilyUnavailable as error:
            raise Unavailable(error, retry_after=error.retry_after) from None
        except OAuthError as error:
            setattr(request._request, _ERROR, error)
            # The OAuth error as the body (RFC 6750 §3), as django_par's own resource views answer.
            raise AuthenticationFailed(error.as_dict()) from None

    def authenticate_header(self, request: Request) -> str:
        error = getattr(request._request, _ERROR, None)
        return challenge(error, client_scheme(request._request))
