"""What Django's error reports (the 500 page, admin e-mails) show of requests carrying client credentials.

Django's report filter hides ``sensitive_post_parameters`` and ``sensitive_variables``
only while ``DEBUG`` is off (``is_active``): with ``DEBUG = True``, as in a
development server or a demo, its technical 500 page lists a ``client_secret``
or ``client_assertion`` as sent. Django 4.2 also shows the ``Authorization``
header, and with it a client's Basic credentials (Django 5.0+ hides it).

The PAR and token views call :func:`hide_credentials_in_reports`, which reports
their requests with a subclass of the site's own filter class
(``DEFAULT_EXCEPTION_REPORTER_FILTER``) that is always active and, on Django
4.2, hides the ``Authorization`` header too. Everything else about the site's
filter is kept.
"""

from __future__ import annotations

import re
from typing import Any

import django
from django.http import HttpRequest
from django.views.debug import get_default_exception_reporter_filter


def _always_active(self: Any, request: HttpRequest | None) -> bool:
    # Credentials are no less secret on a server running with DEBUG on.
    return True


# One filter per site filter class (a site's DEFAULT_EXCEPTION_REPORTER_FILTER may change in tests).
_FILTERS: dict[type, Any] = {}


def _credential_filter(site_filter_class: type) -> Any:
    """An instance of ``site_filter_class``, always active, hiding the Authorization header on Django 4.2."""
    cached = _FILTERS.get(site_filter_class)
    if cached is not None:
        return cached
    members: dict[str, Any] = {"is_active": _always_active}
    hidden = getattr(site_filter_class, "hidden_settings", None)
    if django.VERSION < (5, 0) and isinstance(hidden, re.Pattern):
        # Django 5.0 added AUTH to the names whose values reports hide (HTTP_AUTHORIZATION among them).
        members["hidden_settings"] = re.compile(hidden.pattern + "|AUTH", flags=hidden.flags | re.I)
    # A race builds two equal filters; either is kept.
    return _FILTERS.setdefault(
        site_filter_class, type(f"Credential{site_filter_class.__name__}", (site_filter_class,), members)()
    )


def hide_credentials_in_reports(request: HttpRequest) -> None:
    """Report this request with a filter that hides its credentials whatever ``DEBUG`` is."""
    site_filter_class = type(get_default_exception_reporter_filter())
    request.exception_reporter_filter = _credential_filter(site_filter_class)
