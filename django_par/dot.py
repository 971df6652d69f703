"""Every touch of DOT's and oauthlib's internals, in one place.

The rest of django_par uses DOT through its public settings, models and views;
what reaches further in (DOT's oauthlib server, oauthlib's request and error
classes, the issuer helpers that differ between DOT releases) is here, so a DOT
upgrade is checked in one file.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

from django.db.models import signals
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider import oauth2_validators
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model
from oauth2_provider.scopes import get_scopes_backend
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import Request as OAuthlibRequest
from oauthlib.common import urldecode
from oauthlib.oauth2 import FatalClientError as OAuthlibFatalClientError
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, InvalidGrantError, OAuth2Error
from oauthlib.oauth2.rfc6749.utils import scope_to_list

from . import statements
from .errors import OAuthError, OAuthlibError
from .models import BESIDE_ROWS, beside_row

# Clearer descriptions for oauthlib errors that come without a specific one.
ERROR_DESCRIPTIONS = {
    "unauthorized_client": "The client is not allowed to use this response_type.",
    "unsupported_response_type": "The response_type is not supported.",
    "invalid_scope": "The requested scope is unknown or not allowed for this client.",
}


def issuer(request: Any) -> str:
    """The issuer identifier (RFC 8414 §2), for ``iss`` and audience checks.

    ``request`` is a Django or an oauthlib request, as DOT accepts both.
    """
    # DOT 3.2+ has a dedicated OAuth issuer; older releases only the OIDC one.
    get_issuer = getattr(oauth2_settings, "oauth2_authorization_server_issuer", None) or oauth2_settings.oidc_issuer
    return str(get_issuer(request)).rstrip("/")


def validate_with_oauthlib(
    request: HttpRequest, params: Mapping[str, str], application: Any
) -> tuple[Any, dict[str, Any]]:
    """oauthlib's validation of an authorization request, through DOT's server and validator.

    What oauthlib's ``AuthorizationEndpoint.validate_authorization_request``
    does, with the parameters given as a mapping (oauthlib takes a dict body as
    it is: nothing is encoded into a URI and parsed back) and ``request.client``
    preset to the already loaded ``application``, which DOT's validator then
    reuses instead of querying it again. Raises oauthlib's ``OAuth2Error``.
    """
    server = OAuthLibMixin.get_oauthlib_core().server
    # A path, as DOT's OAuthLibCore gives oauthlib (and its validator's build_http_request expects).
    core_request = _MappingRequest(request.path, http_method="GET", body=dict(params), headers={})
    core_request.scopes = scope_to_list(core_request.scope)
    core_request.client = application
    handler = server.response_types.get(core_request.response_type, server.default_response_type_handler)
    return handler.validate_authorization_request(core_request)  # type: ignore[no-any-return]


class _MappingRequest(OAuthlibRequest):
    """An oauthlib request whose parameters come as a mapping, one value each.

    None can repeat, so RFC 6749 §3.1's check for repeated parameters has nothing to find:
    oauthlib makes it by parsing the URI and the body again for each of five parameters,
    at each validation (a push, a pushed consent page, its consent POST). The mapping's
    source refused repeats already (:func:`django_par.push.form.read_form_parameters`, the
    claims of a request object). Measured saving: benchmarks/README.md, "Complete flows".
    """

    duplicate_params: list[str] = []


def validate_for_dot_view(
    request: HttpRequest, params: Mapping[str, str], application: Any
) -> tuple[Any, dict[str, Any]]:
    """:func:`validate_with_oauthlib` with oauthlib's errors wrapped as DOT's ``OAuthLibCore`` wraps them."""
    try:
        return validate_with_oauthlib(request, params, application)
    except OAuthlibFatalClientError as error:
        raise FatalClientError(error=error) from None
    except OAuth2Error as error:
        raise OAuthToolkitError(error=error) from None


def check_with_dot(
    request: HttpRequest, params: Mapping[str, str], application: Any
) -> tuple[list[str], dict[str, Any]]:
    """DOT's validation of an authorization request; oauthlib's scopes and credentials.

    An oauthlib error becomes django_par's :class:`~django_par.errors.OAuthlibError`.
    """
    try:
        scopes, credentials = validate_with_oauthlib(request, params, application)
    except OAuth2Error as error:
        code = error.error or "invalid_request"
        description = error.description
        if not description or description == "Invalid request.":
            description = ERROR_DESCRIPTIONS.get(code, "The authorization request is invalid.")
        raise OAuthlibError(code, description) from None
    return list(scopes), dict(credentials)


# The consent form fields DOT's AuthorizationView reads back on POST.
CONSENT_FIELDS = (
    "redirect_uri",
    "client_id",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)


def consent_form_data(
    scopes: list[str], credentials: Mapping[str, Any], *, allow: str, resources: Sequence[str] = ()
) -> dict[str, Any]:
    """DOT's consent form data, filled from oauthlib's validation of the pushed request."""
    data = {name: credentials[name] for name in CONSENT_FIELDS if credentials.get(name)}
    data["scope"] = " ".join(scopes)
    if credentials.get("claims"):
        data["claims"] = json.dumps(credentials["claims"])
    if resources:
        # DOT 3.4's AllowForm keeps a plain request's resources in one field, separated by spaces.
        data["resource"] = " ".join(resources)
    if allow:
        data["allow"] = allow
    return data


def supports_resource_indicators() -> bool:
    """Whether DOT keeps RFC 8707 resources on its grants and tokens (DOT 3.4 and later)."""
    return any(field.name == "resource" for field in get_grant_model()._meta.get_fields())


def is_valid_resource_uri(uri: str) -> bool:
    """DOT's own test of a resource indicator, where it has one (DOT 3.4: a host, no userinfo)."""
    check = getattr(oauth2_validators, "is_valid_resource_uri", None)
    return check is None or bool(check(uri))


