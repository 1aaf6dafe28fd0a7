"""The cloud recipe's prediction handler, as a replica to load-test Sepal against.

What API gateway + Cognito authorizer + a Python function + DynamoDB do for
`POST /api/v1/predictions`, in one FastAPI app under uvicorn: the bearer JWT
is checked against the provider's JWKS (RS256, iss, aud, exp), the body is
validated (pydantic, the manifest's hard bounds), scikit-learn's
`predict_proba` runs on the pipeline `models/train.py` fits (the model Sepal
serves), and the record is stored (SQLite, one row per prediction).

Run (bench/load.sh does it):
  uvicorn --app-dir bench --loop uvloop --http httptools api_replica:app
Settings: REPLICA_ISSUER, REPLICA_AUDIENCE (sepal), REPLICA_DB (a file).
"""

import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from pathlib import Path

import jwt
import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
from train import SPECS, fit  # noqa: E402  (the pipeline the served model was exported from)

ISSUER = os.environ.get("REPLICA_ISSUER", "http://127.0.0.1:4000")
AUDIENCE = os.environ.get("REPLICA_AUDIENCE", "sepal")
DB = os.environ.get("REPLICA_DB", "/tmp/replica.db")

manifest = json.loads((ROOT / "models/iris/manifest.json").read_text())
bounds = {f["name"]: (f["min"], f["max"]) for f in manifest["features"]}
classes = [c["name"] for c in manifest["classes"]]
pipeline = fit(SPECS["iris"]())[0]
jwks = jwt.PyJWKClient(
    json.load(__import__("urllib.request").request.urlopen(f"{ISSUER}/.well-known/openid-configuration"))["jwks_uri"]
)

local = threading.local()


def db() -> sqlite3.Connection:
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(DB, isolation_level=None)
        local.db.execute("PRAGMA journal_mode=WAL")
        local.db.execute("PRAGMA synchronous=NORMAL")
        local.db.execute("PRAGMA busy_timeout=5000")
        local.db.execute("CREATE TABLE IF NOT EXISTS predictions (id TEXT PRIMARY KEY, owner TEXT, record TEXT)")
    return local.db


def bounded(name: str):
    low, high = bounds[name]
    return Field(ge=low, le=high)


class Iris(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sepal_length: float = bounded("sepal_length")
    sepal_width: float = bounded("sepal_width")
    petal_length: float = bounded("petal_length")
    petal_width: float = bounded("petal_width")


def user(authorization: str = Header()) -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401, "bearer token required")
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER)
    except jwt.PyJWTError as err:
        raise HTTPException(401, str(err)) from err
    return f"{claims['iss']}|{claims['sub']}"


app = FastAPI()


@app.post("/api/v1/predictions", status_code=201)
def predict(body: Iris, owner: str = Depends(user)) -> dict:
    started = time.perf_counter()
    row = np.array([[body.sepal_length, body.sepal_width, body.petal_length, body.petal_width]])
    probabilities = pipeline.predict_proba(row)[0]
    record = {
        "id": str(uuid.uuid4()),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "inputs": body.model_dump(),
        "class": classes[int(np.argmax(probabilities))],
        "probabilities": dict(zip(classes, map(float, probabilities))),
        "latency_us": int((time.perf_counter() - started) * 1e6),
        "source": "api",
    }
    db().execute("INSERT INTO predictions VALUES (?, ?, ?)", (record["id"], owner, json.dumps(record)))
    return record
