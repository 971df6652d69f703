"""A legitimate push's latency while attackers push naming a client whose jwks_uri is slow.

    PYTHONPATH=. /path/to/venv/bin/python benchmarks/jwks_attack.py [--seconds 20] [--attackers 8]
        [--delay 1.5] [--workers 4]

The venv needs this checkout's dependencies and gunicorn (``bash benchmarks/run.sh`` makes one in
``benchmarks/.venv``), and Redis on 127.0.0.1:6379 (the shared cache of benchmarks.settings).

What runs: a key host on 127.0.0.1 (HTTPS, a certificate made here) that answers every request
with a 503 after ``--delay`` seconds and counts them; the example project under gunicorn (sync
workers, SQLite, Redis cache) trusting that host. Two clients: the attacked one (private_key_jwt,
its jwks_uri on the slow host) and a legitimate one (client_secret_basic). First the legitimate
client pushes alone for ``--seconds``, then again while ``--attackers`` threads push, as fast as
they are answered, client assertions naming the attacked client. Printed: the legitimate push's
median and 90th percentile latency in both phases, the attackers' answers and how many times the
key host was asked.

Measured on the 2-core development VM (defaults: 8 attackers, 1.5 s, 4 workers, 20 s per phase;
the "before" run is this script copied into an export of commit dc4afa9):

==========  =====================  ========================  ===================  ================
code        legitimate push alone  legitimate under attack   attackers' answers   key host fetches
==========  =====================  ========================  ===================  ================
before      median 3 ms, p90 9     median 2973 ms, p90 3166  61 (all 401)         61
after       median 3 ms, p90 8     median 26 ms, p90 54      4374 (all 401)       3
==========  =====================  ========================  ===================  ================

Before, every attacking push held a sync worker for the 1.5 s fetch, so the legitimate push queued
behind them. After, the failure is remembered (backoff 5 s, then 10 s: fetches at about 0, 6.5 and
18 s) and the attackers are answered at once; what remains is their CPU load on the two cores
(rate limits are another matter).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jwcrypto import jwk, jws

ROOT = Path(__file__).resolve().parent.parent
REDIRECT_URI = "https://legit.example/callback"
SECRET = "legitimate-client-secret"


def certificate(directory: Path) -> Path:
    """The test suite's self-signed certificate for 127.0.0.1, with its key, in one PEM file."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers.tls import make_certificate

    cert_file, key_file = make_certificate(directory)
    path = directory / "keyhost.pem"
    path.write_bytes(cert_file.read_bytes() + key_file.read_bytes())
    return path


class SlowKeyHost:
    """Answers 503 after ``delay`` seconds; counts the requests."""

    def __init__(self, pem: Path, delay: float) -> None:
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                owner.fetches += 1
                time.sleep(delay)
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


SETUP = """
from oauth2_provider.models import get_application_model
from django_par.models import ClientMetadata
Application = get_application_model()
common = dict(client_type="confidential", authorization_grant_type="authorization-code", redirect_uris={redirect!r})
Application.objects.create(client_id="legit", client_secret={secret!r}, name="legit", **common)
attacked = Application.objects.create(client_id="attacked", client_secret="unused", name="attacked", **common)
ClientMetadata.objects.create(application=attacked, token_endpoint_auth_method="private_key_jwt", jwks_uri={uri!r})
"""


def push(port: int, body: str, headers: dict[str, str]) -> tuple[int, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/o/par/", body, {"Content-Type": "application/x-www-form-urlencoded", **headers})
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, time.monotonic() - started


def legitimate_body() -> str:
    challenge = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    return (
        f"response_type=code&client_id=legit&redirect_uri={REDIRECT_URI}&scope=read"
        f"&code_challenge={challenge}&code_challenge_method=S256&state={uuid.uuid4().hex}"
    )


def attack_body(port: int, key: jwk.JWK) -> str:
    now = int(time.time())
    claims = {
        "iss": "attacked",
        "sub": "attacked",
        "aud": f"http://127.0.0.1:{port}/o/par/",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 60,
    }
    token = jws.JWS(json.dumps(claims))
    token.add_signature(key, "ES256", protected={"alg": "ES256", "kid": "attacker"})
    assertion = token.serialize(compact=True)
    return (
        f"{legitimate_body().replace('client_id=legit', 'client_id=attacked')}"
        "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
        f"&client_assertion={assertion}"
    )


def legitimate_latencies(port: int, seconds: float) -> list[float]:
    authorization = "Basic " + base64.b64encode(f"legit:{SECRET}".encode()).decode()
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status, elapsed = push(port, legitimate_body(), {"Authorization": authorization})
        if status != 201:
            raise SystemExit(f"the legitimate push got {status}")
        latencies.append(elapsed)
        time.sleep(0.05)
    return latencies


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p90 = ordered[int(len(ordered) * 0.9)]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, {len(ordered)} pushes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--attackers", type=int, default=8)
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="django-par-jwks-attack-"))
    pem = certificate(workdir)
    host = SlowKeyHost(pem, args.delay)
    (workdir / "jwks_attack_settings.py").write_text(
        "from benchmarks.settings import *  # noqa: F403\n"
        "from benchmarks.settings import DJANGO_PAR as BASE\n"
        f"DJANGO_PAR = {{**BASE, 'JWKS_URI_CA_BUNDLE': {str(pem)!r}, 'JWKS_URI_ALLOW_PRIVATE_ADDRESSES': True}}\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{workdir}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "jwks_attack_settings",
        "BENCH_DB": "sqlite",
        "BENCH_SQLITE_PATH": str(workdir / "db.sqlite3"),
        "BENCH_CACHE_PREFIX": f"jwks-attack-{uuid.uuid4().hex}",
    }
    django = [sys.executable, "-m", "django"]
    subprocess.run([*django, "migrate", "-v0"], env=env, check=True)
    setup = SETUP.format(redirect=REDIRECT_URI, secret=SECRET, uri=host.url)
    subprocess.run([*django, "shell", "-c", setup], env=env, check=True)
    port = free_port()
    gunicorn = ["--workers", str(args.workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120"]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *gunicorn, "--log-level", "warning", "benchmarks.wsgi:application"],
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        legitimate_latencies(port, 2)  # warm-up: every worker loads the client and hashes its secret once
        alone = legitimate_latencies(port, args.seconds)

        stop = threading.Event()
        answers: dict[int, int] = {}
        key = jwk.JWK.generate(kty="EC", crv="P-256")

        def attacker() -> None:
            while not stop.is_set():
                status, _ = push(port, attack_body(port, key), {})
                answers[status] = answers.get(status, 0) + 1

        threads = [threading.Thread(target=attacker, daemon=True) for _ in range(args.attackers)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        attacked = legitimate_latencies(port, args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"legitimate push alone:        {summary(alone)}")
    print(f"legitimate push under attack: {summary(attacked)}")
    print(f"attackers ({args.attackers}, key host answering 503 after {args.delay:g} s): answers {answers}")
    print(f"key host fetches: {host.fetches}")


if __name__ == "__main__":
    main()
