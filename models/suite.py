"""Exports the conformance suite: the models people get from scikit-learn,
XGBoost and LightGBM, written by skl2onnx and onnxmltools with their default
options, and what onnxruntime answers for each.

For every entry it writes models/suite/<name>/:

  model.onnx     the converter's output, untouched
  expected.json  the estimator, converter and outputs used, 32 input rows
                 (float32; null is a missing value) and onnxruntime's label
                 and probabilities (classifiers) or values (regressors)

The Rust test `server/tests/conformance.rs` loads each model with Sepal's
operators and matches onnxruntime; bench/suite.py times onnxruntime and the
estimator itself on the same rows. Reproducible: pinned packages
(requirements.txt), fixed seeds, and data sets that scikit-learn ships.

Usage: python models/suite.py [--out DIR] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import lightgbm
import numpy as np
import onnx
import onnxmltools
import onnxruntime
import skl2onnx
import sklearn
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType
from skl2onnx import to_onnx
from sklearn import ensemble, linear_model, neighbors, neural_network, svm, tree
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

SEED = 20261122
ROWS = 32
SUITE = Path(__file__).resolve().parent / "suite"
# skl2onnx is left to choose its opsets, as users leave it (ai.onnx 21 with
# skl2onnx 1.20); onnxmltools' converters take at most 15 with onnx 1.23.
ONNXMLTOOLS_OPSET = 15


@dataclass
class Data:
    """A data set as the suite uses it: float32 features, targets."""

    name: str
    x: np.ndarray
    y: np.ndarray
    task: str  # classification | regression


def iris() -> Data:
    # String labels, as a team's own data usually has: the exports then carry
    # `classlabels_strings` and string label outputs.
    data = load_iris()
    return Data("iris", data.data.astype(np.float32), data.target_names[data.target], "classification")


def iris_codes() -> Data:
    # XGBoost takes only class numbers 0..n-1.
    data = load_iris()
    return Data("iris (class numbers)", data.data.astype(np.float32), data.target.astype(np.int64), "classification")


def breast_cancer() -> Data:
    # Binary with int64 labels 0/1: the converters' "binary case".
    x, y = load_breast_cancer(return_X_y=True)
    return Data("breast_cancer", x.astype(np.float32), y.astype(np.int64), "classification")


def diabetes() -> Data:
    x, y = load_diabetes(return_X_y=True)
    return Data("diabetes", x.astype(np.float32), y.astype(np.float32), "regression")


def diabetes_with_category() -> Data:
    # The sex column as a 0/1 code, for a OneHotEncoder in a ColumnTransformer.
    data = diabetes()
    data.x[:, 1] = (data.x[:, 1] > 0).astype(np.float32)
    return data


def with_missing(data: Data) -> Data:
    """Every seventh value missing, for the imputer's pipelines."""
    x = data.x.copy()
    x.flat[::7] = np.nan
    return Data(data.name + " (every 7th value missing)", x, data.y, data.task)


@dataclass
class Entry:
    name: str
    data: Callable[[], Data]
    estimator: Callable[[], object]
    converter: str = "skl2onnx"  # skl2onnx | xgboost | lightgbm
    zipmap: bool | None = None  # None: the converter's default, not set


def classifiers() -> dict[str, Callable[[], object]]:
    return {
        "logistic_regression": lambda: linear_model.LogisticRegression(max_iter=5000, random_state=SEED),
        "sgd": lambda: make_pipeline(StandardScaler(), linear_model.SGDClassifier(random_state=SEED)),
        "decision_tree": lambda: tree.DecisionTreeClassifier(random_state=SEED),
        "random_forest": lambda: ensemble.RandomForestClassifier(random_state=SEED),
        "extra_trees": lambda: ensemble.ExtraTreesClassifier(random_state=SEED),
        "gradient_boosting": lambda: ensemble.GradientBoostingClassifier(random_state=SEED),
        "knn": lambda: make_pipeline(StandardScaler(), neighbors.KNeighborsClassifier()),
        "mlp": lambda: make_pipeline(StandardScaler(), neural_network.MLPClassifier(max_iter=2000, random_state=SEED)),
        "svc": lambda: make_pipeline(StandardScaler(), svm.SVC(probability=True, random_state=SEED)),
    }


def regressors() -> dict[str, Callable[[], object]]:
    return {
        "linear_regression": linear_model.LinearRegression,
        "ridge": linear_model.Ridge,
        "decision_tree": lambda: tree.DecisionTreeRegressor(random_state=SEED),
        "random_forest": lambda: ensemble.RandomForestRegressor(random_state=SEED),
        "gradient_boosting": lambda: ensemble.GradientBoostingRegressor(random_state=SEED),
        "knn": lambda: make_pipeline(StandardScaler(), neighbors.KNeighborsRegressor()),
        "mlp": lambda: make_pipeline(StandardScaler(), neural_network.MLPRegressor(max_iter=5000, random_state=SEED)),
        "svr": lambda: make_pipeline(StandardScaler(), svm.SVR()),
    }


