#!/usr/bin/env bash
# Makes node_modules match package-lock.json, so every `npm run` command works
# as the first command on a fresh clone. Idempotent and quick when nothing
# changed: a stamp holds the lock file's hash of the last successful install.
# Progress goes to stderr, prefixed [setup].
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=node_modules/.package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && exit 0

command -v npm >/dev/null || { printf '[setup] npm is needed (Node.js >= 20.9 with npm)\n' >&2; exit 1; }
printf '[setup] installing npm dependencies (npm ci, once per package-lock.json change)\n' >&2
npm ci --no-audit --no-fund --loglevel=error >&2
echo "$want" >"$stamp"
printf '[setup] npm dependencies installed\n' >&2
