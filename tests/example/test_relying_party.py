"""The example's home page and its relying party, over HTTP against the real example server.

The example runs as in ``scripts/run-example.sh`` (its own settings, SQLite,
``setup_demo``, ``runserver``), once for this module. A ``requests.Session``
plays the browser: it clicks a flow on ``/``, signs in, approves, follows the
answer in its response mode to the callback page, then exchanges the code. The
relying party inside the server pushes and redeems over HTTP to the same server
(runserver's threads), so these tests also show that this does not deadlock.

Not Django's test client: the relying party's back channel needs a real server,
and the example's own settings (validator, templates, CSP middleware) are what
is under test. The verification functions are also tested in-process below.
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests
from jwcrypto import jwk, jwt

from example_project.demo import rp
from tests.helpers.browser_helpers import HTTP_TIMEOUT, PASSWORD, USERNAME, ExampleServer, running_example


def live(test: Any) -> Any:
    """A test against the example server: once per tox matrix (pyproject.toml's markers)."""
    return pytest.mark.once_per_matrix(pytest.mark.live(test))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExampleServer]:
    with running_example(tmp_path_factory.mktemp("example")) as running:
        yield running


class Browser(requests.Session):
    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def csrf(page: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1)


def text(page: str) -> str:
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    return html.unescape(re.sub(r" ([.,:)])", r"\1", words))


def hidden_fields(page: str) -> dict[str, str]:
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    }


def post_form(browser: Browser, page: requests.Response, url: str, **fields: str) -> requests.Response:
    data = {"csrfmiddlewaretoken": csrf(page.text), **fields}
    return browser.post(url, data=data, headers={"Referer": page.url}, allow_redirects=False)


def start_flow(browser: Browser, server: ExampleServer, slug: str) -> str:
    """Click the flow's button on the home page; the authorization URL it sends the browser to."""
    home = browser.get(server.base_url + "/")
    assert home.status_code == 200
    started = post_form(browser, home, f"{server.base_url}/demo/start/{slug}/")
    assert started.status_code == 302, started.text[:2000]
    return str(started.headers["Location"])


def sign_in_and_allow(browser: Browser, server: ExampleServer, authorization_url: str) -> requests.Response:
    """Login (when asked) and consent; the authorization endpoint's answer."""
    answer = browser.get(authorization_url, allow_redirects=False)
    if answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/accounts/login/":
        login = browser.get(urljoin(server.base_url, answer.headers["Location"]))
        next_url = dict(parse_qsl(urlsplit(login.url).query))["next"]
        signed_in = post_form(browser, login, login.url, username=USERNAME, password=PASSWORD, next=next_url)
        assert signed_in.status_code == 302, signed_in.text[:2000]
        answer = browser.get(urljoin(server.base_url, signed_in.headers["Location"]), allow_redirects=False)
    assert answer.status_code == 200, answer.text[:2000]
    assert "Allow Demo" in answer.text  # the consent page
    return post_form(browser, answer, authorization_url, allow="Authorize")


def deliver(browser: Browser, answer: requests.Response) -> requests.Response:
    """What the browser does with the answer: follow the redirect, run the form_post
    page's script, or run the callback page's script that posts the fragment back."""
    if answer.status_code == 200:  # form_post: the auto-submitted form
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', answer.text).group(1))
        return browser.post(action, data=hidden_fields(answer.text))
    assert answer.status_code == 302, answer.text[:2000]
    location = answer.headers["Location"]
    url, _, fragment = location.partition("#")
    page = browser.get(url)
    if fragment:
        assert "fragment-form" in page.text  # the page's script would post the fragment
        return browser.post(url, data={**dict(parse_qsl(fragment)), "_delivered_in": "fragment"})
    return page


def run_flow(server: ExampleServer, slug: str) -> tuple[Browser, requests.Response]:
    browser = Browser()
    callback = deliver(browser, sign_in_and_allow(browser, server, start_flow(browser, server, slug)))
    assert callback.status_code == 200
    return browser, callback


def exchange(browser: Browser, callback: requests.Response) -> requests.Response:
    fields = hidden_fields(callback.text)
    return browser.post(
        urljoin(callback.url, "/demo/exchange/"),
        data={"csrfmiddlewaretoken": csrf(callback.text), "state": fields["state"], "code": fields["code"]},
        headers={"Referer": callback.url},
    )


