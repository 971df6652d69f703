from __future__ import annotations

from typing import Any

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings

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

    class Meta:
        verbose_name = _("PAR client metadata")
        verbose_name_plural = _("PAR client metadata")

    def __str__(self) -> str:
        return f"PAR metadata of {self.application}"


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


class DPoPBinding(models.Model):
    """The DPoP key a DOT authorization code, access token or refresh token is bound to (RFC 9449).

    DOT's models have no field for it: one row beside the token, naming it by a
    one-to-one key (unique, so indexed for the lookup on every protected request),
    deleted with it. Exactly one of the three is set. Read and written through
    :mod:`django_par.dpop.binding`.
    """

    jkt = models.CharField(max_length=43, help_text=_("The key's RFC 7638 SHA-256 thumbprint, base64url."))
    access_token = models.OneToOneField(
        oauth2_settings.ACCESS_TOKEN_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dpop_binding",
    )
    refresh_token = models.OneToOneField(
        oauth2_settings.REFRESH_TOKEN_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dpop_binding",
    )
    grant = models.OneToOneField(
        oauth2_settings.GRANT_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dpop_binding",
    )

    objects: models.Manager[DPoPBinding] = models.Manager()

    class Meta:
        verbose_name = _("DPoP binding")
        verbose_name_plural = _("DPoP bindings")

    def __str__(self) -> str:
        return f"DPoP {self.jkt[:12]}…"
