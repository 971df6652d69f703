"""OAuth errors raised by django_par.

Protocol code raises these; ``django_par.responses`` is the one place that turns
them into HTTP responses.
"""

from __future__ import annotations

import functools


class OAuthError(Exception):
    """An OAuth 2.0 error response (RFC 6749 §5.2, RFC 9126 §2.3)."""

    error = "invalid_request"
    status = 400

    def __init__(self, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.headers = dict(headers or {})

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401
    #: What exactly failed, for logs and signals only: the client always reads one description.
    reason = ""


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class InvalidRequestObject(OAuthError):
    error = "invalid_request_object"


class InvalidRequestUri(OAuthError):
    error = "invalid_request_uri"


class InvalidTarget(OAuthError):
    """RFC 8707 §2: a resource indicator that is malformed, unknown or not allowed."""

    error = "invalid_target"


class InvalidAuthorizationDetails(OAuthError):
    """RFC 9396 §5: authorization_details that are malformed, of an unknown type, or not allowed."""

    error = "invalid_authorization_details"


class InvalidDPoPProof(OAuthError):
    """RFC 9449 §5, §7.1: the DPoP proof is missing where required, malformed, or does not check out."""

    error = "invalid_dpop_proof"


class UseDPoPNonce(OAuthError):
    """RFC 9449 §8: the proof must carry the server's current nonce, given in the DPoP-Nonce header."""

    error = "use_dpop_nonce"

    def __init__(self, description: str, *, nonce: str) -> None:
        super().__init__(description, headers={"DPoP-Nonce": nonce})
        self.nonce = nonce


class RequestTooLarge(InvalidRequest):
    status = 413


class UnsupportedMediaType(InvalidRequest):
    status = 415


class MethodNotAllowed(InvalidRequest):
    status = 405


class TooManyRequests(OAuthError):
    """429 with Retry-After (RFC 6585 §4; RFC 9126 §2.3): over a rate limit, answered before costly work.

    Neither RFC 9126 nor RFC 6749 names an error code for it: ``invalid_request``, with the
    limit in the description. At DOT's token endpoint it passes through oauthlib untouched
    (it is not an oauthlib error) up to ``django_par.views.token.TokenView``.
    """

    error = "invalid_request"
    status = 429

    def __init__(self, description: str, *, retry_after: int) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class OAuthlibError(OAuthError):
    """An error reported by oauthlib / DOT's validator, keeping its error code."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


class TemporarilyUnavailable(OAuthError):
    """503 with Retry-After: a backend django_par needs (the database, a cache) failed or timed out.

    RFC 6749 §4.1.2.1 names ``temporarily_unavailable`` for the authorization endpoint; the
    PAR and token endpoints answer it too, as JSON, so that a client tells "retry shortly" from
    "your request is wrong". Raised only by :func:`django_par.views.responses.backend_failures`.
    """

    error = "temporarily_unavailable"
    status = 503
    #: Seconds a client is asked to wait (RFC 9110 §10.2.3).
    RETRY_AFTER = 5

    def __init__(self, description: str, *, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(description, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class BackendUnavailable(Exception):
    """Raised by django_par itself where it decides to fail closed on a backend failure (the
    limits with ``LIMITS_FAIL_CLOSED``). Not an OAuthError, so that nothing on the way (oauthlib,
    DOT's validator) mistakes it for a client's error; the views answer it 503."""


@functools.cache
def backend_failure_types() -> tuple[type[BaseException], ...]:
    """The exceptions meaning "a server django_par needs failed or timed out", not "a bug".

    The database's connection and operational errors (lost connection, connect or statement
    timeout, a failover in progress), a cache's connection errors and timeouts (redis-py's own
    classes; a socket's for Memcached and others), and :class:`BackendUnavailable`. Never
    IntegrityError nor ProgrammingError: those are answered as they always were.
    """
    from django.db import InterfaceError, OperationalError

    types: list[type[BaseException]] = [
        OperationalError,
        InterfaceError,
        ConnectionError,
        TimeoutError,
        BackendUnavailable,
    ]
    try:
        from redis import exceptions as redis_errors
    except ImportError:  # redis-py is optional
        pass
    else:
        # BusyLoadingError (a restarting server) is a ConnectionError; ReadOnlyError is a
        # replica answering writes during a failover.
        types += [redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.ReadOnlyError]
    return tuple(types)
