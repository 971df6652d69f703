"""Where each step of a complete flow spends its CPU: queries, and a cProfile per step.

    benchmarks/.venv/bin/python benchmarks/profile_flow.py [par_hashed|par_public|dot_hashed|...] \
        [--flows 300] [--step token] [--top 30] [--sort cumulative]

In-process (Django's test client, full middleware) on a scratch database
(benchmarks/scratch.py), the same flows as benchmarks/flows.py: push,
authorization page, consent POST, code exchange. It prints the CPU per step of
unprofiled flows, the SQL of each step of one flow, then a cProfile of the
chosen step (or of every step) over ``--flows`` flows.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import json
import pstats
import re
import secrets
import sys
import time
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH_DIR))

import bench  # noqa: E402

from benchmarks.scratch import scratch_database  # noqa: E402

PORT = 8000
STEPS = ("push", "authorize", "consent", "token")
CASES = {
    # name: (client_id, pushed, authentication)
    "par_hashed": ("demo-confidential", True, ("basic", "demo-confidential-secret")),
    "par_plain": ("bench-plain", True, ("basic", "bench-plain-secret")),
    "par_public": ("demo-public", True, ("public", "")),
    "dot_hashed": ("demo-confidential", False, ("basic", "demo-confidential-secret")),
    "dot_public": ("demo-public", False, ("public", "")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--step", choices=STEPS, help="profile this step only (default: every step)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", choices=["tottime", "cumulative"])
    parser.add_argument("--dump", metavar="FILE", help="also write the raw profile")
    args = parser.parse_args()
    with scratch_database("profile-flow") as workdir:
        profile(args, workdir)


def profile(args: argparse.Namespace, workdir: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("setup_demo", port=PORT, stdout=io.StringIO())
    _, jwk = bench.new_rsa_key()
    jwks_file = workdir / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    out = io.StringIO()
    call_command("bench_prepare", port=PORT, jwks=str(jwks_file), stdout=out)
    prepared = json.loads(out.getvalue().strip().splitlines()[-1])
    client = Client(HTTP_HOST=f"127.0.0.1:{PORT}")
    client.cookies[prepared["session_cookie_name"]] = prepared["session_key"]
    client_id, pushed, (method, secret) = CASES[args.case]
    redirect_uri = f"http://127.0.0.1:{PORT}/demo/callback/"
    auth_headers = {}
    if method == "basic":
        auth_headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    form = "application/x-www-form-urlencoded"

    def flow(hook) -> None:
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid read",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode(),
            "code_challenge_method": "S256",
        }
        body = dict(params)
        if method == "basic":
            body.pop("client_id")
        if pushed:
            with hook("push"):
                response = client.post("/o/par/", urllib.parse.urlencode(body), content_type=form, **auth_headers)
            assert response.status_code == 201, response.content
            query = {"client_id": client_id, "request_uri": response.json()["request_uri"]}
        else:
            query = params
        path = "/o/authorize/?" + urllib.parse.urlencode(query)
        with hook("authorize"):
            response = client.get(path)
        assert response.status_code == 200, response.content[:500]
        fields = dict(re.findall(rb'<input type="hidden" name="([^"]+)" value="([^"]*)"', response.content))
        data = {k.decode(): v.decode() for k, v in fields.items()}
        data["allow"] = "Authorize"
        with hook("consent"):
            response = client.post(path, urllib.parse.urlencode(data), content_type=form)
        assert response.status_code == 302, response.content[:500]
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)["code"][0]
        token = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        if method == "public":
            token["client_id"] = client_id
        with hook("token"):
            response = client.post("/o/token/", urllib.parse.urlencode(token), content_type=form, **auth_headers)
        assert response.status_code == 200 and b"id_token" in response.content, response.content[:500]

    class Timer:
        def __init__(self) -> None:
            self.cpu = dict.fromkeys(STEPS, 0.0)

        def __call__(self, step):
            timer = self

            class Context:
                def __enter__(self):
                    self.started = time.process_time()

                def __exit__(self, *exc):
                    timer.cpu[step] += time.process_time() - self.started

            return Context()

    for _ in range(10):  # warm: imports, caches, the verified secret
        flow(Timer())
    timer = Timer()
    for _ in range(args.flows):
        flow(timer)
    print(f"== {args.case}: CPU ms per step, {args.flows} unprofiled flows in this process")
    print("   " + "  ".join(f"{step} {timer.cpu[step] / args.flows * 1000:.2f}" for step in STEPS))

    captured: dict[str, list] = {}

    def queries(step):
        class Context:
            def __enter__(self):
                self.capture = CaptureQueriesContext(connection)
                self.capture.__enter__()

            def __exit__(self, *exc):
                self.capture.__exit__(*exc)
                captured[step] = [query["sql"] for query in self.capture.captured_queries]

        return Context()

    flow(queries)
    for step, sqls in captured.items():
        print(f"== {step}: {len(sqls)} queries")
        for sql in sqls:
            print(f"   {sql[:200]}")

    profiler = cProfile.Profile()

    def profiled(step):
        class Context:
            def __enter__(self):
                if args.step in (None, step):
                    profiler.enable()

            def __exit__(self, *exc):
                profiler.disable()

        return Context()

    for _ in range(args.flows):
        flow(profiled)
    if args.dump:
        profiler.dump_stats(args.dump)
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(args.sort).print_stats(args.top)
    print(f"== cProfile of {args.step or 'every step'}, {args.flows} flows")
    print(stream.getvalue())


if __name__ == "__main__":
    main()
