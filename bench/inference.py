"""The Python side of the inference comparison in BENCHMARKS.md.

Times scikit-learn's predict_proba and onnxruntime on the same iris model
and inputs as `cargo bench -p server --bench inference`: one row at a time,
cycling through the 150 samples, and a batch of 1,000 rows. Prints the median
of repeated timings. Run with the packages of models/requirements.txt:

    python bench/inference.py
"""

import json
import statistics
import time
from pathlib import Path

import sys

import numpy as np
import onnxruntime

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
from train import SPECS, fit  # noqa: E402  (the pipeline the served model was exported from)


def median_seconds(run, repeat: int, number: int) -> float:
    """Median over `repeat` timings of `number` calls, per call."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def main() -> None:
    pipeline = fit(SPECS["iris"]())[0]

    samples = np.array(json.loads((ROOT / "models/iris/reference.json").read_text())["inputs"], dtype=np.float32)
    batch = np.resize(samples, (1000, samples.shape[1]))
    session = onnxruntime.InferenceSession(
        str(ROOT / "models/iris/model.onnx"), providers=["CPUExecutionProvider"]
    )
    rows = [samples[i : i + 1] for i in range(len(samples))]

    def cycle(fn):
        state = {"i": 0}

        def run():
            fn(rows[state["i"] % len(rows)])
            state["i"] += 1

        return run

    results = {
        "scikit-learn, 1 row": median_seconds(cycle(pipeline.predict_proba), 15, 2000),
        "onnxruntime, 1 row": median_seconds(cycle(lambda r: session.run(None, {"features": r})), 15, 20000),
        "scikit-learn, 1000 rows": median_seconds(lambda: pipeline.predict_proba(batch), 15, 200),
        "onnxruntime, 1000 rows": median_seconds(lambda: session.run(None, {"features": batch}), 15, 2000),
    }
    for name, seconds in results.items():
        per_row = seconds / (1000 if "1000" in name else 1)
        print(f"{name:26} {seconds * 1e6:10.2f} µs per call {per_row * 1e9:10.1f} ns per row")


if __name__ == "__main__":
    main()
