"""Puts `cargo bench --bench suite` (criterion, target/criterion) and
bench/suite.py (target/bench/suite-python.json) side by side, as the
Markdown table BENCHMARKS.md keeps, and checks the goals: every model at
or under onnxruntime's time per row, tree ensembles at most half of it,
1,000-row batches at or under onnxruntime's time per row. One more
column compares the batch with onnxruntime on one thread, core for core.

    python bench/report.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target/criterion"
PYTHON = ROOT / "target/bench/suite-python.json"
TREES = ("decision_tree", "random_forest", "extra_trees", "gradient_boosting", "xgboost", "lightgbm")


def criterion_seconds(group: str, bench: str) -> float | None:
    path = CRITERION / group / bench / "new/estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"] * 1e-9


def main() -> None:
    python = json.loads(PYTHON.read_text())
    print("| model | Sepal, 1 row | onnxruntime, 1 row | × | estimator, 1 row | "
          "Sepal, 1,000 rows, per row | onnxruntime, per row | × | onnxruntime on one thread | × | goal |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    missed = []
    for name, py in python.items():
        one = criterion_seconds(name, "1 row")
        thousand = criterion_seconds(name, "1000 rows")
        if one is None or thousand is None:
            continue
        ort_one, ort_thousand = py["onnxruntime, 1 row"], py["onnxruntime, 1000 rows"]
        ort_single = py["onnxruntime on one thread, 1000 rows"]
        ratio_one, ratio_thousand = ort_one / one, ort_thousand / thousand
        needed = 2.0 if any(t in name for t in TREES) else 1.0
        met = ratio_one >= needed and ratio_thousand >= 1.0
        if not met:
            missed.append(name)
        print(
            f"| {name} | {one * 1e6:.2f} µs | {ort_one * 1e6:.2f} µs | {ratio_one:.1f} "
            f"| {py['estimator, 1 row'] * 1e6:.0f} µs | {thousand * 1e6:.0f} ns | {ort_thousand * 1e6:.0f} ns "
            f"| {ratio_thousand:.1f} | {ort_single * 1e6:.0f} ns | {ort_single / thousand:.1f} "
            f"| {'met' if met else 'missed'} (≥ {needed:g}×, ≥ 1×) |"
        )
    print()
    print(f"goals missed by {len(missed)} of {len(python)} models" + (f": {', '.join(missed)}" if missed else ""))


if __name__ == "__main__":
    main()
