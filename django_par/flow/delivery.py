"""Delivering authorization responses of pushed requests in their response_mode.

DOT and oauthlib build the response into the redirect URI's query or fragment;
django_par takes the response parameters back out of that URL and delivers them
as the pushed request asked: in the query, the fragment, an auto-submitting form
(OAuth 2.0 Form Post Response Mode), or as one signed JWT (JARM).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from jwcrypto import jwk, jwt
from oauth2_provider.settings import oauth2_settings

from ..conf import par_settings
from ..dot import issuer
from ..models import client_metadata

RESPONSE_MODES = frozenset({"query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"})
# JARM §2.3.4: the authorization server's response signing algorithms (its OIDC RSA key).
AUTHORIZATION_SIGNING_ALGS = ("RS256", "PS256")
DEFAULT_AUTHORIZATION_SIGNING_ALG = "RS256"

# The one inline script of the form_post page; the CSP allows exactly this text.
FORM_POST_SCRIPT = "document.forms[0].submit();"
FORM_POST_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(FORM_POST_SCRIPT.encode()).digest()).decode()


def carries_tokens(response_type: str) -> bool:
    return bool({"token", "id_token"} & set(response_type.split()))


def effective_response_mode(params: Mapping[str, str]) -> str:
    """The concrete response mode: explicit, or the default for the response type."""
    response_type = params.get("response_type", "")
    mode = params.get("response_mode", "")
    default = "fragment" if carries_tokens(response_type) else "query"
    if mode == "jwt":
        # JARM §2.3.4: jwt means query.jwt for code, fragment.jwt when tokens are returned.
        return default + ".jwt"
    return mode or default


def response_parameters(location: str, redirect_uri: str) -> dict[str, str]:
    """The response parameters DOT added to ``redirect_uri`` in ``location``."""
    own = set(parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True))
    parts = urlsplit(location)
    added = [pair for pair in parse_qsl(parts.query, keep_blank_values=True) if pair not in own]
    added += parse_qsl(parts.fragment, keep_blank_values=True)
    return dict(added)


def response_url(redirect_uri: str, response: Mapping[str, Any], response_mode: str) -> str:
    """``redirect_uri`` with the response in its query or fragment."""
    scheme, netloc, path, query, fragment = urlsplit(redirect_uri)
    if response_mode == "fragment":
        fragment = urlencode(dict(response))
    else:
        query = urlencode([*parse_qsl(query, keep_blank_values=True), *response.items()])
    return urlunsplit((scheme, netloc, path, query, fragment))


def error_response_url(parameters: Mapping[str, str], error: str, description: str) -> str:
    """An error authorization response (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).

    Built in the query; the response mode and ``iss`` are applied on delivery.
    """
    response = {"error": error, "error_description": description}
    if "state" in parameters:
        response["state"] = parameters["state"]
    return response_url(parameters["redirect_uri"], response, "query")


def with_issuer(location: str, iss: str) -> str:
    """``location`` with ``iss`` once, beside the response (RFC 9207 §2), for a request that was not pushed.

    The response is in the fragment when there is one (RFC 6749 §3.1.2: a redirect URI
    has none of its own), else in the query. An ``iss`` already there (DOT 3.4 adds one
    when its COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS is on) is replaced, not repeated.
    """
    scheme, netloc, path, query, fragment = urlsplit(location)
    if fragment:
        fragment = _replace_iss(fragment, iss)
    else:
        query = _replace_iss(query, iss)
    return urlunsplit((scheme, netloc, path, query, fragment))


def _replace_iss(component: str, iss: str) -> str:
    pairs = [(name, value) for name, value in parse_qsl(component, keep_blank_values=True) if name != "iss"]
    return urlencode([*pairs, ("iss", iss)])


def signed_response(request: HttpRequest, application: Any, params: Mapping[str, str]) -> str:
    """The JARM ``response`` JWT (JARM §2.1), signed with the server's OIDC key."""
    key = jwk.JWK.from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY.encode("utf-8"))
    alg = client_metadata(application).authorization_signed_response_alg or DEFAULT_AUTHORIZATION_SIGNING_ALG
    claims: dict[str, Any] = {name: value for name, value in params.items() if name != "iss"}
    claims.update(
        iss=issuer(request),
        aud=application.client_id,
        exp=int(time.time()) + par_settings.AUTHORIZATION_RESPONSE_LIFETIME,
    )
    token = jwt.JWT(header={"alg": alg, "kid": key.thumbprint()}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def form_post_response(redirect_uri: str, params: Mapping[str, str]) -> HttpResponse:
    """An auto-submitting form POSTing ``params`` to ``redirect_uri`` (Form Post Response Mode §2)."""
    nonce = secrets.token_urlsafe(16)  # the page's inline style, for browsers without JavaScript
    html = render_to_string(
        "django_par/form_post.html",
        {"redirect_uri": redirect_uri, "params": params.items(), "script": FORM_POST_SCRIPT, "csp_nonce": nonce},
    )
    response = HttpResponse(html)
    # No form-action: browsers apply it to the redirects that follow the POST too,
    # which would strand a client whose callback redirects to another origin.
    response["Content-Security-Policy"] = (
        f"default-src 'none'; script-src '{FORM_POST_SCRIPT_HASH}'; style-src 'nonce-{nonce}'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def deliver(request: HttpRequest, application: Any, parameters: Mapping[str, str], location: str) -> HttpResponse | str:
    """The pushed request's authorization response: an HTML page, or a URL to redirect to."""
    redirect_uri = parameters["redirect_uri"]
    response = response_parameters(location, redirect_uri)
    response["iss"] = issuer(request)  # RFC 9207
    mode = effective_response_mode(parameters)
    if mode.endswith(".jwt"):
        response = {"response": signed_response(request, application, response)}
        mode = mode.removesuffix(".jwt")
    if mode == "form_post":
        return form_post_response(redirect_uri, response)
    return response_url(redirect_uri, response, mode)
