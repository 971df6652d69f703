"""Storage scaling of pushed requests: request_uri lookups at 1k and 1M rows, purge.

Prints one JSON object. The lookup is the one django_par.flow.lifecycle makes at the
authorization endpoint (DatabaseStore.find, the default store):

    PushedRequest.objects.select_related("application").filter(request_uri_digest=...).first()

The table is emptied first (the HTTP scenarios left rows in it), filled with
--small rows, measured, grown to --large rows, measured again. Rows are filled
in bulk (PostgreSQL: one INSERT ... SELECT generate_series; SQLite: one
executemany in one transaction); their digests are sha256("bench-<i>"), so a
lookup of row i is computed, not read back.
"""

import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from oauth2_provider.models import get_application_model

from django_par.models import PushedRequest

Application = get_application_model()

# A realistic stored request: what a typical code flow push with PKCE stores.
PARAMETERS = {
    "response_type": "code",
    "client_id": "demo-public",
    "redirect_uri": "http://127.0.0.1:8000/demo/callback/",
    "scope": "openid read",
    "state": "bench-state-0123456789",
    "nonce": "bench-nonce-0123456789",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM",
    "code_challenge_method": "S256",
}


def digest(i):
    return hashlib.sha256(f"bench-{i}".encode()).hexdigest()


try:  # django_par with pluggable stores: what resolution calls, with the database store
    from django_par.flow.stores import DatabaseStore

    _database_store = DatabaseStore()

    def lookup(value):
        return _database_store.find(value)

except ImportError:  # before stores: resolution's own query

    def lookup(value):
        return PushedRequest.objects.select_related("application").filter(request_uri_digest=value).first()


