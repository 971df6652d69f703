"""Does a failed client authentication at the PAR endpoint tell an unknown client from a known one by time?

    python benchmarks/auth_timing.py [--requests 2000]                     # SQLite
    BENCH_DB=postgresql python benchmarks/auth_timing.py                   # PostgreSQL

In-process (Django's test client through the full middleware stack) on a fresh
temporary database, with the benchmark settings (caches as in production: the
client and verified-secret caches in process, Redis on 127.0.0.1:6379 as the
default cache). Pairs of failing pushes are sent interleaved, so that drift hits
both alike, after a warm-up that fills every cache (a known client's verified
secret included):

* ``client_secret_basic``: a known client with a wrong secret, against unknown client ids;
* ``private_key_jwt``: an assertion naming a known client with no keys registered, against
  assertions naming unknown clients.

An unknown id is tried two ways: the same one again and again (as an attacker
timing one id would), and a new one each time. Printed per case: the reason the
server recorded, then the wall-clock quartiles (ms) of one request, as an
attacker timing the answers would see them.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))

from benchmarks.scratch import scratch_database  # noqa: E402

SECRET = "auth-timing-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
BODY = "response_type=code&redirect_uri=https%3A%2F%2Fclient.example.org%2Fcb&scope=openid"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per case (default 2000)")
    args = parser.parse_args()
    with scratch_database("authtiming"):
        measure(args.requests)


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def unsigned_assertion(client_id: str) -> str:
    """An RS256-looking assertion; its signature is never reached (no client, or no keys)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": "http://testserver/o", "jti": str(uuid.uuid4())}
    claims.update(iat=now, exp=now + 60)
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{'A' * 342}"


def quartiles(samples: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles(samples, n=4)
    return f"{q1:.3f} / {q2:.3f} / {q3:.3f}"


def measure(requests: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from oauth2_provider.models import get_application_model

    from django_par.signals import request_rejected

    setup_test_environment()  # ALLOWED_HOSTS gets "testserver"; nothing else changes
    call_command("migrate", verbosity=0)
    model = get_application_model()
    common = {"authorization_grant_type": "authorization-code", "redirect_uris": "https://client.example.org/cb"}
    model.objects.create(client_id="timing-secret", client_type="confidential", client_secret=SECRET, **common)
    model.objects.create(client_id="timing-nokeys", client_type="confidential", client_secret=SECRET, **common)
    client = Client()

    def push(authorization: str | None = None, body: str = BODY) -> int:
        extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        response = client.post("/o/par/", body, content_type="application/x-www-form-urlencoded", **extra)
        return int(response.status_code)

    def assertion_body(client_id: str) -> str:
        assertion = {"client_assertion_type": JWT_BEARER, "client_assertion": unsigned_assertion(client_id)}
        return BODY + "&" + urlencode(assertion)

    # Per method: a known client failing, an unknown id tried again and again, a new unknown id each time.
    cases: dict[str, tuple[Callable[[int], int], ...]] = {
        "client_secret_basic": (
            lambda i: push(basic("timing-secret", "wrong")),
            lambda i: push(basic("unknown-client", "wrong")),
            lambda i: push(basic(f"unknown-client-{uuid.uuid4()}", "wrong")),
        ),
        "private_key_jwt": (
            lambda i: push(body=assertion_body("timing-nokeys")),
            lambda i: push(body=assertion_body("unknown-client")),
            lambda i: push(body=assertion_body(f"unknown-client-{uuid.uuid4()}")),
        ),
    }
    reasons: list[str] = []
    request_rejected.connect(lambda sender, error, **kwargs: reasons.append(error.reason), weak=False)
    # Warm: imports, the client cache, the known client's verified secret.
    assert push(basic("timing-secret", SECRET)) in (201, 400)
    print(f"Failed client authentication at /o/par/ on {connection.vendor}, {requests} requests per case")
    print("  wall-clock ms per request, Q1 / median / Q3")
    print(f"  {'method':20s}  {'known client':26s}  {'unknown id, repeated':26s}  {'unknown id, new each time':26s}")
    for name, variants in cases.items():
        for i in range(50):
            assert all(variant(i) == 401 for variant in variants)
        print(f"  {name:20s}  " + "  ".join(f"({reason})"[:26].ljust(26) for reason in reasons[-len(variants) :]))
        timings: list[list[float]] = [[] for _ in variants]
        for i in range(requests):
            for turn in range(len(variants)):
                index = (i + turn) % len(variants)  # each variant in each position, so order favours none
                started = time.perf_counter()
                status = variants[index](i)
                timings[index].append((time.perf_counter() - started) * 1000)
                assert status == 401, status
        print(f"  {'':20s}  " + "  ".join(quartiles(samples).ljust(26) for samples in timings))


if __name__ == "__main__":
    main()