def with_redirect_uri(application: Any, redirect_uri: str) -> Any:
    """A copy of ``application`` that DOT's redirect_uri checks accept ``redirect_uri`` for (RFC 9126 §2.4).

    DOT's validator asks ``request.client.redirect_uri_allowed``; the copy lives for one
    request and is never saved.
    """
    allowing = copy.copy(application)
    allowing.redirect_uris = f"{application.redirect_uris} {redirect_uri}".strip()
    return allowing


def credentials_for_client(credentials: Mapping[str, Any], application: Any) -> dict[str, Any]:
    """Credentials for DOT's ``create_authorization_response`` that make oauthlib use ``application``.

    oauthlib sets each credential on its request, so ``client`` presets ``request.client``,
    which DOT's validator then uses instead of loading the application again: its checks
    (the redirect URI among them) see :func:`with_redirect_uri`'s copy.
    """
    return {**credentials, "client": application}


# The ID token signed in the current code exchange and its row, while DOT links the access
# token to it (see SignedIdTokenMixin). A ContextVar: DOT shares one validator between requests.
_signed_id_token: ContextVar[tuple[str, Any] | None] = ContextVar("django_par_signed_id_token", default=None)


def _unverified_jti(token: str) -> object:
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("jti")
    except (IndexError, ValueError, binascii.Error, AttributeError):
        return None


class SignedIdTokenMixin:
    """For DOT's validator: the ID token signed in this exchange is not read back.

    DOT's ``_create_access_token`` links the access token to its ID token by
    ``_load_id_token`` of the JWT that ``finalize_id_token`` signed moments
    earlier: a JWS parse, a query for the client by audience, a signature
    check and a query for the ``IDToken`` row, which ``finalize_id_token`` had
    just saved and left on ``request.id_token``. Inside that one call, and for that
    token only (same JWT, same ``jti``), the row at hand is used instead. Every
    other ID token (an ``id_token_hint``, a bearer ID token) is loaded DOT's way.
    """

    def _create_access_token(self, expires: Any, request: Any, token: Any, *args: Any, **kwargs: Any) -> Any:
        row = getattr(request, "id_token", None)
        signed = token.get("id_token") if isinstance(token, dict) else None
        reset = _signed_id_token.set((signed, row) if signed and isinstance(row, get_id_token_model()) else None)
        try:
            return super()._create_access_token(expires, request, token, *args, **kwargs)  # type: ignore[misc]
        finally:
            _signed_id_token.reset(reset)

    def _load_id_token(self, token: str) -> Any:
        current = _signed_id_token.get()
        if current is not None and token == current[0] and _unverified_jti(token) == str(current[1].jti):
            return current[1]
        return super()._load_id_token(token)  # type: ignore[misc]


