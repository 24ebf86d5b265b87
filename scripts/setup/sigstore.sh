#!/usr/bin/env bash
# Builds the private Sigstore services of the dev stack into .tools/bin, once:
#   fulcio            v1.8.8  certificate authority: short-lived certificates for OIDC identities
#   rekor-server      v2.4.2  Rekor v2 (rekor-tiles) transparency log on local disk (upstream names
#                             the binary `posix`; kept under a name that says what it is)
#   timestamp-server  v2.1.5  RFC 3161 timestamp authority
# Rekor v2 and the timestamp authority need Go 1.27: GOTOOLCHAIN makes the go command fetch that
# toolchain from the module proxy. Rekor v2 builds from the pinned module in
# scripts/setup/rekor-tiles (see the note in its go.mod). Idempotent: a binary already built at the
# pinned version is kept. Called by scripts/setup.sh (PROMOTER_SKIP_SIGSTORE=1 skips it there);
# also runs on its own: bash scripts/setup/sigstore.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.tools/bin"
REKOR_MODULE_DIR="$ROOT/scripts/setup/rekor-tiles"
FULCIO_VERSION="v1.8.8"
REKOR_TILES_VERSION="v2.4.2"
TSA_VERSION="v2.1.5"
NEW_TOOLCHAIN="go1.27.3"

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup/sigstore: ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "go not found; Go 1.26 or newer is needed once to build the Sigstore services"
mkdir -p "$BIN"

# The version of MODULE a Go binary was built from (its embedded build info), empty when absent.
built_version() {
  local binary="$1" module="$2"
  [ -x "$binary" ] || return 0
  go version -m "$binary" 2>/dev/null | awk -v m="$module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

# Runs a build command into a scratch directory, then moves the one binary it made to .tools/bin:
# a failed build never leaves a half-written binary behind.
# build_into OUTPUT_NAME WHAT -- command... (the command sees $OUT, the scratch directory)
build_into() {
  local output="$1" what="$2"; shift 3
  local log
  OUT="$(mktemp -d)"
  log="$(mktemp)"
  if ! OUT="$OUT" "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -rf "$OUT" "$log"
    fail "building $what failed (the Go module proxy must be reachable; it also serves the $NEW_TOOLCHAIN toolchain)"
  fi
  local produced
  produced="$(find "$OUT" -maxdepth 1 -type f | head -n 1)"
  [ -n "$produced" ] || fail "building $what produced no binary"
  mv -f "$produced" "$BIN/$output"
  rm -rf "$OUT" "$log"
}

# --- Fulcio --------------------------------------------------------------------
if [ "$(built_version "$BIN/fulcio" github.com/sigstore/fulcio)" = "$FULCIO_VERSION" ]; then
  step "fulcio $FULCIO_VERSION present (.tools/bin/fulcio)"
else
  step "building fulcio $FULCIO_VERSION into .tools/bin (first time only, minutes)"
  build_into fulcio "fulcio $FULCIO_VERSION" -- \
    sh -c 'GOBIN="$OUT" go install "github.com/sigstore/fulcio@$0"' "$FULCIO_VERSION"
fi

# --- Rekor v2 (rekor-tiles, POSIX storage) ---------------------------------------
if [ "$(built_version "$BIN/rekor-server" github.com/sigstore/rekor-tiles/v2)" = "$REKOR_TILES_VERSION" ]; then
  step "rekor-server (rekor-tiles $REKOR_TILES_VERSION) present (.tools/bin/rekor-server)"
else
  step "building rekor-server (rekor-tiles $REKOR_TILES_VERSION, POSIX) into .tools/bin (first time only, minutes)"
  grep -q "github.com/sigstore/rekor-tiles/v2 $REKOR_TILES_VERSION" "$REKOR_MODULE_DIR/go.mod" \
    || fail "$REKOR_MODULE_DIR/go.mod does not pin rekor-tiles $REKOR_TILES_VERSION"
  build_into rekor-server "rekor-tiles $REKOR_TILES_VERSION" -- \
    sh -c 'GOTOOLCHAIN="$1" GOFLAGS=-mod=readonly go build -C "$0" -o "$OUT/rekor-server" github.com/sigstore/rekor-tiles/v2/cmd/rekor-server/posix' \
    "$REKOR_MODULE_DIR" "$NEW_TOOLCHAIN"
fi

# --- Timestamp authority ---------------------------------------------------------
if [ "$(built_version "$BIN/timestamp-server" github.com/sigstore/timestamp-authority/v2)" = "$TSA_VERSION" ]; then
  step "timestamp-server $TSA_VERSION present (.tools/bin/timestamp-server)"
else
  step "building timestamp-server $TSA_VERSION into .tools/bin (first time only, about 4 minutes)"
  build_into timestamp-server "timestamp-authority $TSA_VERSION" -- \
    sh -c 'GOTOOLCHAIN="$1" GOBIN="$OUT" go install "github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server@$0"' \
    "$TSA_VERSION" "$NEW_TOOLCHAIN"
fi
