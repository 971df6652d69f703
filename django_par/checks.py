"""System checks for the configuration of django_par."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.module_loading import import_string

from . import fapi2
from .conf import DEFAULTS, IMPORT_PATH_KEYS, LIFETIME_RANGES, RATE_KEYS, SETTINGS, par_settings

# DOT's own PAR (unreleased at the time of writing): its URL name and its
# OAUTH2_PROVIDER["PAR_..."] switches.
DOT_PAR_URL_NAME = "oauth2_provider:pushed-authorization-request"


@register(Tags.compatibility)
def check_dot_installed(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if apps.is_installed("oauth2_provider"):
        return []
    return [
        Error(
            "django_par needs django-oauth-toolkit.",
            hint='Add "oauth2_provider" to INSTALLED_APPS.',
            id="django_par.E001",
        )
    ]


@register(Tags.compatibility)
def check_settings(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    user_settings = getattr(settings, "DJANGO_PAR", {})
    if not isinstance(user_settings, dict):
        return [Error("DJANGO_PAR must be a dict.", id="django_par.E002")]
    errors: list[CheckMessage] = [
        Error(
            f"Unknown DJANGO_PAR setting {key!r}.",
            hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
            id="django_par.E002",
        )
        for key in sorted(set(user_settings) - set(DEFAULTS))
    ]
    errors.extend(_import_path_errors(user_settings))
    errors.extend(_lifetime_errors(user_settings))
    errors.extend(_type_errors(user_settings))
    errors.extend(_limit_errors(user_settings))
    errors.extend(fapi2.configuration_errors())
    errors.extend(_authorization_details_type_errors(user_settings))
    return errors


def _authorization_details_type_errors(user_settings: dict[str, Any]) -> list[CheckMessage]:
    """E012: AUTHORIZATION_DETAILS_TYPES maps type names to dotted paths of callables (other types: E008)."""
    types = user_settings.get("AUTHORIZATION_DETAILS_TYPES", {})
    if not isinstance(types, dict):
        return []
    errors: list[CheckMessage] = []
    for kind, path in types.items():
        where = f"DJANGO_PAR['AUTHORIZATION_DETAILS_TYPES'][{kind!r}]"
        if not isinstance(kind, str) or not kind:
            errors.append(Error(f"{where}: a type must be a non-empty string.", id="django_par.E012"))
            continue
        if not isinstance(path, str):
            errors.append(Error(f"{where} must be the dotted path of a validator.", id="django_par.E012"))
            continue
        try:
            validator = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"{where}: cannot import {path!r}: {exc}", id="django_par.E012"))
            continue
        if not callable(validator):
            errors.append(Error(f"{where}: {path!r} is not callable.", id="django_par.E012"))
    return errors


def _import_path_errors(user_settings: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key in IMPORT_PATH_KEYS:
        paths = user_settings.get(key, DEFAULTS[key])
        if isinstance(DEFAULTS[key], str):  # a single dotted path
            paths = [paths]
        elif isinstance(paths, str) or not isinstance(paths, (list, tuple)):
            errors.append(Error(f"DJANGO_PAR[{key!r}] must be a list of dotted paths.", id="django_par.E003"))
            continue
        for path in paths:
            if not isinstance(path, str):
                errors.append(Error(f"DJANGO_PAR[{key!r}]: {path!r} is not a dotted path.", id="django_par.E003"))
                continue
            try:
                import_string(path)
            except ImportError as exc:
                errors.append(Error(f"DJANGO_PAR[{key!r}]: cannot import {path!r}: {exc}", id="django_par.E003"))
    return errors


def _has_type(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is list:
        return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
    return isinstance(value, kind)


def _type_errors(user_settings: dict[str, Any]) -> list[CheckMessage]:
    """E008: a value that is not of its table entry's type (import paths and lifetimes have E003, E004)."""
    errors: list[CheckMessage] = []
    for key, setting in SETTINGS.items():
        if key not in user_settings or setting.import_path or setting.seconds is not None or setting.rate:
            continue
        value = user_settings[key]
        if value is None and setting.default is None:
            continue  # an optional setting left unset
        if not _has_type(value, setting.kind):
            kind = "list of strings" if setting.kind is list else setting.kind.__name__
            errors.append(Error(f"DJANGO_PAR[{key!r}] must be a {kind}, not {value!r}.", id="django_par.E008"))
    return errors


def _limit_errors(user_settings: dict[str, Any]) -> list[CheckMessage]:
    """E009: a rate that is not "N/S", or a cap that is not a positive whole number (None: no limit)."""
    from .limits import parse_rate

    errors: list[CheckMessage] = []
    for key in RATE_KEYS:
        try:
            parse_rate(user_settings.get(key, DEFAULTS[key]))
        except ValueError as error:
            errors.append(Error(f"DJANGO_PAR[{key!r}]: {error}", id="django_par.E009"))
    cap = user_settings.get("MAX_OUTSTANDING_REQUEST_URIS")
    if isinstance(cap, int) and not isinstance(cap, bool) and cap < 1:  # other types: E008
        errors.append(
            Error(
                f"DJANGO_PAR['MAX_OUTSTANDING_REQUEST_URIS'] must be a whole number from 1, or None, not {cap!r}.",
                id="django_par.E009",
            )
        )
    return errors


