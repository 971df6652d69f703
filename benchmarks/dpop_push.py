"""What a DPoP proof (RFC 9449, ES256) adds to a public push, measured in-process.

    benchmarks/.venv/bin/python benchmarks/dpop_push.py                       # SQLite
    BENCH_DB=postgresql benchmarks/.venv/bin/python benchmarks/dpop_push.py   # PostgreSQL

Three figures, each the median over 5 runs of this process's CPU time per call
(``time.process_time``), in µs: the public push of the load benchmark
(``push_public``) through Django's test client, the same push carrying a DPoP
proof signed with an ES256 key, and ``verify_proof`` alone. Every proof is
signed before the timed run (a client's cost, not the server's) and used once,
as the jti replay store requires. Same scratch database and settings as
benchmarks/micro.py (benchmarks/scratch.py).
"""

from __future__ import annotations

import argparse
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

RUNS = 5
FORM = "application/x-www-form-urlencoded"
PAR_URL = "http://127.0.0.1/o/par/"


def per_call(function: Callable[[int], Any], calls: int, prepare: Callable[[], Any]) -> float:
    """Median over RUNS of the CPU µs per call; ``prepare`` runs untimed before each run."""
    results = []
    for _ in range(RUNS):
        prepare()
        started = time.process_time()
        for index in range(calls):
            function(index)
        results.append((time.process_time() - started) / calls * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=500, help="calls per run (default 500)")
    args = parser.parse_args()
    with scratch_database("dpop"):
        measure(args.calls)


def measure(calls: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, RequestFactory
    from jwcrypto import jwk, jws
    from oauth2_provider.models import get_application_model

    from django_par.dpop.proofs import verify_proof

    call_command("migrate", verbosity=0)
    application = get_application_model().objects.create(
        client_id="bench-dpop-public",
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris="https://client.example.org/cb",
    )
    body = urlencode(
        {
            "client_id": application.client_id,
            "response_type": "code",
            "redirect_uri": "https://client.example.org/cb",
            "scope": "read",
            "state": "bench-state-0123",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    header = json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": json.loads(key.export_public())})
    proofs: list[str] = []

    def sign_proofs() -> None:
        proofs.clear()
        for _ in range(calls):
            claims = {"jti": str(uuid.uuid4()), "htm": "POST", "htu": PAR_URL, "iat": int(time.time())}
            token = jws.JWS(json.dumps(claims).encode())
            token.add_signature(key, alg="ES256", protected=header)
            proofs.append(str(token.serialize(compact=True)))

    client = Client(HTTP_HOST="127.0.0.1")

    def push(index: int) -> None:
        response = client.post("/o/par/", body, content_type=FORM)
        assert response.status_code == 201, response.content

    def push_dpop(index: int) -> None:
        response = client.post("/o/par/", body, content_type=FORM, headers={"DPoP": proofs[index]})
        assert response.status_code == 201, response.content

    factory = RequestFactory()

    def verify(index: int) -> None:
        request = factory.post("/o/par/", headers={"DPoP": proofs[index]}, HTTP_HOST="127.0.0.1")
        assert verify_proof(request, htm="POST", htu=PAR_URL) is not None

    print(f"DPoP at the PAR endpoint on {connection.vendor}: CPU of this process per call, median of {RUNS} runs")
    plain = per_call(push, calls, lambda: None)
    with_dpop = per_call(push_dpop, calls, sign_proofs)
    alone = per_call(verify, calls, sign_proofs)
    print(f"  {'public push':55s} {plain:9.1f} µs")
    print(f"  {'public push with an ES256 DPoP proof':55s} {with_dpop:9.1f} µs   (+{with_dpop - plain:.1f} µs)")
    print(f"  {'verify_proof alone (ES256, jti INSERT)':55s} {alone:9.1f} µs")


if __name__ == "__main__":
    main()
