"""What Django's error reports (the 500 page, admin e-mails) show of requests carrying client credentials.

Django 5.0+ hides the ``Authorization`` header by itself; Django 4.2 shows it,
and with it a client's Basic credentials. The PAR and token views call
:func:`hide_authorization_header` so both hide it on every supported Django.
"""

from __future__ import annotations

import re

import django
from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter, get_default_exception_reporter_filter


class _AuthorizationHeaderFilter(SafeExceptionReporterFilter):
    """Django 4.2's report filter, also hiding the Authorization header, as Django 5.0+ does."""

    hidden_settings = re.compile(SafeExceptionReporterFilter.hidden_settings.pattern + "|AUTH", flags=re.I)


_LEGACY_REPORT_FILTER = _AuthorizationHeaderFilter() if django.VERSION < (5, 0) else None


def hide_authorization_header(request: HttpRequest) -> None:
    """On Django 4.2, report this request with a filter that hides its Authorization header.

    A site that configured its own ``DEFAULT_EXCEPTION_REPORTER_FILTER`` keeps it.
    """
    if (
        _LEGACY_REPORT_FILTER is not None
        and type(get_default_exception_reporter_filter()) is SafeExceptionReporterFilter
    ):
        request.exception_reporter_filter = _LEGACY_REPORT_FILTER
