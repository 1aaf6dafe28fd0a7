#!/usr/bin/env bash
# `make load-bench`: authenticated single predictions with persistence under
# wrk on loopback, against Sepal (release build, SQLite) and, in the same run,
# against the cloud recipe's Python handler (bench/api_replica.py: FastAPI +
# scikit-learn under uvicorn with uvloop and httptools, 2 workers, SQLite).
# Both check the same kind of token from the local OpenID provider. The two
# take turns, for a few rounds, since each one's rate moves from run to run:
# each run prints wrk's latency distribution and requests/s, the server's
# CPU time and RSS, and the records stored against the 2xx answers; each
# round the ratio of the two rates, and at the end their median. Then
# latency at fixed request rates (oha).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${SEPAL_BENCH_DURATION:-20s}
rounds=${SEPAL_BENCH_ROUNDS:-3}
# The one prediction every request asks for.
body='{"sepal_length": 6.1, "sepal_width": 2.9, "petal_length": 4.7, "petal_width": 1.4}'
connections=${SEPAL_BENCH_CONNECTIONS:-64}
oidc_port=4400
sepal=http://127.0.0.1:3400
replica=http://127.0.0.1:8400
python=target/model-venv/bin/python
# shellcheck source=scripts/stack-lib.sh
source scripts/stack-lib.sh
need wrk sqlite3
start_provider "$oidc_port" "$sepal"
start_sepal 3400 "$oidc_port"
REPLICA_ISSUER=http://127.0.0.1:$oidc_port REPLICA_DB="$work/replica.db" \
  "$python" -m uvicorn --app-dir bench api_replica:app --host 127.0.0.1 --port 8400 \
  --workers 2 --loop uvloop --http httptools --log-level warning >"$work/replica.log" 2>&1 &
pids+=($!)
replica_pid=$!
wait_for "$replica/docs"

token=$(SEPAL_PUBLIC_URL=$sepal SEPAL_OIDC_ISSUER=http://127.0.0.1:$oidc_port scripts/api-token.sh alice)
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA

# CPU seconds (user + system) of a process and its children, and RSS in MB.
cpu() { ps -o cputimes= --ppid "$1" -p "$1" | awk '{ s += $1 } END { print s }'; }
rss() { ps -o rss= --ppid "$1" -p "$1" | awk '{ s += $1 } END { printf "%.0f", s / 1024 }'; }
count() { sqlite3 "$1" 'SELECT count(*) FROM predictions'; }

# One request first, so both have loaded their model and keys.
for url in "$sepal" "$replica"; do
  curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "$body" "$url/api/v1/predictions"
done

# run NAME URL PID DB: one wrk run; leaves its requests/s in $work/NAME.rate.
run() {
  local name=$1 url=$2 pid=$3 db=$4
  local before=$(cpu "$pid") stored_before=$(count "$db")
  echo "== $name: wrk -t2 -c$connections -d$duration --latency, POST $url/api/v1/predictions"
  TOKEN=$token BODY="$body" wrk -t2 -c"$connections" -d"$duration" --latency -s "$work/post.lua" \
    "$url/api/v1/predictions" >"$work/$name.txt"
  sed -n '/Latency Distribution/,$p' "$work/$name.txt"
  local after=$(cpu "$pid")
  local total=$(awk '/requests in/ { print $1 }' "$work/$name.txt")
  local failed=$(awk '/Non-2xx/ { print $5 }' "$work/$name.txt")
  [ -f "$db-wal" ] && echo "WAL: $(du -m "$db-wal" | cut -f1) MB, database: $(du -m "$db" | cut -f1) MB"
  echo "CPU: $((after - before)) s over $duration; RSS after: $(rss "$pid") MB"
  echo "2xx answers: $((total - ${failed:-0})); records stored: $(($(count "$db") - stored_before))"
  awk '/Requests\/sec/ { print $2 }' "$work/$name.txt" >"$work/$name.rate"
}

for round in $(seq "$rounds"); do
  run "sepal-$round" "$sepal" "$sepal_pid" "$work/sepal.db"
  run "replica-$round" "$replica" "$replica_pid" "$work/replica.db"
  awk '{ r[NR] = $1 } END { printf "%.1f\n", r[1] / r[2] }' \
    "$work/sepal-$round.rate" "$work/replica-$round.rate" >>"$work/ratios"
  echo "== round $round of $rounds: Sepal / replica = $(tail -n 1 "$work/ratios")×"
done
echo "== median ratio over $rounds rounds: $(sort -n "$work/ratios" | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')×"

# wrk stops counting at its deadline with requests in flight, so its 2xx
# count is short by up to one per connection. The exact check: a fixed
# number of requests with every answer awaited (autocannon, npm), then the
# records stored meanwhile against the 2xx it counted.
exact() {
  local name=$1 url=$2 db=$3
  local before=$(count "$db")
  npx --yes autocannon@9.0.0 -c "$connections" -a "$exact_requests" -m POST \
    -H "Authorization=Bearer $token" -H "Content-Type=application/json" -b "$body" \
    --json "$url/api/v1/predictions" >"$work/$name-exact.json" 2>/dev/null
  local ok=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["2xx"])' "$work/$name-exact.json")
  local after=$(count "$db")
  echo "== $name, exact: $exact_requests requests, $ok 2xx, $((after - before)) records stored"
}

exact_requests=${SEPAL_BENCH_EXACT_REQUESTS:-5000}
exact sepal "$sepal" "$work/sepal.db"
exact replica "$replica" "$work/replica.db"

# Latency at fixed offered rates (open loop), which wrk's saturation run
# cannot show: oha (crates.io, built once into target/bench-tools) sends at
# the given rate whatever the answers' speed, and --latency-correction times
# each request from when it was due, so a stall is not hidden by the
# requests it delayed. /healthz first: the floor of this setup.
oha=target/bench-tools/bin/oha
[ -x "$oha" ] || cargo install --locked --root target/bench-tools oha@1.16.0
at_rate() {
  local rate=$1 url=$2
  shift 2
  echo "== $url at $rate req/s: oha -c$connections -z10s -q$rate --latency-correction"
  "$oha" --no-tui -c "$connections" -z 10s -q "$rate" --latency-correction "$@" "$url" >"$work/oha.txt"
  grep -E 'Requests/sec|(50\.00|99\.00|99\.90)% in|responses' "$work/oha.txt"
}
at_rate 2000 "$sepal/healthz"
for rate in ${SEPAL_BENCH_RATES:-2000 5000 10000}; do
  at_rate "$rate" "$sepal/api/v1/predictions" -m POST -T application/json \
    -H "Authorization: Bearer $token" -d "$body"
done