@live
def test_the_home_page_offers_every_flow(server: ExampleServer) -> None:
    home = requests.get(server.base_url + "/", timeout=HTTP_TIMEOUT)
    assert home.status_code == 200
    assert "<title>Try a flow · django-par example</title>" in home.text
    for flow in rp.FLOWS:
        assert f'action="/demo/start/{flow.slug}/"' in home.text
        assert html.escape(flow.title) in home.text
    policy = home.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<style nonce="{nonce}">' in home.text


DELIVERY = {
    "confidential": ("query", False),
    "public": ("query", False),
    "private-key-jwt": ("query", False),
    "signed-request": ("query", False),
    "form-post": ("form_post", False),
    "jwt": ("query", True),
    "query-jwt": ("query", True),
    "fragment-jwt": ("fragment", True),
    "form-post-jwt": ("form_post", True),
    "prompt-login": ("query", False),
    "dpop": ("query", False),
    "authorization-details": ("query", False),
}


@live
@pytest.mark.parametrize("slug", list(DELIVERY))
def test_each_flow_ends_with_a_verified_id_token(server: ExampleServer, slug: str) -> None:
    assert set(DELIVERY) == set(rp.FLOWS_BY_SLUG)
    browser, callback = run_flow(server, slug)
    shown = text(callback.text)
    delivered, jarm = DELIVERY[slug]
    assert f"Delivered in the {delivered}." in shown
    assert "Not accepted" not in shown, shown
    assert "state matches a flow started here" in shown
    if jarm:
        assert "JARM response: claims" in shown
        assert f"aud is {rp.FLOWS_BY_SLUG[slug].client.client_id}" in shown
        assert "signature: RS256 with the server's key" in shown
    else:
        assert f"iss is {server.issuer} (RFC 9207)" in shown

    tokens = exchange(browser, callback)
    shown = text(tokens.text)
    assert tokens.status_code == 200
    assert "Not accepted" not in shown, shown
    assert "nonce is the one this flow sent" in shown
    assert re.search(r"auth_time \d+ \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)", shown), shown
    # The access token opens the example's protected API, in its scheme.
    scheme = "DPoP" if slug == "dpop" else "Bearer"
    assert re.search(rf"Authorization: {scheme} .*: 200", shown), shown
    assert f"token_type {scheme}" in shown

    again = exchange(browser, callback)  # a code is exchanged once
    assert again.status_code == 400
    assert "unknown or its code was already exchanged" in text(again.text)


@live
def test_the_dpop_flow_binds_the_tokens_to_the_clients_key(server: ExampleServer) -> None:
    browser, callback = run_flow(server, "dpop")
    shown = text(exchange(browser, callback).text)
    assert "and a DPoP proof of the flow's key" in shown
    assert re.search(r"cnf \{'jkt': '[A-Za-z0-9_-]{43}'\}", shown), shown


@live
def test_the_authorization_details_flow_shows_the_payment_and_returns_it(server: ExampleServer) -> None:
    browser = Browser()
    authorization_url = start_flow(browser, server, "authorization-details")
    answer = browser.get(authorization_url, allow_redirects=False)
    login = browser.get(urljoin(server.base_url, answer.headers["Location"]))
    next_url = dict(parse_qsl(urlsplit(login.url).query))["next"]
    signed_in = post_form(browser, login, login.url, username=USERNAME, password=PASSWORD, next=next_url)
    page = browser.get(urljoin(server.base_url, signed_in.headers["Location"]), allow_redirects=False)
    shown = text(page.text)
    assert "Merchant A" in shown and "123.50" in shown and "EUR" in shown, shown
    assert '"instructedAmount"' not in page.text  # readable, never raw JSON
    callback = deliver(browser, post_form(browser, page, authorization_url, allow="Authorize"))
    tokens = text(exchange(browser, callback).text)
    assert "authorization_details" in tokens and "Merchant A" in tokens, tokens


