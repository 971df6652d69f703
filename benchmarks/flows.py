"""Complete authorization-code flows, server CPU per flow and per step (issue 15).

    nice -n 10 benchmarks/.venv/bin/python benchmarks/flows.py [--flows 80] [--node DIR]

Run ``bash benchmarks/run.sh`` once first (it creates benchmarks/.venv), or any
virtualenv with this checkout, gunicorn and cryptography. The example identity
provider runs under gunicorn (2 sync workers, SQLite in WAL mode, ``DEBUG`` off:
``benchmarks/settings.py``, as for the load benchmark) on a fresh database; one
client drives complete flows, one request at a time, with the demo user already
logged in (a session cookie):

* pushed cases: push (``POST /o/par/``), ``GET /o/authorize/?client_id&request_uri``
  (the consent page), the consent ``POST``, the code exchange at ``/o/token/`` with
  the PKCE ``code_verifier``;
* ``dot_*`` cases: the same flow as a plain authorization request (every
  parameter in the query, no push), the consent POST of DOT's form, the same
  code exchange.

Every response is checked (status, consent form, code in the redirect, tokens
with an ``id_token``). The cases are interleaved: flow 1 of every case, then flow 2
of every case, and so on, so a slow phase of the shared machine weighs on all
alike. The server CPU of a request is the growth of the running time of every
process of gunicorn's process group (``/proc/<pid>/schedstat``, nanoseconds)
over that request; as only one request is in flight, that is the request's CPU.
A flow's CPU is the sum of its steps. ``flows/s`` is one client's sequential rate
(wall time), ``2-core cap`` the rate two cores could serve at that CPU per flow.

``--baseline DIR`` also runs the same Django cases against a second gunicorn
serving another checkout of the project (e.g. ``git archive <commit> | tar -x -C DIR``),
on its own database, interleaved with the first: what a change saves, measured in
one run (the table's ``base:`` rows and the ``saved`` lines).

``--node DIR`` also starts node-oidc-provider from DIR (set up by
``benchmarks/node/setup.sh DIR``) and drives the same flow against it (one node
process, CPU from the same /proc counter), interleaved with the others.

It prints the table and the ratios of the issue's targets, with the min–max of
each ratio over five interleaved blocks of flows, and writes every flow to
``benchmarks/results/flows.json``. A measuring script: it exits 0 when it measured.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import http.client
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import bench  # noqa: E402  (server, database set-up and JWT helpers of the load benchmark)

STEPS = ("push", "authorize", "consent", "token")
BLOCKS = 5  # interleaved blocks of flows, for the ratios' ranges


def log(message: str) -> None:
    print(f"[flows {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- CPU of a set of processes, in nanoseconds ---------------------------------


def run_ns(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def group_pids(pgid: int) -> list[int]:
    return list(bench.group_cpu_ticks(pgid))


class CpuMeter:
    """The summed running time of some processes (re-listed when asked)."""

    def __init__(self, pids_of) -> None:
        self.pids_of = pids_of
        self.pids = pids_of()

    def refresh(self) -> None:
        self.pids = self.pids_of()

    def now(self) -> int:
        return sum(run_ns(pid) for pid in self.pids)


# -- HTTP, one request per connection (gunicorn's sync workers close anyway) --------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    cookies: dict[str, str]
    body: str


def request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None) -> Answer:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        all_headers = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body.encode() if body is not None else None, headers=all_headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        cookies = {}
        for value in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, cookies, text)
    finally:
        connection.close()


class FormReader(HTMLParser):
    """The hidden inputs of the page's first form (the consent form)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action: str | None = None
        self.forms = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms += 1
            self.action = attributes.get("action")
        elif tag == "input" and self.forms == 1 and attributes.get("type") == "hidden" and attributes.get("name"):
            self.fields[attributes["name"]] = attributes.get("value") or ""


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- the cases ----------------------------------------------------------------------


@dataclass
class Case:
    name: str
    label: str
    client_id: str
    pushed: bool
    auth: str  # basic, public, private_key_jwt
    secret: str = ""
    server: str = "django"
    dpop: bool = False  # a DPoP proof (RFC 9449, ES256) at the push and at the token endpoint
    flows: list[dict] = field(default_factory=list)  # per flow: {"push": ns, ..., "wall": s}


