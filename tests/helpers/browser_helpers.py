"""Running the example identity provider and a headless Chromium for browser tests.

The example project (example_project/) runs as a real server in a subprocess,
on a free port, with its own SQLite database and ID-token signing key in a
temporary directory; its ``setup_demo`` command creates the demo user and
clients. Chromium and chromedriver come from Debian (/usr/bin); nothing is
downloaded (Selenium Manager is never used: the driver path is explicit).

Test modules import the fixtures by name (``example_server``, ``browser``) and
mark themselves with ``BROWSER_MARKS``.
"""

from __future__ import annotations

import base64
import contextlib
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
from urllib.parse import urlsplit

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
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

BROWSER_MARKS = [
    pytest.mark.live,
    pytest.mark.once_per_matrix,
    pytest.mark.skipif(
        not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
        reason=f"needs Debian's chromium and chromedriver at {CHROMIUM} and {CHROMEDRIVER} "
        "(apt-get install chromium chromium-driver; the project's test script installs them)",
    ),
]

CHROMIUM_ARGUMENTS = (
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
)

# The example's settings keep their database and keys next to them, in
# the checkout. This module, written to a temporary directory, runs the
# example's settings unchanged except for those paths.
SETTINGS_MODULE = "example_browser_settings"
SETTINGS_TEMPLATE = """\
from pathlib import Path

from example_project.settings import *  # noqa: F401,F403
from example_project.settings import OAUTH2_PROVIDER, oidc_signing_key

DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
OAUTH2_PROVIDER = {{**OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": oidc_signing_key(Path({key_file!r}))}}
DEMO_RP_PRIVATE_KEY = oidc_signing_key(Path({key_file!r} + ".rp"))
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


@contextlib.contextmanager
def running_example(tmp_path: Path) -> Iterator[ExampleServer]:
    """The example project, migrated, bootstrapped and serving on a free port, files in ``tmp_path``."""
    if os.environ.get("DJANGO_PAR_TEST_DB", "sqlite") != "sqlite":
        # The example serves from its own SQLite file whatever the env's database: in the
        # PostgreSQL and MariaDB envs these tests would repeat the SQLite envs' (Django 4.2, 5.2
        # and 6.0; DOT 3.0 and 3.4) at minutes of CI time and no added coverage.
        pytest.skip("the example runs on its own SQLite database: its tests run in the SQLite envs")
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
def example_server(tmp_path: Path) -> Iterator[ExampleServer]:
    """The example project, serving for one test."""
    with running_example(tmp_path) as server:
        yield server


def start_chromium(workdir: Path, *, javascript: bool = True, console_log: bool = False) -> Any:
    """Headless Chromium with a fresh profile in ``workdir``; the caller quits it.

    ``javascript=False`` turns scripting off through the profile's content
    settings; ``console_log=True`` keeps the page console for ``get_log("browser")``.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_ARGUMENTS, f"--user-data-dir={workdir / 'chromium-profile'}"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which downloads) is never used.
    service = Service(executable_path=CHROMEDRIVER, log_output=str(workdir / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(BROWSER_TIMEOUT)
    except BaseException:
        driver.quit()
        raise
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium with a fresh profile, quit whatever happens."""
    driver = start_chromium(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Waiter:
    """Explicit waits that fail with a screenshot, the page and the server log."""

    def __init__(self, driver: Any, screenshots: Path, server: ExampleServer) -> None:
        self.driver, self.screenshots, self.server = driver, screenshots, server
        screenshots.mkdir(exist_ok=True)

    def until(self, condition: Any, what: str) -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, BROWSER_TIMEOUT).until(condition)
        except TimeoutException:
            self.driver.save_screenshot(str(self.screenshots / "timeout.png"))
            pytest.fail(
                f"waited {BROWSER_TIMEOUT}s for {what}; the browser is at {self.driver.current_url} "
                f"({self.driver.title!r}); screenshot in {self.screenshots}\nserver log:\n{tail(self.server.log)}"
            )


def on_path(path: str) -> Any:
    """A wait condition: the browser is at ``path``."""
    return lambda driver: urlsplit(driver.current_url).path == path
