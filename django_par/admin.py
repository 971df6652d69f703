from __future__ import annotations

from typing import TYPE_CHECKING, Any

import django
from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_application_model

from .models import ClientMetadata, PushedRequest

if TYPE_CHECKING:  # django-stubs' generic admin classes; Django 4.2's are not subscriptable at run time
    _PushedRequestAdminBase = admin.ModelAdmin[PushedRequest]
    _ClientMetadataInlineBase = admin.StackedInline[ClientMetadata, Any]
else:
    _PushedRequestAdminBase = admin.ModelAdmin
    _ClientMetadataInlineBase = admin.StackedInline


@admin.register(PushedRequest)
class PushedRequestAdmin(_PushedRequestAdminBase):
    """Read-only view of pushed requests; the request_uri is never shown in full."""

    list_display = ("short_reference", "application", "state", "created_at", "expires_at")
    # A date filter, not date_hierarchy: the latter converts time zones in SQL,
    # which on MySQL/MariaDB without loaded time zone tables fails (a 500).
    list_filter = ("state", "application", "created_at")
    list_select_related = ("application",)
    search_fields = ("application__client_id",)
    fields = (
        "short_reference",
        "application",
        "state",
        "parameters",
        "created_at",
        "expires_at",
        "used_at",
        "consumed_at",
    )
    readonly_fields = fields
    actions = ["purge_expired"]

    @admin.display(description=_("request URI digest"))
    def short_reference(self, obj: PushedRequest) -> str:
        return f"{obj.request_uri_digest[:12]}…"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Purge all expired pushed requests"), permissions=["delete"])
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[PushedRequest]) -> None:
        from .flow.purge import purge_expired

        deleted = purge_expired()
        self.message_user(request, _("Purged %d expired pushed requests.") % deleted, messages.SUCCESS)


class HttpsURLField(forms.URLField):
    """A URL field that reads a scheme-less value as https (jwks_uri is fetched over HTTPS only)."""

    def __init__(self, **kwargs: Any) -> None:
        if django.VERSION >= (5, 0):  # also silences Django 5's RemovedInDjango60Warning
            kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        value = (value or "").strip()
        if value and "://" not in value:
            value = "https://" + value
        return str(super().to_python(value))


# The richer pushed requests' fields of the inline (RFC 9396, RFC 8707, RFC 9126 §2.4, per-client
# request_uri lifetime); their validators live in django_par.models, so form errors, not 500s.
RICH_REQUEST_FIELDS = (
    "authorization_details_types",
    "allow_unregistered_redirect_uris",
    "unregistered_redirect_uri_hosts",
    "request_uri_lifetime",
)


class ClientMetadataInline(_ClientMetadataInlineBase):
    model = ClientMetadata
    can_delete = True
    extra = 0
    max_num = 1
    verbose_name = _("pushed authorization requests")
    formfield_overrides = {models.URLField: {"form_class": HttpsURLField}}


def _model_admin(model: Any) -> Any:
    # AdminSite.get_model_admin() exists from Django 5.0; 4.2 has only the registry.
    get_model_admin = getattr(admin.site, "get_model_admin", None)
    return get_model_admin(model) if get_model_admin is not None else admin.site._registry[model]


def has_inline() -> bool:
    """True when the admin of DOT's application model shows the ClientMetadata inline."""
    application_model = get_application_model()
    if not admin.site.is_registered(application_model):
        return False
    return ClientMetadataInline in (type(_model_admin(application_model)).inlines or [])


def install_inline() -> None:
    """Add the ClientMetadata inline to the admin of DOT's application model.

    DOT's admin module is imported first, so its ModelAdmin is registered
    whatever the order of ``INSTALLED_APPS``. A site that registers its own
    application admin later gets warning ``django_par.W003``.
    """
    import oauth2_provider.admin  # noqa: F401  (registers DOT's ModelAdmins)

    application_model = get_application_model()
    if not admin.site.is_registered(application_model) or has_inline():
        return
    admin_class = type(_model_admin(application_model))
    admin.site.unregister(application_model)
    with_inline = type(admin_class.__name__, (admin_class,), {"inlines": [*admin_class.inlines, ClientMetadataInline]})
    admin.site.register(application_model, with_inline)


install_inline()
