"""Every rule of the FAPI 2.0 Security Profile that django_par enforces, in one place.

``DJANGO_PAR["FAPI2_SECURITY_PROFILE"] = True`` turns them all on. The modules
that enforce a rule ask this one; none reads the setting itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.checks import CheckMessage, Error

from .conf import par_settings
from .errors import InvalidRequest, UnsupportedResponseType

# FAPI 2.0 §5.3.2.1: request URIs live less than 600 seconds.
FAPI2_MAX_REQUEST_URI_LIFETIME = 599
# FAPI 2.0 §5.3.2.1: the client authenticates with private_key_jwt (or mTLS, which django_par lacks).
FAPI2_AUTH_METHOD = "private_key_jwt"
# FAPI 2.0 §5.3.2.1: JWTs with iat/nbf up to 10 s in the future are accepted, more than 60 s refused.
FAPI2_CLOCK_SKEW_RANGE = (10, 60)
# FAPI 2.0 §5.4.1: JWS signatures use PS256, ES256 or EdDSA (Ed25519) only.
FAPI2_SIGNING_ALGS = ("PS256", "ES256", "EdDSA")


def enabled() -> bool:
    return bool(par_settings.FAPI2_SECURITY_PROFILE)


def max_request_uri_lifetime() -> int:
    """The longest request_uri lifetime allowed (a client's own included): under 600 s with FAPI 2.0."""
    return FAPI2_MAX_REQUEST_URI_LIFETIME if enabled() else 2**31


def required_auth_method() -> str:
    """The one client authentication method FAPI 2.0 allows, or "" when it is off."""
    return FAPI2_AUTH_METHOD if enabled() else ""


def par_required() -> bool:
    # FAPI 2.0 §5.3.2.2: only pushed authorization requests are accepted.
    return enabled()


def assertion_audience_issuer_only() -> bool:
    # FAPI 2.0 §5.3.2.1: a client assertion's aud is the issuer itself.
    return enabled()


def dpop_required() -> bool:
    # FAPI 2.0 §5.3.2.1: sender-constrained access tokens (DPoP here; mTLS is not offered).
    return enabled()


def dpop_bound_codes_required() -> bool:
    # FAPI 2.0 §5.3.2.2: authorization codes bound to the DPoP key (RFC 9449 §10).
    return enabled()


def signing_algorithms(algs: list[str]) -> list[str]:
    """The algorithms a client may sign with (DPoP proofs): under FAPI 2.0, those of §5.4.1 only."""
    return [alg for alg in algs if alg in FAPI2_SIGNING_ALGS] if enabled() else algs


def check_push(params: Mapping[str, str]) -> None:
    """FAPI 2.0 §5.3.2.2's rules on the pushed parameters."""
    if not enabled():
        return
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("FAPI 2.0 allows only response_type=code.")
    if "code_challenge" not in params or params.get("code_challenge_method") != "S256":
        raise InvalidRequest("FAPI 2.0 requires PKCE with code_challenge_method=S256.")
    if "redirect_uri" not in params:
        raise InvalidRequest("FAPI 2.0 requires redirect_uri.")


def supported_auth_methods(methods: list[str]) -> list[str]:
    """The methods discovery advertises: under FAPI 2.0 the PAR and token endpoints take only one."""
    return [method for method in methods if method == FAPI2_AUTH_METHOD] if enabled() else methods


def configuration_errors() -> list[CheckMessage]:
    """System checks E006, E007 and E011: a FAPI 2.0 server that could not keep the profile."""
    if not enabled():
        return []
    errors: list[CheckMessage] = []
    lifetime = par_settings.get("REQUEST_URI_LIFETIME")
    # A lifetime that is not a number is reported by E004.
    if isinstance(lifetime, int) and lifetime > FAPI2_MAX_REQUEST_URI_LIFETIME:
        errors.append(
            Error("FAPI2_SECURITY_PROFILE needs REQUEST_URI_LIFETIME under 600 seconds.", id="django_par.E006")
        )
    skew = par_settings.get("CLOCK_SKEW")
    low, high = FAPI2_CLOCK_SKEW_RANGE
    # A skew that is not a number is reported by E004.
    if isinstance(skew, int) and not low <= skew <= high:
        errors.append(
            Error(
                f"FAPI2_SECURITY_PROFILE needs CLOCK_SKEW from {low} to {high} seconds: JWTs issued up to "
                f"{low} s in the future must be accepted, more than {high} s refused.",
                id="django_par.E011",
            )
        )
    from oauth2_provider.settings import oauth2_settings

    from .clients.validator import ClientAuthenticationMixin

    validator: Any = oauth2_settings.OAUTH2_VALIDATOR_CLASS
    if not (isinstance(validator, type) and issubclass(validator, ClientAuthenticationMixin)):
        errors.append(
            Error(
                "FAPI2_SECURITY_PROFILE allows only private_key_jwt, which DOT's token endpoint cannot check "
                "with this OAUTH2_VALIDATOR_CLASS: no code could be redeemed.",
                hint='Set OAUTH2_PROVIDER["OAUTH2_VALIDATOR_CLASS"] = "django_par.clients.validator.OAuth2Validator" '
                "or put django_par.clients.validator.ClientAuthenticationMixin in front of your validator.",
                id="django_par.E007",
            )
        )
    return errors
