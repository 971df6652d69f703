"""response_mode=form_post in a real browser: the example identity provider in headless Chromium.

The demo client pushes a request with response_mode=form_post; Chromium signs
in as demo / demo and approves. The authorization endpoint then answers with
its auto-submitting form page, whose Content-Security-Policy allows only the
page's one inline script by its hash: with JavaScript on, the demo callback
page must show code, state and iss received by POST, which proves Chromium ran
the script under that CSP (a wrong hash leaves the browser on the form page,
and the wait below fails). With JavaScript off, the ``<noscript>`` Continue
button must be shown and must deliver the same response.

Screenshots of each step are saved in the test's temporary directory.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.helpers.browser_helpers import (  # noqa: F401  (fixtures)
    BROWSER_MARKS,
    CLIENT_ID,
    CLIENT_SECRET,
    HTTP_TIMEOUT,
    PASSWORD,
    USERNAME,
    ExampleServer,
    Waiter,
    example_server,
    on_path,
    pkce_pair,
    start_chromium,
)

pytestmark = BROWSER_MARKS


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def javascript(request: Any) -> bool:
    return bool(request.param)


@pytest.fixture
def chromium(javascript: bool, tmp_path: Path) -> Any:
    """Headless Chromium with JavaScript on, or off (profile content settings)."""
    driver = start_chromium(tmp_path, javascript=javascript, console_log=javascript)
    try:
        yield driver
    finally:
        driver.quit()


def shown_table(driver: Any, heading: str) -> dict[str, str]:
    """The name/value rows the demo callback page shows under ``heading``."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.XPATH, f"//h2[normalize-space()='{heading}']/following-sibling::table[1]//tr")
    return {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in rows
        if row.find_elements(By.TAG_NAME, "th")
    }


def test_form_post_reaches_the_demo_callback_by_post(
    example_server: ExampleServer, chromium: Any, javascript: bool, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC

    driver = chromium
    screenshots = tmp_path / "screenshots"

    wait_for = Waiter(driver, screenshots, example_server).until

    # 1. The client pushes a form_post request.
    state = "st&te<" + secrets.token_urlsafe(16)  # characters the form must escape
    code_verifier, code_challenge = pkce_pair()
    pushed = requests.post(
        f"{example_server.issuer}/par/",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={
            "response_type": "code",
            "response_mode": "form_post",
            "redirect_uri": example_server.redirect_uri,
            "scope": "openid read",
            "state": state,
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert pushed.status_code == 201, pushed.text
    request_uri = pushed.json()["request_uri"]

    # 2. Sign in.
    driver.get(f"{example_server.issuer}/authorize/?" + urlencode({"client_id": CLIENT_ID, "request_uri": request_uri}))
    wait_for(on_path("/accounts/login/"), "the login page")
    wait_for(EC.visibility_of_element_located((By.NAME, "username")), "the username field").send_keys(USERNAME)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()

    # 3. Approve.
    allow = wait_for(EC.element_to_be_clickable((By.NAME, "allow")), "the consent page's Authorize button")
    assert urlsplit(driver.current_url).path == "/o/authorize/"
    allow.click()

    if not javascript:
        # 4a. Without JavaScript the form page stays, showing its Continue button.
        button = wait_for(
            EC.element_to_be_clickable((By.XPATH, "//form//noscript//button")),
            "the form_post page's Continue button",
        )
        assert button.text == "Continue"
        # Styled without JavaScript: the page's nonced <style> applied under its CSP.
        assert button.value_of_css_property("background-color") == "rgba(37, 99, 235, 1)"
        assert urlsplit(driver.current_url).path == "/o/authorize/"
        driver.save_screenshot(str(screenshots / "form-post-noscript.png"))
        button.click()

    # 4. The browser POSTs the response to the demo callback page.
    console: list[str] = []

    def at_callback_or_csp_violation(d: Any) -> bool:
        if javascript:
            console.extend(entry["message"] for entry in d.get_log("browser"))
            violations = [message for message in console if "Content Security Policy" in message]
            if violations:  # a blocked script: fail now, with Chromium's reason
                driver.save_screenshot(str(screenshots / "csp-violation.png"))
                pytest.fail(f"Chromium refused the form_post page's script: {violations}")
        return bool(on_path("/demo/callback/")(d))

    wait_for(at_callback_or_csp_violation, "the demo callback page")
    wait_for(EC.visibility_of_element_located((By.TAG_NAME, "h1")), "the callback page's heading")
    driver.save_screenshot(str(screenshots / f"callback-{'js' if javascript else 'nojs'}.png"))
    print(f"screenshots: {screenshots}")

    # The test pushed this request itself, not through the demo relying party, so the page
    # shows the response as received without accepting it (no flow of this browser has that state).
    posted = shown_table(driver, "As received")
    assert set(posted) == {"code", "state", "iss"}, posted
    assert posted["state"] == state
    assert posted["iss"] == example_server.issuer
    assert posted["code"]
    assert "Delivered in the form_post." in driver.find_element(By.CSS_SELECTOR, "p.note").text
    assert parse_qs(urlsplit(driver.current_url).query) == {}
    assert urlsplit(driver.current_url).fragment == ""

    if javascript:
        # Chromium reported no CSP violation on the way (a blocked script would be one).
        console.extend(entry["message"] for entry in driver.get_log("browser"))
        assert [message for message in console if "Content Security Policy" in message] == []

    # 5. The posted code is a real one.
    token = requests.post(
        f"{example_server.issuer}/token/",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={
            "grant_type": "authorization_code",
            "code": posted["code"],
            "redirect_uri": example_server.redirect_uri,
            "code_verifier": code_verifier,
        },
        timeout=HTTP_TIMEOUT,
    )
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]
