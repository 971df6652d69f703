"""Node's openid-client 6 (panva) in a DPoP flow against the example identity provider, over HTTP.

openid-client is the relying party (tests/interop/node/dpop_client.mjs): discovery, a
pushed request with a DPoP proof (RFC 9126, RFC 9449 §10), the code exchange, a call to the
example's protected API and a refresh, each proved with the same key. A requests session
plays the browser through login and consent in between. scripts/run-tests.sh installs
the Node package (``npm ci`` in tests/interop/node); without it the test is skipped
locally and fails under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.helpers.browser_helpers import PASSWORD, USERNAME, ExampleServer, example_server  # noqa: F401
from tests.interop.test_flow import authorize_in_browser

pytestmark = [pytest.mark.live, pytest.mark.once_per_matrix]

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT_ID = "demo-dpop"
NODE_TIMEOUT = 120


def node_client_ready() -> None:
    """Skip (fail under CI) when Node or the installed openid-client is missing."""
    missing = shutil.which("node") is None or not (NODE_DIR / "node_modules" / "openid-client").is_dir()
    if missing:
        message = "openid-client is not installed: run `npm ci --prefix tests/interop/node` (scripts/run-tests.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def node(*args: str) -> Any:
    result = subprocess.run(
        ["node", str(NODE_DIR / "dpop_client.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"openid-client failed:\n{result.stderr}"
    return json.loads(result.stdout)


class _Request:
    """What authorize_in_browser checks on the consent page: no pushed value shows through it."""

    def __init__(self, state_file: Path) -> None:
        saved = json.loads(state_file.read_text())
        self.state, self.nonce, self.code_challenge = saved["state"], saved["nonce"], saved["challenge"]


def test_openid_client_dpop_flow(example_server: ExampleServer, tmp_path: Path) -> None:
    node_client_ready()
    state_file = tmp_path / "rp-state.json"
    started = node("start", example_server.issuer, CLIENT_ID, example_server.redirect_uri, str(state_file))
    authorization_url = started["authorization_url"]
    assert authorization_url.startswith(f"{example_server.issuer}/authorize/?")
    assert "request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3A" in authorization_url

    # openid-client puts request_uri first; the login page's `next` (compared below) puts client_id first.
    query = parse_qs(urlsplit(authorization_url).query)
    assert set(query) == {"client_id", "request_uri"}
    canonical = f"{example_server.issuer}/authorize/?" + urlencode(
        {"client_id": query["client_id"][0], "request_uri": query["request_uri"][0]}
    )
    location = authorize_in_browser(
        canonical,
        USERNAME,
        PASSWORD,
        _Request(state_file),  # type: ignore[arg-type]
        "Demo DPoP client",
    )
    api_url = f"{example_server.base_url}/api/me/"
    result = node("finish", example_server.issuer, CLIENT_ID, location, str(state_file), api_url)

    assert result["token_type"].lower() == "dpop"
    assert result["id_token_sub"]
    assert result["api"]["status"] == 200
    assert result["api"]["body"]["username"] == USERNAME
    assert result["api"]["body"]["token_type"] == "DPoP"
    assert result["refreshed_token_type"].lower() == "dpop"
    assert result["api_after_refresh"]["status"] == 200
    assert result["api_after_refresh"]["body"]["cnf"] == result["api"]["body"]["cnf"]
    # The access token without its key is refused (RFC 9449 §7.2).
    assert result["api_as_bearer"]["status"] == 401
    assert 'error="invalid_token"' in result["api_as_bearer"]["www_authenticate"]
