"""JWT client assertions (RFC 7523 §2.2, §3): private_key_jwt and client_secret_jwt."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import datetime
from datetime import timezone as dt_timezone
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import identify_hasher
from django.db import IntegrityError, router, transaction
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from jwcrypto import jwk
from jwcrypto.common import base64url_encode

from .. import fapi2
from ..conf import par_settings
from ..dot import issuer
from ..errors import InvalidClient
from ..inserts import insert
from ..jose.jwt import ClientClaims, JwtError, KeySource, Profile, parse, verify
from ..jose.keys import client_key_set
from ..models import UsedAssertion, client_metadata
from .base import AuthenticatedClient, ClientAuthBackend
from .registry import load_application

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
MIN_HMAC_SECRET_BYTES = 32


class ClientAssertionBackend(ClientAuthBackend):
    """Shared checks of both assertion methods; subclasses pick their algorithms and keys."""

    def owns(self, alg: Any) -> bool:
        raise NotImplementedError

    def algorithms(self) -> list[str]:
        raise NotImplementedError

    def key_set(self, application: Any) -> KeySource:
        """A callable ``refresh -> JWKSet`` with the keys that may sign."""
        raise NotImplementedError

    def authenticate(self, request: Any, params: Mapping[str, str]) -> AuthenticatedClient | None:
        if "client_assertion" not in params:
            return None
        if params.get("client_assertion_type") != JWT_BEARER:
            raise InvalidClient(f"client_assertion_type must be {JWT_BEARER}.")
        token = params["client_assertion"]
        try:
            parsed = parse(token)
        except JwtError as exc:
            raise InvalidClient(f"Invalid client assertion: {exc}") from None
        if not self.owns(parsed.header.get("alg")):
            return None
        client_id = parsed.claims.get("sub")  # unverified: it only names the client to check
        application = load_application(client_id) if isinstance(client_id, str) else None
        if application is None:
            # The checks a known client's assertion gets, against no keys: an unknown client
            # must not be answered sooner than a known one (a timing oracle for client ids).
            try:
                verify(
                    parsed,
                    ASSERTION,
                    client_id=str(client_id),
                    audiences=accepted_audiences(request),
                    algorithms=self.algorithms(),
                    key_set=_no_keys,
                    max_lifetime=par_settings.ASSERTION_MAX_LIFETIME,
                )
            except JwtError:
                pass
            raise InvalidClient("The assertion's sub names no usable client.")
        try:
            verified = verify(
                parsed,
                ASSERTION,
                client_id=application.client_id,
                audiences=accepted_audiences(request),
                algorithms=self.algorithms(),
                key_set=self.key_set(application),
                max_lifetime=par_settings.ASSERTION_MAX_LIFETIME,
            )
        except JwtError as exc:
            raise InvalidClient(f"Invalid client assertion: {exc}") from None
        remember_jti(application.client_id, verified.claims["jti"], verified.exp)
        return AuthenticatedClient(application, self.method)


def _no_keys(refresh: bool) -> jwk.JWKSet:
    return _NO_KEYS


_NO_KEYS = jwk.JWKSet()


# RFC 7523 §3: iss and sub are the client_id, aud names this server, jti is there for replay checks.
ASSERTION = Profile(
    client_claims=(ClientClaims(("iss", "sub"), "iss and sub must both be the client_id."),),
    audience_error="The aud claim does not name this server.",
    required=("jti",),
)


def accepted_audiences(request: Any) -> set[str]:
    """What a client assertion's aud may name, without a trailing slash."""
    own_issuer = issuer(request)
    if par_settings.ASSERTION_AUDIENCE_ISSUER_ONLY or fapi2.assertion_audience_issuer_only():
        return {own_issuer}
    # RFC 9126 §2: the issuer, the token endpoint and the PAR endpoint.
    endpoints = endpoint_urls(own_issuer, "oauth2_provider:token", "django_par:par")
    return {own_issuer, *(url.rstrip("/") for url in endpoints)}


