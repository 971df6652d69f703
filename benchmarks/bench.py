"""Load benchmark of django_par's endpoints against a floor view, under gunicorn and wrk.

Run through ``bash benchmarks/run.sh`` (which installs what this needs); see
benchmarks/README.md. For each database (SQLite, PostgreSQL) it creates a fresh
database, migrates it, creates the demo and benchmark clients, starts the
example project under gunicorn (sync workers) and loads each scenario with wrk,
in interleaved rounds (every scenario once per round, the floor first). It
measures requests/s, latency percentiles and the server CPU time per request
(user + system time of every process of the gunicorn process group, from
/proc), each round's CPU as a ratio to the same round's floor, then times
request_uri lookups at 1k and 1M stored rows. It prints a table of medians over
the rounds and writes every round to benchmarks/results/latest.json.

This is a measuring script, not a test: it exits 0 when it could measure, even
when a target is missed; it exits non-zero only when it could not measure.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import multiprocessing
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "lua" / "scenario.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PYTHON = sys.executable


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


CONFIG = {
    "duration_s": env_float("BENCH_DURATION", 4),
    "warmup_s": env_float("BENCH_WARMUP", 2),  # before a scenario's first round only
    "rounds": env_int("BENCH_ROUNDS", 5),
    "connections": env_int("BENCH_CONNECTIONS", 4),
    "wrk_threads": env_int("BENCH_WRK_THREADS", 1),
    "gunicorn_workers": env_int("BENCH_WORKERS", 2),
    "databases": os.environ.get("BENCH_DATABASES", "sqlite postgresql").split(),
    "scenarios": os.environ.get("BENCH_SCENARIOS", "").split(),  # empty: all
    "conn_max_age": os.environ.get("BENCH_CONN_MAX_AGE", "none"),
    "pg_name": os.environ.get("BENCH_PG_NAME", "django_par_bench"),
    "pg_host": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
    "pg_port": os.environ.get("BENCH_PG_PORT", "5432"),
    "pg_user": os.environ.get("BENCH_PG_USER", "postgres"),
    "redis_url": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"),
    "storage_small": env_int("BENCH_STORAGE_SMALL", 1000),
    "storage_large": env_int("BENCH_STORAGE_ROWS", 1_000_000),
    "storage_lookups": env_int("BENCH_LOOKUPS", 2000),
    "storage_purge": os.environ.get("BENCH_PURGE", "1") == "1",
    "purge_timeout_s": env_float("BENCH_PURGE_TIMEOUT", 60),
    "shared_caches": os.environ.get("BENCH_SHARED_CACHES") == "1",
    "results": os.environ.get("BENCH_RESULTS", str(BENCH_DIR / "results" / "latest.json")),
}

# The targets: (key, description, limit, kind).
TARGETS = [
    ("push_confidential", "confidential push (hashed secret) / floor", 1.5, "max_ratio_floor"),
    ("push_public", "public push / floor", 1.3, "max_ratio_floor"),
    ("push_private_key_jwt", "private_key_jwt push / floor", 2.0, "max_ratio_floor"),
    ("push_public", "public pushes/s, PostgreSQL persistent connections", 1500, "min_rps_postgresql"),
    ("authorize_request_uri", "authorize with request_uri / plain authorize", 1.1, "max_ratio_plain"),
    ("storage", "request_uri lookup at 1M rows / at 1k rows", 1.2, "max_ratio_storage"),
]

SCENARIOS = [
    "floor",
    "push_public",
    "push_dpop",
    "push_confidential",
    "push_private_key_jwt",
    "push_request_object",
    "authorize_plain",
    "authorize_request_uri",
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- CPU accounting from /proc -------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text[text.rindex(")") + 2 :].split()


def group_cpu_ticks(pgid: int) -> dict[int, int]:
    """utime + stime of every live process of the process group, by pid."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        # After the name: state(3) ppid(4) pgrp(5) ... utime(14) stime(15), here offset by 3.
        if fields and int(fields[2]) == pgid:
            ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


def postgres_backend_pids(database: str) -> set[int]:
    """The server processes serving connections to ``database`` (PostgreSQL on this machine)."""
    args = [
        "psql",
        "-h",
        CONFIG["pg_host"],
        "-p",
        CONFIG["pg_port"],
        "-U",
        CONFIG["pg_user"],
        "-d",
        "postgres",
        "-Atc",
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'",
    ]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return {int(line) for line in output.split()}


