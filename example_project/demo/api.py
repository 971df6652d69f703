"""The example's protected API: what a resource server behind this identity provider looks like.

``/api/me/`` takes an access token with the ``read`` scope, as a bearer token or,
for a DPoP-bound token, in the DPoP scheme with a proof (RFC 9449 §7);
django_par's ``ProtectedResourceView`` checks both.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse

from django_par.dpop.binding import access_token_jkt
from django_par.views.resources import ProtectedResourceView


class MeView(ProtectedResourceView):
    required_scopes = ["read"]

    def get(self, request: HttpRequest) -> HttpResponse:
        token = request.access_token
        jkt = access_token_jkt(token)
        return JsonResponse(
            {
                "username": request.resource_owner.get_username(),
                "client_id": token.application.client_id,
                "scope": token.scope,
                "token_type": "DPoP" if jkt else "Bearer",
                "cnf": {"jkt": jkt} if jkt else None,
            }
        )
