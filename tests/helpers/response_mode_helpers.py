"""Reading authorization responses delivered in the form_post and JWT (JARM) response modes.

A form_post answer is an HTML page; :func:`form_post_page` parses it the way a
browser would see it (form, hidden inputs, inline scripts, the ``<noscript>``
button) together with its Content-Security-Policy. A JARM answer is one signed
JWT; :func:`verify_response_jwt` checks it against the server's published JWKS,
as a client would, and can fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.test import Client
from jwcrypto import jwk, jws

DISCOVERY_PATH = "/o/.well-known/openid-configuration"
JWKS_PATH = "/o/.well-known/jwks.json"


# -- form_post -------------------------------------------------------------------


@dataclass
class FormPostPage:
    html: str
    forms: list[dict[str, str | None]] = field(default_factory=list)
    # (name, value) of every <input> inside a form, in document order.
    inputs: list[dict[str, str | None]] = field(default_factory=list)
    # The text of every inline <script>, exactly as sent.
    scripts: list[str] = field(default_factory=list)
    script_attrs: list[dict[str, str | None]] = field(default_factory=list)
    # <button>s inside a <noscript> inside the form.
    noscript_buttons: list[dict[str, str | None]] = field(default_factory=list)
    # Attributes of any element that CSP would block or that would run script.
    event_handlers: list[str] = field(default_factory=list)
    csp: dict[str, list[str]] = field(default_factory=dict)

    @property
    def action(self) -> str | None:
        assert len(self.forms) == 1, self.forms
        return self.forms[0].get("action")

    @property
    def fields(self) -> dict[str, str]:
        """The hidden fields the form submits, by name (each name once)."""
        names = [attrs.get("name") for attrs in self.inputs]
        assert len(names) == len(set(names)), f"repeated field names: {names}"
        for attrs in self.inputs:
            assert attrs.get("type") == "hidden", attrs
        return {str(attrs["name"]): str(attrs.get("value") or "") for attrs in self.inputs}


class _FormPostParser(HTMLParser):
    def __init__(self, page: FormPostPage) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.in_form = 0
        self.in_noscript = 0
        self.script_text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.page.event_handlers += [name for name in attributes if name.startswith("on")]
        if tag == "form":
            self.page.forms.append(attributes)
            self.in_form += 1
        elif tag == "input" and self.in_form:
            self.page.inputs.append(attributes)
        elif tag == "noscript":
            self.in_noscript += 1
        elif tag == "button" and self.in_form and self.in_noscript:
            self.page.noscript_buttons.append(attributes)
        elif tag == "script":
            self.page.script_attrs.append(attributes)
            self.script_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form -= 1
        elif tag == "noscript":
            self.in_noscript -= 1
        elif tag == "script" and self.script_text is not None:
            self.page.scripts.append("".join(self.script_text))
            self.script_text = None

    def handle_data(self, data: str) -> None:
        if self.script_text is not None:
            self.script_text.append(data)


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [source, ...]} (CSP3 §2.2.1)."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        tokens = part.split()
        if tokens:
            name = tokens[0].lower()
            assert name not in directives, f"directive {name} given twice in {header!r}"
            directives[name] = tokens[1:]
    return directives


def script_hash(text: str) -> str:
    """The CSP hash-source of an inline script (CSP3 §8.4: over its UTF-8 text)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def form_post_page(response: Any) -> FormPostPage:
    """The parsed form_post page of an authorization endpoint answer (never a redirect)."""
    assert response.status_code == 200, (response.status_code, response.get("Location"), response.content[:300])
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    cache_control = [part.strip() for part in response["Cache-Control"].split(",")]
    assert "no-store" in cache_control, response["Cache-Control"]
    page = FormPostPage(html=response.content.decode("utf-8"))
    parser = _FormPostParser(page)
    parser.feed(page.html)
    parser.close()
    assert response.has_header("Content-Security-Policy"), "the form_post page has no CSP"
    page.csp = csp_directives(response["Content-Security-Policy"])
    return page


