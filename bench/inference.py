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

import numpy as np
import onnxruntime
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261122  # as in models/train.py


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
    # The same pipeline models/train.py fits (same data, split and seed).
    x, y = load_iris(return_X_y=True)
    x_train, _, y_train, _ = train_test_split(x, y, test_size=0.25, stratify=y, random_state=SEED)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, random_state=SEED))
    pipeline.fit(x_train, y_train)

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
