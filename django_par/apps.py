from django.apps import AppConfig


class DjangoParConfig(AppConfig):
    name = "django_par"
    verbose_name = "Pushed authorization requests"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