def assert_form_post(page: FormPostPage, redirect_uri: str) -> dict[str, str]:
    """The page POSTs its fields to ``redirect_uri`` under a CSP that allows only that.

    Returns the submitted fields.
    """
    assert len(page.forms) == 1, page.forms
    assert (page.forms[0].get("method") or "").lower() == "post", page.forms
    assert page.action == redirect_uri
    # One inline script, and the CSP allows exactly it, by the hash of what was sent.
    assert len(page.scripts) == 1, page.scripts
    assert "src" not in page.script_attrs[0], page.script_attrs
    assert page.scripts[0].strip(), "empty script"
    assert page.csp.get("script-src") == [script_hash(page.scripts[0])], page.csp
    assert page.csp.get("default-src") == ["'none'"], page.csp
    # No form-action: browsers apply it to redirects after the POST, which would
    # block a client whose callback redirects to another origin.
    assert "form-action" not in page.csp, page.csp
    assert page.csp.get("frame-ancestors") == ["'none'"], page.csp
    assert not page.event_handlers, page.event_handlers  # no inline handlers: CSP would block them
    # Without JavaScript, a button of the form submits it.
    assert page.noscript_buttons, "no <button> in a <noscript> in the form"
    assert all((button.get("type") or "submit") == "submit" for button in page.noscript_buttons)
    return page.fields


# -- JWT-secured authorization responses (JARM) -------------------------------------


def server_issuer(client: Client | None = None) -> str:
    """The issuer the server publishes in its OpenID Connect discovery document."""
    response = (client or Client()).get(DISCOVERY_PATH)
    assert response.status_code == 200, response.content
    return str(response.json()["issuer"])


def server_jwks(client: Client | None = None) -> jwk.JWKSet:
    """The server's public keys, as published at its jwks_uri."""
    response = (client or Client()).get(JWKS_PATH)
    assert response.status_code == 200, response.content
    return jwk.JWKSet.from_json(response.content)


def jose_header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


@dataclass
class VerifiedResponse:
    header: dict[str, Any]
    claims: dict[str, Any]


def verify_response_jwt(
    token: str,
    keys: jwk.JWKSet,
    *,
    issuer: str,
    client_id: str,
    lifetime: int,
    algs: tuple[str, ...] = ("RS256", "PS256"),
    honour_jwk_alg: bool = True,
) -> VerifiedResponse:
    """Check a JARM ``response`` JWT as the client must (JARM §2.4); raise on any failure.

    The signature must verify with the key named by ``kid`` in the server's JWKS;
    iss, aud and exp must be right and exp no later than ``lifetime`` from now.
    With ``honour_jwk_alg`` a key whose JWK names an ``alg`` (RFC 7517 §4.4) is
    used for that algorithm only, as strict clients do (panva's jose, for one,
    selects JWKS keys that way).
    """
    assert token.count(".") == 2, "not a compact JWS"
    header = jose_header(token)
    assert header.get("alg") in algs, header
    kid = header.get("kid")
    assert kid, header
    key = keys.get_key(kid)
    assert key is not None, f"kid {kid!r} is not in the server's JWKS {[k.get('kid') for k in keys]}"
    if honour_jwk_alg and key.get("alg") is not None:
        assert key.get("alg") == header["alg"], (
            f"the JWKS publishes key {kid!r} for {key.get('alg')}, the response is signed with {header['alg']}"
        )
    signed = jws.JWS()
    signed.deserialize(token)
    signed.verify(key, alg=header["alg"])  # raises jws.InvalidJWSSignature
    claims = dict(json.loads(signed.payload))
    assert claims.get("iss") == issuer, claims
    assert claims.get("aud") == client_id, claims
    now = time.time()
    assert isinstance(claims.get("exp"), int), claims
    assert now < claims["exp"] <= now + lifetime + 1, (claims["exp"], now, lifetime)
    return VerifiedResponse(header=header, claims=claims)