def _lifetime_errors(user_settings: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key, (low, high) in LIFETIME_RANGES.items():
        value = user_settings.get(key, DEFAULTS[key])
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors.append(
                Error(
                    f"DJANGO_PAR[{key!r}] must be a whole number of seconds from {low} to {high}.",
                    id="django_par.E004",
                )
            )
    return errors


@register(Tags.compatibility)
def check_dot_builtin_par(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    dot_settings = getattr(settings, "OAUTH2_PROVIDER", {}) or {}
    enabled = [
        name for name in dot_settings if name.startswith("PAR_") and name.endswith("ENABLED") and dot_settings[name]
    ]
    try:
        reverse(DOT_PAR_URL_NAME)
        enabled.append(f"URL {DOT_PAR_URL_NAME!r}")
    except NoReverseMatch:
        pass
    if not enabled:
        return []
    return [
        Error(
            f"django-oauth-toolkit's own PAR is enabled ({', '.join(enabled)}) beside django_par.",
            hint="Use one PAR implementation: turn DOT's off or remove django_par.",
            id="django_par.E005",
        )
    ]


@register(Tags.compatibility)
def check_dpop_validator(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """E010: DPoP required (DPOP_BOUND_ACCESS_TOKENS or FAPI 2.0) while DOT's validator cannot bind tokens."""
    if not (par_settings.get("DPOP_BOUND_ACCESS_TOKENS") is True or par_settings.get("FAPI2_SECURITY_PROFILE") is True):
        return []
    from .dpop.grants import supported

    if supported():
        return []
    return [
        Error(
            "DPoP-bound access tokens are required (DPOP_BOUND_ACCESS_TOKENS or FAPI2_SECURITY_PROFILE), but "
            "DOT's OAUTH2_VALIDATOR_CLASS does not bind tokens to DPoP keys: no token could be issued.",
            hint='Set OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "django_par.clients.validator.OAuth2Validator" '
            "or put django_par.dot.DPoPValidatorMixin in front of your validator.",
            id="django_par.E010",
        )
    ]


@register(Tags.compatibility)
def check_authorization_details_validator(
    app_configs: Iterable[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """E013: authorization details accepted while DOT's validator cannot keep them with the grant."""
    if not par_settings.get("AUTHORIZATION_DETAILS_TYPES"):
        return []
    from oauth2_provider.settings import oauth2_settings

    from .dot import AuthorizationDetailsValidatorMixin

    validator: Any = oauth2_settings.OAUTH2_VALIDATOR_CLASS
    if isinstance(validator, type) and issubclass(validator, AuthorizationDetailsValidatorMixin):
        return []
    return [
        Error(
            "AUTHORIZATION_DETAILS_TYPES accepts authorization details (RFC 9396), but DOT's OAUTH2_VALIDATOR_CLASS "
            "does not keep them with codes and tokens: approved details would be lost.",
            hint='Set OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "django_par.clients.validator.OAuth2Validator" '
            "or put django_par.dot.AuthorizationDetailsValidatorMixin in front of your validator.",
            id="django_par.E013",
        )
    ]


@register(Tags.compatibility)
def check_prometheus_client(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """E014: metrics asked for without the package that keeps them."""
    if par_settings.get("PROMETHEUS_METRICS") is not True:
        return []
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        return [
            Error(
                "PROMETHEUS_METRICS is on but prometheus_client is not installed: the first push would fail.",
                hint="pip install 'django-par[prometheus]', or turn PROMETHEUS_METRICS off.",
                id="django_par.E014",
            )
        ]
    return []


@register(Tags.urls)
def check_hooks_installed(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Without django_par's authorization view a request_uri would be ignored."""
    from .views.authorize import PushedAuthorizationMixin

    warnings: list[CheckMessage] = []
    try:
        view_class = getattr(resolve(reverse("oauth2_provider:authorize")).func, "view_class", None)
    except (NoReverseMatch, Resolver404):
        view_class = None
    if not (isinstance(view_class, type) and issubclass(view_class, PushedAuthorizationMixin)):
        warnings.append(
            Warning(
                "DOT's authorization endpoint does not resolve pushed requests: request_uri would be ignored.",
                hint='Include "django_par.urls" before "oauth2_provider.urls" under the same prefix, or add '
                "django_par.views.authorize.PushedAuthorizationMixin to your own AuthorizationView.",
                id="django_par.W001",
            )
        )
    try:
        reverse("django_par:par")
    except NoReverseMatch:
        warnings.append(
            Warning(
                "The PAR endpoint is not routed.",
                hint='Add path("o/", include("django_par.urls")) to your URLconf.',
                id="django_par.W002",
            )
        )
    return warnings


@register(Tags.admin)
def check_admin_inline(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """A site that registers its own admin for DOT's application model after django_par loses the inline."""
    if not (apps.is_installed("django.contrib.admin") and apps.is_installed("oauth2_provider")):
        return []
    from .admin import has_inline

    if has_inline():
        return []
    return [
        Warning(
            "The admin of DOT's application model does not show django_par's client metadata inline.",
            hint="Add django_par.admin.ClientMetadataInline to the inlines of your application ModelAdmin.",
            id="django_par.W003",
        )
    ]
