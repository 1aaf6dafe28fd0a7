"""Trains Sepal's models and exports them for the server.

Reproducible: pinned packages (requirements.txt), a fixed seed, and data sets
that scikit-learn ships, so nothing is downloaded. For each model it writes,
into models/<name>/:

  model.onnx      the classifier as plain MatMul + Add + Softmax (see README.md)
  manifest.json   what the app needs to serve it: features with units and
                  bounds, classes, examples, metrics, the ONNX file's sha256
  reference.json  scikit-learn's probabilities for every sample of the data
                  set, which the parity test compares tract's against

Usage: python models/train.py [--export plain|skl2onnx] [--out DIR] NAME
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import sklearn
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 20261122
OPSET = 17
MODELS = Path(__file__).resolve().parent


@dataclass
class Feature:
    name: str
    label: str
    unit: str
    min: float  # hard bounds: outside them the input is rejected
    max: float
    step: float


@dataclass
class Spec:
    name: str
    version: str
    title: str
    description: str
    load: object
    features: list[Feature]
    classes: list[tuple[str, str]]  # (name, label)
    plot: tuple[str, str]  # the two features the result page plots the data set on


def iris_spec() -> Spec:
    # Hard bounds are what an iris flower can physically measure, with room
    # to spare; the typical ranges shown to users come from the data.
    return Spec(
        name="iris",
        version="1.0.0",
        title="Iris species",
        description=(
            "Predicts the species of an iris flower (setosa, versicolor or virginica) "
            "from the length and width of its sepals and petals."
        ),
        load=load_iris,
        features=[
            Feature("sepal_length", "Sepal length", "cm", 0.5, 20.0, 0.1),
            Feature("sepal_width", "Sepal width", "cm", 0.5, 10.0, 0.1),
            Feature("petal_length", "Petal length", "cm", 0.1, 15.0, 0.1),
            Feature("petal_width", "Petal width", "cm", 0.05, 6.0, 0.05),
        ],
        classes=[
            ("setosa", "Iris setosa"),
            ("versicolor", "Iris versicolor"),
            ("virginica", "Iris virginica"),
        ],
        plot=("petal_length", "petal_width"),
    )


def wine_spec() -> Spec:
    # A second, differently shaped classifier (13 features), served by the
    # same code. The data set states no units, so none are invented here;
    # hard bounds are 0 to twice the largest value seen.
    data = load_wine()
    names = [
        "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium",
        "total_phenols", "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
        "color_intensity", "hue", "od280_od315", "proline",
    ]
    labels = [n.replace("_", " ").capitalize() for n in names]
    labels[11] = "OD280/OD315 of diluted wine"
    features = [
        Feature(n, l, "", 0.0, float(np.round(2 * data.data[:, i].max(), 2)), 0.01)
        for i, (n, l) in enumerate(zip(names, labels))
    ]
    return Spec(
        name="wine",
        version="1.0.0",
        title="Wine cultivar",
        description="Predicts which of three cultivars an Italian wine comes from, from 13 chemical measurements.",
        load=load_wine,
        features=features,
        classes=[("cultivar_1", "Cultivar 1"), ("cultivar_2", "Cultivar 2"), ("cultivar_3", "Cultivar 3")],
        plot=("flavanoids", "color_intensity"),
    )


SPECS = {"iris": iris_spec, "wine": wine_spec}


def folded(pipeline):
    """The pipeline's scaler folded into its classifier's weights: the same
    function of x, as W = coef / scale and b = intercept - (mean / scale) @ coef.T."""
    scaler, clf = pipeline[0], pipeline[-1]
    weights = clf.coef_ / scaler.scale_
    bias = clf.intercept_ - (scaler.mean_ / scaler.scale_) @ clf.coef_.T
    return weights, bias


def plain_onnx(pipeline, n_features: int, n_classes: int) -> onnx.ModelProto:
    """The pipeline as one affine map and a softmax: softmax(x @ W.T + b)."""
    weights, bias = folded(pipeline)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "weights"], ["logits_raw"]),
            helper.make_node("Add", ["logits_raw", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", n_classes])],
        [
            numpy_helper.from_array(weights.T.astype(np.float32), "weights"),
            numpy_helper.from_array(bias.astype(np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.producer_name = "sepal models/train.py"
    onnx.checker.check_model(model, full_check=True)
    return model


def skl2onnx_export(pipeline, n_features: int) -> onnx.ModelProto:
    """skl2onnx's own export (LinearClassifier + Normalizer), kept for the
    comparison in README.md. tract has no ai.onnx.ml Scaler, so the scaler is
    folded into the weights first; ZipMap is off, as tract does not run it."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    clf = pipeline[-1]
    weights, bias = folded(pipeline)
    single = LogisticRegression()
    single.coef_, single.intercept_, single.classes_ = weights, bias, clf.classes_
    single.n_features_in_ = n_features
    return to_onnx(
        single,
        initial_types=[("features", FloatTensorType([None, n_features]))],
        options={id(single): {"zipmap": False}},
        final_types=[("label", None), ("probabilities", None)],
        target_opset={"": OPSET, "ai.onnx.ml": 3},
    )


