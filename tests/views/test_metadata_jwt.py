"""Discovery entries for JWT client authentication and request objects.

RFC 8414 §2 (token_endpoint_auth_methods_supported,
token_endpoint_auth_signing_alg_values_supported), RFC 9101 §10.5
(request_parameter_supported, request_object_signing_alg_values_supported).
The _jwt methods are advertised only when DOT runs django_par's validator,
which alone can check assertions at the token endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from django_par.views.metadata import ServerMetadataView
from tests.helpers.jwt_helpers import assertion_validator  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

OPENID_CONFIGURATION = "/o/.well-known/openid-configuration"
SERVER_METADATA = "/o/.well-known/oauth-authorization-server"
ASYMMETRIC = ["RS256", "PS256", "ES256", "EdDSA"]


def document(client: Any, path: str = OPENID_CONFIGURATION) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.content
    return dict(response.json())


class TestWithDotsValidator:
    def test_no_jwt_methods(self, client):
        metadata = document(client)

        assert metadata["token_endpoint_auth_methods_supported"] == [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]
        assert "token_endpoint_auth_signing_alg_values_supported" not in metadata

    def test_request_objects_are_advertised(self, client):
        metadata = document(client)

        assert metadata["request_parameter_supported"] is True
        assert metadata["request_object_signing_alg_values_supported"] == ASYMMETRIC
        assert metadata["require_signed_request_object"] is False
        assert "none" not in metadata["request_object_signing_alg_values_supported"]


@pytest.mark.usefixtures("assertion_validator")
class TestWithDjangoParsValidator:
    @pytest.mark.parametrize("path", [OPENID_CONFIGURATION, SERVER_METADATA])
    def test_jwt_methods_and_their_algorithms(self, client, path):
        if path == SERVER_METADATA and ServerMetadataView is None:
            pytest.skip("RFC 8414 metadata needs DOT 3.2 or later")
        metadata = document(client, path)

        assert metadata["token_endpoint_auth_methods_supported"] == [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "client_secret_jwt",
            "none",
        ]
        assert metadata["token_endpoint_auth_signing_alg_values_supported"] == [*ASYMMETRIC, "HS256"]
        assert metadata["request_parameter_supported"] is True
        assert metadata["request_object_signing_alg_values_supported"] == ASYMMETRIC

    def test_algorithms_follow_the_settings(self, client):
        with override_settings(DJANGO_PAR={"ASYMMETRIC_SIGNING_ALGS": ["ES256"], "HMAC_SIGNING_ALGS": ["HS512"]}):
            metadata = document(client)

        assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "HS512"]
        assert metadata["request_object_signing_alg_values_supported"] == ["ES256"]

    def test_only_configured_backends_are_advertised(self, client):
        backends = ["django_par.clients.secrets.ClientSecretBasic", "django_par.clients.assertions.PrivateKeyJwt"]
        with override_settings(DJANGO_PAR={"CLIENT_AUTH_BACKENDS": backends}):
            metadata = document(client)

        assert metadata["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "private_key_jwt"]
        assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ASYMMETRIC

    def test_required_signed_request_object(self, client):
        with override_settings(DJANGO_PAR={"REQUIRE_SIGNED_REQUEST_OBJECT": True}):
            assert document(client)["require_signed_request_object"] is True

    def test_fapi2_advertises_private_key_jwt_only(self, client):
        with override_settings(DJANGO_PAR={"FAPI2_SECURITY_PROFILE": True}):
            metadata = document(client)

        assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
        assert metadata["token_endpoint_auth_signing_alg_values_supported"] == ASYMMETRIC
        assert metadata["require_pushed_authorization_requests"] is True
