"""Trains the regression model Sepal ships, the way a team would: a default
scikit-learn GradientBoostingRegressor on the diabetes data set that
scikit-learn ships (in its original units), exported with skl2onnx's
defaults. It writes

  target/diabetes/model.onnx  the export, untouched
  models/diabetes.csv         the data: one column per feature, its header
                              giving the unit in parentheses, then the target

and `make model` turns them into the model folder models/diabetes with
`sepal model init`, as a user would.

Usage: python models/diabetes.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor

SEED = 20261202
ROOT = Path(__file__).resolve().parent.parent
# The data set's columns, as its description (load_diabetes().DESCR) names them.
COLUMNS = [
    "Age (years)",
    "Sex",
    "Body mass index (kg/m²)",
    "Blood pressure (mm Hg)",
    "Total cholesterol (mg/dL)",
    "LDL cholesterol (mg/dL)",
    "HDL cholesterol (mg/dL)",
    "Total over HDL cholesterol",
    "Log of triglycerides",
    "Blood sugar (mg/dL)",
]
TARGET = "Disease progression after one year"


def main() -> None:
    data = load_diabetes(scaled=False)
    x = data.data.astype(np.float32)
    model = GradientBoostingRegressor(random_state=SEED).fit(x, data.target)
    out = ROOT / "target" / "diabetes"
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.onnx").write_bytes(to_onnx(model, x[:1]).SerializeToString())
    with open(ROOT / "models" / "diabetes.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*COLUMNS, TARGET])
        for row, target in zip(data.data, data.target):
            writer.writerow([f"{v:g}" for v in row] + [f"{target:g}"])
    print(f"diabetes: {len(x)} rows, R² on them {model.score(x, data.target):.3f}")


if __name__ == "__main__":
    main()
