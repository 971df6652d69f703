"""gunicorn hooks of the soak run: each worker reports the size of django_par's in-process cache.

Every 100 requests a worker writes ``worker-<pid>.json`` into ``$SOAK_STATS_DIR`` (atomically,
by rename): its request count, the entries of ``IN_PROCESS_CACHE`` and their bound.
"""

import json
import os
from pathlib import Path
from typing import Any

_requests = 0


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    global _requests
    _requests += 1
    if _requests % 100:
        return
    from django_par.clients.cache import IN_PROCESS_CACHE

    stats = {
        "pid": os.getpid(),
        "requests": _requests,
        "cache_entries": len(IN_PROCESS_CACHE._entries),
        "cache_max_entries": IN_PROCESS_CACHE.max_entries,
    }
    path = Path(os.environ["SOAK_STATS_DIR"]) / f"worker-{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(stats))
    temporary.replace(path)