class DjangoTarget:
    """The example identity provider under gunicorn."""

    def __init__(self, run: bench.DatabaseRun, server: bench.Server) -> None:
        self.run = run
        self.port = run.port
        self.meter = CpuMeter(lambda: group_pids(server.pgid))
        self.cookies = {run.prepared["session_cookie_name"]: run.prepared["session_key"]}
        self.issuer = run.issuer
        self.redirect_uri = run.redirect_uri

    def flow(self, case: Case) -> dict:
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": case.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid read",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        steps: dict = {"push": 0}
        started = time.perf_counter()
        if case.pushed:
            body, headers = client_auth(case, dict(params), self.issuer)
            if case.dpop:
                headers["DPoP"] = dpop_proof("POST", f"http://127.0.0.1:{self.port}/o/par/")
            answer = self.step(steps, "push", "POST", "/o/par/", body, headers)
            check(answer.status == 201, case, "push", answer)
            query = {"client_id": case.client_id, "request_uri": json.loads(answer.body)["request_uri"]}
        else:
            query = params
        path = "/o/authorize/?" + urllib.parse.urlencode(query)
        answer = self.step(steps, "authorize", "GET", path, headers={"Cookie": cookie_header(self.cookies)})
        check(answer.status == 200 and 'id="authorizationForm"' in answer.body, case, "authorize", answer)
        self.cookies.update(answer.cookies)
        form = FormReader()
        form.feed(answer.body)
        data = {**form.fields, "allow": "Authorize"}
        answer = self.step(
            steps,
            "consent",
            "POST",
            path,
            urllib.parse.urlencode(data),
            {"Cookie": cookie_header(self.cookies), "Referer": f"http://127.0.0.1:{self.port}{path}"},
        )
        location = answer.headers.get("location", "")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [""])[0]
        check(answer.status == 302 and code, case, "consent", answer)
        token_params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        body, headers = client_auth(case, token_params, self.issuer)
        if case.dpop:
            headers["DPoP"] = dpop_proof("POST", f"http://127.0.0.1:{self.port}/o/token/")
        answer = self.step(steps, "token", "POST", "/o/token/", body, headers)
        check(answer.status == 200 and '"id_token"' in answer.body, case, "token", answer)
        if case.dpop:
            check(json.loads(answer.body).get("token_type") == "DPoP", case, "token", answer)
        steps["wall"] = time.perf_counter() - started
        return steps

    def step(self, steps: dict, name: str, method: str, path: str, body=None, headers=None) -> Answer:
        before = self.meter.now()
        answer = request(self.port, method, path, body, headers)
        steps[name] = self.meter.now() - before
        return answer