def service_pids(database: str | None) -> set[int]:
    """Processes that work for the benchmark beside gunicorn: redis-server and, when
    ``database`` is given, PostgreSQL's postmaster, background processes and the backends
    of ``database`` (not those of other databases on the same server)."""
    pids, postgres = set(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "redis-server":
            pids.add(int(entry))
        elif comm in ("postgres", "postmaster"):
            fields = _stat_fields(int(entry))
            if fields:
                postgres[int(entry)] = int(fields[1])
    if database:
        pids |= {pid for pid, ppid in postgres.items() if ppid not in postgres}  # the postmaster
        args = [
            "psql",
            "-h",
            CONFIG["pg_host"],
            "-p",
            CONFIG["pg_port"],
            "-U",
            CONFIG["pg_user"],
            "-d",
            "postgres",
            "-Atc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}' OR datname IS NULL",
        ]
        output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        pids |= {int(line) for line in output.split()} & set(postgres)
    return pids


def pids_cpu_ticks(pids: set[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def machine_busy_ticks() -> int:
    """Busy CPU time of the whole machine (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq + steal


# -- JWTs for private_key_jwt and request objects --------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_rsa_key() -> tuple[bytes, dict]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = key.public_key().public_numbers()

    def to_b64(n: int) -> str:
        return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": "bench-1", "n": to_b64(numbers.n), "e": to_b64(numbers.e)}
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return pem, jwk


_signing_key = None


def _load_signing_key(pem: bytes) -> None:
    global _signing_key
    _signing_key = serialization.load_pem_private_key(pem, password=None)


def sign_jwt(claims: dict, typ: str = "JWT", kid: str = "bench-1") -> str:
    header = {"alg": "RS256", "typ": typ, "kid": kid}
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = _signing_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def _assertion_body(args: tuple[str, str, str, int]) -> str:
    client_id, audience, base_body, _ = args
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 290,
    }
    return (
        base_body
        + "&"
        + urllib.parse.urlencode(
            {
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": sign_jwt(claims),
            }
        )
    )


def assertion_bodies(pem: bytes, count: int, client_id: str, audience: str, base_body: str) -> list[str]:
    """``count`` push bodies, each with its own signed client assertion (unique jti).

    Valid for about five minutes (the default ASSERTION_MAX_LIFETIME is 300 s):
    made right before the scenario that uses them.
    """
    jobs = [(client_id, audience, base_body, i) for i in range(count)]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count() or 1, _load_signing_key, (pem,)) as pool:
        return pool.map(_assertion_body, jobs, chunksize=500)


def dpop_proofs(count: int, htu: str) -> list[str]:
    """``count`` DPoP proofs (RFC 9449 §4.2) of one ES256 key for ``htu``, each with its own jti.

    Their iat is now: made right before the scenario that uses them (DPOP_PROOF_MAX_AGE).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }
    header = b64url(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).encode())
    now = int(time.time())
    proofs = []
    for _ in range(count):
        claims = {"jti": uuid.uuid4().hex, "htm": "POST", "htu": htu, "iat": now}
        signing_input = f"{header}.{b64url(json.dumps(claims).encode())}"
        r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        proofs.append(f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
    return proofs


# -- processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: list[str], env: dict, log_file: Path, **kwargs) -> subprocess.CompletedProcess:
    with open(log_file, "a") as out:
        out.write(f"\n$ {' '.join(args)}\n")
        out.flush()
        result = subprocess.run(
            args, check=False, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=out, text=True, **kwargs
        )
        out.write(result.stdout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}... failed ({result.returncode}); see {log_file}")
    return result


def http(method: str, url: str, body: str | None = None, headers: dict | None = None) -> tuple[int, str]:
    data = body.encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


urllib.request.install_opener(urllib.request.build_opener(NoRedirect))


class Server:
    """gunicorn in its own session: its process group is every process to account and to stop."""

    def __init__(self, env: dict, port: int, workdir: Path, log_file: Path):
        self.port = port
        self.pidfile = workdir / "gunicorn.pgid"
        args = [
            str(Path(PYTHON).with_name("gunicorn")),
            "benchmarks.wsgi:application",
            "--worker-class",
            "sync",
            "--workers",
            str(CONFIG["gunicorn_workers"]),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            "-",
        ]
        self.log = open(log_file, "a")  # noqa: SIM115 (open while gunicorn runs, closed in stop())
        self.process = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=self.log, stderr=self.log, start_new_session=True
        )
        self.pgid = self.process.pid
        self.pidfile.write_text(str(self.pgid))  # for run.sh's trap, should this script die hard

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/o/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log.name}")
            try:
                status, _ = http("GET", url)
                if status == 200 and len(self.worker_pids()) >= CONFIG["gunicorn_workers"]:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self) -> set[int]:
        return set(group_cpu_ticks(self.pgid)) - {self.pgid}

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.pgid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.pgid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        # Workers left behind by a master that died first.
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.pidfile.unlink(missing_ok=True)
        self.log.close()


# -- scenarios -----------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    method: str
    path: str
    expect_status: int
    expect_text: str
    bodies: list[str] | None = None  # one per request, cycled; None: no body
    # A header whose value starts each body line, before a tab (a single-use DPoP proof).
    body_header: str = ""
    authorization: str = ""
    cookie: str = ""
    description: str = ""
    extra: dict = field(default_factory=dict)


