"""Discovery documents that advertise the PAR endpoint (RFC 9126 §5)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from oauth2_provider import views as dot_views
from oauth2_provider.settings import oauth2_settings

from .. import fapi2
from ..clients.pipeline import get_backends
from ..clients.validator import ClientAuthenticationMixin
from ..conf import par_settings
from ..dpop import grants as dpop_grants
from ..dpop.proofs import allowed_algorithms as dpop_signing_algs
from ..flow.delivery import AUTHORIZATION_SIGNING_ALGS, RESPONSE_MODES
from ..flow.lifecycle import par_required_for_every_client
from ..push import authorization_details


def par_metadata(request: HttpRequest) -> dict[str, Any]:
    methods = [backend.method for backend in get_backends()]
    if not issubclass(oauth2_settings.OAUTH2_VALIDATOR_CLASS, ClientAuthenticationMixin):
        # DOT's own validator cannot check assertions at the token endpoint.
        methods = [method for method in methods if not method.endswith("_jwt")]
    methods = fapi2.supported_auth_methods(methods)
    signing_algs = [
        *(par_settings.ASYMMETRIC_SIGNING_ALGS if "private_key_jwt" in methods else []),
        *(par_settings.HMAC_SIGNING_ALGS if "client_secret_jwt" in methods else []),
    ]
    document: dict[str, Any] = {
        "pushed_authorization_request_endpoint": request.build_absolute_uri(reverse("django_par:par")),
        "require_pushed_authorization_requests": par_required_for_every_client(),
        "token_endpoint_auth_methods_supported": methods,
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": par_settings.ASYMMETRIC_SIGNING_ALGS,
        "require_signed_request_object": par_settings.REQUIRE_SIGNED_REQUEST_OBJECT,
        # For pushed requests (plain ones get DOT's query and fragment only).
        "response_modes_supported": sorted(RESPONSE_MODES),
        "authorization_signing_alg_values_supported": list(AUTHORIZATION_SIGNING_ALGS),
        "authorization_response_iss_parameter_supported": True,
    }
    if dpop_grants.supported():
        # RFC 9449 §5.1.
        document["dpop_signing_alg_values_supported"] = dpop_signing_algs()
    if signing_algs:
        document["token_endpoint_auth_signing_alg_values_supported"] = signing_algs
    types = authorization_details.supported_types()
    if types:
        # RFC 9396 §10.1.
        document["authorization_details_types_supported"] = types
    return document


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


class JwksInfoView(dot_views.JwksInfoView):
    """DOT's key set without each key's optional ``alg`` (RFC 7517 §4.4).

    DOT pins its RSA keys to RS256; JWT-secured authorization responses may be
    signed with PS256 by the same keys, and clients that honour ``alg`` would
    find no key for them.
    """

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().get(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        document = json.loads(response.content)
        for key in document.get("keys", []):
            key.pop("alg", None)
        response.content = json.dumps(document).encode()
        return response


class ConnectDiscoveryInfoView(ParMetadataMixin, dot_views.ConnectDiscoveryInfoView):
    """``/.well-known/openid-configuration`` with the PAR entries."""


# RFC 8414 metadata exists in DOT 3.2 and later.
DotServerMetadataView: Any = getattr(dot_views, "OAuthServerMetadataView", None)
ServerMetadataView: Any = (
    type(
        "ServerMetadataView",
        (ParMetadataMixin, DotServerMetadataView),
        {"__doc__": "RFC 8414 metadata with the PAR entries."},
    )
    if DotServerMetadataView is not None
    else None
)
