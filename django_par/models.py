from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

from .conf import LIFETIME_RANGES
from .limits import validate_rate


class PushedRequestQuerySet(models.QuerySet["PushedRequest"]):
    def expired(self) -> PushedRequestQuerySet:
        return self.filter(expires_at__lte=timezone.now())


class PushedRequest(models.Model):
    """An authorization request pushed to the PAR endpoint (RFC 9126 §2).

    ``expires_at`` is the end of the row's usefulness: while ``PUSHED`` it bounds
    the first use of the request_uri; the first use moves it to the end of the
    flow, which may take longer (a slow login, MFA).
    """

    class State(models.TextChoices):
        PUSHED = "pushed", _("pushed")
        IN_USE = "in_use", _("in use")
        CONSUMED = "consumed", _("consumed")

    request_uri_digest = models.CharField(max_length=64, editable=False)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="pushed_requests",
    )
    parameters = models.JSONField(help_text=_("The authorization request parameters, without client credentials."))
    state = models.CharField(max_length=16, choices=State.choices, default=State.PUSHED)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    consumed_at = models.DateTimeField(null=True, blank=True)

    objects = PushedRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("pushed authorization request")
        verbose_name_plural = _("pushed authorization requests")
        ordering = ["-created_at"]
        # A constraint rather than unique=True: no extra LIKE index on PostgreSQL,
        # which equality lookups never use.
        constraints = [models.UniqueConstraint(fields=["request_uri_digest"], name="django_par_unique_request_uri")]
        # The per-client count of unused request_uri values (MAX_OUTSTANDING_REQUEST_URIS).
        indexes = [
            models.Index(fields=["application", "state", "expires_at"], name="django_par_outstanding"),
            # The admin overview's last 24 hours (django_par.admin_overview): a range on
            # created_at, the other columns read from the index alone.
            models.Index(fields=["created_at", "state", "expires_at", "application"], name="django_par_overview"),
        ]

    def __str__(self) -> str:
        return f"{self.request_uri_digest[:12]}… ({self.get_state_display()})"

    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


def validate_authorization_details_types(value: Any) -> None:
    """A JSON list of distinct, non-empty strings (RFC 9396 §2: ``type`` is a string)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() == item != "" for item in value):
        raise ValidationError(_('Enter a JSON list of type names, such as ["payment_initiation"].'))
    if len(set(value)) != len(value):
        raise ValidationError(_("Each type may appear once."))


def validate_host_patterns(value: str) -> None:
    from .push.redirect_uris import check_host_patterns

    try:
        check_host_patterns(value)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class ClientMetadata(models.Model):
    """Per-client settings of django_par, beside DOT's application model."""

    class AuthMethod(models.TextChoices):
        DEFAULT = "", _("DOT's usual rules")
        CLIENT_SECRET_BASIC = "client_secret_basic", "client_secret_basic"
        CLIENT_SECRET_POST = "client_secret_post", "client_secret_post"
        CLIENT_SECRET_JWT = "client_secret_jwt", "client_secret_jwt"
        PRIVATE_KEY_JWT = "private_key_jwt", "private_key_jwt"
        NONE = "none", _("none (public client)")

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="par_metadata",
    )
    require_pushed_authorization_requests = models.BooleanField(
        default=False,
        help_text=_("Refuse authorization requests from this client that were not pushed."),
    )
    token_endpoint_auth_method = models.CharField(
        max_length=32,
        choices=AuthMethod.choices,
        blank=True,
        default=AuthMethod.DEFAULT,
        help_text=_("The only client authentication method this client may use; blank allows any."),
    )
    jwks = models.JSONField(null=True, blank=True, help_text=_("The client's public keys (a JWK Set)."))
    jwks_uri = models.URLField(blank=True, help_text=_("Where the client publishes its JWK Set."))
    request_object_signing_alg = models.CharField(
        max_length=16,
        blank=True,
        help_text=_("The only algorithm allowed for request objects; blank allows any allowed one."),
    )
    require_signed_request_object = models.BooleanField(
        default=False,
        help_text=_("Refuse pushed requests not sent as a signed request object."),
    )
    authorization_signed_response_alg = models.CharField(
        max_length=16,
        blank=True,
        choices=[("RS256", "RS256"), ("PS256", "PS256")],
        help_text=_("Signing algorithm of JWT-secured authorization responses (JARM); blank: RS256."),
    )
    push_rate_limit = models.CharField(
        max_length=32,
        blank=True,
        validators=[validate_rate],
        help_text=_('Pushed requests per period, "N/S" (N per S seconds); blank: the server setting PUSH_RATE_LIMIT.'),
    )
    max_outstanding_request_uris = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Most unused request_uri values this client may hold; blank: MAX_OUTSTANDING_REQUEST_URIS."),
    )

    dpop_bound_access_tokens = models.BooleanField(
        default=False,
        help_text=_("Require DPoP (RFC 9449): this client's access tokens are always bound to its DPoP key."),
    )

    # -- richer pushed requests (RFC 9396, RFC 9126 §2.4; django_par.push) --
    authorization_details_types = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_authorization_details_types],
        help_text=_(
            'The authorization_details types (RFC 9396) this client may request, a JSON list: ["payment_initiation"].'
        ),
    )
    allow_unregistered_redirect_uris = models.BooleanField(
        default=False,
        help_text=_(
            "Let this confidential client push a redirect_uri it has not registered (RFC 9126 §2.4); "
            "needs the server setting ALLOW_UNREGISTERED_REDIRECT_URIS."
        ),
    )
    unregistered_redirect_uri_hosts = models.TextField(
        blank=True,
        validators=[validate_host_patterns],
        help_text=_(
            "Hosts such a pushed redirect_uri may name, separated by spaces: app.example.com, or *.example.com "
            "for its subdomains; blank: any host."
        ),
    )
    request_uri_lifetime = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(LIFETIME_RANGES["REQUEST_URI_LIFETIME"][0]),
            MaxValueValidator(LIFETIME_RANGES["REQUEST_URI_LIFETIME"][1]),
        ],
        help_text=_(
            "Seconds this client's request_uri values stay usable for a first use; blank: REQUEST_URI_LIFETIME."
        ),
    )

    class Meta:
        verbose_name = _("PAR client metadata")
        verbose_name_plural = _("PAR client metadata")

    def __str__(self) -> str:
        return f"PAR metadata of {self.application}"

    def clean(self) -> None:
        """What depends on the server's settings: known types, FAPI 2.0's request_uri lifetime."""
        from . import fapi2
        from .conf import par_settings

        errors: dict[str, Any] = {}
        types = self.authorization_details_types
        if isinstance(types, list):
            # Items that are not strings are the field validator's error; only names are looked up here.
            unknown = [
                kind for kind in types if isinstance(kind, str) and kind not in par_settings.AUTHORIZATION_DETAILS_TYPES
            ]
            if unknown:
                errors["authorization_details_types"] = _(
                    "Unknown to the server (DJANGO_PAR['AUTHORIZATION_DETAILS_TYPES']): %s."
                ) % ", ".join(unknown)
        if self.request_uri_lifetime and self.request_uri_lifetime > fapi2.max_request_uri_lifetime():
            errors["request_uri_lifetime"] = _("FAPI 2.0 needs request_uri lifetimes under 600 seconds.")
        if errors:
            raise ValidationError(errors)


