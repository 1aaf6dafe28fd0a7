"""The Python side of the suite comparison in BENCHMARKS.md.

For every model of models/suite (ZipMap exports left out, as in
`cargo bench --bench suite`), times onnxruntime on the committed ONNX file
and the estimator itself (refitted exactly as models/suite.py fits it) on
the same rows: 1,000 made from the suite's 32 (`mixed`), one at a time,
cycling through them, and as one batch. Classifiers are timed with
predict_proba (decision_function where there is none), regressors with
predict. onnxruntime runs with its
default session options (its threads on both cores), and the batch once
more on one thread (`intra_op_num_threads = 1`): Sepal splits a batch
across cores only when it would take 400 µs or more on one (see
docs/models.md, "Speed"), so that figure compares the two core for core.

Writes target/bench/suite-python.json (seconds per call, medians of 5
timings) for bench/report.py. Run with the packages of models/requirements.txt:

    python bench/suite.py [NAME_FILTER]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
import suite  # noqa: E402  (the entries and the fits the suite was exported from)

OUT = ROOT / "target/bench/suite-python.json"


def median_seconds(run, budget: float = 0.25, repeat: int = 5) -> float:
    """Median over `repeat` timings, each of as many calls as fill `budget`
    seconds, per call."""
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < budget / 5:
        run()
        calls += 1
    number = max(1, int(calls * 5))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def cycling(fn, rows):
    state = {"i": 0}

    def run():
        fn(rows[state["i"] % len(rows)])
        state["i"] += 1

    return run


def mixed(x: np.ndarray) -> np.ndarray:
    """1,000 distinct rows from the suite's few, as benches/suite.rs makes
    them: row i takes feature j from row (i + j * (i // n + 1)) % n. Every
    value is one the model was checked on, and no cycle repeats for the
    CPU to learn a tree walk's branches from (onnxruntime's batch of
    regression_xgboost: 442 µs on the 32 rows cycled, 1,423 µs on rows
    drawn from the training data, 1,498 µs on these)."""
    n = len(x)
    return np.array(
        [[x[(i + j * (i // n + 1)) % n, j] for j in range(x.shape[1])] for i in range(1000)],
        dtype=np.float32,
    )


def main() -> None:
    warnings.filterwarnings("ignore")
    name_filter = sys.argv[1] if len(sys.argv) > 1 else ""
    results = {}
    for entry in suite.entries():
        if entry.name.endswith("_zipmap") or name_filter not in entry.name:
            continue
        folder = ROOT / "models/suite" / entry.name
        expected = json.loads((folder / "expected.json").read_text())
        x = np.array([[np.nan if v is None else v for v in row] for row in expected["inputs"]], dtype=np.float32)
        batch = mixed(x)
        rows = [batch[i : i + 1] for i in range(len(batch))]

        data = entry.data()
        model = entry.estimator()
        model.fit(data.x, data.y)
        if data.task == "regression":
            estimator = model.predict
        else:
            estimator = getattr(model, "predict_proba", None) or model.decision_function

        session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
        one_core = onnxruntime.SessionOptions()
        one_core.intra_op_num_threads = 1
        single = onnxruntime.InferenceSession(
            str(folder / "model.onnx"), one_core, providers=["CPUExecutionProvider"]
        )
        feed = expected["input"]
        results[entry.name] = {
            "onnxruntime, 1 row": median_seconds(cycling(lambda r: session.run(None, {feed: r}), rows)),
            "onnxruntime, 1000 rows": median_seconds(lambda: session.run(None, {feed: batch})),
            "onnxruntime on one thread, 1000 rows": median_seconds(lambda: single.run(None, {feed: batch})),
            "estimator, 1 row": median_seconds(cycling(estimator, rows)),
            "estimator, 1000 rows": median_seconds(lambda: estimator(batch)),
        }
        r = results[entry.name]
        print(
            f"{entry.name:45} onnxruntime {r['onnxruntime, 1 row'] * 1e6:8.2f} µs/row,"
            f" {r['onnxruntime, 1000 rows'] * 1e6:9.1f} µs/1000"
            f" ({r['onnxruntime on one thread, 1000 rows'] * 1e6:.1f} on one thread);"
            f" estimator {r['estimator, 1 row'] * 1e6:9.1f} µs/row, {r['estimator, 1000 rows'] * 1e6:9.1f} µs/1000",
            flush=True,
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