def client_auth(case: Case, params: dict, issuer: str, keep_client_id: bool = False) -> tuple[str, dict]:
    """The body and headers authenticating ``case``'s client (signing is the client's CPU, not timed)."""
    headers = {}
    if case.auth == "basic":
        credentials = f"{urllib.parse.quote(case.client_id)}:{urllib.parse.quote(case.secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        if not keep_client_id:
            params.pop("client_id", None)
    elif case.auth == "public":
        params["client_id"] = case.client_id
    elif case.auth == "private_key_jwt":
        now = int(time.time())
        claims = {"iss": case.client_id, "sub": case.client_id, "aud": issuer, "jti": uuid.uuid4().hex}
        claims.update(iat=now, exp=now + 120)
        params["client_id"] = case.client_id
        params["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        params["client_assertion"] = bench.sign_jwt(claims)
    return urllib.parse.urlencode(params), headers


_DPOP_KEY = None


def dpop_proof(method: str, url: str) -> str:
    """A DPoP proof (RFC 9449 §4.2) by one ES256 key per run; made by the client, not timed."""
    from jwcrypto import jwk, jws

    global _DPOP_KEY
    if _DPOP_KEY is None:
        _DPOP_KEY = jwk.JWK.generate(kty="EC", crv="P-256")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": _DPOP_KEY.export_public(as_dict=True)}
    claims = {"jti": uuid.uuid4().hex, "htm": method, "htu": url, "iat": int(time.time())}
    token = jws.JWS(json.dumps(claims))
    token.add_signature(_DPOP_KEY, alg="ES256", protected=json.dumps(header))
    return token.serialize(compact=True)


def check(ok, case: Case, step: str, answer: Answer) -> None:
    if not ok:
        raise RuntimeError(f"{case.name}: {step} answered {answer.status}: {answer.headers} {answer.body[:600]}")


@contextlib.contextmanager
def checkout(tree: Path):
    """bench.py's set-up and server, run from another checkout (its code, its benchmarks package)."""
    saved = bench.REPO
    bench.REPO = tree
    try:
        yield
    finally:
        bench.REPO = saved


def start_django(tree: Path, workdir: Path, key_pem: bytes, jwks_file: Path, log_file: Path):
    workdir.mkdir(exist_ok=True)
    port = bench.free_port()
    with checkout(tree):
        run = bench.DatabaseRun("sqlite", workdir, port, key_pem, jwks_file, log_file)
        run.env["PYTHONPATH"] = str(tree)
        log(f"fresh SQLite database for {tree}: migrate, demo and benchmark clients")
        run.setup()
        server = bench.Server(run.env, port, workdir, log_file)
    return run, server


# -- node-oidc-provider ------------------------------------------------------------------


class NodeTarget:
    """node-oidc-provider 9 (benchmarks/node/server.mjs), one process, driven the same way."""

    def __init__(self, node_dir: Path, workdir: Path, log_file: Path) -> None:
        self.port = bench.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = f"{self.base}/cb"
        env = {**os.environ, "PORT": str(self.port), "NODE_ENV": "production"}
        self.log = open(log_file, "a")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            ["node", str(node_dir / "server.mjs")],
            cwd=node_dir,
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        self.meter = CpuMeter(lambda: [self.process.pid])
        self.cookies: dict[str, str] = {}
        self.issuer = self.base
        deadline = time.monotonic() + 30
        while True:
            try:
                if request(self.port, "GET", "/.well-known/openid-configuration").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"node-oidc-provider did not start; see {log_file}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def login(self) -> None:
        """Sign the user in once (as the Django session is): a flow whose interaction logs in."""
        case = Case("node_login", "", "bench-confidential", True, "basic", "bench-confidential-secret", "node")
        self.flow(case, login=True)

    def flow(self, case: Case, login: bool = False) -> dict:
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": case.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": "openid",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        steps: dict = {}
        started = time.perf_counter()
        # node-oidc-provider wants client_id in the pushed body with HTTP Basic too (RFC 9126 allows it).
        body, headers = client_auth(case, dict(params), self.issuer, keep_client_id=True)
        answer = self.step(steps, "push", "POST", "/request", body, headers)
        check(answer.status == 201, case, "push", answer)
        query = {"client_id": case.client_id, "request_uri": json.loads(answer.body)["request_uri"]}
        # The authorization request redirects to the interaction, whose page is the consent page.
        answer = self.step(steps, "authorize", "GET", "/auth?" + urllib.parse.urlencode(query))
        check(answer.status in (302, 303), case, "authorize", answer)
        interaction = urllib.parse.urlsplit(answer.headers["location"]).path
        answer = self.step(steps, "authorize", "GET", interaction)
        check(answer.status == 200 and ("login" if login else "consent") in answer.body, case, "authorize", answer)
        if login:
            answer = self.step(steps, "consent", "POST", interaction + "/login", "login=demo")
            check(answer.status in (302, 303), case, "login", answer)
            answer = self.step(steps, "consent", "GET", urllib.parse.urlsplit(answer.headers["location"]).path)
            interaction = urllib.parse.urlsplit(answer.headers["location"]).path
            answer = self.step(steps, "consent", "GET", interaction)
        # The consent POST ends the interaction; the authorization resumes and redirects with the code.
        answer = self.step(steps, "consent", "POST", interaction + "/confirm", "")
        check(answer.status in (302, 303), case, "consent", answer)
        answer = self.step(steps, "consent", "GET", urllib.parse.urlsplit(answer.headers["location"]).path)
        location = answer.headers.get("location", "")
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [""])[0]
        check(answer.status in (302, 303) and code, case, "consent", answer)
        token_params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        body, headers = client_auth(case, token_params, self.issuer)
        answer = self.step(steps, "token", "POST", "/token", body, headers)
        check(answer.status == 200 and '"id_token"' in answer.body, case, "token", answer)
        steps["wall"] = time.perf_counter() - started
        return steps

    def step(self, steps: dict, name: str, method: str, path: str, body=None, headers=None) -> Answer:
        headers = {**(headers or {}), "Cookie": cookie_header(self.cookies)}
        before = self.meter.now()
        answer = request(self.port, method, path, body, headers)
        steps[name] = steps.get(name, 0) + self.meter.now() - before
        self.cookies.update({k: v for k, v in answer.cookies.items() if v})
        return answer


# -- statistics ----------------------------------------------------------------------------


def ms(ns: float) -> float:
    return ns / 1e6


def flow_ns(flow: dict) -> int:
    return sum(flow.get(step, 0) for step in STEPS)


