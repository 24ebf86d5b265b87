#!/usr/bin/env bash
# Installs what `npm run stack -- up --cluster` runs, once:
#   temporal-server     v1.32.2  the Temporal server (frontend, history, matching and worker services,
#                                each its own process), built from go.temporal.io/server
#   temporal-sql-tool   v1.32.2  its schema tool (the PostgreSQL schemas are embedded in it)
#   postgresql, nginx   Debian   the cluster's database (a plain process under .stack/, not the
#                                system service) and the API-key gate in front of the frontend
# The server asks for Go 1.26.10 or newer: GOTOOLCHAIN makes the go command fetch go1.27.3 (the
# toolchain the Sigstore services are built with) from the module proxy. Idempotent: binaries
# already built at the pinned version are kept. Called by scripts/setup.sh
# (PROMOTER_SKIP_TEMPORAL_CLUSTER=1 skips it there); also runs on its own:
#   bash scripts/setup/temporal-cluster.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$ROOT/.tools/bin"
TEMPORAL_SERVER_VERSION="v1.32.2"
TOOLCHAIN="go1.27.3"
APT_PACKAGES=(postgresql nginx)

step() { printf '==> %s\n' "$*"; }
fail() { printf 'setup/temporal-cluster: ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else fail "need root or sudo to run: $*"; fi
}

# --- PostgreSQL and nginx from Debian ------------------------------------------------
missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
for pkg in "${APT_PACKAGES[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing[*]} by hand"
  step "apt-get install ${missing[*]}"
  log="$(mktemp)"
  # Where an init system starts the packages' own services, they do not get in the way: the stack
  # runs its own processes, on its own ports, with their data under .stack/.
  if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
      && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    fail "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
else
  step "system packages present (${APT_PACKAGES[*]})"
fi

# --- temporal-server and temporal-sql-tool ---------------------------------------------
command -v go >/dev/null 2>&1 || fail "go not found; Go 1.22 or newer is needed once to build the Temporal server"
mkdir -p "$BIN"

built_version() {
  local binary="$1"
  [ -x "$binary" ] || return 0
  go version -m "$binary" 2>/dev/null | awk '$1 == "mod" && $2 == "go.temporal.io/server" { print $3; exit }'
}

if [ "$(built_version "$BIN/temporal-server")" = "$TEMPORAL_SERVER_VERSION" ] \
  && [ "$(built_version "$BIN/temporal-sql-tool")" = "$TEMPORAL_SERVER_VERSION" ]; then
  step "temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION present (.tools/bin)"
  exit 0
fi

step "building temporal-server and temporal-sql-tool $TEMPORAL_SERVER_VERSION into .tools/bin (first time only, about 10 minutes on 2 cores)"
out="$(mktemp -d)"
log="$(mktemp)"
trap 'rm -rf "$out" "$log"' EXIT
started=$SECONDS
# One go install for both: they share most packages, so the second costs little. Built into a
# scratch folder and moved, so a failed build never leaves a half-written binary in .tools/bin.
if ! GOTOOLCHAIN="$TOOLCHAIN" GOBIN="$out" go install \
    "go.temporal.io/server/cmd/server@$TEMPORAL_SERVER_VERSION" \
    "go.temporal.io/server/cmd/tools/sql@$TEMPORAL_SERVER_VERSION" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  fail "building the Temporal server failed (the Go module proxy must be reachable; it also serves the $TOOLCHAIN toolchain)"
fi
mv -f "$out/server" "$BIN/temporal-server"
mv -f "$out/sql" "$BIN/temporal-sql-tool"
step "built temporal-server and temporal-sql-tool in $(( SECONDS - started )) s"
