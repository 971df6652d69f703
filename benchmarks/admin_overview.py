"""The admin overview's queries on a million pushed requests (SQLite and PostgreSQL).

    python benchmarks/admin_overview.py --db sqlite
    python benchmarks/admin_overview.py --db postgresql        # 127.0.0.1:5432, user postgres

Fills a fresh database (a temporary SQLite file, or the PostgreSQL database
``django_par_bench_overview``, created and dropped) with ``--rows`` pushed requests
(1,000,000 by default) spread evenly over ``--days`` days (10: about 100,000 in the
overview's last 24 hours) across 50 clients, in every state, then times
``django_par.admin_overview.overview_context`` (the page's queries: states, clients,
client ids, hours), ``--repeat`` times after one warm-up, and prints the median and the
slowest, per query and in all. On PostgreSQL it also prints each query's plan
(EXPLAIN ANALYZE), to show the ``django_par_overview`` index at work. It measures and
prints; it asserts nothing. Figures: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_NAME = "django_par_bench_overview"
CLIENTS = 50


def configure(db: str, sqlite_path: str) -> None:
    import django
    from django.conf import settings

    if db == "postgresql":
        database = {"ENGINE": "django.db.backends.postgresql", "NAME": PG_NAME, "USER": "postgres", "HOST": "127.0.0.1"}
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path}
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "oauth2_provider",
            "django_par",
        ],
        DATABASES={"default": database},
        USE_TZ=True,
        TIME_ZONE="UTC",
        SECRET_KEY="benchmark",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        OAUTH2_PROVIDER_APPLICATION_MODEL="oauth2_provider.Application",
    )
    django.setup()


FILL_POSTGRESQL = """
INSERT INTO django_par_pushedrequest
    (request_uri_digest, application_id, parameters, state, created_at, expires_at, used_at, consumed_at)
SELECT md5(i::text) || md5((-i)::text), %(first)s + i %% %(clients)s, '{"response_type": "code"}'::jsonb,
       CASE WHEN i %% 10 < 7 THEN 'consumed' WHEN i %% 10 < 9 THEN 'pushed' ELSE 'in_use' END,
       now() - (i * %(step)s) * interval '1 second',
       now() - (i * %(step)s) * interval '1 second' + interval '90 seconds',
       NULL, NULL
FROM generate_series(1, %(rows)s) AS i
"""

FILL_SQLITE = """
INSERT INTO django_par_pushedrequest
    (request_uri_digest, application_id, parameters, state, created_at, expires_at, used_at, consumed_at)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %(rows)s)
SELECT printf('%%064d', i), %(first)s + i %% %(clients)s, '{"response_type": "code"}',
       CASE WHEN i %% 10 < 7 THEN 'consumed' WHEN i %% 10 < 9 THEN 'pushed' ELSE 'in_use' END,
       strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s, printf('%%+f seconds', -i * %(step)s)),
       strftime('%%Y-%%m-%%d %%H:%%M:%%f', %(now)s, printf('%%+f seconds', 90 - i * %(step)s)),
       NULL, NULL
FROM n
"""


def fill(db: str, rows: int, days: float) -> float:
    from django.db import connection
    from django.utils import timezone
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    apps = [
        Application.objects.create(
            client_id=f"bench-{n}",
            name=f"bench {n}",
            client_type=Application.CLIENT_PUBLIC,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris="https://rp.example/cb",
        )
        for n in range(CLIENTS)
    ]
    step = days * 86400 / rows
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if db == "postgresql":
            cursor.execute(FILL_POSTGRESQL, {"first": apps[0].pk, "clients": CLIENTS, "step": step, "rows": rows})
            # What autovacuum does to a table this size soon after the fill: statistics, and the
            # visibility map that lets the planner answer from the covering index alone.
            cursor.execute("VACUUM (ANALYZE) django_par_pushedrequest")
        else:
            now = timezone.now().strftime("%Y-%m-%d %H:%M:%S.%f")
            params = {"first": apps[0].pk, "clients": CLIENTS, "step": step, "rows": rows, "now": now}
            cursor.execute(FILL_SQLITE, params)
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def measure(repeat: int, explain: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from django_par import admin_overview
    from django_par.models import PushedRequest

    parts = {
        "hours": admin_overview.hourly,
        "states": lambda now: admin_overview.recent(now).aggregate(**admin_overview.state_counts(now)),
        "clients": admin_overview.per_client,
        "whole page": admin_overview.overview_context,
    }
    total_rows = PushedRequest.objects.count()
    context = admin_overview.overview_context(timezone.now())  # warm-up
    print(f"rows: {total_rows:,}; in the last 24 h: {context['states']['total']:,}")
    sqls: dict[str, list[str]] = {}
    for name, part in parts.items():
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                part(timezone.now())
                times.append((time.perf_counter() - started) * 1000)
            sqls[name] = [query["sql"] for query in captured.captured_queries]
        count = len(sqls[name])
        print(
            f"  {name:<11} {count} quer{'y' if count == 1 else 'ies'}: median {statistics.median(times):8.1f} ms, max {max(times):8.1f} ms"
        )
    if explain and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for name in ("hours", "states", "clients"):
                cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sqls[name][0])
                print(f"-- plan of {name}:")
                for (line,) in cursor.fetchall():
                    print("   " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="django-par-overview-")
    if args.db == "postgresql":
        import psycopg

        with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}"')
            admin.execute(f'CREATE DATABASE "{PG_NAME}"')
    try:
        configure(args.db, os.path.join(workdir, "overview.sqlite3"))
        from django.conf import settings
        from django.core.management import call_command

        settings.DEBUG = False
        call_command("migrate", verbosity=0)
        seconds = fill(args.db, args.rows, args.days)
        print(f"{args.db}: filled {args.rows:,} rows over {args.days:g} days in {seconds:.0f} s")
        measure(args.repeat, explain=not args.no_explain)
    finally:
        from django.db import connections

        connections.close_all()
        if args.db == "postgresql":
            with psycopg.connect(host="127.0.0.1", user="postgres", dbname="postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}"')
        Path(workdir, "overview.sqlite3").unlink(missing_ok=True)
        os.rmdir(workdir)


if __name__ == "__main__":
    main()
