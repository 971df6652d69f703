"""The example's pages as a person sees them, in headless Chromium.

From the home page (the demo relying party) a click starts a flow: the
confidential client's through login and consent to a callback that shows the
verified response, then the token exchange with the decoded ID token; a JARM
flow whose response JWT is decoded and verified on the callback; the error page
of a spent sign-in link; the admin's overview. Every page must carry a title and
a Content-Security-Policy, and Chromium must report no CSP violation (an inline
style or script without the page's nonce would be one). Screenshots are saved in
``SCREENSHOTS`` (under /tmp) for people to look at; the assertions are on the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.helpers.browser_helpers import (  # noqa: F401  (fixtures)
    BROWSER_MARKS,
    HTTP_TIMEOUT,
    PASSWORD,
    USERNAME,
    ExampleServer,
    Waiter,
    example_server,
    on_path,
    start_chromium,
)

pytestmark = BROWSER_MARKS

SCREENSHOTS = Path("/tmp/django-par-screenshots")


@pytest.fixture
def chromium(tmp_path: Path) -> Any:
    driver = start_chromium(tmp_path, console_log=True)
    try:
        yield driver
    finally:
        driver.quit()


class Pages:
    """The browser, with a wait that fails with a screenshot, and the checks every page gets."""

    def __init__(self, driver: Any, server: ExampleServer, name: str) -> None:
        self.driver, self.server = driver, server
        self.folder = SCREENSHOTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        self.wait_for = Waiter(driver, self.folder, server).until
        self.console: list[str] = []

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def shows(self, words: str) -> Any:
        """A wait condition: the page's text has ``words`` (a page replaced meanwhile is not yet it)."""
        from selenium.common.exceptions import StaleElementReferenceException

        def condition(driver: Any) -> bool:
            try:
                return words in self.text()
            except StaleElementReferenceException:  # the page navigated between find and read
                return False

        return condition

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.folder / f"{name}.png"))

    def checked(self, name: str, title: str) -> str:
        """The page has ``title`` in its <title>, no CSP violation so far; a screenshot."""
        assert title in self.driver.title, self.driver.title
        self.console.extend(entry["message"] for entry in self.driver.get_log("browser"))
        assert [m for m in self.console if "Content Security Policy" in m] == []
        self.shot(name)
        return self.text()

    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        self.wait_for(EC.element_to_be_clickable((By.CSS_SELECTOR, css)), css).click()

    def button(self, label: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        xpath = f"//button[normalize-space()='{label}']"
        self.wait_for(EC.element_to_be_clickable((By.XPATH, xpath)), f"the button {label!r}").click()

    def sign_in(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC

        self.wait_for(on_path("/accounts/login/"), "the login page")
        field = self.wait_for(EC.visibility_of_element_located((By.NAME, "username")), "the username field")
        self.checked("login", "Sign in")
        field.send_keys(USERNAME)
        self.driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        self.button("Sign in")


def csp_of(url: str) -> str:
    return requests.get(url, timeout=HTTP_TIMEOUT).headers.get("Content-Security-Policy", "")


def test_home_confidential_flow_to_decoded_id_token(example_server: ExampleServer, chromium: Any) -> None:
    from selenium.webdriver.support import expected_conditions as EC

    pages = Pages(chromium, example_server, "confidential")
    chromium.get(example_server.base_url + "/")
    home = pages.checked("home", "Try a flow")
    for title in ("Confidential client", "Public client with PKCE", "private_key_jwt", "Signed request object"):
        assert title in home
    assert "JARM: form_post.jwt" in home and "prompt=login" in home
    assert "nonce-" in csp_of(example_server.base_url + "/")

    pages.button("Confidential client")
    pages.sign_in()
    pages.wait_for(EC.title_contains("Allow"), "the consent page")
    consent = pages.checked("consent", "Allow Demo confidential client?")
    assert "Signed in as demo." in consent
    pages.button("Allow")

    pages.wait_for(on_path("/demo/callback/"), "the callback page")
    callback = pages.checked("callback", "Authorization response")
    assert "Flow: Confidential client, client demo-confidential." in callback
    assert f"iss is {example_server.issuer} (RFC 9207)" in callback
    assert "state matches a flow started here" in callback
    assert "Not accepted" not in callback

    pages.button("Exchange the code for tokens")
    pages.wait_for(on_path("/demo/exchange/"), "the tokens page")
    tokens = pages.checked("tokens", "Tokens")
    assert "nonce is the one this flow sent" in tokens
    assert "aud is demo-confidential" in tokens
    assert "signature: RS256 with the server's key" in tokens
    # The decoded claims, one per row.
    assert "sub" in tokens and "auth_time" in tokens and "Not accepted" not in tokens


def test_jarm_response_is_decoded_and_verified(example_server: ExampleServer, chromium: Any) -> None:
    pages = Pages(chromium, example_server, "jarm")
    chromium.get(example_server.base_url + "/")
    pages.button("JARM: fragment.jwt")
    pages.sign_in()
    pages.button("Allow")
    pages.wait_for(pages.shows("Delivered in the fragment"), "the callback with the posted fragment")
    callback = pages.checked("callback-fragment-jwt", "Authorization response")
    assert "JARM response: claims" in callback
    assert "signature: RS256 with the server's key" in callback
    assert "aud is demo-confidential" in callback
    assert urlsplit(chromium.current_url).fragment == ""  # the script took the response out of the address bar
    pages.button("Exchange the code for tokens")
    pages.wait_for(on_path("/demo/exchange/"), "the tokens page")
    assert "nonce is the one this flow sent" in pages.checked("tokens-fragment-jwt", "Tokens")


def test_spent_sign_in_link_says_what_to_do(example_server: ExampleServer, chromium: Any) -> None:
    pages = Pages(chromium, example_server, "errors")
    chromium.get(example_server.base_url + "/")
    pages.button("Confidential client")
    pages.sign_in()
    pages.wait_for(lambda d: d.title.startswith("Allow"), "the consent page")
    authorization_url = chromium.current_url
    pages.button("Allow")
    pages.wait_for(on_path("/demo/callback/"), "the callback page")

    chromium.get(authorization_url)  # the same sign-in link again: spent
    text = pages.checked("spent", "Sign-in link already used")
    assert "This sign-in link has already been used" in text
    assert "Return to the application and start again." in text
    assert "Back to Demo confidential client" in text
    assert "Error: invalid_request_uri" in text
    csp = requests.get(authorization_url, timeout=HTTP_TIMEOUT).headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none'")

    chromium.get(f"{example_server.issuer}/authorize/?client_id=demo-confidential&request_uri=urn:x")
    assert "This sign-in link is not one this server knows" in pages.checked("unknown", "Sign-in link not recognised")


def test_admin_overview_shows_the_chart(example_server: ExampleServer, chromium: Any) -> None:
    from selenium.webdriver.common.by import By

    pages = Pages(chromium, example_server, "admin")
    chromium.get(example_server.base_url + "/")
    pages.button("Public client with PKCE")  # one pushed request to count
    pages.sign_in()
    pages.wait_for(lambda d: d.title.startswith("Allow"), "the consent page")
    chromium.get(example_server.base_url + "/admin/django_par/pushedrequest/overview/")
    text = pages.checked("overview", "the last 24 hours")
    assert "Pushes per hour" in text and "By client" in text
    assert "demo-public" in text
    assert chromium.find_element(By.ID, "par-chart").size["height"] > 100
    chromium.get(example_server.base_url + "/admin/django_par/pushedrequest/")
    assert "in use" in pages.checked("changelist", "pushed authorization request")

    # DOT's application page with the PAR client metadata inline, under the example's CSP.
    chromium.get(example_server.base_url + "/admin/oauth2_provider/application/?q=private_key_jwt")
    chromium.find_element(By.CSS_SELECTOR, "#result_list tbody tr a").click()
    pages.wait_for(lambda d: "Change application" in d.title, "the application's change page")
    application = pages.checked("application", "Change application")
    assert "PAR CLIENT METADATA" in application.upper()
    textarea = chromium.find_element(By.NAME, "par_metadata-0-jwks")
    chromium.execute_script("arguments[0].scrollIntoView()", textarea)
    pages.shot("application-inline")
    jwks = textarea.get_attribute("value")
    assert '"keys"' in jwks and '"d"' not in jwks  # the registered public key, as indented JSON