def endpoint_urls(issuer_url: str, *url_names: str) -> list[str]:
    """Absolute URLs of the named endpoints that the URLconf routes, beside ``issuer_url``."""
    # The issuer is the prefix of DOT's URLs; its origin is what reverse() paths hang from.
    scheme, _, rest = issuer_url.partition("://")
    origin = f"{scheme}://{rest.split('/', 1)[0]}"
    urlconf, prefix = get_urlconf() or settings.ROOT_URLCONF, get_script_prefix()
    paths = (_path(name, urlconf, prefix) for name in url_names)
    return [origin + path for path in paths if path is not None]


@lru_cache(maxsize=64)
def _path(name: str, urlconf: Any, prefix: str) -> str | None:
    """reverse(name), remembered: a client assertion's audience check asks on every push.

    Measured (``benchmarks/micro.py reverse``): 29–31 µs a call without, 6 µs with;
    about 2 % of a private_key_jwt push.

    The URLconf in force and the script prefix are part of the key.
    """
    try:
        return reverse(name, urlconf=urlconf)
    except NoReverseMatch:
        return None


def remember_jti(client_id: str, jti: str, exp: float) -> None:
    """Record the assertion's jti until it expires; a second use is a replay."""
    if not use_once(f"{client_id}\x00{jti}", exp + par_settings.CLOCK_SKEW):
        raise InvalidClient("Invalid client assertion: this jti was used before.")


def use_once(key: str, until: float) -> bool:
    """Record ``key`` as used until the timestamp ``until``; False when it was recorded before.

    The replay store of every single-use JWT (client assertions here, DPoP proofs in
    :mod:`django_par.dpop.proofs`): a unique row, so the database refuses a second
    use from any process. Callers keep their keys apart by their form.
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    expires_at = datetime.fromtimestamp(until, tz=dt_timezone.utc)
    used = UsedAssertion(key_digest=digest, expires_at=expires_at)
    using = router.db_for_write(UsedAssertion)
    # Inside a transaction (ATOMIC_REQUESTS) a savepoint keeps it usable after a replay;
    # in autocommit the one INSERT is its own transaction.
    in_transaction = transaction.get_connection(using).in_atomic_block
    try:
        with transaction.atomic(using=using) if in_transaction else nullcontext():
            insert(used)
    except IntegrityError:
        return False
    return True


class PrivateKeyJwt(ClientAssertionBackend):
    """``private_key_jwt``: an assertion signed with one of the client's registered keys."""

    method = "private_key_jwt"

    def owns(self, alg: Any) -> bool:
        return alg not in HMAC_ALGS

    def algorithms(self) -> list[str]:
        return par_settings.ASYMMETRIC_SIGNING_ALGS

    def key_set(self, application: Any) -> KeySource:
        metadata = client_metadata(application)
        return lambda refresh: client_key_set(metadata, refresh=refresh)


class ClientSecretJwt(ClientAssertionBackend):
    """``client_secret_jwt``: an assertion MACed with the client secret.

    The server needs the secret itself, so only clients whose secret is stored
    unhashed (DOT's ``hash_client_secret=False``) can use it.
    """

    method = "client_secret_jwt"

    def owns(self, alg: Any) -> bool:
        return alg in HMAC_ALGS

    def algorithms(self) -> list[str]:
        return par_settings.HMAC_SIGNING_ALGS

    def key_set(self, application: Any) -> KeySource:
        secret = application.client_secret or ""
        try:
            identify_hasher(secret)
        except ValueError:
            pass
        else:
            raise InvalidClient(
                "client_secret_jwt needs the client secret stored unhashed; this client's secret is hashed."
            )
        if not secret:
            raise InvalidClient("client_secret_jwt needs a client secret; this client has none.")
        if len(secret.encode()) < MIN_HMAC_SECRET_BYTES:
            # RFC 7518 §3.2: an HS256 key has at least 256 bits.
            raise InvalidClient("client_secret_jwt needs a client secret of at least 32 bytes.")
        key_set = jwk.JWKSet()
        key_set.add(jwk.JWK(kty="oct", k=base64url_encode(secret.encode())))
        return lambda refresh: key_set