def wrk(scenario: Scenario, port: int, duration: float, bodies_file: Path | None, log_file: Path) -> dict:
    env = {
        **os.environ,
        "WRK_METHOD": scenario.method,
        "WRK_PATH": scenario.path,
        "WRK_BODIES": str(bodies_file) if bodies_file else "",
        "WRK_THREADS": str(CONFIG["wrk_threads"]),
        "WRK_AUTHORIZATION": scenario.authorization,
        "WRK_COOKIE": scenario.cookie,
        "WRK_EXPECT": scenario.expect_text,
        "WRK_BODY_HEADER": scenario.body_header,
    }
    args = [
        "wrk",
        f"-t{CONFIG['wrk_threads']}",
        f"-c{CONFIG['connections']}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "60s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        f"http://127.0.0.1:{port}{scenario.path}",
    ]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = process.stdout.read()
        _, status, rusage = os.wait4(process.pid, 0)  # wait4: wrk's own CPU time too
    except BaseException:  # interrupted: wrk must not outlive the benchmark
        process.kill()
        process.wait()
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    with open(log_file, "a") as out:
        out.write(f"\n$ wrk {scenario.name} ({duration} s)\n{output}")
    match = re.search(r"^WRK_RESULT (.*)$", output, re.MULTILINE)
    if process.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed for {scenario.name}: {output[-2000:]}")
    result = json.loads(match.group(1))
    result["wrk_cpu_s"] = rusage.ru_utime + rusage.ru_stime
    return result


def write_bodies(path: Path, bodies: list[str]) -> Path:
    path.write_text("\n".join(bodies) + "\n")
    return path


