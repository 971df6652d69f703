"""Discovery documents that advertise the PAR endpoint (RFC 9126 §5)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from oauth2_provider import views as dot_views

from .conf import par_settings


def par_metadata(request: HttpRequest) -> dict[str, Any]:
    return {
        "pushed_authorization_request_endpoint": request.build_absolute_uri(reverse("django_par:par")),
        "require_pushed_authorization_requests": par_settings.REQUIRE_PUSHED_AUTHORIZATION_REQUESTS,
    }


class ParMetadataMixin:
    """Adds the PAR entries to the JSON document of a DOT metadata view."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code != 200:
            return response
        document = json.loads(response.content)
        document.update(par_metadata(request))
        response.content = json.dumps(document).encode()
        return response


class ConnectDiscoveryInfoView(ParMetadataMixin, dot_views.ConnectDiscoveryInfoView):
    """``/.well-known/openid-configuration`` with the PAR entries."""


# RFC 8414 metadata exists in DOT 3.2 and later.
DotServerMetadataView = getattr(dot_views, "OAuthServerMetadataView", None)
ServerMetadataView = (
    type("ServerMetadataView", (ParMetadataMixin, DotServerMetadataView), {"__doc__": "RFC 8414 metadata with the PAR entries."})
    if DotServerMetadataView is not None
    else None
)