def plot_points(spec: Spec, x, y) -> dict:
    """The whole data set on the spec's two plot features, with true classes."""
    names = [f.name for f in spec.features]
    at_x, at_y = names.index(spec.plot[0]), names.index(spec.plot[1])
    return {
        "x": spec.plot[0],
        "y": spec.plot[1],
        "points": [[float(a[at_x]), float(a[at_y]), int(c)] for a, c in zip(x, y)],
    }


def fit(spec: Spec):
    """Fits the pipeline on a stratified 75 % split; returns it with the data
    and the split. bench/inference.py uses this too."""
    data = spec.load()
    x, y = data.data, data.target
    assert x.shape[1] == len(spec.features) and len(np.unique(y)) == len(spec.classes)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=SEED
    )
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000, random_state=SEED))
    pipeline.fit(x_train, y_train)
    return pipeline, x, y, (x_train, x_test, y_train, y_test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(SPECS))
    parser.add_argument("--export", choices=["plain", "skl2onnx"], default="plain")
    parser.add_argument("--out", type=Path, help="output folder (default: models/NAME)")
    args = parser.parse_args()

    spec = SPECS[args.name]()
    out = args.out or MODELS / spec.name
    out.mkdir(parents=True, exist_ok=True)

    pipeline, x, y, (_, x_test, y_train, y_test) = fit(spec)
    test_pred = pipeline.predict(x_test)

    if args.export == "plain":
        model = plain_onnx(pipeline, x.shape[1], len(spec.classes))
    else:
        model = skl2onnx_export(pipeline, x.shape[1])
    onnx_bytes = model.SerializeToString()

    # Reference outputs from scikit-learn, in float32 inputs as the server sees them.
    x32 = x.astype(np.float32)
    reference = pipeline.predict_proba(x32.astype(np.float64))
    # The export must agree with scikit-learn before anything is written as reference.
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    ort_proba = session.run(["probabilities"], {"features": x32})[0]
    max_diff = float(np.abs(ort_proba - reference).max())
    assert max_diff < 1e-5, f"onnxruntime disagrees with scikit-learn by {max_diff}"

    examples = []
    for class_index, (class_name, class_label) in enumerate(spec.classes):
        # The sample nearest its class mean: a typical, correctly predicted flower.
        members = np.flatnonzero((y == class_index) & (pipeline.predict(x) == y))
        centre = x[members].mean(axis=0)
        pick = members[np.argmin(np.linalg.norm(x[members] - centre, axis=1))]
        examples.append({
            "label": f"Typical {class_label}",
            "class": class_name,
            "values": {f.name: float(x[pick, i]) for i, f in enumerate(spec.features)},
        })

    manifest = {
        "name": spec.name,
        "version": spec.version,
        "title": spec.title,
        "description": spec.description,
        "onnx": {
            "file": "model.onnx",
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "input": "features",
            "output": "probabilities",
        },
        "features": [
            {
                "name": f.name,
                "label": f.label,
                "unit": f.unit,
                "min": f.min,
                "max": f.max,
                "typical_min": float(x[:, i].min()),
                "typical_max": float(x[:, i].max()),
                "step": f.step,
            }
            for i, f in enumerate(spec.features)
        ],
        "task": "classification",
        "classes": [{"name": n, "label": l} for n, l in spec.classes],
        "examples": examples,
        "plot": plot_points(spec, x, y),
        "metrics": {
            "test_accuracy": round(float(accuracy_score(y_test, test_pred)), 4),
            "train_samples": int(len(y_train)),
            "test_samples": int(len(y_test)),
            "confusion_matrix": confusion_matrix(y_test, test_pred).tolist(),
        },
        "training": {
            "algorithm": "StandardScaler + LogisticRegression(C=1.0, multinomial, lbfgs)",
            "framework": f"scikit-learn {sklearn.__version__}",
            "data": f"sklearn.datasets.load_{spec.name}() ({len(y)} samples)",
            "split": f"stratified 75/25, random_state={SEED}",
            "export": args.export,
        },
    }
    # Written together, after every check, so the folder stays consistent.
    (out / "model.onnx").write_bytes(onnx_bytes)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (out / "reference.json").write_text(
        json.dumps(
            {
                "inputs": x32.astype(float).round(6).tolist(),
                "probabilities": reference.round(9).tolist(),
                "labels": [spec.classes[i][0] for i in reference.argmax(axis=1)],
            }
        )
        + "\n"
    )
    print(
        f"{spec.name}: test accuracy {manifest['metrics']['test_accuracy']}, "
        f"onnxruntime vs scikit-learn max |diff| {max_diff:.2e}, written to {out}"
    )


if __name__ == "__main__":
    main()
