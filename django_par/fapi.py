"""The FAPI 2.0 Security Profile rules for pushed requests (FAPI 2.0 §5.3.2)."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import InvalidRequest, UnsupportedResponseType

# FAPI 2.0 requires request URIs to live less than 600 seconds.
FAPI2_MAX_REQUEST_URI_LIFETIME = 599


def check_fapi2_push(params: Mapping[str, str]) -> None:
    # Client authentication (private_key_jwt only) is enforced in client_auth.
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("FAPI 2.0 allows only response_type=code.")
    if "code_challenge" not in params or params.get("code_challenge_method") != "S256":
        raise InvalidRequest("FAPI 2.0 requires PKCE with code_challenge_method=S256.")
    if "redirect_uri" not in params:
        raise InvalidRequest("FAPI 2.0 requires redirect_uri.")
