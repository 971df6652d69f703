"""The example identity provider, end to end, in headless Chromium.

The example project (example_project/) runs as a real server in a subprocess,
on a free port, with its own SQLite database and ID-token signing key in a
temporary directory; its ``setup_demo`` command creates the demo user and
clients. The test pushes an authorization request for ``demo-confidential``
with ``requests``, then a real browser, driven through Selenium, opens the
authorization URL, signs in as demo / demo, approves on the consent page and
lands on the demo callback page, which must show the code, the state and the
issuer. Screenshots of each page are saved in the test's temporary directory.

The server and browser fixtures are in tests/browser_helpers.py. Chromium and
chromedriver come from Debian (/usr/bin); nothing is downloaded.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from jwskate import JwkSet, SignedJwt

from tests.helpers.browser_helpers import (  # noqa: F401  (fixtures)
    APPLICATION_NAME,
    BROWSER_MARKS,
    CLIENT_ID,
    CLIENT_SECRET,
    HTTP_TIMEOUT,
    PASSWORD,
    USERNAME,
    ExampleServer,
    Waiter,
    browser,
    example_server,
    on_path,
    pkce_pair,
)

pytestmark = BROWSER_MARKS


def test_demo_flow_in_headless_chromium(example_server: ExampleServer, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    screenshots = tmp_path / "screenshots"

    wait_for = Waiter(browser, screenshots, example_server).until

    # 1. The client pushes its request (client_secret_basic, PKCE S256, nonce).
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    code_verifier, code_challenge = pkce_pair()
    pushed = requests.post(
        f"{example_server.issuer}/par/",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={
            "response_type": "code",
            "redirect_uri": example_server.redirect_uri,
            "scope": "openid read",
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]
    authorization_url = f"{example_server.issuer}/authorize/?" + urlencode(
        {"client_id": CLIENT_ID, "request_uri": request_uri}
    )

    # 2. The browser opens the authorization URL and is sent to sign in.
    browser.get(authorization_url)
    wait_for(on_path("/accounts/login/"), "the login page")
    username = wait_for(EC.visibility_of_element_located((By.NAME, "username")), "the username field")
    browser.save_screenshot(str(screenshots / "1-login.png"))
    username.send_keys(USERNAME)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form [type=submit]").click()

    # 3. Back at the authorization endpoint: the consent page.
    allow = wait_for(EC.element_to_be_clickable((By.NAME, "allow")), "the consent page's Authorize button")
    assert urlsplit(browser.current_url).path == "/o/authorize/"
    assert parse_qs(urlsplit(browser.current_url).query) == {"client_id": [CLIENT_ID], "request_uri": [request_uri]}
    assert APPLICATION_NAME in browser.page_source
    browser.save_screenshot(str(screenshots / "2-consent.png"))
    allow.click()

    # 4. Redirected to the demo client's callback page, which shows the response.
    wait_for(on_path("/demo/callback/"), "the demo callback page")
    wait_for(EC.visibility_of_element_located((By.TAG_NAME, "h1")), "the callback page's heading")
    browser.save_screenshot(str(screenshots / "3-callback.png"))
    print(f"screenshots: {screenshots}")

    shown = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in browser.find_elements(
            By.XPATH, "//h2[normalize-space()='As received']/following-sibling::table[1]//tr"
        )
        if row.find_elements(By.TAG_NAME, "th")
    }
    assert set(shown) == {"code", "state", "iss"}, shown
    assert shown["state"] == state
    assert shown["iss"] == example_server.issuer
    code = shown["code"]
    assert code
    # What the page shows is what the browser was sent.
    assert parse_qs(urlsplit(browser.current_url).query) == {
        "code": [code],
        "state": [state],
        "iss": [example_server.issuer],
    }

    # 5. The shown code is a real one: the client exchanges it for tokens.
    token = requests.post(
        f"{example_server.issuer}/token/",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": example_server.redirect_uri,
            "code_verifier": code_verifier,
        },
        timeout=HTTP_TIMEOUT,
    )
    assert token.status_code == 200, token.text
    tokens = token.json()
    assert tokens["access_token"] and tokens["id_token"]
    assert set(tokens["scope"].split()) == {"openid", "read"}
    jwks = JwkSet(requests.get(f"{example_server.issuer}/.well-known/jwks.json", timeout=HTTP_TIMEOUT).json())
    id_token = SignedJwt(tokens["id_token"])
    id_token.validate(
        jwks.get_jwk_by_kid(id_token.kid), alg="RS256", issuer=example_server.issuer, audience=CLIENT_ID, nonce=nonce
    )
