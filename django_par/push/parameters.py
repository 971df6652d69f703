"""The rules on pushed authorization parameters (RFC 9126 §2.1).

The pushed request is checked as the authorization endpoint would check it,
through DOT's own oauthlib server and validator (so a site's customisations
apply), plus the rules DOT does not enforce itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest
from oauth2_provider.models import AbstractApplication
from oauth2_provider.settings import oauth2_settings

from .. import dot
from ..bounded_json import InvalidJson, client_json
from ..conf import par_settings
from ..errors import InvalidRequest, UnsupportedResponseType
from ..flow.delivery import RESPONSE_MODES, carries_tokens, effective_response_mode
from . import authorization_details, redirect_uris, resources

# The authorization request parameters a push may carry and that are stored.
AUTHORIZATION_PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "claims",
    "login_hint",
    "response_mode",
    "id_token_hint",
    "acr_values",
    "ui_locales",
    "display",
    "approval_prompt",
    # RFC 8707 §2 (a JSON array until stored: django_par.push.resources).
    "resource",
    # RFC 9396 §2 (django_par.push.authorization_details).
    "authorization_details",
)

PROMPT_VALUES = frozenset({"none", "login", "consent", "select_account"})
CODE_CHALLENGE_METHODS = frozenset({"plain", "S256"})
# RFC 7636 §4.2: code-challenge = 43*128unreserved
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# ASCII digits only: str.isdigit() also accepts characters such as "²" that int() refuses.
# At most 10 digits (over 300 years): int() refuses strings of more than 4300 digits.
MAX_AGE = re.compile(r"[0-9]{1,10}")
# Parameters DOT's oauthlib server must not see at push time: they concern the
# browser session (prompt=none asks about a user who is not here yet), or are
# handled by django_par.
SESSION_PARAMETERS = ("prompt", "id_token_hint", "max_age", "login_hint", "response_mode")
# Parameters oauthlib does not know, whose rules are django_par's (resource reaches DOT through its view).
RICH_PARAMETERS = (resources.NAME, authorization_details.NAME)


def _check_min_length(params: Mapping[str, str], name: str, minimum: int) -> None:
    value = params.get(name)
    if value is not None and len(value) < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum} characters long.")


def _check_prompt(value: str) -> None:
    prompts = value.split()
    unknown = sorted(set(prompts) - PROMPT_VALUES)
    if not prompts or unknown:
        raise InvalidRequest(f"Unsupported prompt value: {' '.join(unknown) or value!r}.")
    # OIDC Core §3.1.2.1: none with any other value is an error.
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")


def _check_json_object(name: str, value: str) -> dict[str, Any]:
    # Bounded here, at push time: a claims value too deep for json.dumps would otherwise be stored
    # and fail at the authorization endpoint, after its request_uri is spent.
    try:
        parsed = client_json(value, what=name)
    except InvalidJson as exc:
        raise InvalidRequest(str(exc)) from None
    if not isinstance(parsed, dict):
        raise InvalidRequest(f"{name} must be a JSON object.")
    return parsed


def _check_login_hint(value: str) -> None:
    """A username, or ``{"realm": ..., "username": ...}`` as a JSON object."""
    if not value.lstrip().startswith("{"):
        return
    hint = _check_json_object("login_hint", value)
    if not isinstance(hint.get("username"), str) or not hint["username"]:
        raise InvalidRequest("login_hint as JSON needs a non-empty string username.")
    if "realm" in hint and not isinstance(hint["realm"], str):
        raise InvalidRequest("login_hint realm must be a string.")


def _check_response_mode(params: Mapping[str, str]) -> None:
    if params["response_mode"] not in RESPONSE_MODES:
        raise InvalidRequest(f"Unsupported response_mode {params['response_mode']!r}.")
    # OAuth 2.0 Multiple Response Types §5 / JARM §2.3.1: tokens never travel in the query.
    if carries_tokens(params.get("response_type", "")) and effective_response_mode(params).startswith("query"):
        raise InvalidRequest("response_mode query cannot carry tokens; use fragment or form_post.")


def check_parameter_rules(params: Mapping[str, str]) -> None:
    """The rules on single parameters that DOT does not enforce itself."""
    response_types = params.get("response_type", "").split()
    if not oauth2_settings.OIDC_ENABLED and (len(response_types) > 1 or "id_token" in response_types):
        # id_token and the hybrid types exist only in OpenID Connect; without it
        # oauthlib hands "code id_token" to the code grant, which accepts it.
        raise UnsupportedResponseType("This response_type needs OpenID Connect, which is not enabled.")
    _check_min_length(params, "state", par_settings.STATE_MIN_LENGTH)
    _check_min_length(params, "nonce", par_settings.NONCE_MIN_LENGTH)
    if "id_token" in params.get("response_type", "").split() and "nonce" not in params:
        # OIDC Core §3.2.2.1 / §3.3.2.11: nonce is required when an ID token is returned from the authorization endpoint.
        raise InvalidRequest("nonce is required when response_type contains id_token.")
    if "prompt" in params:
        _check_prompt(params["prompt"])
    if "max_age" in params and not MAX_AGE.fullmatch(params["max_age"]):
        raise InvalidRequest("max_age must be a non-negative integer.")
    if "claims" in params:
        _check_json_object("claims", params["claims"])
    if "login_hint" in params:
        _check_login_hint(params["login_hint"])
    if "response_mode" in params:
        _check_response_mode(params)
    if "code_challenge" in params:
        # RFC 7636 §4.3: code_challenge_method defaults to plain.
        if params.get("code_challenge_method", "plain") not in CODE_CHALLENGE_METHODS:
            raise InvalidRequest("code_challenge_method must be plain or S256.")
        if not CODE_CHALLENGE.fullmatch(params["code_challenge"]):
            raise InvalidRequest("code_challenge must be 43 to 128 unreserved characters (RFC 7636 §4.2).")
    elif "code_challenge_method" in params:
        raise InvalidRequest("code_challenge_method was sent without code_challenge.")


def check_with_dot(
    request: HttpRequest, params: Mapping[str, str], application: Any
) -> tuple[list[str], dict[str, Any]]:
    """Run DOT's validation of a pushed request; return oauthlib's scopes and credentials.

    RFC 9126 §2.1: the pushed request is validated as the authorization endpoint
    would validate it, by DOT's own server and the site's validator.
    """
    oauthlib_params = {k: v for k, v in params.items() if k not in SESSION_PARAMETERS and k not in RICH_PARAMETERS}
    return dot.check_with_dot(request, oauthlib_params, application_for_dot(application, params))


def application_for_dot(application: Any, params: Mapping[str, str]) -> Any:
    """The application as DOT must see it for these parameters: with their redirect_uri added
    when it is an unregistered one that RFC 9126 §2.4's policy accepts (checked again now)."""
    redirect_uri = params.get("redirect_uri")
    if redirect_uri and redirect_uris.accepted_unregistered(application, redirect_uri):
        return dot.with_redirect_uri(application, redirect_uri)
    return application


