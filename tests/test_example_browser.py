"""The example identity provider, end to end, in headless Chromium.

The example project (example_project/) runs as a real server in a subprocess,
on a free port, with its own SQLite database and ID-token signing key in a
temporary directory; its ``setup_demo`` command creates the demo user and
clients. The test pushes an authorization request for ``demo-confidential``
with ``requests``, then a real browser, driven through Selenium, opens the
authorization URL, signs in as demo / demo, approves on the consent page and
lands on the demo callback page, which must show the code, the state and the
issuer. Screenshots of each page are saved in the test's temporary directory.

Chromium and chromedriver come from Debian (/usr/bin); nothing is downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from jwskate import JwkSet, SignedJwt

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO_ROOT / "example_project" / "manage.py"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

CLIENT_ID = "demo-confidential"
CLIENT_SECRET = "demo-confidential-secret"
USERNAME = PASSWORD = "demo"
APPLICATION_NAME = "Demo confidential client"

# Generous limits, for small CI machines: they bound waits, they time nothing.
COMMAND_TIMEOUT = 300
SERVER_START_TIMEOUT = 120
HTTP_TIMEOUT = 60
BROWSER_TIMEOUT = 90

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason=f"needs Debian's chromium and chromedriver at {CHROMIUM} and {CHROMEDRIVER} "
        "(apt-get install chromium chromium-driver; the project's test script installs them)",
    ),
]

# The example's settings keep their database and signing key next to them, in
# the checkout. This module, written to a temporary directory, runs the
# example's settings unchanged except for those two paths.
SETTINGS_MODULE = "example_browser_settings"
SETTINGS_TEMPLATE = """\
from pathlib import Path

from example_project.settings import *  # noqa: F401,F403
from example_project.settings import OAUTH2_PROVIDER, oidc_signing_key

DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
OAUTH2_PROVIDER = {{**OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": oidc_signing_key(Path({key_file!r}))}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ExampleServer:
    base_url: str
    log: Path

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/o"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/demo/callback/"


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Poll ``url`` until the server answers, the process dies or the deadline passes."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    pause = 0.05
    while True:
        if process.poll() is not None:
            pytest.fail(f"the example server exited with {process.returncode}:\n{tail(log)}")
        try:
            if requests.get(url, timeout=HTTP_TIMEOUT).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the example server did not answer {url} within {SERVER_START_TIMEOUT}s:\n{tail(log)}")
        time.sleep(pause)  # between polls only; readiness is the answer above
        pause = min(pause * 2, 1.0)


@pytest.fixture
def example_server(tmp_path: Path) -> Iterator[ExampleServer]:
    """The example project, migrated, bootstrapped and serving on a free port."""
    settings_dir = tmp_path / "settings"
    settings_dir.mkdir()
    (settings_dir / f"{SETTINGS_MODULE}.py").write_text(
        SETTINGS_TEMPLATE.format(database=str(tmp_path / "db.sqlite3"), key_file=str(tmp_path / "oidc.key"))
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,  # replaces the test suite's
        "PYTHONPATH": os.pathsep.join([str(settings_dir), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONUNBUFFERED": "1",
    }
    port = free_port()
    log = tmp_path / "server.log"

    def manage(*args: str) -> None:
        result = subprocess.run(
            [sys.executable, str(MANAGE_PY), *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"

    manage("migrate", "--noinput", "--verbosity", "0")
    manage("setup_demo", "--port", str(port))

    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE_PY), "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        server = ExampleServer(f"http://127.0.0.1:{port}", log)
        wait_until_serving(process, f"{server.issuer}/.well-known/openid-configuration", log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium with a fresh profile, quit whatever happens."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1024,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(argument)
    # An explicit driver path: Selenium Manager (which downloads) is never used.
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(BROWSER_TIMEOUT)
        yield driver
    finally:
        driver.quit()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def test_demo_flow_in_headless_chromium(example_server: ExampleServer, browser: Any, tmp_path: Path) -> None:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    screenshots = tmp_path / "screenshots"
    screenshots.mkdir()

    def wait_for(condition: Any, what: str) -> Any:
        try:
            return WebDriverWait(browser, BROWSER_TIMEOUT).until(condition)
        except TimeoutException:
            browser.save_screenshot(str(screenshots / "timeout.png"))
            pytest.fail(
                f"waited {BROWSER_TIMEOUT}s for {what}; the browser is at {browser.current_url} "
                f"({browser.title!r}); screenshot in {screenshots}\nserver log:\n{tail(example_server.log)}"
            )

    def on_path(path: str) -> Any:
        return lambda driver: urlsplit(driver.current_url).path == path

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
        for row in browser.find_elements(By.XPATH, "//h2[normalize-space()='Query string']/following-sibling::table[1]//tr")
        if row.find_elements(By.TAG_NAME, "th")
    }
    assert set(shown) == {"code", "state", "iss"}, shown
    assert shown["state"] == state
    assert shown["iss"] == example_server.issuer
    code = shown["code"]
    assert code
    # What the page shows is what the browser was sent.
    assert parse_qs(urlsplit(browser.current_url).query) == {"code": [code], "state": [state], "iss": [example_server.issuer]}

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