# The rows django_par keeps beside a Grant (its one-to-ones, related_name "par_%(class)s"),
# read with it in a code exchange: no query each for the DPoP binding and the details.
BESIDE_GRANT = ("par_dpopbinding", "par_authorizationdetails")


@functools.cache
def _grant_relations() -> tuple[list[Any], bool]:
    """django_par's one-to-ones beside the Grant model, and whether nothing else refers to it
    (then a grant's deletion cascades to those rows only)."""
    related = get_grant_model()._meta.related_objects
    beside = [relation for relation in related if relation.get_accessor_name() in BESIDE_GRANT]
    return beside, len(beside) == len(related)


def _read_grant(code: str) -> Any | None:
    """The grant of ``code``, its user (set as ``grant.user``) and the rows beside it (kept for
    :func:`django_par.models.beside_row`), by django_par's prepared statements: one indexed
    SELECT per table, where the ORM compiles each query anew (``select_related`` of the three
    cost 1,379 µs against 84 µs for its SQL on a cursor; ``benchmarks/micro.py grant``)."""
    model = get_grant_model()
    grant = statements.select_one(model, "code", code)
    if grant is None:
        return None
    user_model = model._meta.get_field("user").related_model
    user = statements.select_one(user_model, user_model._meta.pk.name, grant.user_id)
    if user is not None:
        grant.user = user
    setattr(
        grant,
        BESIDE_ROWS,
        {
            relation.get_accessor_name(): statements.select_one(relation.related_model, relation.field.name, grant.pk)
            for relation in _grant_relations()[0]
        },
    )
    return grant


def _grant_read_once(request: Any, code: str) -> Any | None:
    """The grant of ``code`` (or None), read at the first question of this oauthlib request."""
    kept = request.__dict__.get("_django_par_grant")
    if kept is None or kept[0] != code:
        kept = request._django_par_grant = (code, _read_grant(code))
    return kept[1]


def exchange_grant(request: Any, code: str) -> Any:
    """The grant of this code and this request's client, read once per oauthlib request, with
    its user and the rows django_par keeps beside it (raises the model's ``DoesNotExist``)."""
    grant = _grant_read_once(request, code)
    if grant is None or grant.application_id != request.client.pk:
        raise get_grant_model().DoesNotExist
    return grant


