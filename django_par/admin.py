from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import django
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider.models import get_application_model

from .admin_overview import overview_context
from .conf import par_settings
from .flow.delivery import AUTHORIZATION_SIGNING_ALGS
from .jose.keys import check_public_key_set
from .models import ClientMetadata, PushedRequest

if TYPE_CHECKING:  # django-stubs' generic admin classes; Django 4.2's are not subscriptable at run time
    _PushedRequestAdminBase = admin.ModelAdmin[PushedRequest]
    _ClientMetadataInlineBase = admin.StackedInline[ClientMetadata, Any]
    _ClientMetadataFormBase = forms.ModelForm[ClientMetadata]
else:
    _PushedRequestAdminBase = admin.ModelAdmin
    _ClientMetadataInlineBase = admin.StackedInline
    _ClientMetadataFormBase = forms.ModelForm

State = PushedRequest.State
EXPIRED = "expired"


def local_time(value: datetime | None) -> str:
    """A time with seconds, in the site's time zone (TIME_ZONE), naming the zone."""
    if value is None:
        return "-"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")


def shown_state(obj: PushedRequest) -> str:
    """The state an operator sees: a pushed or in-use request past expires_at is expired,
    as the authorization endpoint treats it, although its row still says otherwise."""
    if obj.state != State.CONSUMED and obj.is_expired():
        return str(_("expired"))
    return str(obj.get_state_display())


class StateFilter(admin.SimpleListFilter):
    """The states as shown, "expired" included; the others only while not expired."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*State.choices, (EXPIRED, _("expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value, now = self.value(), timezone.now()
        if value == EXPIRED:
            return queryset.filter(expires_at__lte=now).exclude(state=State.CONSUMED)
        if value == State.CONSUMED:
            return queryset.filter(state=State.CONSUMED)
        if value in (State.PUSHED, State.IN_USE):
            return queryset.filter(state=value, expires_at__gt=now)
        return queryset


@admin.register(PushedRequest)
class PushedRequestAdmin(_PushedRequestAdminBase):
    """Read-only view of pushed requests; the request_uri is never shown in full."""

    list_display = ("short_reference", "application", "state_shown", "created", "expires")
    # A date filter, not date_hierarchy: the latter converts time zones in SQL,
    # which on MySQL/MariaDB without loaded time zone tables fails (a 500).
    list_filter = (StateFilter, "application", "created_at")
    list_select_related = ("application",)
    search_fields = ("application__client_id",)
    fields = (
        "short_reference",
        "application",
        "state_shown",
        "pretty_parameters",
        "created",
        "expires",
        "used",
        "consumed",
    )
    readonly_fields = fields
    actions = ["purge_expired"]
    change_list_template = "admin/django_par/pushedrequest/change_list.html"

    @admin.display(description=_("request URI digest"))
    def short_reference(self, obj: PushedRequest) -> str:
        return f"{obj.request_uri_digest[:12]}…"

    @admin.display(description=_("state"), ordering="state")
    def state_shown(self, obj: PushedRequest) -> str:
        return shown_state(obj)

    @admin.display(description=_("parameters"))
    def pretty_parameters(self, obj: PushedRequest) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.parameters, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description=_("created at"), ordering="created_at")
    def created(self, obj: PushedRequest) -> str:
        return local_time(obj.created_at)

    @admin.display(description=_("expires at"), ordering="expires_at")
    def expires(self, obj: PushedRequest) -> str:
        return local_time(obj.expires_at)

    @admin.display(description=_("first used at"))
    def used(self, obj: PushedRequest) -> str:
        return local_time(obj.used_at)

    @admin.display(description=_("consumed at"))
    def consumed(self, obj: PushedRequest) -> str:
        return local_time(obj.consumed_at)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Purge all expired pushed requests"), permissions=["delete"])
    def purge_expired(self, request: HttpRequest, queryset: QuerySet[PushedRequest]) -> None:
        from .flow.purge import purge_expired

        deleted = purge_expired()
        message = ngettext("Purged %d expired pushed request.", "Purged %d expired pushed requests.", deleted) % deleted
        self.message_user(request, message, messages.SUCCESS)

    # -- the operators' overview ------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        overview = path(
            "overview/",
            self.admin_site.admin_view(self.overview_view),
            name="django_par_pushedrequest_overview",
        )
        return [overview, *super().get_urls()]

    def overview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Pushed authorization requests: the last 24 hours"),
            **overview_context(timezone.now()),
        }
        return TemplateResponse(request, "admin/django_par/pushedrequest/overview.html", context)


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


class JwkSetField(forms.JSONField):
    """A JWK Set of public keys, edited as indented JSON; empty means none (not ``null``)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 8, "cols": 80, "spellcheck": "false"}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().prepare_value(value)

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value in (None, ""):
            return
        try:
            check_public_key_set(value)
        except ValueError as exc:
            raise ValidationError(str(exc), code="invalid_jwks") from None


def _algorithm_choices(algorithms: list[str] | tuple[str, ...], blank: Any) -> list[tuple[str, Any]]:
    return [("", blank), *((alg, alg) for alg in algorithms)]


class ClientMetadataForm(_ClientMetadataFormBase):
    # Fields are declared only where the model's default form field is not enough:
    # new model fields appear in the inline without a change here.
    jwks = JwkSetField(
        required=False, label=_("JWK Set (jwks)"), help_text=ClientMetadata._meta.get_field("jwks").help_text
    )

    class Meta:
        model = ClientMetadata
        fields = "__all__"
        field_classes = {"jwks_uri": HttpsURLField}
        labels = {"jwks_uri": _("JWK Set URL (jwks_uri)")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Choices read from the settings at form time, as the server applies them.
        self.fields["request_object_signing_alg"] = forms.ChoiceField(
            required=False,
            choices=_algorithm_choices(par_settings.ASYMMETRIC_SIGNING_ALGS, _("any allowed algorithm")),
            label=_("Request object signing algorithm"),
            help_text=ClientMetadata._meta.get_field("request_object_signing_alg").help_text,
        )
        self.fields["authorization_signed_response_alg"] = forms.ChoiceField(
            required=False,
            choices=_algorithm_choices(AUTHORIZATION_SIGNING_ALGS, "RS256 (default)"),
            label=_("Authorization response signing algorithm (JARM)"),
            help_text=ClientMetadata._meta.get_field("authorization_signed_response_alg").help_text,
        )


class ClientMetadataInline(_ClientMetadataInlineBase):
    model = ClientMetadata
    form = ClientMetadataForm
    can_delete = True
    extra = 0
    max_num = 1
    # "Add another PAR client metadata"
    verbose_name = _("PAR client metadata")
    verbose_name_plural = _("PAR client metadata")
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