class DatabaseRun:
    def __init__(self, vendor: str, workdir: Path, port: int, key_pem: bytes, jwks_file: Path, log_file: Path):
        self.vendor = vendor
        self.workdir = workdir
        self.port = port
        self.key_pem = key_pem
        self.jwks_file = jwks_file
        self.log_file = log_file
        self.base = f"http://127.0.0.1:{port}"
        self.redirect_uri = f"{self.base}/demo/callback/"
        self.issuer = f"{self.base}/o"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "BENCH_DB": vendor,
            "BENCH_CONN_MAX_AGE": CONFIG["conn_max_age"],
            "BENCH_REDIS_URL": CONFIG["redis_url"],
            "BENCH_CACHE_PREFIX": f"django-par-bench-{uuid.uuid4().hex[:12]}",
            "BENCH_SHARED_CACHES": "1" if CONFIG["shared_caches"] else "0",
        }
        if vendor == "sqlite":
            self.env["BENCH_SQLITE_PATH"] = str(workdir / "bench.sqlite3")
        else:
            self.env.update(
                BENCH_PG_NAME=CONFIG["pg_name"],
                BENCH_PG_HOST=CONFIG["pg_host"],
                BENCH_PG_PORT=CONFIG["pg_port"],
                BENCH_PG_USER=CONFIG["pg_user"],
            )
        self.server: Server | None = None
        self.rounds: dict[str, list[dict]] = {}  # by scenario, one row per round measured

    # database lifecycle

    def psql(self, sql: str) -> None:
        args = [
            "psql",
            "-h",
            CONFIG["pg_host"],
            "-p",
            CONFIG["pg_port"],
            "-U",
            CONFIG["pg_user"],
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ]
        run(args, os.environ.copy(), self.log_file)

    def create_database(self) -> None:
        if self.vendor == "postgresql":
            self.psql(f'DROP DATABASE IF EXISTS "{CONFIG["pg_name"]}" WITH (FORCE)')
            self.psql(f'CREATE DATABASE "{CONFIG["pg_name"]}"')
            (self.workdir / "pg-created").write_text(CONFIG["pg_name"])
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.env["BENCH_SQLITE_PATH"] + suffix).unlink(missing_ok=True)

    def drop_database(self) -> None:
        if self.vendor == "postgresql":
            self.psql(f'DROP DATABASE IF EXISTS "{CONFIG["pg_name"]}" WITH (FORCE)')
            (self.workdir / "pg-created").unlink(missing_ok=True)
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(self.env["BENCH_SQLITE_PATH"] + suffix).unlink(missing_ok=True)

    def manage(self, *args: str) -> str:
        return run([PYTHON, "-m", "django", *args], self.env, self.log_file).stdout

    def setup(self) -> None:
        self.create_database()
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("setup_demo", "--port", str(self.port))
        prepared = json.loads(
            self.manage("bench_prepare", "--port", str(self.port), "--jwks", str(self.jwks_file))
            .strip()
            .splitlines()[-1]
        )
        self.prepared = prepared
        self.cookie = f"{prepared['session_cookie_name']}={prepared['session_key']}"

    # the scenarios

    def auth_params(self, client_id: str | None) -> dict:
        verifier = "bench-code-verifier-" + "x" * 40
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": "openid read",
            "state": "bench-state-0123456789",
            "nonce": "bench-nonce-0123456789",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if client_id:
            params = {"client_id": client_id, **params}
        return params

    def scenario(self, name: str, expected_rate: float, warmup_s: float) -> Scenario:
        push = "/o/par/"
        if name == "floor":
            return Scenario(
                name,
                "POST",
                "/bench/floor/",
                201,
                '"id"',
                bodies=["value=benchmark-floor"],
                description="bare Django view: parse form, INSERT one row, 201 JSON",
            )
        if name == "push_public":
            return Scenario(
                name,
                "POST",
                push,
                201,
                '"request_uri"',
                bodies=[urllib.parse.urlencode(self.auth_params("demo-public"))],
                description="PAR push, public client demo-public (client_id only)",
            )
        if name == "push_dpop":
            body = urllib.parse.urlencode(self.auth_params("demo-public"))
            total = warmup_s + CONFIG["duration_s"]
            count = max(5000, int(expected_rate * total * 1.5) + 2000)
            started = time.monotonic()
            proofs = dpop_proofs(count, f"{self.base}{push}")
            log(f"  signed {count} DPoP proofs in {time.monotonic() - started:.1f} s")
            return Scenario(
                name,
                "POST",
                push,
                201,
                '"request_uri"',
                bodies=[f"{proof}\t{body}" for proof in proofs],
                body_header="DPoP",
                description="PAR push, public client demo-public, with a DPoP proof (ES256, unique jti per request)",
                extra={"proofs": count},
            )
        if name == "push_confidential":
            credentials = base64.b64encode(b"demo-confidential:demo-confidential-secret").decode()
            return Scenario(
                name,
                "POST",
                push,
                201,
                '"request_uri"',
                bodies=[urllib.parse.urlencode(self.auth_params(None))],
                authorization=f"Basic {credentials}",
                description="PAR push, HTTP Basic demo-confidential, hashed secret",
            )
        if name == "push_private_key_jwt":
            client_id = self.prepared["pkjwt_client_id"]
            base_body = urllib.parse.urlencode(self.auth_params(client_id))
            total = warmup_s + CONFIG["duration_s"]
            # Enough unique assertions for the fastest this could go (the public push's rate), and more.
            count = max(5000, int(expected_rate * total * 1.5) + 2000)
            started = time.monotonic()
            bodies = assertion_bodies(self.key_pem, count, client_id, self.issuer, base_body)
            log(f"  signed {count} client assertions in {time.monotonic() - started:.1f} s")
            return Scenario(
                name,
                "POST",
                push,
                201,
                '"request_uri"',
                bodies=bodies,
                description="PAR push, private_key_jwt (RS256, unique jti per request)",
                extra={"assertions": count},
            )
        if name == "push_request_object":
            client_id = self.prepared["jar_client_id"]
            now = int(time.time())
            claims = {
                "iss": client_id,
                "aud": self.issuer,
                "iat": now,
                "exp": now + 3000,
                **self.auth_params(client_id),
            }
            request_object = sign_jwt(claims, typ="oauth-authz-req+jwt")
            return Scenario(
                name,
                "POST",
                push,
                201,
                '"request_uri"',
                bodies=[urllib.parse.urlencode({"client_id": client_id, "request": request_object})],
                description="PAR push, public client bench-jar, signed request object (RS256)",
            )
        if name == "authorize_plain":
            query = urllib.parse.urlencode(self.auth_params("demo-public"))
            return Scenario(
                name,
                "GET",
                f"/o/authorize/?{query}",
                200,
                'id="authorizationForm"',
                cookie=self.cookie,
                description="GET /o/authorize/ with all parameters, logged in: consent page",
            )
        if name == "authorize_request_uri":
            status, body = http("POST", f"{self.base}/o/par/", urllib.parse.urlencode(self.auth_params("demo-public")))
            if status != 201:
                raise RuntimeError(f"push for authorize_request_uri answered {status}: {body[:300]}")
            request_uri = json.loads(body)["request_uri"]
            query = urllib.parse.urlencode({"client_id": "demo-public", "request_uri": request_uri})
            return Scenario(
                name,
                "GET",
                f"/o/authorize/?{query}",
                200,
                'id="authorizationForm"',
                cookie=self.cookie,
                description="GET /o/authorize/?client_id&request_uri, logged in: consent page (reloads of a flow in use)",
            )
        raise ValueError(name)

    def smoke(self, scenario: Scenario) -> dict:
        """One request by hand: the status and page must be the expected ones before any load."""
        headers = {}
        if scenario.authorization:
            headers["Authorization"] = scenario.authorization
        if scenario.cookie:
            headers["Cookie"] = scenario.cookie
        body = scenario.bodies[0] if scenario.bodies else None
        if scenario.body_header and body is not None:
            # A fresh proof: the wrk runs must find every jti of theirs unused.
            body = body.split("\t", 1)[1]
            headers[scenario.body_header] = dpop_proofs(1, self.base + scenario.path)[0]
        if scenario.name == "push_private_key_jwt":
            # A fresh assertion: the wrk runs must find every jti of theirs unused.
            _load_signing_key(self.key_pem)
            body = _assertion_body(
                (
                    self.prepared["pkjwt_client_id"],
                    self.issuer,
                    urllib.parse.urlencode(self.auth_params(self.prepared["pkjwt_client_id"])),
                    0,
                )
            )
        started = time.perf_counter()
        status, text = http(scenario.method, self.base + scenario.path, body, headers)
        elapsed = time.perf_counter() - started
        ok = status == scenario.expect_status and scenario.expect_text in text
        if not ok:
            raise RuntimeError(
                f"{scenario.name}: expected {scenario.expect_status} with {scenario.expect_text!r}, got {status}: {text[:500]}"
            )
        return {"status": status, "seconds": elapsed}

    def measure(self, name: str, round_number: int) -> dict:
        """One measured run of scenario ``name``: a row of its ``round_number``-th round."""
        # Later rounds find the server warm: no warm-up.
        warmup_s = CONFIG["warmup_s"] if round_number == 1 else 0
        expected_rate = max((row["rps"] for row in self.rounds.get("push_public", [])), default=1000)
        # Built anew each round: fresh single-use assertions, a fresh pushed request.
        scenario = self.scenario(name, expected_rate, warmup_s)
        smoke = self.smoke(scenario)
        label = f"{self.vendor} {name} round {round_number}/{CONFIG['rounds']}"
        log(f"  {label}: smoke request {smoke['status']} in {smoke['seconds'] * 1000:.1f} ms")
        warmup_file = measure_file = None
        if scenario.bodies:
            if len(scenario.bodies) > 1 and warmup_s > 0:
                # Single-use bodies: the warm-up gets its own share, sized on its duration.
                share = max(1000, int(len(scenario.bodies) * warmup_s / (warmup_s + CONFIG["duration_s"])) + 500)
                warmup_file = write_bodies(self.workdir / f"{name}.warmup.bodies", scenario.bodies[:share])
                measure_file = write_bodies(self.workdir / f"{name}.bodies", scenario.bodies[share:])
            else:
                warmup_file = measure_file = write_bodies(self.workdir / f"{name}.bodies", scenario.bodies)
        assert self.server is not None
        if warmup_s > 0:
            warm = wrk(scenario, self.port, warmup_s, warmup_file, self.log_file)
        else:
            warm = {"bad_responses": 0}
        workers_before = self.server.worker_pids()
        cpu_before = group_cpu_ticks(self.server.pgid)
        # PostgreSQL's share: the backends of the gunicorn workers' persistent connections
        # (the server is shared; other databases' activity is not ours).
        pg_pids = postgres_backend_pids(CONFIG["pg_name"]) if self.vendor == "postgresql" else set()
        pg_before = pids_cpu_ticks(pg_pids)
        services = service_pids(CONFIG["pg_name"] if self.vendor == "postgresql" else None)
        services_before = pids_cpu_ticks(services)
        busy_before = machine_busy_ticks()
        wall_started = time.monotonic()
        result = wrk(scenario, self.port, CONFIG["duration_s"], measure_file, self.log_file)
        wall = time.monotonic() - wall_started
        busy_after = machine_busy_ticks()
        services_after = pids_cpu_ticks(services)
        pg_after = pids_cpu_ticks(pg_pids)
        pg_pids_after = postgres_backend_pids(CONFIG["pg_name"]) if self.vendor == "postgresql" else set()
        cpu_after = group_cpu_ticks(self.server.pgid)
        workers_after = self.server.worker_pids()

        requests = result["requests"]
        server_ticks = sum(cpu_after.get(pid, 0) - cpu_before.get(pid, 0) for pid in cpu_after)
        server_s = server_ticks / CLK_TCK
        pg_s = sum(pg_after.get(pid, 0) - pg_before.get(pid, 0) for pid in pg_after) / CLK_TCK
        busy_s = (busy_after - busy_before) / CLK_TCK
        socket_errors = sum(result["socket_errors"].values())
        errors = result["bad_responses"] + socket_errors
        notes = []
        if workers_before != workers_after:
            notes.append("gunicorn workers changed during the run (a worker died): CPU undercounted")
        pg_measured = self.vendor == "postgresql" and pg_pids == pg_pids_after
        if self.vendor == "postgresql" and not pg_measured:
            notes.append("PostgreSQL connections came and went during the run: its CPU is not measured")
        if result["bodies_wrapped"] and scenario.bodies and len(scenario.bodies) > 1:
            notes.append("ran out of single-use bodies: later requests replayed a used jti")
        if warm["bad_responses"]:
            notes.append(f"{warm['bad_responses']} bad responses during warm-up")
        services_s = sum(services_after.get(pid, 0) - services_before.get(pid, 0) for pid in services_after) / CLK_TCK
        # Machine CPU that none of the benchmark's processes used: other work on the machine.
        other_s = busy_s - server_s - services_s - result["wrk_cpu_s"]
        row = {
            "scenario": name,
            "db": self.vendor,
            "round": round_number,
            "description": scenario.description,
            "warmup_s": warmup_s,
            "requests": requests,
            "duration_s": result["duration_us"] / 1e6,
            "rps": requests / (result["duration_us"] / 1e6),
            "p50_ms": result["latency_us"]["p50"] / 1000,
            "p90_ms": result["latency_us"]["p90"] / 1000,
            "p99_ms": result["latency_us"]["p99"] / 1000,
            "max_ms": result["latency_us"]["max"] / 1000,
            "server_cpu_s": server_s,
            "cpu_ms_per_req": server_s * 1000 / requests if requests else math.inf,
            "postgres_cpu_ms_per_req": pg_s * 1000 / requests if requests and pg_measured else None,
            "wrk_cpu_s": result["wrk_cpu_s"],
            "services_cpu_s": services_s,
            "machine_busy_s": busy_s,
            "machine_cores_busy": busy_s / wall,
            "other_cpu_s": other_s,
            "errors": errors,
            "bad_responses": result["bad_responses"],
            "socket_errors": result["socket_errors"],
            "first_error": result["first_error"],
            "smoke_ms": smoke["seconds"] * 1000,
            "notes": notes,
            **scenario.extra,
        }
        self.rounds.setdefault(name, []).append(row)
        # Ratios within the round: the floor (and authorize_plain) ran earlier in it.
        row["ratio_to_floor"] = row["cpu_ms_per_req"] / self.rounds["floor"][-1]["cpu_ms_per_req"]
        if name == "authorize_request_uri" and "authorize_plain" in self.rounds:
            row["ratio_to_plain"] = row["cpu_ms_per_req"] / self.rounds["authorize_plain"][-1]["cpu_ms_per_req"]
        log(
            f"  {label}: {row['rps']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
            f"{row['cpu_ms_per_req']:.2f} CPU ms/req ({row['ratio_to_floor']:.2f}x floor), errors {errors}"
            + (f" ({row['first_error'][:120]})" if errors else "")
        )
        return row

    def summaries(self) -> dict[str, dict]:
        return {name: summarize(rows) for name, rows in self.rounds.items()}

    def run_http(self) -> None:
        names = [
            name for name in SCENARIOS if not CONFIG["scenarios"] or name in CONFIG["scenarios"] or name == "floor"
        ]
        self.server = Server(self.env, self.port, self.workdir, self.log_file)
        try:
            self.server.wait_ready()
            for round_number in range(1, CONFIG["rounds"] + 1):
                log(f"{self.vendor}: round {round_number} of {CONFIG['rounds']}")
                for name in names:
                    self.measure(name, round_number)
        finally:
            self.server.stop()
            self.server = None

    def run_storage(self) -> dict:
        args = [
            "bench_storage",
            "--small",
            str(CONFIG["storage_small"]),
            "--large",
            str(CONFIG["storage_large"]),
            "--lookups",
            str(CONFIG["storage_lookups"]),
        ]
        if CONFIG["storage_purge"]:
            args += ["--purge", "--purge-timeout", str(CONFIG["purge_timeout_s"])]
        started = time.monotonic()
        storage = json.loads(self.manage(*args).strip().splitlines()[-1])
        storage["total_s"] = time.monotonic() - started
        log(
            f"  {self.vendor} storage: lookup {storage['small']['median_us']:.0f} us at {storage['small']['rows']} rows, "
            f"{storage['large']['median_us']:.0f} us at {storage['large']['rows']} rows (x{storage['ratio']:.2f})"
            + (
                f"; purge: {storage['purge']['deleted_rows']} of {storage['purge']['expired_rows']} expired rows in {storage['purge']['seconds']:.1f} s"
                if "purge" in storage
                else ""
            )
        )
        return storage


