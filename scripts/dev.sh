#!/usr/bin/env bash
# `make dev`: the local OpenID provider on 127.0.0.1:4000 (users alice, bob,
# ada, mallory; password sepal-dev), then `cargo leptos watch` on
# 127.0.0.1:3000. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
node end2end/oidc/provider.mjs &
provider=$!
trap 'kill $provider 2>/dev/null || true' EXIT
cargo leptos watch