class GrantReadOnceMixin:
    """For DOT's validator: a code exchange reads its grant once, where DOT reads the same row
    (``code`` is unique) for oauthlib's OpenID check, ``validate_code``, PKCE, redirect_uri and
    nonce, and again to delete it.

    Each answer is DOT's own expression, on the row DOT's query would return; the row is kept
    on the oauthlib request, so it never outlives the exchange. The RFC 8707 resource check
    (DOT 3.4) reads the grant DOT's way. Measured saving beside each override
    (``benchmarks/profile_flow.py``, ``benchmarks/flows.py``; see benchmarks/README.md).
    """

    def get_authorization_code_scopes(self, client_id: str, code: str, redirect_uri: str, request: Any) -> Any:
        # oauthlib's OpenID dispatcher asks before the client is authenticated: by code alone, as DOT does.
        grant = _grant_read_once(request, code)
        if grant is None or not grant.scope:
            return []
        return scope_to_list(grant.scope)

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any) -> bool:
        if getattr(request, "client", None) is not client:
            return super().validate_code(client_id, code, client, request, *args, **kwargs)  # type: ignore[misc,no-any-return]
        try:
            grant = exchange_grant(request, code)
        except get_grant_model().DoesNotExist:
            return False
        if grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return True

    def get_code_challenge(self, code: str, request: Any) -> Any:
        return exchange_grant(request, code).code_challenge or None

    def get_code_challenge_method(self, code: str, request: Any) -> Any:
        return exchange_grant(request, code).code_challenge_method or None

    def confirm_redirect_uri(
        self, client_id: str, code: str, redirect_uri: str, client: Any, *args: Any, **kwargs: Any
    ) -> bool:
        request = args[0] if args else kwargs.get("request")
        if request is None or getattr(request, "client", None) is not client:
            return super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs)  # type: ignore[misc,no-any-return]
        return bool(exchange_grant(request, code).redirect_uri_allowed(redirect_uri))

    def get_authorization_code_nonce(self, client_id: str, code: str, redirect_uri: str, request: Any) -> Any:
        kept = request.__dict__.get("_django_par_grant")
        if kept is None or kept[0] != code or kept[1] is None:
            return super().get_authorization_code_nonce(client_id, code, redirect_uri, request)  # type: ignore[misc]
        return kept[1].nonce or None

    def invalidate_authorization_code(self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any) -> None:
        """The kept grant deleted by its primary key, with the rows beside it that its read found.

        DOT deletes through Django's collector: a SELECT of the grant and a DELETE for each
        table referring to it, then the grant's. Where nothing else refers to the Grant model
        and no delete signal listens, the same rows go in one DELETE (and one more per row
        beside it, which only a DPoP or details flow has). A grant already gone (a concurrent
        exchange) is ``invalid_grant``, as in DOT.
        """
        kept = request.__dict__.get("_django_par_grant")
        grant = kept[1] if kept is not None and kept[0] == code else None
        model = get_grant_model()
        if (
            grant is None
            or grant.application_id != getattr(request.client, "pk", None)
            or not _grant_relations()[1]
            or signals.pre_delete.has_listeners(model)
            or signals.post_delete.has_listeners(model)
        ):
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)  # type: ignore[misc]
            return
        for name in BESIDE_GRANT:
            row = beside_row(grant, name)  # read with the grant: no query
            if row is not None:
                row.delete()
        if not statements.delete_row(model, grant.pk):
            raise InvalidGrantError(request=request)


def has_prior_consent(request: HttpRequest, application: Any, params: Mapping[str, str]) -> bool:
    """Whether DOT would approve silently: a skip_authorization client, or a live token covering the scopes."""
    if application.skip_authorization:
        return True
    if "scope" in params:
        scopes = params["scope"].split()
    else:
        scopes = get_scopes_backend().get_default_scopes(application=application, request=request)
    tokens = get_access_token_model().objects.filter(
        user=request.user, application=application, expires__gt=timezone.now()
    )
    return any(token.allow_scopes(scopes) for token in tokens)


def verify_resource_request(request: HttpRequest, scopes: list[str]) -> tuple[bool, Any]:
    """DOT's check of a protected-resource request's bearer token, as its ``ProtectedResourceMixin`` does.

    Returns oauthlib's verdict and its request, which carries ``user`` and
    ``access_token`` when valid, ``oauth2_error`` (if DOT set one) when not.
    """
    try:
        return OAuthLibMixin.get_oauthlib_core().verify_request(request, scopes=scopes)  # type: ignore[no-any-return]
    except ValueError:  # oauthlib's strict query decoder: a malformed query is no valid request
        return False, None


def access_token_for_value(value: str) -> Any:
    """DOT's access token with this value, or None: looked up by DOT's ``token_checksum`` (DOT 3.0+)."""
    checksum = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return get_access_token_model().objects.filter(token_checksum=checksum).first()


def oauthlib_can_parse(query: str) -> bool:
    """Whether oauthlib's strict decoder takes this query (RFC 3986 characters, well-formed percent escapes)."""
    try:
        urldecode(query)
    except ValueError:
        return False
    return True


def body_parameters(request: OAuthlibRequest) -> dict[str, str]:
    """The non-empty body parameters of an oauthlib request (RFC 6749 §3.1: empty means omitted)."""
    return {name: value for name, value in (request.decoded_body or []) if value}