# -- report --------------------------------------------------------------------


def summarize(rounds: list[dict]) -> dict:
    """A scenario's reported figures: medians over its rounds, errors summed, every round kept."""

    def median_of(key: str) -> float:
        return statistics.median(row[key] for row in rounds)

    ratios = [row["ratio_to_floor"] for row in rounds]
    postgres = [row["postgres_cpu_ms_per_req"] for row in rounds if row["postgres_cpu_ms_per_req"] is not None]
    summary = {
        "scenario": rounds[0]["scenario"],
        "db": rounds[0]["db"],
        "description": rounds[0]["description"],
        "rounds_measured": len(rounds),
        "rps": median_of("rps"),
        "p50_ms": median_of("p50_ms"),
        "p99_ms": median_of("p99_ms"),
        "cpu_ms_per_req": median_of("cpu_ms_per_req"),
        "ratio_to_floor": statistics.median(ratios),
        "ratio_to_floor_range": [min(ratios), max(ratios)],
        "postgres_cpu_ms_per_req": statistics.median(postgres) if postgres else None,
        "errors": sum(row["errors"] for row in rounds),
        # Every round's notes and first error, for the "Flagged" list.
        "notes": [
            f"round {row['round']}: {note}"
            for row in rounds
            for note in row["notes"] + ([f"first error: {row['first_error'][:200]}"] if row["errors"] else [])
        ],
    }
    plain = [row["ratio_to_plain"] for row in rounds if "ratio_to_plain" in row]
    if plain:
        summary["ratio_to_plain"] = statistics.median(plain)
        summary["ratio_to_plain_range"] = [min(plain), max(plain)]
    summary["rounds"] = rounds
    return summary


