from django.apps import AppConfig, apps


class DjangoParConfig(AppConfig):
    name = "django_par"
    verbose_name = "Pushed authorization requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import request_finished, request_started, setting_changed

        from . import (
            checks,  # noqa: F401  (registers the system checks)
            metrics,
        )
        from .flow.session import forget_login_hint, record_auth_time
        from .jose.keys import begin_request_budget, end_request_budget

        user_logged_in.connect(record_auth_time, dispatch_uid="django_par.record_auth_time")
        user_logged_in.connect(forget_login_hint, dispatch_uid="django_par.forget_login_hint")
        # The time a request may spend fetching client keys is per request, not per fetch.
        request_started.connect(begin_request_budget, dispatch_uid="django_par.jose.keys.begin")
        request_finished.connect(end_request_budget, dispatch_uid="django_par.jose.keys.end")
        # Prometheus metrics (PROMETHEUS_METRICS), connected while the setting is on.
        metrics.sync()
        setting_changed.connect(metrics.sync, dispatch_uid="django_par.metrics.sync")

        if apps.is_installed("oauth2_provider"):  # else check E001 reports it
            self.connect_client_cache_eviction()
            if apps.is_installed("django.contrib.admin"):
                # Whatever the order of INSTALLED_APPS: the inline needs DOT's ModelAdmin, which this imports.
                from . import admin  # noqa: F401

    def connect_client_cache_eviction(self) -> None:
        from django.db.models.signals import post_delete, post_save, pre_save
        from oauth2_provider.models import get_application_model

        from .clients.registry import evict_cached_application
        from .models import ClientMetadata

        for model in (get_application_model(), ClientMetadata):
            for signal in (pre_save, post_save, post_delete):
                signal.connect(
                    evict_cached_application, sender=model, dispatch_uid=f"django_par.evict.{signal}.{model}"
                )