def client_metadata(application: Any) -> ClientMetadata:
    """The client's metadata row, or an unsaved one holding the defaults.

    Clients from ``load_application`` carry theirs already (no query). Any other
    application object (DOT's ``request.client``) is looked up once: Django's
    reverse one-to-one accessor remembers the row, or its absence, on the object.
    The unsaved default is never saved by django_par.
    """
    try:
        return application.par_metadata  # type: ignore[no-any-return]
    except ClientMetadata.DoesNotExist:
        # Creating it sets application.par_metadata too (Django fills the reverse
        # one-to-one cache), so later calls get this same object; no query, no save.
        return ClientMetadata(application=application)


class UsedAssertionQuerySet(models.QuerySet["UsedAssertion"]):
    def expired(self) -> UsedAssertionQuerySet:
        return self.filter(expires_at__lte=timezone.now())


class UsedAssertion(models.Model):
    """A client assertion's ``jti`` seen before its expiry: the replay store (RFC 7523 §3).

    The unique key makes a second use fail in the database, for every process.
    """

    key_digest = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(db_index=True)

    objects = UsedAssertionQuerySet.as_manager()

    class Meta:
        verbose_name = _("used client assertion")
        verbose_name_plural = _("used client assertions")
        constraints = [models.UniqueConstraint(fields=["key_digest"], name="django_par_unique_assertion")]

    def __str__(self) -> str:
        return f"{self.key_digest[:12]}…"


class BesideToken(models.Model):
    """A row beside one of DOT's authorization codes, access tokens or refresh tokens.

    DOT's models have no field for what django_par keeps about a token: a row of a
    subclass names it by a one-to-one key (unique, so indexed for the lookup on
    every request that presents it) and is deleted with it. Exactly one of the
    three is set.
    """

    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="par_%(class)s",
    )
    refresh_token = models.OneToOneField(
        oauth2_settings.REFRESH_TOKEN_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="par_%(class)s",
    )
    grant = models.OneToOneField(
        oauth2_settings.GRANT_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="par_%(class)s",
    )

    class Meta:
        abstract = True


# Where a reader that fetched a token's rows beside it keeps them on the token object:
# {related_name: row or None}. See beside_row().
BESIDE_ROWS = "_django_par_beside"


def beside_row(token: Any, related_name: str) -> Any | None:
    """The row of ``related_name`` (e.g. ``"par_dpopbinding"``) beside a DOT grant or token, or None.

    From the rows its reader kept on the object (:func:`django_par.dot.exchange_grant`
    reads them with the grant), else through the reverse one-to-one (a query).
    """
    kept = vars(token).get(BESIDE_ROWS)
    if kept is not None and related_name in kept:
        return kept[related_name]
    try:
        return getattr(token, related_name)
    except models.ObjectDoesNotExist:
        return None


class DPoPBinding(BesideToken):
    """The DPoP key a DOT authorization code, access token or refresh token is bound to (RFC 9449).

    No row means the token is not bound (a bearer token). Read and written through
    :mod:`django_par.dpop.binding`.
    """

    jkt = models.CharField(max_length=43, help_text=_("The key's RFC 7638 SHA-256 thumbprint, base64url."))
    objects: models.Manager[DPoPBinding] = models.Manager()

    class Meta(BesideToken.Meta):
        verbose_name = _("DPoP binding")
        verbose_name_plural = _("DPoP bindings")

    def __str__(self) -> str:
        return f"DPoP {self.jkt[:12]}…"


class AuthorizationDetails(BesideToken):
    """The authorization details (RFC 9396) a DOT code, access token or refresh token carries.

    No row means no authorization details. The list is what the
    user approved on the consent page (or a subset a token request narrowed it to).
    Read and written through :mod:`django_par.flow.granted_details`.
    """

    details = models.JSONField(help_text=_("The authorization_details array, as approved."))
    objects: models.Manager[AuthorizationDetails] = models.Manager()

    class Meta(BesideToken.Meta):
        verbose_name = _("authorization details")
        verbose_name_plural = _("authorization details")

    def __str__(self) -> str:
        return f"authorization details ({len(self.details)})"
