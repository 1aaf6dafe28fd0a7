# Sourced by the scripts that run Sepal's release build on loopback (the load
# benchmarks scripts/render-bench.sh and bench/load.sh, the API fuzz
# scripts/api-fuzz.sh): a scratch folder, background processes stopped on
# exit, and the local OpenID provider and Sepal on ports of their own.

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# SEPAL_BIN runs another build (`make api-fuzz` runs target/debug/sepal).
sepal_bin=${SEPAL_BIN:-target/release/sepal}
test -x "$sepal_bin" || { echo "$sepal_bin is missing: run make release (or make test-server for target/debug/sepal) first" >&2; exit 1; }

# need TOOL...: stops with what to run if a benchmark's tool is missing.
need() {
  for tool; do
    command -v "$tool" >/dev/null || { echo "$tool is needed: scripts/ensure-tools.sh bench installs it" >&2; exit 1; }
  done
}

# Waits until URL answers (any status), for at most 30 s.
wait_for() {
  for _ in $(seq 150); do curl -s -o /dev/null "$1" && return; sleep 0.2; done
  echo "$1 did not come up" >&2
  exit 1
}

# start_provider PORT APP_URL: the local provider, for Sepal at APP_URL.
start_provider() {
  OIDC_PORT=$1 OIDC_KEY_FILE="$work/keys.json" OIDC_APP_URLS=$2 \
    node end2end/oidc/provider.mjs >"$work/oidc.log" 2>&1 &
  pids+=($!)
  wait_for "http://127.0.0.1:$1/.well-known/openid-configuration"
}

# start_sepal PORT OIDC_PORT: Sepal ($sepal_bin) with a fresh SQLite store;
# sets sepal_pid. A load generator or a fuzzer is one address and one user:
# the rate limits are raised out of its way (still checked on every request).
start_sepal() {
  LEPTOS_SITE_ADDR=127.0.0.1:$1 LEPTOS_SITE_ROOT=target/site SEPAL_MODEL_DIR=models/iris \
    SEPAL_STORE="sqlite://$work/sepal.db" SEPAL_PUBLIC_URL=http://127.0.0.1:$1 \
    SEPAL_OIDC_ISSUER=http://127.0.0.1:$2 SEPAL_LOG=warn \
    SEPAL_RATE_LIMIT_PER_IP=1000000 SEPAL_RATE_LIMIT_PER_USER=1000000 SEPAL_RATE_LIMIT_BURST=1000000 \
    "$sepal_bin" >"$work/sepal.log" 2>&1 &
  sepal_pid=$!
  pids+=("$sepal_pid")
  wait_for "http://127.0.0.1:$1/healthz"
}
