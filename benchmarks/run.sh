#!/usr/bin/env bash
# The django-par load benchmark: one command, see benchmarks/README.md.
#
#   bash benchmarks/run.sh
#
# Installs what it needs (wrk from Debian packages when missing; a venv in
# benchmarks/.venv with this checkout, gunicorn, psycopg and redis), then runs
# benchmarks/bench.py: the example project under gunicorn on SQLite and on
# PostgreSQL, each scenario loaded with wrk, a table on stdout and
# benchmarks/results/latest.json. Everything it starts (gunicorn, the
# PostgreSQL database, temp files) is stopped or removed on exit, also on
# failure or Ctrl-C. Settings (environment): see the README.
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${BENCH_VENV:-benchmarks/.venv}"
PYTHON="$VENV/bin/python"
PG_HOST="${BENCH_PG_HOST:-127.0.0.1}"
PG_PORT="${BENCH_PG_PORT:-5432}"
PG_USER="${BENCH_PG_USER:-postgres}"
PG_NAME="${BENCH_PG_NAME:-django_par_bench}"

log() { printf '[bench] %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk (Debian package)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo -n); fi
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq wrk >/dev/null
fi
if [[ " ${BENCH_DATABASES:-sqlite postgresql} " == *" postgresql "* ]] && ! command -v psql >/dev/null 2>&1; then
    log "psql is needed for the PostgreSQL run (apt-get install postgresql-client), or set BENCH_DATABASES=sqlite"
    exit 2
fi

if [ ! -x "$PYTHON" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
log "installing django-par from this checkout, gunicorn, psycopg, redis into $VENV"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --editable . gunicorn "psycopg[binary]" redis

export BENCH_WORKDIR
BENCH_WORKDIR="$(mktemp -d -t django-par-bench-XXXXXX)"
BENCH_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill -TERM "$BENCH_PID" 2>/dev/null || true
        wait "$BENCH_PID" 2>/dev/null || true
    fi
    # What bench.py may have left behind if it died hard: gunicorn's process group, the database.
    if [ -f "$BENCH_WORKDIR/gunicorn.pgid" ]; then
        kill -KILL -- "-$(cat "$BENCH_WORKDIR/gunicorn.pgid")" 2>/dev/null || true
    fi
    if [ -f "$BENCH_WORKDIR/pg-created" ]; then
        psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d postgres -qc "DROP DATABASE IF EXISTS \"$PG_NAME\" WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    if [ "$status" -ne 0 ] && [ -f "$BENCH_WORKDIR/bench.log" ]; then
        log "failed; last lines of the server and command log:"
        tail -n 40 "$BENCH_WORKDIR/bench.log" >&2 || true
    fi
    rm -rf "$BENCH_WORKDIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# In the background and waited for, so that a signal reaches the trap at once.
"$PYTHON" benchmarks/bench.py &
BENCH_PID=$!
wait "$BENCH_PID"
