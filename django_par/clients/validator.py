"""DOT's request validator, authenticating clients through django_par's pipeline.

Enable it so that DOT's token endpoint (and its revocation and introspection
endpoints, which authenticate clients through the same validator) authenticates
clients exactly as the PAR endpoint does: the same backends (secrets,
``private_key_jwt``, ``client_secret_jwt``, public clients), the same per-client
method policy and the same verified-secret cache, so a code exchange or a
refresh by a client with a hashed secret does not pay the slow password hash
every time::

    OAUTH2_PROVIDER = {"OAUTH2_VALIDATOR_CLASS": "django_par.clients.validator.OAuth2Validator"}

A site with its own validator puts :class:`ClientAuthenticationMixin` in front of it.

Over a limit of :mod:`django_par.limits` the pipeline raises
:class:`~django_par.errors.TooManyRequests`. Under django_par's ``TokenView``
(:func:`answering_too_many_requests`) it goes through oauthlib, which catches only
its own errors, to the view's 429. Elsewhere (DOT's revocation and introspection
views, which would answer an unknown exception with a 500) it is an authentication
failure, which oauthlib answers 401; the slow hash is skipped either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator as DotOAuth2Validator
from oauthlib.common import Request

from .. import dot
from ..errors import OAuthError, TooManyRequests
from .base import AuthenticatedClient
from .pipeline import authenticate_client
from .public import PublicClient
from .registry import load_application

_VIEW_ANSWERS_429: ContextVar[bool] = ContextVar("django_par_view_answers_429", default=False)


@contextmanager
def answering_too_many_requests() -> Iterator[None]:
    """Within it, TooManyRequests leaves the validator, for the calling view to answer 429."""
    token = _VIEW_ANSWERS_429.set(True)
    try:
        yield
    finally:
        _VIEW_ANSWERS_429.reset(token)


def _pipeline_client(request: Request) -> AuthenticatedClient | None:
    """The client the pipeline authenticates for this oauthlib request, or None."""
    try:
        return authenticate_client(dot.django_request(request), dot.body_parameters(request))
    except TooManyRequests:
        if _VIEW_ANSWERS_429.get():
            raise
        return None
    except OAuthError:  # oauthlib answers invalid_client (401) for any failure
        return None


def _accept(request: Request, client: AuthenticatedClient) -> bool:
    request.client = client.application
    request.client_id = client.application.client_id
    return True


class ClientAuthenticationMixin:
    """Client authentication at DOT's token, revocation and introspection endpoints by
    :func:`~django_par.clients.pipeline.authenticate_client`."""

    def client_authentication_required(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        if "client_assertion" in dot.body_parameters(request):
            return True
        return super().client_authentication_required(request, *args, **kwargs)  # type: ignore[misc,no-any-return]

    def authenticate_client(self, request: Request, *args: Any, **kwargs: Any) -> bool:
        """Credentials of a confidential client (RFC 6749 §2.3): a client_id alone is not enough.

        oauthlib identifies public clients through :meth:`authenticate_client_id`; where it (or DOT's
        introspection view) calls this hook directly, a public client must not pass by naming itself.
        """
        client = _pipeline_client(request)
        return client is not None and client.method != PublicClient.method and _accept(request, client)

    def authenticate_client_id(self, client_id: str, request: Request, *args: Any, **kwargs: Any) -> bool:
        """A client that does not authenticate (RFC 6749 §3.2.1), under the same method policy."""
        client = _pipeline_client(request)
        return client is not None and client.application.client_id == client_id and _accept(request, client)


class CachedClientMixin:
    """DOT's authorization endpoint finds the client in django_par's client cache.

    oauthlib asks ``validate_client_id`` for every authorization request (a plain one,
    the page of a pushed one, the consent POST of either); DOT answers with a query for the
    application. Here the application comes from :func:`~django_par.clients.registry.load_application`,
    the lookup the PAR endpoint and the token endpoint make (``CLIENT_CACHE_TTL``,
    evicted when the application or its metadata is saved), and DOT's own check
    (``is_usable`` with the request) then runs on it. An application saved in another
    process is thus seen there within ``CLIENT_CACHE_TTL`` seconds, as at the PAR endpoint.
    Measured saving: one query per authorization request (``benchmarks/flows.py``; see
    benchmarks/README.md).
    """

    def validate_client_id(self, client_id: str, request: Request, *args: Any, **kwargs: Any) -> bool:
        if getattr(request, "client", None) is None:
            request.client = load_application(client_id)
            if request.client is None:
                return False
        return super().validate_client_id(client_id, request, *args, **kwargs)  # type: ignore[misc,no-any-return]


class OAuth2Validator(
    ClientAuthenticationMixin,
    CachedClientMixin,
    dot.DPoPValidatorMixin,
    dot.AuthorizationDetailsValidatorMixin,
    dot.SignedIdTokenMixin,
    dot.GrantReadOnceMixin,
    DotOAuth2Validator,
):
    """DOT's validator, with django_par's client authentication, DPoP (RFC 9449) and
    authorization details (RFC 9396); a code exchange reads its grant once
    (:class:`django_par.dot.GrantReadOnceMixin`) and does not read back the ID token it has
    just signed (:class:`django_par.dot.SignedIdTokenMixin`)."""
