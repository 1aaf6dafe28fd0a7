#!/usr/bin/env bash
# Part of `make test`: schemathesis (PyPI) fuzzes the JSON API from its own
# OpenAPI document (/api/v1/openapi.json) with a valid token of the local
# OpenID provider, on the build in SEPAL_BIN (`make api-fuzz`: the one `make
# unit` built; by default the release build) with a fresh SQLite store. It fails
# on any 5xx and on any answer the document does not describe (status,
# content type, headers, body schema), and checks that auth is enforced and
# that deleted records are gone. Settings: SEPAL_FUZZ_EXAMPLES (cases per
# operation and phase, 100), SEPAL_FUZZ_SEED (fixed, so a run can be repeated).
set -euo pipefail
cd "$(dirname "$0")/.."

app_port=${SEPAL_FUZZ_PORT:-3500}
oidc_port=${SEPAL_FUZZ_OIDC_PORT:-4500}
examples=${SEPAL_FUZZ_EXAMPLES:-100}
seed=${SEPAL_FUZZ_SEED:-20261123}
base=http://127.0.0.1:$app_port
# shellcheck source=scripts/stack-lib.sh
source scripts/stack-lib.sh
start_provider "$oidc_port" "$base"
start_sepal "$app_port" "$oidc_port"
token=$(SEPAL_PUBLIC_URL=$base SEPAL_OIDC_ISSUER=http://127.0.0.1:$oidc_port scripts/api-token.sh alice)

target/test-venv/bin/schemathesis run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --max-examples "$examples" \
  --seed "$seed" \
  --generation-database none \
  --report junit --report-junit-path target/api-fuzz/junit.xml \
  --no-color