def summary(case: Case) -> dict:
    flows = case.flows
    totals = [flow_ns(flow) for flow in flows]
    return {
        "flows": len(flows),
        "cpu_ms_median": ms(statistics.median(totals)),
        "cpu_ms_mean": ms(statistics.fmean(totals)),
        "steps_ms_median": {step: ms(statistics.median(flow.get(step, 0) for flow in flows)) for step in STEPS},
        "flows_per_s": len(flows) / sum(flow["wall"] for flow in flows),
    }


def block_ratios(numerator: Case, denominator: Case) -> list[float]:
    """The ratio of mean CPU per flow in each of BLOCKS interleaved blocks of flows."""
    size = max(1, len(numerator.flows) // BLOCKS)
    ratios = []
    for start in range(0, size * BLOCKS, size):
        top = [flow_ns(flow) for flow in numerator.flows[start : start + size]]
        bottom = [flow_ns(flow) for flow in denominator.flows[start : start + size]]
        if top and bottom:
            ratios.append(statistics.fmean(top) / statistics.fmean(bottom))
    return ratios


def ratio(numerator: Case, denominator: Case) -> tuple[float, float, float]:
    whole = statistics.fmean(map(flow_ns, numerator.flows)) / statistics.fmean(map(flow_ns, denominator.flows))
    blocks = block_ratios(numerator, denominator)
    return whole, min(blocks), max(blocks)


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flows", type=int, default=80, help="measured flows per case (default 80)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured flows per case first (default 5)")
    parser.add_argument("--baseline", metavar="DIR", help="also the Django cases against this other checkout")
    parser.add_argument(
        "--node", metavar="DIR", help="also node-oidc-provider, set up in DIR by benchmarks/node/setup.sh"
    )
    parser.add_argument("--results", default=str(BENCH_DIR / "results" / "flows.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="django-par-flows-") as tmp:
        workdir = Path(tmp)
        log_file = workdir / "flows.log"
        try:
            measure(args, workdir, log_file)
        except BaseException:
            if log_file.exists():
                print(log_file.read_text()[-4000:], file=sys.stderr)
            raise


def measure(args: argparse.Namespace, workdir: Path, log_file: Path) -> None:
    key_pem, jwk = bench.new_rsa_key()
    bench._load_signing_key(key_pem)
    jwks_file = workdir / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    run, server = start_django(bench.REPO, workdir / "current", key_pem, jwks_file, log_file)
    servers = [server]
    node = None
    try:
        server.wait_ready()
        django = DjangoTarget(run, server)
        prepared = run.prepared
        cases = [
            Case("par_hashed", "PAR, confidential, DOT's default hashed secret", "demo-confidential", True, "basic",
                 "demo-confidential-secret"),
            Case("par_plain", "PAR, confidential, plain secret", prepared["plain_client_id"], True, "basic",
                 prepared["plain_secret"]),
            Case("par_public", "PAR, public client (PKCE)", "demo-public", True, "public"),
            Case("par_pkjwt", "PAR, private_key_jwt", prepared["pkjwt_client_id"], True, "private_key_jwt"),
            Case("par_dpop", "PAR, public client with DPoP (ES256 proofs at push and token)", "demo-public", True,
                 "public", dpop=True),
            Case("dot_hashed", "DOT without PAR, confidential, hashed secret", "demo-confidential", False, "basic",
                 "demo-confidential-secret"),
            Case("dot_public", "DOT without PAR, public client (PKCE)", "demo-public", False, "public"),
        ]  # fmt: skip
        targets: dict[str, object] = {case.name: django for case in cases}
        meters = [django.meter]
        if args.baseline:
            base_run, base_server = start_django(
                Path(args.baseline).resolve(), workdir / "baseline", key_pem, jwks_file, log_file
            )
            servers.append(base_server)
            with checkout(Path(args.baseline).resolve()):
                base_server.wait_ready()
            baseline = DjangoTarget(base_run, base_server)
            meters.append(baseline.meter)
            for case in [case for case in cases if not case.dpop]:  # an older checkout may lack DPoP
                twin = Case("base:" + case.name, "baseline: " + case.label, case.client_id, case.pushed, case.auth,
                            case.secret, dpop=case.dpop)  # fmt: skip
                cases.append(twin)
                targets[twin.name] = baseline
        if args.node:
            node = NodeTarget(Path(args.node).resolve(), workdir, log_file)
            node.login()
            for case in [
                Case("node_confidential", "node-oidc-provider 9, PAR, confidential (client_secret_basic)",
                     "bench-confidential", True, "basic", "bench-confidential-secret", "node"),
                Case("node_public", "node-oidc-provider 9, PAR, public client (PKCE)", "bench-public", True,
                     "public", "", "node"),
            ]:  # fmt: skip
                cases.append(case)
                targets[case.name] = node
        server.wait_ready()
        for meter in meters:
            meter.refresh()
        log(f"{len(cases)} cases, {args.warmup} warm-up and {args.flows} measured flows each, interleaved")
        for i in range(args.warmup + args.flows):
            for case in cases:
                steps = targets[case.name].flow(case)  # type: ignore[attr-defined]
                if i >= args.warmup:
                    case.flows.append(steps)
            if (i + 1) % 20 == 0:
                log(f"  {i + 1} flows of each case")
        for meter in meters:
            if sorted(meter.pids_of()) != sorted(meter.pids):
                log("WARNING: gunicorn's processes changed during the run (a worker restarted)")
    finally:
        for each in servers:
            each.stop()
        if node:
            node.stop()
    report(cases, args)


def report(cases: list[Case], args: argparse.Namespace) -> None:
    by_name = {case.name: case for case in cases}
    rows = {case.name: summary(case) for case in cases}
    print()
    print(f"{'case':<24} {'CPU ms/flow':>11} {'(mean)':>8} {'push':>6} {'authz':>6} {'consent':>7} {'token':>6}"
          f" {'flows/s':>8} {'2-core cap':>10}")  # fmt: skip
    for case in cases:
        row = rows[case.name]
        steps = row["steps_ms_median"]
        print(
            f"{case.name:<24} {row['cpu_ms_median']:>11.1f} {row['cpu_ms_mean']:>8.1f} {steps['push']:>6.1f}"
            f" {steps['authorize']:>6.1f} {steps['consent']:>7.1f} {steps['token']:>6.1f}"
            f" {row['flows_per_s']:>8.1f} {2000 / row['cpu_ms_mean']:>10.0f}"
        )
    print("(CPU: median over flows, and mean; steps: medians, so they need not add up to the flow's median)")
    print()
    comparisons = [
        ("par_hashed", "par_plain", "hashed secret / plain secret (target <= 1.15)", 1.15),
        ("par_hashed", "dot_hashed", "PAR / plain DOT, confidential hashed (target <= 1.1)", 1.1),
        ("par_public", "dot_public", "PAR / plain DOT, public (target <= 1.1)", 1.1),
        ("par_pkjwt", "par_plain", "private_key_jwt / plain secret", None),
        ("par_dpop", "par_public", "DPoP / no DPoP, public", None),
        ("par_hashed", "node_confidential", "django_par / node-oidc-provider, confidential (target <= 2.5)", 2.5),
        ("par_public", "node_public", "django_par / node-oidc-provider, public", None),
    ]
    ratios = {}
    for top, bottom, text, limit in comparisons:
        if top in by_name and bottom in by_name:
            whole, low, high = ratio(by_name[top], by_name[bottom])
            verdict = "" if limit is None else ("PASS" if whole <= limit else "FAIL")
            ratios[f"{top}/{bottom}"] = {"ratio": whole, "blocks_min": low, "blocks_max": high, "limit": limit}
            print(f"{text:<66} {whole:5.2f}x  ({low:.2f}-{high:.2f} over {BLOCKS} blocks)  {verdict}")
    for case in cases:
        base = by_name.get("base:" + case.name)
        if base is None:
            continue
        now, before = rows[case.name], rows[base.name]
        saved = {step: before["steps_ms_median"][step] - now["steps_ms_median"][step] for step in STEPS}
        whole, low, high = ratio(case, base)
        print(
            f"saved, {case.name:<11} {before['cpu_ms_mean'] - now['cpu_ms_mean']:+5.2f} ms/flow (mean),"
            f" now {whole:.3f}x the baseline ({low:.2f}-{high:.2f}); per step (medians): "
            + ", ".join(f"{step} {value:+.2f}" for step, value in saved.items())
        )
        ratios[f"{case.name}/{base.name}"] = {"ratio": whole, "blocks_min": low, "blocks_max": high, "limit": None}
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                "commit": subprocess.run(
                    ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=BENCH_DIR
                ).stdout.strip(),
                "flows_per_case": args.flows,
                "summary": rows,
                "ratios": ratios,
                "cases": {case.name: {"label": case.label, "flows": case.flows} for case in cases},
            },
            indent=1,
        )
    )
    print(f"\nevery flow: {results}")


if __name__ == "__main__":
    main()
