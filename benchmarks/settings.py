"""Settings of the benchmark server: the example project, production-like.

Everything comes from example_project.settings except: the database (from
BENCH_* environment variables, set by benchmarks/bench.py), DEBUG off, quiet
logging, a Redis cache shared by all gunicorn workers, and the floor app.
"""

import os

import django

from example_project.settings import *  # noqa: F403
from example_project.settings import DJANGO_PAR as EXAMPLE_DJANGO_PAR
from example_project.settings import INSTALLED_APPS as EXAMPLE_INSTALLED_APPS

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
INSTALLED_APPS = [*EXAMPLE_INSTALLED_APPS, "benchmarks.floor"]


def _conn_max_age():
    # "none" (the default): persistent connections, never closed by age.
    value = os.environ.get("BENCH_CONN_MAX_AGE", "none").lower()
    return None if value == "none" else int(value)


if os.environ.get("BENCH_DB", "sqlite") == "postgresql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("BENCH_PG_NAME", "django_par_bench"),
            "HOST": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
            "USER": os.environ.get("BENCH_PG_USER", "postgres"),
            "PASSWORD": os.environ.get("BENCH_PG_PASSWORD", ""),
            "CONN_MAX_AGE": _conn_max_age(),
        }
    }
else:
    _options = {}
    if django.VERSION >= (5, 1):
        # Django's advice for SQLite under concurrent writers: WAL, and write
        # transactions that take the lock up front instead of failing on upgrade.
        _options = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "transaction_mode": "IMMEDIATE",
        }
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("BENCH_SQLITE_PATH", "/tmp/django_par_bench.sqlite3"),
            "CONN_MAX_AGE": _conn_max_age(),
            "OPTIONS": {**_options, "timeout": 20},
        }
    }

# One cache for all workers (verified client secrets, jwks_uri documents).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1"),
        # A prefix per run: a run never sees (or has to flush) an earlier run's entries.
        "KEY_PREFIX": os.environ.get("BENCH_CACHE_PREFIX", "django-par-bench"),
    }
}

DJANGO_PAR = dict(EXAMPLE_DJANGO_PAR)
# django_par's defaults keep verified secrets and loaded clients in process.
# BENCH_SHARED_CACHES=1 puts both in Redis instead, for comparison.
if os.environ.get("BENCH_SHARED_CACHES") == "1":
    DJANGO_PAR.update(SECRET_CACHE_ALIAS="default", CLIENT_CACHE_ALIAS="default")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "ERROR"},
    # 4xx answers are logged as warnings by django.request: kept out, errors are counted by wrk.
    "loggers": {"django": {"handlers": ["stderr"], "level": "ERROR", "propagate": False}},
}
