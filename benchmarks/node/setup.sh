#!/usr/bin/env bash
# Install node-oidc-provider 9 into DIR (outside the repository) for benchmarks/flows.py --node DIR:
#
#   bash benchmarks/node/setup.sh /work/node-op
#   nice -n 10 benchmarks/.venv/bin/python benchmarks/flows.py --node /work/node-op
#
# Needs node >= 20.19 and npm (the npm registry). Copies server.mjs (the provider's
# configuration for the benchmark) next to the installed package.
set -euo pipefail
DIR="${1:?usage: setup.sh DIR}"
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || npm init -y >/dev/null
npm install --no-audit --no-fund --save-exact oidc-provider@9 >/dev/null
cp "$HERE/server.mjs" "$DIR/server.mjs"
echo "oidc-provider $(node -p "require('oidc-provider/package.json').version") in $DIR"
