"""Soak run: a steady mixed load on PostgreSQL under gunicorn for N minutes, reported per minute.

    benchmarks/.venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 40] [--workers 2]

(``bash benchmarks/run.sh`` creates that venv.) It creates a fresh PostgreSQL database
``django_par_soak``, migrates, creates the demo and benchmark clients, and serves the example
project under gunicorn (sync workers, persistent connections with health checks, Redis for the
limits and key sets, ``benchmarks/soak_settings.py``). Client threads then send a steady mix,
paced at ``--rate`` requests per second in all:

* pushes of every client type: public, confidential (hashed secret, HTTP Basic),
  ``private_key_jwt`` (a fresh assertion each), a signed request object, and an unknown
  client_id (a new one each time: 401, expected; it fills the client cache with "unknown"
  entries, which must stay within the in-process cache's bound);
* full flows: push by the ``skip_authorization`` client, GET the authorization endpoint
  (302 with a code), redeem the code at the token endpoint;
* consent pages: push, GET the authorization endpoint (200, the consent form);

while ``manage.py purge_pushed_requests`` runs every 20 s. Every minute it prints: requests,
errors (an unexpected status or a failed connection), p50 and p99 latency, each worker's RSS,
the entries of each worker's in-process cache (reported by ``benchmarks/soak_hooks.py``), the
pushed-request rows in the database and the rows the purge deleted. A measuring script: exit 0
when it measured. Needs PostgreSQL on 127.0.0.1:5432 (``postgres``, trust), Redis on 6379, psql.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("BENCH_PG_NAME", "django_par_soak")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from benchmarks.bench import (
    CONFIG,
    PYTHON,
    REPO,
    DatabaseRun,
    Server,
    _assertion_body,
    _load_signing_key,
    free_port,
    log,
    new_rsa_key,
    sign_jwt,
)

CODE_VERIFIER = "bench-code-verifier-" + "x" * 40  # DatabaseRun.auth_params' challenge
TRUSTED = ("demo-trusted", "demo-trusted-secret")
CONFIDENTIAL = ("demo-confidential", "demo-confidential-secret")


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Minute:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.minutes: dict[int, Minute] = {}
        self.started = time.monotonic()

    def record(self, seconds: float, ok: bool, what: str) -> None:
        index = int((time.monotonic() - self.started) // 60)
        with self.lock:
            minute = self.minutes.setdefault(index, Minute())
            minute.latencies.append(seconds)
            if not ok:
                minute.errors += 1
                if len(minute.error_samples) < 3:
                    minute.error_samples.append(what)


class Load:
    """The request mix; each operation sends one to three requests and checks every answer."""

    def __init__(self, database: DatabaseRun, recorder: Recorder, key_pem: bytes) -> None:
        self.base = database.base
        self.database = database
        self.recorder = recorder
        self.key_pem = key_pem
        self.issuer = database.issuer
        self.cookie = database.cookie
        self.pkjwt = database.prepared["pkjwt_client_id"]
        self.jar = database.prepared["jar_client_id"]
        self._request_object = ("", 0.0)
        self.operations = [
            self.push_public,
            self.push_confidential,
            self.push_private_key_jwt,
            self.push_request_object,
            self.push_unknown_client,
            self.full_flow,
            self.consent_page,
        ]

    def send(
        self, session: requests.Session, method: str, path: str, expect: int, **kwargs: object
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = session.request(method, self.base + path, allow_redirects=False, timeout=30, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as error:
            self.recorder.record(time.perf_counter() - started, False, f"{method} {path}: {error}")
            return None
        elapsed = time.perf_counter() - started
        ok = response.status_code == expect
        self.recorder.record(
            elapsed, ok, f"{method} {path.split('?')[0]}: {response.status_code} {response.text[:120]}"
        )
        return response if ok else None

    def params(self, client_id: str | None) -> dict[str, str]:
        return self.database.auth_params(client_id)

    def push(self, session: requests.Session, data: dict[str, str], expect: int = 201, **headers: str) -> str | None:
        response = self.send(session, "POST", "/o/par/", expect, data=data, headers=headers)
        return response.json()["request_uri"] if response is not None and expect == 201 else None

    def push_public(self, session: requests.Session) -> None:
        self.push(session, self.params("demo-public"))

    def push_confidential(self, session: requests.Session) -> None:
        self.push(session, self.params(None), Authorization=basic(*CONFIDENTIAL))

    def push_private_key_jwt(self, session: requests.Session) -> None:
        base_body = urllib.parse.urlencode(self.params(self.pkjwt))
        body = _assertion_body((self.pkjwt, self.issuer, base_body, 0))
        self.push(session, dict(urllib.parse.parse_qsl(body)))

    def push_request_object(self, session: requests.Session) -> None:
        token, signed_at = self._request_object
        if time.monotonic() - signed_at > 60:  # one per minute: iat stays recent
            now = int(time.time())
            claims = {"iss": self.jar, "aud": self.issuer, "iat": now, "exp": now + 600, **self.params(self.jar)}
            token = sign_jwt(claims, typ="oauth-authz-req+jwt")
            self._request_object = (token, time.monotonic())
        self.push(session, {"client_id": self.jar, "request": token})

    def push_unknown_client(self, session: requests.Session) -> None:
        self.push(session, self.params(f"unknown-{uuid.uuid4().hex}"), expect=401)

    def authorize(
        self, session: requests.Session, client_id: str, request_uri: str, expect: int
    ) -> requests.Response | None:
        query = urllib.parse.urlencode({"client_id": client_id, "request_uri": request_uri})
        return self.send(session, "GET", f"/o/authorize/?{query}", expect, headers={"Cookie": self.cookie})

    def full_flow(self, session: requests.Session) -> None:
        request_uri = self.push(session, self.params(None), Authorization=basic(*TRUSTED))
        if request_uri is None:
            return
        response = self.authorize(session, TRUSTED[0], request_uri, 302)
        if response is None:
            return
        code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query)).get("code")
        if not code:
            self.recorder.record(0.0, False, f"no code in {response.headers['Location'][:120]}")
            return
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.database.redirect_uri,
            "code_verifier": CODE_VERIFIER,
        }
        self.send(session, "POST", "/o/token/", 200, data=data, headers={"Authorization": basic(*TRUSTED)})

    def consent_page(self, session: requests.Session) -> None:
        request_uri = self.push(session, self.params("demo-public"))
        if request_uri is not None:
            self.authorize(session, "demo-public", request_uri, 200)

    def run(self, rate: float, threads: int, until: float, stop: threading.Event) -> None:
        """``threads`` threads, each paced at rate/threads operations' requests per second."""

        def loop(seed: int) -> None:
            _load_signing_key(self.key_pem)
            session = requests.Session()
            chooser = random.Random(seed)
            interval = threads / rate
            next_at = time.monotonic()
            while not stop.is_set() and time.monotonic() < until:
                operation = chooser.choice(self.operations)
                operation(session)
                # An operation of n requests takes n intervals; never a burst to catch up.
                sent = 3 if operation == self.full_flow else 2 if operation == self.consent_page else 1
                next_at = max(next_at + sent * interval, time.monotonic() - interval)
                stop.wait(max(0.0, next_at - time.monotonic()))

        workers = [threading.Thread(target=loop, args=(index,), daemon=True) for index in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


class SoakServer(Server):
    """bench.Server with the soak's gunicorn hooks."""

    def __init__(self, env: dict, port: int, workdir: Path, log_file: Path) -> None:
        env = {**env, "GUNICORN_CMD_ARGS": "--config python:benchmarks.soak_hooks"}
        super().__init__(env, port, workdir, log_file)


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def pushed_rows(database: DatabaseRun) -> int | None:
    args = ["psql", "-h", CONFIG["pg_host"], "-p", CONFIG["pg_port"], "-U", CONFIG["pg_user"], "-d", CONFIG["pg_name"]]
    result = subprocess.run(
        [*args, "-tAc", "SELECT count(*) FROM django_par_pushedrequest"], capture_output=True, text=True, check=False
    )
    return int(result.stdout.strip()) if result.returncode == 0 and result.stdout.strip().isdigit() else None


class Purger:
    """``purge_pushed_requests`` every ``interval`` seconds, as a cron job would, beside the load."""

    def __init__(self, database: DatabaseRun, interval: float) -> None:
        self.database = database
        self.interval = interval
        self.deleted = 0
        self.runs = 0
        self.failures = 0
        self.lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            result = subprocess.run(
                [PYTHON, "-m", "django", "purge_pushed_requests"],
                env=self.database.env,
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            match = re.search(r"Deleted (\d+)", result.stdout)
            with self.lock:
                self.runs += 1
                if result.returncode != 0 or not match:
                    self.failures += 1
                else:
                    self.deleted += int(match.group(1))

    def take(self) -> tuple[int, int, int]:
        with self.lock:
            taken = (self.runs, self.deleted, self.failures)
            self.runs = self.deleted = self.failures = 0
        return taken


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def cache_stats(stats_dir: Path) -> dict[int, dict]:
    found = {}
    for path in stats_dir.glob("worker-*.json"):
        try:
            found[int(path.stem.split("-")[1])] = json.loads(path.read_text())
        except (OSError, ValueError):
            pass
    return found


def report_minute(
    index: int, minute: Minute, server: Server, stats_dir: Path, database: DatabaseRun, purger: Purger
) -> dict:
    workers = sorted(server.worker_pids())
    caches = cache_stats(stats_dir)
    runs, deleted, purge_failures = purger.take()
    row = {
        "minute": index + 1,
        "requests": len(minute.latencies),
        "errors": minute.errors,
        "p50_ms": percentile(minute.latencies, 0.50) * 1000,
        "p99_ms": percentile(minute.latencies, 0.99) * 1000,
        "rss_mb": {pid: rss_mb(pid) for pid in workers},
        "cache_entries": {pid: caches.get(pid, {}).get("cache_entries") for pid in workers},
        "pushed_rows": pushed_rows(database),
        "purge_runs": runs,
        "purged": deleted,
        "purge_failures": purge_failures,
        "error_samples": minute.error_samples,
    }
    rss = " ".join(f"{value:.1f}" if value is not None else "-" for value in row["rss_mb"].values())
    entries = " ".join(str(value) if value is not None else "-" for value in row["cache_entries"].values())
    print(
        f"| {row['minute']:>3} | {row['requests']:>6} | {row['errors']:>4} | {row['p50_ms']:>7.1f} | {row['p99_ms']:>7.1f} "
        f"| {rss} | {entries} | {row['pushed_rows']} | {runs}/{deleted} |",
        flush=True,
    )
    for sample in minute.error_samples:
        print(f"|     error: {sample}", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long to load (default 10)")
    parser.add_argument("--rate", type=float, default=40, help="requests per second in all (default 40)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--purge-interval", type=float, default=20, help="seconds between purge runs (default 20)")
    parser.add_argument("--json", help="also write the per-minute rows to this file")
    args = parser.parse_args()
    for tool in ("psql",):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    if not Path(PYTHON).with_name("gunicorn").exists():
        raise SystemExit(
            "gunicorn is not installed next to this Python (bash benchmarks/run.sh makes benchmarks/.venv)"
        )
    CONFIG["gunicorn_workers"] = args.workers

    workdir = Path(tempfile.mkdtemp(prefix="django-par-soak-"))
    log_file = workdir / "soak.log"
    stats_dir = workdir / "stats"
    stats_dir.mkdir()
    key_pem, jwk = new_rsa_key()
    _load_signing_key(key_pem)
    jwks_file = workdir / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    port = free_port()
    database = DatabaseRun("postgresql", workdir, port, key_pem, jwks_file, log_file)
    database.env.update(DJANGO_SETTINGS_MODULE="benchmarks.soak_settings", SOAK_STATS_DIR=str(stats_dir))
    server: Server | None = None
    stop = threading.Event()
    rows = []
    try:
        log(f"PostgreSQL database {CONFIG['pg_name']}: migrate, demo data; log {log_file}")
        database.setup()
        server = SoakServer(database.env, port, workdir, log_file)
        server.wait_ready()
        recorder = Recorder()
        load = Load(database, recorder, key_pem)
        purger = Purger(database, args.purge_interval)
        until = time.monotonic() + args.minutes * 60
        log(
            f"{args.minutes:g} min at {args.rate:g} requests/s ({args.threads} client threads), gunicorn sync x{args.workers}, "
            f"purge every {args.purge_interval:g} s"
        )
        print(
            "| min | requests | errors | p50 ms | p99 ms | RSS MB per worker | cache entries per worker | pushed rows | purge runs/deleted |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
        threading.Thread(target=purger.run, args=(stop,), daemon=True).start()
        loader = threading.Thread(target=load.run, args=(args.rate, args.threads, until, stop), daemon=True)
        loader.start()
        reported = 0
        minutes = max(1, int(-(-args.minutes // 1)))  # requests answered after the end count in the last
        while reported < minutes:
            loader.join(timeout=1)
            current = int((time.monotonic() - recorder.started) // 60)
            if reported < current or not loader.is_alive():
                if not loader.is_alive() and reported == minutes - 1:
                    for late in [index for index in recorder.minutes if index >= minutes]:
                        tail = recorder.minutes.pop(late)
                        last = recorder.minutes.setdefault(reported, Minute())
                        last.latencies += tail.latencies
                        last.errors += tail.errors
                minute = recorder.minutes.get(reported, Minute())
                rows.append(report_minute(reported, minute, server, stats_dir, database, purger))
                reported += 1
        if server.process.poll() is not None:
            log("gunicorn exited during the run")
        if args.json:
            Path(args.json).write_text(json.dumps(rows, indent=2, default=str) + "\n")
    except KeyboardInterrupt:
        return 130
    finally:
        stop.set()
        if server is not None:
            server.stop()
        database.drop_database()
        shutil.rmtree(workdir, ignore_errors=True)
    total = sum(row["requests"] for row in rows)
    errors = sum(row["errors"] for row in rows)
    log(f"{total} requests, {errors} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