class Command(BaseCommand):
    help = "Time request_uri lookups with a small and a large pushed request table; time the purge."

    def add_arguments(self, parser):
        parser.add_argument("--small", type=int, default=1000)
        parser.add_argument("--large", type=int, default=1_000_000)
        parser.add_argument("--lookups", type=int, default=2000, help="lookups per timed round")
        parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the median round counts")
        parser.add_argument("--purge", action="store_true", help="also time purge_pushed_requests, half expired")
        parser.add_argument("--purge-timeout", type=float, default=60, help="stop the purge after this many seconds")

    def handle(self, *args, small, large, lookups, rounds, purge, purge_timeout, **options):
        application = Application.objects.get(client_id="demo-public")
        self.table = PushedRequest._meta.db_table
        self.empty()
        result = {"vendor": connection.vendor, "lookups_per_round": lookups, "rounds": rounds}

        started = time.perf_counter()
        self.fill(1, small, application.pk)
        result["small"] = {
            "rows": self.count(),
            "fill_s": time.perf_counter() - started,
            **self.time_lookups(small, lookups, rounds),
        }

        started = time.perf_counter()
        self.fill(small + 1, large, application.pk)
        result["large"] = {
            "rows": self.count(),
            "fill_s": time.perf_counter() - started,
            **self.time_lookups(large, lookups, rounds),
        }
        result["ratio"] = result["large"]["median_us"] / result["small"]["median_us"]
        result["ratio_wall"] = result["large"]["median_wall_us"] / result["small"]["median_wall_us"]
        result["plan_large"] = self.plan(digest(large // 2))

        if purge:
            result["purge"] = self.time_purge(purge_timeout)
        self.stdout.write(json.dumps(result))

    # -- filling ---------------------------------------------------------------

    def empty(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {self.table}")
            else:
                cursor.execute(f"DELETE FROM {self.table}")

    def count(self):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {self.table}")
            return cursor.fetchone()[0]

    def fill(self, first, last, application_id):
        """Rows first..last, unexpired (an hour to live), state pushed."""
        if last < first:
            return
        now = timezone.now()
        expires = now + timedelta(hours=1)
        parameters = json.dumps(PARAMETERS)
        columns = "request_uri_digest, application_id, parameters, state, created_at, expires_at"
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"INSERT INTO {self.table} ({columns}) "
                    "SELECT encode(sha256(convert_to('bench-' || i, 'UTF8')), 'hex'), %s, %s::jsonb, 'pushed', %s, %s "
                    "FROM generate_series(%s, %s) AS i",
                    [application_id, parameters, now, expires, first, last],
                )
                cursor.execute(f"ANALYZE {self.table}")
            else:
                created, expires_at = now.isoformat(), expires.isoformat()
                rows = (
                    (digest(i), application_id, parameters, "pushed", created, expires_at)
                    for i in range(first, last + 1)
                )
                with transaction.atomic():
                    cursor.executemany(f"INSERT INTO {self.table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)", rows)
                cursor.execute(f"ANALYZE {self.table}")

    # -- measuring -------------------------------------------------------------

    def time_lookups(self, rows, lookups, rounds):
        """Per lookup: wall time, and CPU time of this process plus the database server's backend.

        CPU time does not grow when other processes compete for the cores, so it
        is the figure compared; wall time is reported beside it.
        """
        rng = random.Random(rows)
        # One untimed round warms the caches, as a running server has them warm.
        for _ in range(max(1, lookups // 4)):
            lookup(digest(rng.randint(1, rows)))
        wall, cpu = [], []
        for _ in range(rounds):
            values = [digest(rng.randint(1, rows)) for _ in range(lookups)]
            backend_before = self.backend_cpu()
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            found = sum(lookup(value) is not None for value in values)
            wall_elapsed = time.perf_counter() - wall_started
            cpu_elapsed = time.process_time() - cpu_started + self.backend_cpu() - backend_before
            if found != lookups:
                raise RuntimeError(f"{lookups - found} lookups of existing rows found nothing")
            wall.append(wall_elapsed / lookups * 1e6)
            cpu.append(cpu_elapsed / lookups * 1e6)
        return {
            "median_us": statistics.median(cpu),
            "median_wall_us": statistics.median(wall),
            "rounds_cpu_us": cpu,
            "rounds_wall_us": wall,
        }

    def backend_cpu(self):
        """CPU seconds of this connection's PostgreSQL backend (same machine); 0 for SQLite (in-process)."""
        if connection.vendor != "postgresql":
            return 0.0
        if not hasattr(self, "_backend_pid"):
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self._backend_pid = cursor.fetchone()[0]
        try:
            with open(f"/proc/{self._backend_pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def plan(self, value):
        queryset = PushedRequest.objects.select_related("application").filter(request_uri_digest=value)
        queryset = queryset if queryset.ordered else queryset.order_by("pk")
        return queryset[:1].explain()

    def time_purge(self, timeout):
        """Expire every second row, then run the management command a site schedules.

        Every second row, not the oldest half: on a running server, flows that
        were opened live FLOW_LIFETIME (30 min) while abandoned pushes expire
        after REQUEST_URI_LIFETIME, so expired and live rows alternate. The
        command runs in its own process, stopped after ``timeout`` seconds;
        each of its batches is committed on its own, so the rows it deleted by
        then are a true rate.
        """
        past = timezone.now() - timedelta(hours=1)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {self.table} SET expires_at = %s WHERE id %% 2 = 0", [past])
            expired = cursor.rowcount
            if connection.vendor == "postgresql":
                cursor.execute(f"VACUUM ANALYZE {self.table}")
            else:
                cursor.execute(f"ANALYZE {self.table}")
        before = self.count()
        connection.close()  # SQLite: no lock held while the command runs
        started = time.perf_counter()
        command = [sys.executable, "-m", "django", "purge_pushed_requests"]
        try:
            subprocess.run(command, check=True, timeout=timeout, stdout=subprocess.DEVNULL)
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
        elapsed = time.perf_counter() - started
        deleted = before - self.count()
        return {
            "expired_rows": expired,
            "deleted_rows": deleted,
            "finished": finished,
            "timeout_s": timeout,
            "seconds": elapsed,
            "rows_per_s": deleted / elapsed,
        }
