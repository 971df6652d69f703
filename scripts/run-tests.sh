#!/usr/bin/env bash
# The one test command: sets the machine up, then runs the tox matrix.
#
#   bash scripts/run-tests.sh                                  # whole matrix
#   bash scripts/run-tests.sh -e py312-dj52-dot34-sqlite       # quick: one env
#   bash scripts/run-tests.sh -e py313-dj60-dot34-postgresql -- -k concurrency -x
#   bash scripts/run-tests.sh -l                               # list the envs
#
# Every argument goes to tox unchanged; arguments after `--` reach pytest.
# Steps: (1) make pyenv's Pythons 3.10-3.13 visible, (2) scripts/services.sh
# installs missing Debian packages and starts PostgreSQL, MariaDB and Redis if
# they are down, (3) tox is installed into .venv-tools/ if missing, (3b) npm ci
# installs Node's openid-client for its interop test, (4) tox
# runs, (5) the pytest results of every env are added up. Exits non-zero if
# anything fails, including an env whose pytest collected no tests.
# Env: DJANGO_PAR_SKIP_SERVICES=1 skips step (2); see scripts/services.sh.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT="$PWD"
TOOLS="$ROOT/.venv-tools"
PYTHONS=(3.11.7 3.10.13 3.12.1 3.13.0)   # the first one also runs tox itself

log() { printf '[run-tests] %s\n' "$*" >&2; }

# (1) Pythons. pyenv may be installed without being on PATH in a bare shell.
PYENV_ROOT="${PYENV_ROOT:-$HOME/.pyenv}"
if [ -x "$PYENV_ROOT/bin/pyenv" ] || command -v pyenv >/dev/null 2>&1; then
    export PYENV_ROOT
    export PATH="$PYENV_ROOT/shims:$PYENV_ROOT/bin:$PATH"
    have="$(pyenv versions --bare 2>/dev/null || true)"
    missing=""
    for v in "${PYTHONS[@]}"; do
        grep -qx "$v" <<<"$have" || missing="$missing $v"
    done
    if [ -z "$missing" ]; then
        PYENV_VERSION="$(IFS=:; echo "${PYTHONS[*]}")"
        export PYENV_VERSION
    else
        log "pyenv lacks$missing; tox will look for python3.X on PATH"
    fi
fi

# (2) Debian packages and services.
if [ "${DJANGO_PAR_SKIP_SERVICES:-}" = 1 ]; then
    log "DJANGO_PAR_SKIP_SERVICES=1: not checking packages and services"
else
    bash scripts/services.sh
fi

# (3) tox in a private venv (it ignores itself through its own .gitignore).
if ! "$TOOLS/bin/tox" --version >/dev/null 2>&1; then
    log "installing tox into $TOOLS"
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    printf '*\n' >"$TOOLS/.gitignore"
    "$TOOLS/bin/python" -m pip install -q 'tox>=4.11,<5'
fi
log "$("$TOOLS/bin/tox" --version)"

# (3b) Node's openid-client for tests/interop/test_openid_client.py, from the committed lock file.
NODE_DIR="$ROOT/tests/interop/node"
if command -v npm >/dev/null 2>&1; then
    if [ ! -d "$NODE_DIR/node_modules/openid-client" ] || [ "$NODE_DIR/package-lock.json" -nt "$NODE_DIR/node_modules" ]; then
        log "installing openid-client (npm ci in tests/interop/node)"
        npm ci --prefix "$NODE_DIR" --no-audit --no-fund --silent
    fi
else
    log "npm not found: tests/interop/test_openid_client.py will be skipped (it fails under CI)"
fi

# (4) tox. Each env's pytest writes a JUnit report into .tox/junit/.
JUNIT="$ROOT/.tox/junit"
rm -rf "$JUNIT"
start=$SECONDS
rc=0
if [ "$#" -eq 0 ]; then
    # The whole matrix: create every env first, two at a time (pip and the network overlap),
    # about 25 s each when done one after the other; the tests then run one env at a time.
    log "creating the tox environments (in parallel)"
    "$TOOLS/bin/tox" run-parallel --notest --parallel 2 --parallel-no-spinner </dev/null || rc=$?
fi
[ "$rc" -eq 0 ] && { "$TOOLS/bin/tox" "$@" </dev/null || rc=$?; }
elapsed=$((SECONDS - start))

# (5) Add the results up, one line per env and a closing total line.
"$TOOLS/bin/python" - "$JUNIT" "$rc" "$elapsed" "$#" <<'PY' || rc=$((rc ? rc : 1))
import pathlib, sys
import xml.etree.ElementTree as ET

junit, rc, elapsed, nargs = pathlib.Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
total = dict(tests=0, failures=0, errors=0, skipped=0)
for report in sorted(junit.glob("*.xml")):
    counts = dict.fromkeys(total, 0)
    for suite in ET.parse(report).getroot().iter("testsuite"):
        for key in counts:
            counts[key] += int(suite.get(key, 0))
    for key in total:
        total[key] += counts[key]
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    print(f"  {report.stem:<32} {passed:>5} passed {counts['failures'] + counts['errors']:>4} failed "
          f"{counts['skipped']:>4} skipped")
passed = total["tests"] - total["failures"] - total["errors"] - total["skipped"]
failed = total["failures"] + total["errors"]
print(f"tox exit code {rc}, {elapsed // 60}m{elapsed % 60:02d}s")
print(f"matrix: {passed} passed, {failed} failed, {total['skipped']} skipped")
# A full run (no arguments) that executed no test at all is a failure.
sys.exit(1 if nargs == 0 and passed + failed == 0 else 0)
PY
exit "$rc"
