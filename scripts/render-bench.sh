#!/usr/bin/env bash
# `make render-bench`: server-side render time of /predict and of a full
# /history page (50 records), signed in, under wrk on loopback. Runs the
# release build (`make release` first) with the local OpenID provider and a
# fresh SQLite store, both on their own ports; stops them afterwards.
#
# Every request is a real signed-in page view: the session is read from the
# store and its idle deadline written back, as for a person.
set -euo pipefail
cd "$(dirname "$0")/.."

app_port=${SEPAL_BENCH_PORT:-3300}
oidc_port=${SEPAL_BENCH_OIDC_PORT:-4300}
duration=${SEPAL_BENCH_DURATION:-20s}
connections=${SEPAL_BENCH_CONNECTIONS:-16}
# One connection shows the time a page takes; more show the throughput.
threads_for() { if (($1 == 1)); then echo 1; else echo 2; fi; }
base=http://127.0.0.1:$app_port
# shellcheck source=scripts/stack-lib.sh
source scripts/stack-lib.sh
need wrk
start_provider "$oidc_port" "$base"
start_sepal "$app_port" "$oidc_port"

# Sign in as alice through the provider's form, keeping cookies in a jar.
jar=$work/cookies
login=$(curl -s -c "$jar" -b "$jar" -L -o /dev/null -w '%{url_effective}' "$base/auth/login?return_to=/history")
landed=$(curl -s -c "$jar" -b "$jar" -L -o /dev/null -w '%{url_effective}' \
  -d login=alice -d password=sepal-dev "$login/login")
[[ $landed == "$base/history" ]] || { echo "sign-in ended at $landed" >&2; exit 1; }
session=$(awk '$6 == "sepal" { print $7 }' "$jar")

# A full page of history: 50 real predictions through the form's server function.
for _ in $(seq 50); do
  curl -sf -o /dev/null -b "sepal=$session" -H "Origin: $base" \
    --data-urlencode 'input[sepal_length]=6.8' --data-urlencode 'input[sepal_width]=3.0' \
    --data-urlencode 'input[petal_length]=5.5' --data-urlencode 'input[petal_width]=2.1' \
    "$base/fn/predict"
done
rows=$(curl -s -b "sepal=$session" "$base/history" | grep -o '<tr>' | wc -l)
echo "history page: $((rows - 1)) records"

for path in /predict /history; do
  for c in 1 "$connections"; do
    t=$(threads_for "$c")
    echo "== GET $path: wrk -t$t -c$c -d$duration --latency"
    wrk -t"$t" -c"$c" -d"$duration" --latency -H "Cookie: sepal=$session" "$base$path" |
      sed -n '/Latency Distribution/,/Requests\/sec/p'
  done
  status=$(curl -s -o /dev/null -w '%{http_code}' -b "sepal=$session" "$base$path")
  echo "status after the run: $status"
done
