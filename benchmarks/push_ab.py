"""A push's server CPU in two or more checkouts, side by side in one run.

    git archive <commit> | tar -x -C /work/push-base      # a checkout to compare against
    nice -n 10 benchmarks/.venv/bin/python benchmarks/push_ab.py /work/push-base . [--blocks 8] [--pushes 200]

Each checkout's example project runs under its own gunicorn (one sync worker,
``benchmarks/settings.py`` of that checkout: SQLite, ``DEBUG`` off, the Redis cache),
on a fresh database with its demo clients, from this virtualenv (so every
checkout runs on the same Django, DOT and Python). One client pushes for
``demo-public`` (a public client: no secret, the push itself), one request per
connection, 200 warm-up pushes per server, then ``--blocks`` blocks of ``--pushes``
pushes per server, the servers taking turns so that a slow phase of the machine
weighs on all alike. A push's server CPU is the growth of the running time of
gunicorn's process group (``/proc/<pid>/schedstat``) over a block, divided by its
pushes. It prints the median and every block per checkout; a measuring script,
it exits 0 when it measured.

The wrk load benchmark (``benchmarks/run.sh``) gives a push's ratio to the
floor; this one answers "what did this change cost a push", which needs the old
and the new code in one run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
HOST = "127.0.0.1:8000"  # an allowed host of the example, and the host of the demo clients' redirect URI
BODY = urllib.parse.urlencode(
    {
        "response_type": "code",
        "client_id": "demo-public",
        "redirect_uri": f"http://{HOST}/demo/callback/",
        "scope": "openid read",
        "state": "state-0123456789",
        "nonce": "nonce-0123456789",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
)


class Server:
    def __init__(self, checkout: Path, port: int, workdir: Path) -> None:
        self.checkout, self.port = checkout, port
        self.env = {
            **os.environ,
            "BENCH_DB": "sqlite",
            "BENCH_SQLITE_PATH": str(workdir / f"push-ab-{port}.sqlite3"),
            "BENCH_CACHE_PREFIX": f"push-ab-{os.getpid()}-{port}",
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "PYTHONPATH": str(checkout),
        }
        for command in (["migrate", "-v0"], ["setup_demo", "-v0"]):
            subprocess.run(
                [PYTHON, "-m", "django", *command], cwd=checkout, env=self.env, check=True, capture_output=True
            )
        self.log = (workdir / f"gunicorn-{port}.log").open("w")
        self.process = subprocess.Popen(
            [GUNICORN, "--workers", "1", "--bind", f"127.0.0.1:{port}", "benchmarks.wsgi"],
            cwd=checkout,
            env=self.env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        for _ in range(100):
            try:
                self.push()
                return
            except (OSError, AssertionError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.checkout}: gunicorn did not answer pushes; see {self.log.name}")

    def cpu_ns(self) -> int:
        pids = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True).stdout.split()
        total = 0
        for pid in pids:
            try:
                total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pass
        return total

    def push(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": HOST}
            connection.request("POST", "/o/par/", BODY, headers)
            response = connection.getresponse()
            answer = response.read()
        finally:
            connection.close()
        assert response.status == 201, (response.status, answer[:300])

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--blocks", type=int, default=8)
    parser.add_argument("--pushes", type=int, default=200, help="pushes per block and server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="django-par-push-ab-") as workdir:
        servers = [Server(path.resolve(), 47100 + index, Path(workdir)) for index, path in enumerate(args.checkouts)]
        try:
            for server in servers:
                server.wait_ready()
                for _ in range(200):
                    server.push()
            blocks: dict[Server, list[float]] = {server: [] for server in servers}
            for _ in range(args.blocks):
                for server in servers:
                    before = server.cpu_ns()
                    for _ in range(args.pushes):
                        server.push()
                    blocks[server].append((server.cpu_ns() - before) / args.pushes / 1e3)
        finally:
            for server in servers:
                server.stop()
    print(f"push server CPU, µs per push (median of {args.blocks} blocks of {args.pushes}; every block):")
    for server, values in blocks.items():
        print(f"  {server.checkout!s:40s} {statistics.median(values):7.0f}   {[round(value) for value in values]}")


if __name__ == "__main__":
    main()