# An authority without userinfo: a host (an IPv6 literal in brackets) and an optional port.
_AUTHORITY = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[^\[\]@:]*)(?::[0-9]*)?")
# RFC 8252 §7.3: http on a loopback IP literal, whose port alone may differ from the registered one.
_LOOPBACK_URI = re.compile(
    r"(?P<base>http://(?P<host>127\.0\.0\.1|\[::1\]|localhost))(?::[0-9]*)?(?P<rest>[/?#].*)?", re.DOTALL
)


def _check_redirect_uri_syntax(redirect_uri: str) -> None:
    """Refuse a redirect_uri that a browser could read as another address than this code does."""
    try:
        parts = urlsplit(redirect_uri)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:  # a bad port, or a malformed IPv6 literal
        raise InvalidRequest("redirect_uri is not a valid URI: bad host or port.") from None
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        # RFC 3986 §7.6: userinfo makes an address read as another host (http://127.0.0.1:80@evil.example/).
        raise InvalidRequest("redirect_uri must not contain user information.")
    if not _AUTHORITY.fullmatch(parts.netloc):
        raise InvalidRequest("redirect_uri is not a valid URI: bad host or port.")


def _without_loopback_port(uri: str) -> str | None:
    """``uri`` without its port, when it is http on a loopback host (RFC 8252 §7.3)."""
    match = _LOOPBACK_URI.fullmatch(uri)
    if match is None:
        return None
    if match["host"] == "localhost" and not getattr(oauth2_settings, "ALLOW_LOCALHOST_LOOPBACK", False):
        return None  # RFC 8252 §8.3: localhost is not loopback unless DOT is told so
    return match["base"] + (match["rest"] or "")


def loopback_port_may_vary(application: Any) -> bool:
    """RFC 8252 §7.3 is for native apps, which are public clients (RFC 8252 §8.4)."""
    return bool(
        application.client_type == AbstractApplication.CLIENT_PUBLIC
        or par_settings.LOOPBACK_ANY_PORT_FOR_CONFIDENTIAL_CLIENTS
    )


def check_redirect_uri_registered(application: Any, redirect_uri: str) -> None:
    """Exact match against the registered URIs (RFC 9700 §4.1.3), the loopback port aside.

    DOT before 3.4 let a request add query parameters to a registered URI; this
    holds every supported DOT release to the exact rule.
    """
    _check_redirect_uri_syntax(redirect_uri)
    if getattr(oauth2_settings, "ALLOW_URI_WILDCARDS", False):
        return  # the site asked for DOT's wildcard matching
    registered = application.redirect_uris.split()
    if redirect_uri in registered:
        return
    loopback = _without_loopback_port(redirect_uri)
    port_may_vary = loopback is not None and loopback_port_may_vary(application)
    if port_may_vary and any(_without_loopback_port(uri) == loopback for uri in registered):
        return
    if redirect_uris.allowed_for(application):
        # RFC 9126 §2.4: an authenticated confidential client may push an unregistered URI.
        redirect_uris.check_unregistered(application, redirect_uri)
        return
    raise InvalidRequest("redirect_uri does not exactly match a URI registered for this client.")


def validate_pushed_parameters(request: HttpRequest, params: Mapping[str, str], application: Any) -> dict[str, str]:
    """Check a pushed request and return the parameters to store."""
    stored = {name: params[name] for name in AUTHORIZATION_PARAMETERS if name in params}
    check_parameter_rules(stored)
    if resources.NAME in stored:
        stored[resources.NAME] = resources.encode(resources.check_resources(stored[resources.NAME]))
    if authorization_details.NAME in stored:
        text = authorization_details.check_authorization_details(stored[authorization_details.NAME], application)
        stored[authorization_details.NAME] = text
    if "redirect_uri" in stored:
        check_redirect_uri_registered(application, stored["redirect_uri"])
    _scopes, credentials = check_with_dot(request, stored, application)
    # Store the redirect_uri DOT resolved when the client omitted it, so that
    # every later response goes where this validation said it would.
    stored.setdefault("redirect_uri", credentials["redirect_uri"])
    return stored