def entries() -> list[Entry]:
    out = []
    for data in (iris, breast_cancer):
        short = "iris" if data is iris else "binary"
        for name, make in classifiers().items():
            for zipmap in (True, False):
                out.append(Entry(f"{short}_{name}_{'zipmap' if zipmap else 'plain'}", data, make, zipmap=zipmap))
        # LinearSVC has no probabilities, so its export has no ZipMap option.
        out.append(Entry(f"{short}_linear_svc", data, lambda: svm.LinearSVC(random_state=SEED)))
        xgboost_data = iris_codes if data is iris else data
        out.append(Entry(f"{short}_xgboost", xgboost_data, lambda: xgboost.XGBClassifier(random_state=SEED), "xgboost"))
        for zipmap in (True, False):
            out.append(Entry(
                f"{short}_lightgbm_{'zipmap' if zipmap else 'plain'}", data,
                lambda: lightgbm.LGBMClassifier(random_state=SEED, verbose=-1), "lightgbm", zipmap=zipmap,
            ))
    for name, make in regressors().items():
        out.append(Entry(f"regression_{name}", diabetes, make))
    out.append(Entry("regression_xgboost", diabetes, lambda: xgboost.XGBRegressor(random_state=SEED), "xgboost"))
    out.append(Entry(
        "regression_lightgbm", diabetes, lambda: lightgbm.LGBMRegressor(random_state=SEED, verbose=-1), "lightgbm"
    ))
    # Preprocessing in pipelines, as people write them.
    out += [
        Entry("iris_standard_scaler_logistic_regression", iris,
              lambda: make_pipeline(StandardScaler(), linear_model.LogisticRegression(random_state=SEED))),
        Entry("iris_min_max_scaler_logistic_regression", iris,
              lambda: make_pipeline(MinMaxScaler(), linear_model.LogisticRegression(random_state=SEED))),
        Entry("binary_imputer_random_forest", lambda: with_missing(breast_cancer()),
              lambda: make_pipeline(SimpleImputer(), ensemble.RandomForestClassifier(random_state=SEED))),
        Entry("binary_imputer_scaler_logistic_regression", lambda: with_missing(breast_cancer()),
              lambda: make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                    linear_model.LogisticRegression(max_iter=5000, random_state=SEED))),
        Entry("regression_imputer_scaler_ridge", lambda: with_missing(diabetes()),
              lambda: make_pipeline(SimpleImputer(), StandardScaler(), linear_model.Ridge())),
        Entry("regression_min_max_scaler_svr", diabetes,
              lambda: make_pipeline(MinMaxScaler(), svm.SVR())),
        Entry("regression_one_hot_gradient_boosting", diabetes_with_category,
              lambda: make_pipeline(
                  ColumnTransformer([
                      ("numbers", StandardScaler(), [0, 2, 3, 4, 5, 6, 7, 8, 9]),
                      ("sex", OneHotEncoder(handle_unknown="ignore"), [1]),
                  ]),
                  ensemble.GradientBoostingRegressor(random_state=SEED),
              )),
    ]
    return out


def export(entry: Entry, model, width: int) -> onnx.ModelProto:
    if entry.converter == "skl2onnx":
        options = None if entry.zipmap is None else {"zipmap": entry.zipmap}
        sample = np.zeros((1, width), dtype=np.float32)
        return to_onnx(model, sample, options=options)
    types = [("input", FloatTensorType([None, width]))]
    if entry.converter == "xgboost":
        return onnxmltools.convert_xgboost(model, initial_types=types, target_opset=ONNXMLTOOLS_OPSET)
    return onnxmltools.convert_lightgbm(
        model, initial_types=types, target_opset=ONNXMLTOOLS_OPSET, zipmap=bool(entry.zipmap)
    )


def rows(data: Data) -> np.ndarray:
    """24 samples of the data set and 8 made-up rows around it: its
    per-feature minimum, maximum and mean, and values just past its range."""
    rng = np.random.default_rng(SEED)
    picked = data.x[rng.choice(len(data.x), 24, replace=False)]
    low, high = np.nanmin(data.x, axis=0), np.nanmax(data.x, axis=0)
    mean, span = np.nanmean(data.x, axis=0), high - low
    made = [low, high, mean, low - 0.1 * span, high + 0.1 * span]
    made += [np.where(rng.random(len(low)) < 0.5, low, high) for _ in range(3)]
    return np.vstack([picked, np.array(made, dtype=np.float32)]).astype(np.float32)


