"""A Content-Security-Policy on every page of the example, with a nonce per response.

Templates put ``nonce="{{ csp_nonce }}"`` on their inline ``<style>`` and ``<script>``;
nothing else inline runs. A response that already has a policy keeps it: django_par's
own pages (form_post, error) send their own, stricter one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = (
                f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
                "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
            )
        return response


def csp_nonce(request: HttpRequest) -> dict[str, str]:
    """Context processor: the nonce of this response's policy."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
