"""Where a scenario's CPU goes: SQL queries of one request, and a cProfile of many.

    benchmarks/.venv/bin/python benchmarks/profile_scenario.py push_public [--requests 2000] [--top 40]

In-process (Django's test client through the full middleware stack), on a
fresh temporary SQLite database, or PostgreSQL with BENCH_DB=postgresql (it then
creates and drops the database BENCH_PG_NAME, default django_par_bench_profile).
Scenarios: floor, push_public, push_confidential, push_private_key_jwt,
push_request_object, authorize_plain, authorize_request_uri. Run
benchmarks/run.sh once first: it creates benchmarks/.venv.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

import bench  # noqa: E402  (the JWT helpers and request parameters of the load benchmark)

from benchmarks.scratch import scratch_database  # noqa: E402

PORT = 8000  # only names the redirect URIs and the issuer; nothing listens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=bench.SCENARIOS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument("--dump", metavar="FILE", help="also write the raw profile here (for pstats' print_callers)")
    args = parser.parse_args()

    with scratch_database("profile") as workdir:
        profile(args, workdir)


def profile(args: argparse.Namespace, workdir: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()  # ALLOWED_HOSTS gets "testserver"; nothing else changes
    call_command("migrate", verbosity=0)
    call_command("setup_demo", port=PORT, stdout=io.StringIO())
    key_pem, jwk = bench.new_rsa_key()
    bench._load_signing_key(key_pem)
    jwks_file = workdir / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    out = io.StringIO()
    call_command("bench_prepare", port=PORT, jwks=str(jwks_file), stdout=out)
    prepared = json.loads(out.getvalue().strip().splitlines()[-1])

    # The scenario exactly as the load benchmark builds it, minus the network.
    run = bench.DatabaseRun.__new__(bench.DatabaseRun)
    run.vendor, run.port, run.key_pem, run.prepared = connection.vendor, PORT, key_pem, prepared
    run.base = f"http://127.0.0.1:{PORT}"
    run.redirect_uri, run.issuer = f"{run.base}/demo/callback/", f"{run.base}/o"
    run.cookie = f"{prepared['session_cookie_name']}={prepared['session_key']}"
    client = Client(HTTP_HOST=f"127.0.0.1:{PORT}")
    client.cookies[prepared["session_cookie_name"]] = prepared["session_key"]
    if args.scenario == "authorize_request_uri":
        query = urllib.parse.urlencode(run.auth_params("demo-public"))
        response = client.post("/o/par/", query, content_type="application/x-www-form-urlencoded")
        request_uri = response.json()["request_uri"]
        scenario = bench.Scenario(
            args.scenario,
            "GET",
            "/o/authorize/?" + urllib.parse.urlencode({"client_id": "demo-public", "request_uri": request_uri}),
            200,
            'id="authorizationForm"',
        )
    elif args.scenario == "push_private_key_jwt":
        scenario = run.scenario(args.scenario, expected_rate=args.requests / 15, warmup_s=0)
    else:
        scenario = run.scenario(args.scenario, expected_rate=0, warmup_s=0)
    extra = {"HTTP_AUTHORIZATION": scenario.authorization} if scenario.authorization else {}
    bodies = scenario.bodies or [None]

    def one(i: int):
        if scenario.method == "POST":
            body = bodies[i % len(bodies)]
            response = client.post(scenario.path, body, content_type="application/x-www-form-urlencoded", **extra)
        else:
            response = client.get(scenario.path, **extra)
        if response.status_code != scenario.expect_status or scenario.expect_text.encode() not in response.content:
            raise SystemExit(f"request {i}: {response.status_code} {response.content[:300]!r}")

    for i in range(20):  # warm: imports, caches, the secret cache entry
        one(i)
    with CaptureQueriesContext(connection) as queries:
        one(20)
    print(f"== {args.scenario} on {connection.vendor}: {len(queries)} SQL queries in one request")
    for query in queries.captured_queries:
        print(f"   {query['sql'][:220]}")

    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for i in range(21, 21 + args.requests):
        one(i)
    profiler.disable()
    if args.dump:
        profiler.dump_stats(args.dump)
    cpu = (time.process_time() - started) / args.requests * 1000
    print(f"== {args.requests} requests, {cpu:.2f} ms CPU per request in this process (profiled, so inflated)")
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print(stream.getvalue())


if __name__ == "__main__":
    main()
