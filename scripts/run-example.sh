#!/usr/bin/env bash
# Set up and start the example identity provider in example_project/:
# a venv with django-par installed from this checkout, a SQLite database with
# the demo user and clients, then Django's dev server on 127.0.0.1:$PORT.
set -euo pipefail

cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
VENV=example_project/.venv
PYTHON="$VENV/bin/python"

if [ ! -x "$PYTHON" ]; then
    echo "==> Creating $VENV"
    python3 -m venv "$VENV"
fi
echo "==> Installing django-par from this checkout"
"$PYTHON" -m pip install --quiet --editable ".[example]"

echo "==> Migrating example_project/db.sqlite3"
"$PYTHON" example_project/manage.py migrate --noinput --verbosity 0
"$PYTHON" example_project/manage.py setup_demo --port "$PORT"

exec "$PYTHON" example_project/manage.py runserver "127.0.0.1:$PORT"