def django_request(request: OAuthlibRequest) -> HttpRequest:
    """A Django request rebuilt from the oauthlib one DOT's token endpoint hands its validator.

    DOT gives oauthlib a copy of the request's META as its headers, so host,
    scheme and the Authorization header come out as the original request's:
    enough for client authentication and the issuer.
    """
    rebuilt = _RebuiltRequest()
    rebuilt.META = dict(request.headers or {})
    rebuilt.path = rebuilt.path_info = urlsplit(request.uri).path
    return rebuilt


class _RebuiltRequest(HttpRequest):
    def _get_scheme(self) -> str:
        # As WSGIRequest does: the scheme of the original request (DOT marks a secure one too).
        secure = self.META.get("wsgi.url_scheme") == "https" or bool(self.META.get("X_DJANGO_OAUTH_TOOLKIT_SECURE"))
        return "https" if secure else "http"


@contextmanager
def as_oauthlib_error(request: OAuthlibRequest) -> Iterator[None]:
    """django_par's OAuth errors raised inside oauthlib's flow, as oauthlib errors keeping code and status."""
    try:
        yield
    except OAuthError as error:
        raise CustomOAuth2Error(
            error=error.error, description=error.description, status_code=error.status, request=request
        ) from None


class DPoPValidatorMixin:
    """DPoP (RFC 9449 §5, §10) in DOT's validator; the rules are in :mod:`django_par.dpop.grants`.

    Besides oauthlib's public validator hooks it overrides three of DOT's private ones,
    present with the same signatures from DOT 3.0 to 3.4, because they hold the rows
    just created: ``_create_authorization_code``, ``_create_access_token`` and
    ``_create_refresh_token``; and it calls ``_load_access_token`` (DOT 3.0 to 3.4)
    for the access token DOT re-issues within its refresh-token grace period.
    """

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        from .dpop import grants

        if not super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs):  # type: ignore[misc]
            return False
        with as_oauthlib_error(request):
            grants.check_token_request(client)
        return True

    def validate_code(
        self, client_id: str, code: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        from .dpop import binding, grants

        if not super().validate_code(client_id, code, client, request, *args, **kwargs):  # type: ignore[misc]
            return False
        # Before the code is spent: a wrong or missing proof leaves it to its rightful holder.
        with as_oauthlib_error(request):
            grants.check_bound(binding.grant_jkt(exchange_grant(request, code)), "authorization code")
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        from .dpop import binding, grants

        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):  # type: ignore[misc]
            return False
        with as_oauthlib_error(request):
            grants.check_bound(binding.refresh_token_jkt(request.refresh_token_instance), "refresh token")
        return True

    def validate_bearer_token(self, token: str, scopes: list[str], request: OAuthlibRequest) -> bool:
        """At a protected resource: a DPoP-bound token only with a proof by its key (RFC 9449 §7.2).

        Every resource view of DOT's (``ProtectedResourceView``, ``protected_resource``, DRF's
        ``OAuth2Authentication``, userinfo) asks here, so none takes a bound token as a bearer
        token. django_par's resource views verify the proof first and pass its key on in the
        headers (:func:`django_par.dpop.resources.accept_dpop_authorization`).
        """
        from .dpop.resources import check_token_binding, proof_jkt

        if not super().validate_bearer_token(token, scopes, request):  # type: ignore[misc]
            return False
        try:
            check_token_binding(request.access_token, proof_jkt(request.headers))
        except OAuthError as error:
            request.oauth2_error = error.as_dict()
            return False
        return True

    def save_bearer_token(self, token: dict[str, Any], request: OAuthlibRequest, *args: Any, **kwargs: Any) -> Any:
        from .dpop import grants

        saved = super().save_bearer_token(token, request, *args, **kwargs)  # type: ignore[misc]
        if grants.presented() is not None and token.get("token_type") != "DPoP" and "access_token" in token:
            # Within DOT's refresh-token grace period DOT hands out the access token it issued
            # before (no _create_access_token): its type is what its binding says.
            grants.access_token_reissued(self._load_access_token(token["access_token"]), token)  # type: ignore[attr-defined]
        return saved

    def _create_authorization_code(self, request: OAuthlibRequest, code: Any, expires: Any = None) -> Any:
        from .dpop import grants

        # The query only: for a pushed request DOT's view was given the stored parameters
        # there, and a consent form body must not rebind the code.
        with as_oauthlib_error(request):
            jkt = grants.code_binding(dict(urldecode(request.uri_query)))
        grant = super()._create_authorization_code(request, code, expires)  # type: ignore[misc]
        grants.grant_created(grant, jkt)
        return grant

    def _create_access_token(
        self, expires: Any, request: OAuthlibRequest, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        from .dpop import grants

        access_token = super()._create_access_token(expires, request, token, source_refresh_token)  # type: ignore[misc]
        grants.access_token_created(access_token, token)
        return access_token

    def _create_refresh_token(
        self, request: OAuthlibRequest, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        from .dpop import grants

        refresh_token = super()._create_refresh_token(  # type: ignore[misc]
            request, refresh_token_code, access_token, previous_refresh_token
        )
        grants.refresh_token_created(refresh_token, request.client)
        return refresh_token


class AuthorizationDetailsValidatorMixin:
    """Authorization details (RFC 9396) kept with DOT's codes and tokens; the rules are in
    :mod:`django_par.flow.granted_details`.

    Like :class:`DPoPValidatorMixin`, it overrides DOT's private ``_create_authorization_code``,
    ``_create_access_token`` and ``_create_refresh_token`` (same signatures from DOT 3.0 to 3.4).
    """

    def validate_code(
        self, client_id: str, code: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        from .flow import granted_details

        if not super().validate_code(client_id, code, client, request, *args, **kwargs):  # type: ignore[misc]
            return False
        requested = body_parameters(request).get(granted_details.NAME)
        with as_oauthlib_error(request):
            granted = granted_details.grant_details(exchange_grant(request, code))
            details = granted_details.for_token_request(granted, requested)
        request.par_authorization_details = details
        return True

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: OAuthlibRequest, *args: Any, **kwargs: Any
    ) -> bool:
        from .flow import granted_details

        if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):  # type: ignore[misc]
            return False
        granted = granted_details.refresh_token_details(request.refresh_token_instance)
        requested = body_parameters(request).get(granted_details.NAME)
        with as_oauthlib_error(request):
            if requested is not None and not self.rotate_refresh_token(request):  # type: ignore[attr-defined]
                # Without rotation DOT updates the access token in place, keeping its details row.
                granted_details.refuse_narrowing_in_place()
            request.par_authorization_details = granted_details.for_token_request(granted, requested)
        return True

    def save_bearer_token(self, token: dict[str, Any], request: OAuthlibRequest, *args: Any, **kwargs: Any) -> Any:
        from .flow import granted_details

        result = super().save_bearer_token(token, request, *args, **kwargs)  # type: ignore[misc]
        # A refresh without rotation creates no access token: the response names the details still.
        granted_details.token_response(token, getattr(request, "par_authorization_details", None))
        return result

    def _create_authorization_code(self, request: OAuthlibRequest, code: Any, expires: Any = None) -> Any:
        from .flow import granted_details

        grant = super()._create_authorization_code(request, code, expires)  # type: ignore[misc]
        granted_details.grant_created(grant)
        return grant

    def _create_access_token(
        self, expires: Any, request: OAuthlibRequest, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        from .flow import granted_details

        access_token = super()._create_access_token(expires, request, token, source_refresh_token)  # type: ignore[misc]
        details = getattr(request, "par_authorization_details", None)
        granted_details.access_token_created(access_token, details)
        return access_token

    def _create_refresh_token(
        self, request: OAuthlibRequest, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        from .flow import granted_details

        refresh_token = super()._create_refresh_token(  # type: ignore[misc]
            request, refresh_token_code, access_token, previous_refresh_token
        )
        granted_details.refresh_token_created(refresh_token, getattr(request, "par_authorization_details", None))
        return refresh_token
