"""Reads, with boto3 (AWS's own Python SDK), every table Sepal's tests wrote
in the DynamoDB at AWS_ENDPOINT_URL_DYNAMODB, and checks that each item is
well-formed: keys, attribute types, the record's fields, and that each user's
count item equals their number of records. Exits 1 on the first table that
is not. A check script may Scan; Sepal never does on a request path.
"""

import re
import sys
from collections import Counter
from datetime import datetime
from decimal import Decimal

import boto3
from boto3.dynamodb.types import TypeDeserializer

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def check_prediction(item: dict, problems: list) -> None:
    pk, sk = item["PK"], item["SK"]
    record_id = sk.removeprefix("PRED#")
    expect = {
        "id is the ULID in SK": ULID.match(record_id) and item.get("id") == record_id,
        "PK is USER#owner": pk == f"USER#{item.get('owner')}",
        "created_at is RFC 3339": isinstance(item.get("created_at"), str)
        and datetime.fromisoformat(item["created_at"].replace("Z", "+00:00")).tzinfo is not None,
        "model has name, version, sha256": isinstance(item.get("model"), dict)
        and {"name", "version", "sha256"} <= item["model"].keys()
        and re.fullmatch(r"[0-9a-f]{64}", item["model"]["sha256"]) is not None,
        "inputs are numbers": isinstance(item.get("inputs"), dict)
        and len(item["inputs"]) > 0
        and all(isinstance(v, Decimal) for v in item["inputs"].values()),
        "latency_us is a number": isinstance(item.get("latency_us"), Decimal),
        "source is web or api": item.get("source") in ("web", "api"),
    }
    if "value" in item:
        # A regressor's record: a number, no class, out of the class index.
        expect["value is a number"] = isinstance(item["value"], Decimal)
        expect["a value has no class"] = not {"class", "probabilities", "LSI1SK"} & item.keys()
    else:
        expect["LSI1SK is CLASS#class#id"] = item.get("LSI1SK") == f"CLASS#{item.get('class')}#{record_id}"
        expect["probabilities sum to 1 and name the class"] = (
            isinstance(item.get("probabilities"), dict)
            and item.get("class") in item["probabilities"]
            and abs(sum(item["probabilities"].values()) - 1) < Decimal("0.001")
        )
    problems.extend(f"{pk} {sk}: {rule}" for rule, ok in expect.items() if not ok)


def check_table(client, table: str) -> tuple[int, list]:
    problems = []
    described = client.describe_table(TableName=table)["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
    if keys != {"PK": "HASH", "SK": "RANGE"}:
        problems.append(f"key schema is {keys}")
    if [i["IndexName"] for i in described.get("LocalSecondaryIndexes", [])] != ["by_class"]:
        problems.append("no by_class index")
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("AttributeName") != "expires_at":
        problems.append(f"TTL is {ttl}")

    records, counts, items = Counter(), {}, 0
    deserializer = TypeDeserializer()
    for page in client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            items += 1
            item = {k: deserializer.deserialize(v) for k, v in raw.items()}
            pk, sk = item["PK"], item["SK"]
            if sk.startswith("PRED#"):
                records[pk] += 1
                check_prediction(item, problems)
            elif sk == "COUNT":
                counts[pk] = item.get("n")
            elif sk.startswith("IDEM#"):
                if not ULID.match(str(item.get("id"))):
                    problems.append(f"{pk} {sk}: id is not a ULID")
            elif sk == "SESSION":
                if not (pk.startswith("SESSION#") and isinstance(item.get("data"), str)
                        and isinstance(item.get("expires_at"), Decimal)):
                    problems.append(f"{pk}: malformed session")
            else:
                problems.append(f"{pk} {sk}: unknown item")
    for pk in set(records) | set(counts):
        if records[pk] != counts.get(pk, 0):
            problems.append(f"{pk}: count item says {counts.get(pk)}, there are {records[pk]} records")
    return items, problems


def main() -> int:
    client = boto3.client("dynamodb")
    tables = [t for t in client.list_tables()["TableNames"] if t.startswith("contract-")]
    total = 0
    for table in tables:
        items, problems = check_table(client, table)
        total += items
        if problems:
            print(f"{table}: {len(problems)} problems", *problems[:20], sep="\n  ", file=sys.stderr)
            return 1
    if total == 0:
        print("no items found: did the contract tests run against this DynamoDB?", file=sys.stderr)
        return 1
    print(f"boto3 read {total} items in {len(tables)} tables written by Sepal: all well-formed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
