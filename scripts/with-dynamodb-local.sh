#!/usr/bin/env bash
# Runs a command with a fresh in-memory DynamoDB Local on 127.0.0.1, then
# stops it. The command gets SEPAL_TEST_DYNAMODB (its URL) and the AWS_*
# settings that point the AWS SDKs (Rust, boto3, the AWS CLI) at it.
#   scripts/with-dynamodb-local.sh COMMAND [ARGS...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
port=${SEPAL_DYNAMODB_PORT:-8765}
log=$here/../target/tool-logs/dynamodb-local.log
mkdir -p "$(dirname "$log")"

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "with-dynamodb-local: port $port is taken; set SEPAL_DYNAMODB_PORT" >&2
    exit 1
fi
"$here/dynamodb-local.sh" "$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 $pid 2>/dev/null || { cat "$log" >&2; echo "with-dynamodb-local: DynamoDB Local exited" >&2; exit 1; }
    sleep 0.1
done

export SEPAL_TEST_DYNAMODB=http://127.0.0.1:$port
export AWS_ENDPOINT_URL_DYNAMODB=$SEPAL_TEST_DYNAMODB AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
# DynamoDB Local takes any credentials made of letters and digits.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
"$@"
