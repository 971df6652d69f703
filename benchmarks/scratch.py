"""A scratch database for the in-process benchmark scripts (profile_scenario.py, micro.py).

``BENCH_DB`` picks SQLite (a file in a temporary folder, the default) or
PostgreSQL (``BENCH_PG_NAME``, created here and dropped afterwards, on
``BENCH_PG_HOST`` as ``BENCH_PG_USER``); ``benchmarks.settings`` reads the same
variables. Call it before ``django.setup()``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_database(name: str) -> Iterator[Path]:
    """Settings and a database of their own for one run; yields the run's temporary folder."""
    workdir = Path(tempfile.mkdtemp(prefix=f"django-par-{name}-"))
    vendor = os.environ.get("BENCH_DB", "sqlite")
    os.environ.update(DJANGO_SETTINGS_MODULE="benchmarks.settings", BENCH_DB=vendor)
    pg_name = os.environ.setdefault("BENCH_PG_NAME", f"django_par_bench_{name}")
    os.environ.setdefault("BENCH_SQLITE_PATH", str(workdir / f"{name}.sqlite3"))
    os.environ.setdefault("BENCH_CACHE_PREFIX", f"django-par-{name}-{os.getpid()}")
    host, user = os.environ.get("BENCH_PG_HOST", "127.0.0.1"), os.environ.get("BENCH_PG_USER", "postgres")
    psql = ["psql", "-h", host, "-U", user, "-d", "postgres", "-qc"]
    drop = f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'
    if vendor == "postgresql":
        subprocess.run([*psql, drop], check=True)
        subprocess.run([*psql, f'CREATE DATABASE "{pg_name}"'], check=True)
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if vendor == "postgresql":
            from django.db import connections

            connections.close_all()
            subprocess.run([*psql, drop], check=False)