@live
def test_prompt_login_asks_to_sign_in_again(server: ExampleServer) -> None:
    browser, _ = run_flow(server, "confidential")  # signed in now
    answer = browser.get(start_flow(browser, server, "prompt-login"), allow_redirects=False)
    assert answer.status_code == 302 and urlsplit(answer.headers["Location"]).path == "/accounts/login/"
    plain = browser.get(start_flow(browser, server, "confidential"), allow_redirects=False)
    assert plain.status_code == 200 and "Allow Demo" in plain.text  # no login without prompt=login


@live
def test_a_response_for_no_flow_of_this_browser_is_not_accepted(server: ExampleServer) -> None:
    browser = Browser()
    answer = sign_in_and_allow(browser, server, start_flow(browser, server, "confidential"))
    stranger = Browser()  # another browser receives the response: its session never started that flow
    page = stranger.get(answer.headers["Location"])
    assert "Not accepted: This response answers no flow started in this browser" in text(page.text)
    assert 'id="exchange"' not in page.text


@live
def test_a_tampered_jarm_response_is_not_accepted(server: ExampleServer) -> None:
    browser = Browser()
    answer = sign_in_and_allow(browser, server, start_flow(browser, server, "query-jwt"))
    response = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["response"]
    header, claims, signature = response.split(".")
    forged = f"{header}.{claims[:-2]}{'A' if claims[-2] != 'A' else 'B'}{claims[-1]}.{signature}"
    page = browser.get(server.redirect_uri, params={"response": forged})
    assert "Not accepted" in text(page.text)
    assert 'id="exchange"' not in page.text


@live
def test_an_unknown_flow_is_not_found(server: ExampleServer) -> None:
    browser = Browser()
    home = browser.get(server.base_url + "/")
    missing = post_form(browser, home, f"{server.base_url}/demo/start/no-such-flow/")
    assert missing.status_code == 404


# -- the verification functions, in-process -----------------------------------------

ISSUER = "https://idp.example/o"


@pytest.fixture(scope="module")
def server_key() -> jwk.JWK:
    return jwk.JWK.generate(kty="RSA", size=2048, kid="server")


def signed(key: jwk.JWK, **claims: Any) -> str:
    now = int(time.time())
    token = jwt.JWT(
        header={"alg": "RS256", "kid": key.get("kid")}, claims={"iss": ISSUER, "aud": "rp", "exp": now + 60, **claims}
    )
    token.make_signed_token(key)
    return str(token.serialize())


def key_set(*keys: jwk.JWK) -> jwk.JWKSet:
    return jwk.JWKSet.from_json(json.dumps({"keys": [json.loads(key.export_public()) for key in keys]}))


def test_verify_jwt_accepts_the_servers_signature(server_key: jwk.JWK) -> None:
    verified = rp.verify_jwt(signed(server_key, code="c"), key_set(server_key), ISSUER, "rp")
    assert verified.claims["code"] == "c"
    assert verified.header == {"alg": "RS256", "kid": "server"}
    assert "aud is rp" in verified.checks


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "https://evil.example/o"},
        {"aud": "another-rp"},
        {"exp": int(time.time()) - 3600},
    ],
    ids=["iss", "aud", "exp"],
)
def test_verify_jwt_refuses_wrong_claims(server_key: jwk.JWK, change: dict[str, Any]) -> None:
    with pytest.raises(rp.RPError):
        rp.verify_jwt(signed(server_key, **change), key_set(server_key), ISSUER, "rp")


def test_verify_jwt_refuses_another_key(server_key: jwk.JWK) -> None:
    other = jwk.JWK.generate(kty="RSA", size=2048, kid="server")  # same kid, another key
    with pytest.raises(rp.RPError):
        rp.verify_jwt(signed(other), key_set(server_key), ISSUER, "rp")


def test_verify_jwt_refuses_an_unsigned_token(server_key: jwk.JWK) -> None:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    unsigned = f"{part({'alg': 'none'})}.{part({'iss': ISSUER, 'aud': 'rp', 'exp': int(time.time()) + 60})}."
    with pytest.raises(rp.RPError):
        rp.verify_jwt(unsigned, key_set(server_key), ISSUER, "rp")


def test_the_public_jwks_of_the_demo_key_has_no_private_part(tmp_path: Path) -> None:
    from django_par.jose.keys import check_public_key_set

    pem = jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()
    check_public_key_set(rp.client_public_jwks(pem))