def evaluate_targets(runs: dict[str, dict]) -> list[dict]:
    verdicts = []
    for key, description, limit, kind in TARGETS:
        for vendor, run_result in runs.items():
            rows = run_result.get("scenarios", {})
            if kind == "min_rps_postgresql" and vendor != "postgresql":
                continue
            # Medians over rounds; the range is min-max over rounds. errors: summed over rounds.
            measured, spread, invalid = None, None, []
            if kind == "max_ratio_floor" and key in rows and "floor" in rows:
                measured, spread = rows[key]["ratio_to_floor"], rows[key]["ratio_to_floor_range"]
                invalid = [name for name in (key, "floor") if rows[name]["errors"]]
            elif kind == "min_rps_postgresql" and key in rows:
                rps = [row["rps"] for row in rows[key]["rounds"]]
                measured, spread = rows[key]["rps"], [min(rps), max(rps)]
                invalid = [key] if rows[key]["errors"] else []
            elif kind == "max_ratio_plain" and "ratio_to_plain" in rows.get(key, {}):
                measured, spread = rows[key]["ratio_to_plain"], rows[key]["ratio_to_plain_range"]
                invalid = [name for name in (key, "authorize_plain") if rows[name]["errors"]]
            elif kind == "max_ratio_storage" and run_result.get("storage"):
                measured = run_result["storage"]["ratio"]
            if measured is None:
                continue
            passed = measured >= limit if kind.startswith("min") else measured <= limit
            verdict = "INVALID (errors in " + ", ".join(invalid) + ")" if invalid else ("PASS" if passed else "FAIL")
            verdicts.append(
                {
                    "target": description,
                    "db": vendor,
                    "limit": ("≥ " if kind.startswith("min") else "≤ ") + f"{limit:g}",
                    "limit_value": limit,
                    "measured": measured,
                    "measured_range": spread,
                    "verdict": verdict,
                }
            )
    return verdicts


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = [" | ".join(str(cell).ljust(width) for cell, width in zip(headers, widths, strict=True))]
    lines.append("-+-".join("-" * width for width in widths))
    for row in rows:
        lines.append(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(lines)


def report(results: dict) -> str:
    out = []
    meta = results["meta"]
    out.append(
        f"django-par benchmark, {meta['date']} (commit {meta['git_commit'][:10]}{' + uncommitted changes' if meta['git_dirty'] else ''})"
    )
    out.append(
        f"{meta['cpus']} CPUs ({meta['cpu_model']}); gunicorn sync x{CONFIG['gunicorn_workers']}, wrk -t{CONFIG['wrk_threads']} "
        f"-c{CONFIG['connections']}; {CONFIG['rounds']} interleaved rounds of {CONFIG['duration_s']:g} s per scenario, "
        f"{CONFIG['warmup_s']:g} s warm-up before round 1; CONN_MAX_AGE={CONFIG['conn_max_age']}; {meta['secret_cache']}"
    )
    out.append("")
    out.append(
        "Medians over rounds; a round's ratio is to the floor of the same round, the range is min–max over rounds:"
    )
    headers = [
        "scenario",
        "db",
        "req/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "ratio to floor",
        "ratio range",
        "errors",
        "pg CPU ms/req",
    ]
    rows = []
    for vendor, run_result in results["runs"].items():
        for name, row in run_result.get("scenarios", {}).items():
            ratio = f"{row['ratio_to_floor']:.2f}x"
            spread = "{:.2f}–{:.2f}".format(*row["ratio_to_floor_range"])
            if "ratio_to_plain" in row:
                ratio += f" ({row['ratio_to_plain']:.2f}x plain)"
                spread += " (plain {:.2f}–{:.2f})".format(*row["ratio_to_plain_range"])
            errors = str(row["errors"]) + (" FLAGGED" if row["errors"] or row["notes"] else "")
            pg = f"{row['postgres_cpu_ms_per_req']:.2f}" if row["postgres_cpu_ms_per_req"] is not None else "-"
            rows.append(
                [
                    name,
                    vendor,
                    f"{row['rps']:.0f}",
                    f"{row['p50_ms']:.1f}",
                    f"{row['p99_ms']:.1f}",
                    f"{row['cpu_ms_per_req']:.2f}",
                    ratio,
                    spread,
                    errors,
                    pg,
                ]
            )
    out.append(format_table(headers, rows))
    notes = [
        f"  {vendor} {name} {note}"
        for vendor, run_result in results["runs"].items()
        for name, row in run_result.get("scenarios", {}).items()
        for note in row["notes"]
    ]
    busy = [
        f"{vendor} {row['scenario']} round {row['round']} {row['other_cpu_s'] / row['duration_s']:.2f}"
        for vendor, run_result in results["runs"].items()
        for summary in run_result.get("scenarios", {}).values()
        for row in summary["rounds"]
        if row["other_cpu_s"] / row["duration_s"] > 0.2
    ]
    if notes:
        out.append("\nFlagged:\n" + "\n".join(notes))
    if busy:
        out.append(
            "\nOther work kept the machine busy during (cores, beside gunicorn, wrk, Redis and PostgreSQL's own): "
            + ", ".join(busy)
            + ". req/s and latency of these suffer; CPU ms/req much less (within ~15% in our runs)."
        )
    storage_rows = []
    for vendor, run_result in results["runs"].items():
        storage = run_result.get("storage")
        if storage:
            purge = storage.get("purge")
            storage_rows.append(
                [
                    vendor,
                    f"{storage['small']['median_us']:.0f} us",
                    f"{storage['large']['median_us']:.0f} us",
                    f"{storage['ratio']:.2f}x",
                    f"{storage['small']['median_wall_us']:.0f} / {storage['large']['median_wall_us']:.0f} us ({storage['ratio_wall']:.2f}x)",
                    f"{storage['large']['fill_s']:.1f} s",
                    (
                        f"{purge['deleted_rows']} rows in {purge['seconds']:.1f} s ({purge['rows_per_s']:.0f}/s)"
                        + (
                            ""
                            if purge["finished"]
                            else f", stopped at {purge['timeout_s']:g} s of {purge['expired_rows']}"
                        )
                    )
                    if purge
                    else "-",
                ]
            )
    if storage_rows:
        small, large = CONFIG["storage_small"], CONFIG["storage_large"]
        out.append("")
        out.append(
            "request_uri lookup (django_par.flow.lifecycle's query), CPU per lookup = this process + PostgreSQL backend:"
        )
        out.append(
            format_table(
                [
                    "db",
                    f"@{small:,} rows",
                    f"@{large:,} rows",
                    "ratio",
                    "wall time (ratio)",
                    "fill",
                    "purge_pushed_requests (half expired)",
                ],
                storage_rows,
            )
        )
    out.append("")
    target_rows = []
    for t in results["targets"]:
        number = "{:.0f}" if t["limit_value"] >= 100 else "{:.2f}"
        spread = t["measured_range"]
        target_rows.append(
            [
                t["target"],
                t["db"],
                t["limit"],
                number.format(t["measured"]) + ("" if t["limit_value"] >= 100 else "x"),
                f"{number.format(spread[0])}–{number.format(spread[1])}" if spread else "-",
                t["verdict"],
            ]
        )
    out.append(
        format_table(["target", "db", "limit", "measured (median)", "range over rounds", "verdict"], target_rows)
    )
    return "\n".join(out)


def metadata() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=REPO, capture_output=True, text=True).stdout.strip()

    import django
    import oauth2_provider

    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    wrk_version = subprocess.run(["wrk", "--version"], check=False, capture_output=True, text=True).stdout.splitlines()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "git_log": git("log", "--oneline", "-5").splitlines(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "django": django.__version__,
        "django_oauth_toolkit": oauth2_provider.__version__,
        "wrk": wrk_version[0] if wrk_version else "",
        "secret_cache": "secret and client caches "
        + ("on Redis (BENCH_SHARED_CACHES=1)" if CONFIG["shared_caches"] else "in process (django_par's defaults)"),
        "config": CONFIG,
    }


