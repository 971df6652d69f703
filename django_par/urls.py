"""URLs of django_par. Include them *before* DOT's, under the same prefix::

    path("o/", include("django_par.urls")),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),

Then ``authorize/``, ``token/``, ``userinfo/``, ``introspect/`` and the discovery documents of this app take
precedence over DOT's, whose URL names (``oauth2_provider:token`` among them)
keep reversing to the same paths. For RFC 8414 metadata at the server root,
also include ``django_par.urls.metadata_urlpatterns`` at the root, before DOT's.
"""

from django.urls import path, re_path

from .views.authorize import AuthorizationView
from .views.metadata import ConnectDiscoveryInfoView, JwksInfoView, ServerMetadataView
from .views.par import PushedAuthorizationRequestView
from .views.resources import IntrospectTokenView, UserInfoView
from .views.token import TokenView

app_name = "django_par"

metadata_urlpatterns = (
    [path(".well-known/oauth-authorization-server", ServerMetadataView.as_view(), name="server-metadata")]
    if ServerMetadataView is not None
    else []
)

urlpatterns = [
    path("par/", PushedAuthorizationRequestView.as_view(), name="par"),
    path("authorize/", AuthorizationView.as_view(), name="authorize"),
    path("token/", TokenView.as_view(), name="token"),
    # DOT's userinfo and introspection, taking DPoP-bound tokens (RFC 9449 §7, §6.2).
    path("userinfo/", UserInfoView.as_view(), name="user-info"),
    path("introspect/", IntrospectTokenView.as_view(), name="introspect"),
    re_path(r"^\.well-known/openid-configuration/?$", ConnectDiscoveryInfoView.as_view(), name="openid-configuration"),
    path(".well-known/jwks.json", JwksInfoView.as_view(), name="jwks"),
    *metadata_urlpatterns,
]