def outputs(session: onnxruntime.InferenceSession, task: str) -> dict[str, str]:
    names = [o.name for o in session.get_outputs()]
    if task == "regression":
        assert len(names) == 1, names
        return {"value": names[0]}
    assert len(names) == 2, names
    return {"label": names[0], "probabilities": names[1]}


def probabilities(raw, classes) -> np.ndarray:
    """ZipMap's list of {class: probability} as rows in class order."""
    if isinstance(raw, list):
        return np.array([[row[c] for c in classes] for row in raw], dtype=np.float64)
    return np.asarray(raw, dtype=np.float64)


def json_value(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    return str(v)


def build(entry: Entry, out: Path) -> str:
    data = entry.data()
    model = entry.estimator()
    model.fit(data.x, data.y)
    onnx_model = export(entry, model, data.x.shape[1])
    onnx_bytes = onnx_model.SerializeToString()
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    names = outputs(session, data.task)
    x = rows(data)
    answers = dict(zip([o.name for o in session.get_outputs()], session.run(None, {session.get_inputs()[0].name: x})))
    expected = {
        "estimator": repr(model),
        "converter": {
            "skl2onnx": f"skl2onnx {skl2onnx.__version__} to_onnx",
            "xgboost": f"onnxmltools {onnxmltools.__version__} convert_xgboost",
            "lightgbm": f"onnxmltools {onnxmltools.__version__} convert_lightgbm",
        }[entry.converter] + ("" if entry.zipmap is None else f", zipmap={entry.zipmap}"),
        "data": data.name,
        "task": data.task,
        "input": session.get_inputs()[0].name,
        "outputs": names,
        "inputs": [[json_value(v) for v in row] for row in x],
    }
    if data.task == "regression":
        values = np.asarray(answers[names["value"]], dtype=np.float64).reshape(len(x), -1)
        expected["values"] = values[:, 0].tolist()
        summary = f"max |ort - estimator| {np.abs(values[:, 0] - model.predict(x)).max():.2e}"
    else:
        classes = list(model.classes_)
        expected["classes"] = [json_value(c) for c in classes]
        expected["labels"] = [json_value(v) for v in np.asarray(answers[names["label"]]).ravel()]
        proba = probabilities(answers[names["probabilities"]], classes)
        expected["probabilities"] = proba.tolist()
        agree = np.mean(np.asarray(answers[names["label"]]).ravel() == model.predict(x))
        summary = f"labels as the estimator's {agree:.0%}"
    folder = out / entry.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    ops = sorted({n.op_type for n in onnx_model.graph.node})
    return f"{entry.name}: {len(onnx_bytes):,} B, {summary}, ops {', '.join(ops)}"


# Hand-made tree ensembles for what the converters above never write but
# the operators allow: every node mode, NaN sent either way, every
# post_transform, base values, and each aggregate. Their answers are
# onnxruntime's too.
GRID = [-1.0, -0.5, 0.0, 0.5, 1.0]


def tree_attributes(rng, trees: int, depth: int, features: int, modes: list[str], outputs: int,
                    leaf: str, positive: bool, one_output: bool) -> dict:
    """`trees` complete trees of `depth` levels of splits, thresholds on
    GRID (so equality rules are met), modes and NaN flags drawn per node."""
    a = {k: [] for k in ("nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true")}
    w = {f"{leaf}_{k}": [] for k in ("treeids", "nodeids", "ids", "weights")}
    splits, total = 2**depth - 1, 2 ** (depth + 1) - 1
    for t in range(trees):
        for i in range(total):
            split = i < splits
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(int(rng.integers(features)) if split else 0)
            a["nodes_modes"].append(str(rng.choice(modes)) if split else "LEAF")
            a["nodes_values"].append(float(rng.choice(GRID)) if split else 0.0)
            a["nodes_truenodeids"].append(2 * i + 1 if split else 0)
            a["nodes_falsenodeids"].append(2 * i + 2 if split else 0)
            a["nodes_missing_value_tracks_true"].append(int(rng.random() < 0.5) if split else 0)
            if not split:
                targets = [0] if one_output else (range(outputs) if rng.random() < 0.5 else [int(rng.integers(outputs))])
                for o in targets:
                    w[f"{leaf}_treeids"].append(t)
                    w[f"{leaf}_nodeids"].append(i)
                    w[f"{leaf}_ids"].append(int(o))
                    weight = float(np.round(rng.random() if positive else rng.normal(), 3))
                    w[f"{leaf}_weights"].append(weight)
    return {**a, **w}


def synthetic_entries() -> dict[str, dict]:
    """name → how to make it: the operator, its attributes' choices."""
    all_modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
    out = {}
    for post in ("NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO", "PROBIT"):
        out[f"synthetic_classifier_{post.lower()}"] = dict(op="TreeEnsembleClassifier", post=post, classes=3,
                                                            modes=all_modes, positive=False, base=[0.1, -0.2, 0.3])
        out[f"synthetic_regressor_two_targets_{post.lower()}"] = dict(op="TreeEnsembleRegressor", post=post,
                                                                      targets=2, modes=all_modes, aggregate="SUM",
                                                                      positive=False, base=[0.5, -0.5])
    for aggregate in ("SUM", "AVERAGE", "MIN", "MAX"):
        out[f"synthetic_regressor_{aggregate.lower()}"] = dict(op="TreeEnsembleRegressor", post="NONE", targets=1,
                                                               modes=all_modes, aggregate=aggregate, positive=False,
                                                               base=[1.5])
        out[f"synthetic_regressor_two_targets_{aggregate.lower()}"] = dict(
            op="TreeEnsembleRegressor", post="NONE", targets=2, modes=all_modes, aggregate=aggregate,
            positive=False, base=[])
    for positive in (True, False):
        for post in ("NONE", "LOGISTIC", "SOFTMAX"):
            sign = "positive" if positive else "signed"
            out[f"synthetic_binary_{sign}_{post.lower()}"] = dict(op="TreeEnsembleClassifier", post=post, classes=2,
                                                                  modes=["BRANCH_LEQ"], positive=positive,
                                                                  base=[] if positive else [0.25], one_output=True)
    return out


def build_synthetic(name: str, spec: dict, out: Path) -> str:
    from onnx import TensorProto, helper

    rng = np.random.default_rng(sum(map(ord, name)) + SEED)
    features = 4
    classifier = spec["op"] == "TreeEnsembleClassifier"
    outputs = spec["classes"] if classifier else spec["targets"]
    one_output = spec.get("one_output", False)
    attributes = tree_attributes(rng, 12, 3, features, spec["modes"], outputs, "class" if classifier else "target",
                                 spec["positive"], one_output)
    attributes["post_transform"] = spec["post"]
    if spec["base"]:
        attributes["base_values"] = spec["base"]
    x_type = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", features])
    if classifier:
        labels = list(range(outputs))
        attributes["classlabels_int64s"] = labels
        node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain="ai.onnx.ml",
                                **attributes)
        graph_outputs = [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
                         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", outputs])]
    else:
        attributes["n_targets"] = outputs
        attributes["aggregate_function"] = spec["aggregate"]
        node = helper.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain="ai.onnx.ml", **attributes)
        graph_outputs = [helper.make_tensor_value_info("variable", TensorProto.FLOAT, ["N", outputs])]
    graph = helper.make_graph([node], name, [x_type], graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)])
    onnx.checker.check_model(model)
    onnx_bytes = model.SerializeToString()

    # Values on the thresholds, between them, and missing.
    x = rng.choice(GRID + [-0.75, 0.25, 0.75, 2.0, np.nan], size=(ROWS, features)).astype(np.float32)
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    answers = session.run(None, {"X": x})
    expected = {
        "estimator": f"synthetic {spec['op']}: {json.dumps(spec)}",
        "converter": f"onnx {onnx.__version__} helper",
        "data": "drawn from the thresholds, between them, and missing values",
        "task": "classification" if classifier else "regression",
        "input": "X",
        "outputs": {"label": "label", "probabilities": "probabilities"} if classifier else {"value": "variable"},
        "inputs": [[json_value(v) for v in row] for row in x],
    }
    # PROBIT of a score outside (0, 1) is NaN, written as null.
    if classifier:
        expected["classes"] = labels
        expected["labels"] = [int(v) for v in answers[0].ravel()]
        expected["probabilities"] = [[json_value(v) for v in row] for row in np.asarray(answers[1], dtype=np.float64)]
    else:
        # Multi-target answers are checked on every target.
        expected["values"] = [[json_value(v) for v in row] for row in np.asarray(answers[0], dtype=np.float64)]
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return f"{name}: {len(onnx_bytes):,} B"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SUITE)
    parser.add_argument("names", nargs="*", help="entries to export (default: all)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    print(f"scikit-learn {sklearn.__version__}, xgboost {xgboost.__version__}, lightgbm {lightgbm.__version__}, "
          f"onnxruntime {onnxruntime.__version__}")
    chosen = [e for e in entries() if not args.names or e.name in args.names]
    for entry in chosen:
        print(build(entry, args.out), flush=True)
    for name, spec in synthetic_entries().items():
        if not args.names or name in args.names:
            print(build_synthetic(name, spec, args.out), flush=True)


if __name__ == "__main__":
    main()
