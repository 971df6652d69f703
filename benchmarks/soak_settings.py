"""Settings of the soak run (benchmarks/soak.py): the benchmark server's, with the bounded
waits and self-healing connections of docs/failures.md, as a production site sets them."""

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import CACHES as BENCH_CACHES
from benchmarks.settings import DATABASES as BENCH_DATABASES

DATABASES = {
    alias: {
        **database,
        # A broken persistent connection is replaced before a request uses it.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            **database.get("OPTIONS", {}),
            # libpq: seconds to connect; the server cancels a statement running over 5 s.
            **(
                {"connect_timeout": 3, "options": "-c statement_timeout=5000"}
                if database["ENGINE"] == "django.db.backends.postgresql"
                else {}
            ),
        },
    }
    for alias, database in BENCH_DATABASES.items()
}

CACHES = {
    alias: {
        **cache,
        # redis-py: seconds to connect and to wait for each reply.
        "OPTIONS": {**cache.get("OPTIONS", {}), "socket_connect_timeout": 1, "socket_timeout": 1},
    }
    for alias, cache in BENCH_CACHES.items()
}
