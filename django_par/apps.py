from django.apps import AppConfig


class DjangoParConfig(AppConfig):
    name = "django_par"
    verbose_name = "Pushed authorization requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the system checks)
        from .login_hints import forget_login_hint
        from .signals import record_auth_time

        user_logged_in.connect(record_auth_time, dispatch_uid="django_par.record_auth_time")
        user_logged_in.connect(forget_login_hint, dispatch_uid="django_par.forget_login_hint")
