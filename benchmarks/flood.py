"""A flood of wrong client secrets beside a legitimate client, with and without django_par's limits.

    python benchmarks/flood.py                      # SQLite file, Redis cache (127.0.0.1:6379)
    BENCH_DB=postgresql python benchmarks/flood.py

Django's real PBKDF2 hasher (PASSWORD_HASHERS is overridden to it). For each
scenario a fresh confidential client:

1. CPU: ``--requests`` wrong-secret pushes through Django's test client, one
   thread, ``time.process_time`` per request;
2. both at once, for ``--seconds``: attacker threads push wrong secrets at
   ``--rate`` requests per second in all (from one address, or with
   ``--addresses`` from many; a thread late on its schedule sends at once) while one legitimate thread pushes
   with the right secret from its own address; reported: the attackers' CPU per
   request (``time.thread_time``: the whole request runs in their thread), their
   answers, and the legitimate pushes' latency (wall clock).

Both phases are the worst case, a client whose verified secret is never cached
(a warm entry refuses a wrong secret without hashing, and accepts the right one
without hashing): phase 1 empties the in-process cache before each request,
phase 2 runs with ``SECRET_CACHE_TTL`` 0, so the legitimate client pays the hash
too. "limits off" sets the three slow-hash limits to None: the behaviour before
django_par.limits.
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from benchmarks.scratch import scratch_database  # noqa: E402

SECRET = "the-right-secret-0123456789"
NO_LIMITS = {"AUTH_FAILURE_RATE": None, "SLOW_HASH_RATE_PER_CLIENT": None, "SLOW_HASH_RATE_PER_ADDRESS": None}
REDIRECT_URI = "https://client.example.org/cb"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def push(client_id: str, secret: str, address: str) -> int:
    from django.test import Client

    body = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "state-0123456789",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    response = Client().post(
        "/o/par/",
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        headers={"authorization": basic(client_id, secret)},
        REMOTE_ADDR=address,
    )
    return int(response.status_code)


def new_client() -> str:
    """A fresh confidential client (fresh limit counters too), its secret hashed by the real hasher."""
    from django.contrib.auth.hashers import make_password
    from oauth2_provider.models import get_application_model

    application = get_application_model().objects.create(
        client_id=f"flood-{time.time_ns()}",
        client_type="confidential",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT_URI,
        client_secret=make_password(SECRET),
        hash_client_secret=False,  # already hashed above
        algorithm="RS256",
    )
    return str(application.client_id)


def scenario(label: str, limits: dict[str, Any], args: argparse.Namespace) -> None:
    attackers, requests, addresses, seconds = args.attackers, args.requests, args.addresses, args.seconds
    from django.db import connections
    from django.test.utils import override_settings

    from django_par.clients.cache import IN_PROCESS_CACHE

    answers: Counter[int] = Counter()
    attacker_cpu: list[float] = []
    latencies: list[float] = []
    legitimate: Counter[int] = Counter()
    flooding = threading.Event()
    flooding.set()
    lock = threading.Lock()

    def attack(client_id: str, address: str) -> int:
        IN_PROCESS_CACHE.clear()  # a cold worker
        return push(client_id, "wrong-secret", address)

    client_id = ""

    def attacker(index: int) -> None:
        started = time.thread_time()
        statuses = []
        n = 0
        interval = attackers / args.rate
        due = time.perf_counter()
        while flooding.is_set():
            statuses.append(push(client_id, "wrong-secret", f"203.0.113.{(index + n * attackers) % addresses + 1}"))
            n += 1
            due += interval
            time.sleep(max(0.0, due - time.perf_counter()))
        with lock:
            attacker_cpu.append(time.thread_time() - started)
            answers.update(statuses)
        connections.close_all()

    def legitimate_client() -> None:
        while flooding.is_set():
            started = time.perf_counter()
            status = push(client_id, SECRET, "198.51.100.7")
            latencies.append(time.perf_counter() - started)
            legitimate[status] += 1
            time.sleep(0.05)
        connections.close_all()

    with override_settings(
        ALLOWED_HOSTS=["testserver"],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
        DJANGO_PAR={**_site_par_settings(), **limits},
    ):
        target = new_client()
        started = time.process_time()
        alone_answers = Counter(attack(target, f"192.0.2.{n % addresses + 1}") for n in range(requests))
        cpu_alone = (time.process_time() - started) / requests
        client_id = new_client()
        with override_settings(DJANGO_PAR={**_site_par_settings(), "SECRET_CACHE_TTL": 0}):
            alone = []
            for _ in range(5):
                started = time.perf_counter()
                push(client_id, SECRET, "198.51.100.7")
                alone.append(time.perf_counter() - started)
            threads = [threading.Thread(target=attacker, args=(index,)) for index in range(attackers)]
            threads.append(threading.Thread(target=legitimate_client))
            for thread in threads:
                thread.start()
            time.sleep(seconds)
            flooding.clear()
            for thread in threads:
                thread.join()

    sent = sum(answers.values())
    print(f"{label}:")
    print(
        f"  {requests} wrong secrets, one thread: {cpu_alone * 1000:.1f} ms CPU per request, answers {dict(alone_answers)}"
    )
    print(
        f"  both at once for {seconds:g} s, {attackers} attacker threads at {args.rate:g} requests/s in all, "
        "one legitimate client, no secret cache:"
    )
    print(f"    attackers: {sent} wrong-secret pushes from {min(addresses, sent)} address(es), answers {dict(answers)}")
    print(f"    attacker CPU per request: {sum(attacker_cpu) / sent * 1000:.1f} ms (total {sum(attacker_cpu):.2f} s)")
    print(
        f"    legitimate client: {sum(legitimate.values())} pushes, answers {dict(legitimate)}, latency median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"(alone before the flood: median {statistics.median(alone) * 1000:.0f} ms)"
    )


def _site_par_settings() -> dict[str, Any]:
    from django.conf import settings

    return dict(getattr(settings, "DJANGO_PAR", {}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50, help="wrong-secret pushes of phase 1 (default 50)")
    parser.add_argument("--attackers", type=int, default=2, help="attacker threads (default 2)")
    parser.add_argument("--addresses", type=int, default=1, help="attacker source addresses (default 1)")
    parser.add_argument("--rate", type=float, default=10, help="attacker requests per second in phase 2 (default 10)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the flood of phase 2 (default 10)")
    args = parser.parse_args()
    with scratch_database("flood"):
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        print(f"wrong-secret flood on {connection.vendor}, real PBKDF2 ({_iterations()} iterations)")
        for label, limits in (("limits off (before)", NO_LIMITS), ("default limits (after)", {})):
            scenario(label, limits, args)


def _iterations() -> int:
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    return PBKDF2PasswordHasher.iterations


if __name__ == "__main__":
    main()