def main() -> int:
    if CONFIG["rounds"] < 1:
        raise SystemExit("BENCH_ROUNDS must be at least 1")
    workdir = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="django-par-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log_file = workdir / "bench.log"
    log(f"work directory {workdir} (server and command output: {log_file})")
    for tool in ("wrk",) + (("psql",) if "postgresql" in CONFIG["databases"] else ()):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (benchmarks/run.sh installs it)")
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

    key_pem, jwk = new_rsa_key()
    _load_signing_key(key_pem)
    jwks_file = workdir / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    port = free_port()
    results = {"meta": metadata(), "runs": {}}
    log(f"port {port}; databases {' '.join(CONFIG['databases'])}; {results['meta']['secret_cache']}")
    failed = False
    for vendor in CONFIG["databases"]:
        database = DatabaseRun(vendor, workdir, port, key_pem, jwks_file, log_file)
        run_result: dict = {"scenarios": {}}
        results["runs"][vendor] = run_result
        try:
            log(f"{vendor}: fresh database, migrate, demo data")
            database.setup()
            database.run_http()
            run_result["scenarios"] = database.summaries()
            if CONFIG["storage_large"] > 0:
                log(f"{vendor}: storage scaling ({CONFIG['storage_large']:,} rows)")
                run_result["storage"] = database.run_storage()
        except Exception as error:
            failed = True
            run_result["scenarios"] = database.summaries()  # the rounds measured before the failure
            run_result["error"] = f"{error.__class__.__name__}: {error}"
            log(f"{vendor}: FAILED: {run_result['error']}")
        finally:
            if database.server is not None:
                database.server.stop()
            try:
                database.drop_database()
            except Exception as error:
                log(f"{vendor}: could not drop the database: {error}")
    results["targets"] = evaluate_targets(results["runs"])
    text = report(results)
    results["table"] = text
    path = Path(CONFIG["results"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n" + text + "\n", flush=True)
    for vendor, run_result in results["runs"].items():
        if "error" in run_result:
            print(f"{vendor} run FAILED: {run_result['error']}")
    log(f"results written to {path}")
    if not os.environ.get("BENCH_WORKDIR"):
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    sys.exit(main())
