"""Benchmark of the evaluation catalogue: the HIGH tier's suites on 100,000 rows x 20 features.

    python bench/bench_catalogue.py [--rows N] [--features K] [--trees T]

The model is sklearn's GradientBoostingClassifier(n_estimators=200, max_depth=3) converted by
skl2onnx; the champion (the PRODUCTION version champion-challenger compares with) is the same
learner with 100 trees. The dataset has the features, a sensitive feature `group` (3 values,
correlated with the first feature) and y_true; the reference dataset and the training sample
(the security suite's members) are drawn from the same population.

The HIGH tier's catalogue is run the way the worker runs it: the registry predicts the dataset
and the reference with the model (ExecutableModel.predict_frame), builds the Scorer, runs the
champion, and calls run_suite for performance, bias, robustness, security, explainability and
validation with the HIGH thresholds and the default samples. Reported: seconds per suite and
in total, the longest gap between two progress reports, and the peak RSS of the whole run
(ru_maxrss of this process: the interpreter, the libraries, the data, the model sessions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SEED = 20261202
SUITES = ("performance", "bias", "robustness", "security", "explainability", "validation")


def population(rows: int, features: int, seed: int) -> pd.DataFrame:
    weights = np.random.default_rng(SEED).normal(size=features)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    logit = (
        x @ weights / np.sqrt(features) * 2 + 0.5 * np.sin(3 * x[:, 0]) + rng.logistic(size=rows)
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    frame["group"] = np.where(x[:, 0] + rng.normal(size=rows) > 0.5, "a", "b")
    frame.loc[rng.random(rows) < 0.2, "group"] = "c"
    frame["y_true"] = (logit > 0).astype(np.int8)
    return frame


def onnx_model(train: pd.DataFrame, features: list[str], trees: int) -> bytes:
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier

    X = train[features].to_numpy(np.float32)
    clf = GradientBoostingClassifier(n_estimators=trees, max_depth=3, random_state=0)
    clf.fit(X, train["y_true"])
    return to_onnx(
        clf, X[:1], options={id(clf): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3}
    ).SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--train-rows", type=int, default=20_000)
    args = parser.parse_args()

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from evaluations.metrics import thresholds_for_tier
    from evaluations.metrics.suites import ModelInputs, run_suite
    from registry.execution import ExecutableModel, Scorer

    features = [f"f{i}" for i in range(args.features)]
    began = time.perf_counter()
    train = population(args.train_rows, args.features, SEED + 1)
    model_bytes = onnx_model(train, features, args.trees)
    champion_bytes = onnx_model(train, features, args.trees // 2)
    data = population(args.rows, args.features, SEED + 2)
    reference = population(args.rows, args.features, SEED + 3)
    training = train.sample(n=min(10_000, len(train)), random_state=0)
    setup_s = time.perf_counter() - began

    thresholds = thresholds_for_tier("HIGH")
    timings: dict[str, float] = {}
    gaps: dict[str, float] = {}
    began_all = time.perf_counter()
    began = time.perf_counter()
    model = ExecutableModel.load(model_bytes)
    predictions = model.predict_frame(data, features=features)
    data["y_score"], data["y_pred"] = predictions.y_score, predictions.y_pred
    ref = model.predict_frame(reference, features=features)
    reference["y_score"], reference["y_pred"] = ref.y_score, ref.y_pred
    scorer = Scorer.for_frame(model, data, features=features)
    champion = ExecutableModel.load(champion_bytes).predict_frame(data, features=features)
    timings["predictions (model, reference, champion)"] = time.perf_counter() - began

    for suite in SUITES:
        last = [time.perf_counter()]
        longest = [0.0]

        def progress(percent, message, last=last, longest=longest):
            now = time.perf_counter()
            longest[0] = max(longest[0], now - last[0])
            last[0] = now

        inputs = ModelInputs(
            scorer=scorer if suite in ("robustness", "security", "explainability") else None,
            training=training if suite == "security" else None,
            champion={
                "version": "1.0.0",
                "versionId": 1,
                "y_score": champion.y_score,
            }
            if suite == "validation"
            else None,
            epsilon=0.1,
            seed=0,
        )
        began = time.perf_counter()
        result = run_suite(
            suite,
            data,
            reference=reference if suite in ("robustness", "security", "validation") else None,
            sensitive_features=["group"] if suite in ("bias", "security") else [],
            thresholds=thresholds,
            progress=progress,
            features=features,
            inputs=inputs,
        )
        timings[suite] = time.perf_counter() - began
        gaps[suite] = longest[0]
        judged = [r for r in result["thresholdResults"] if r["passed"] is not None]
        print(
            f"{suite:15s} {timings[suite]:6.1f} s  longest progress gap {gaps[suite]:4.1f} s  "
            f"thresholds judged {len(judged)}/{len(result['thresholdResults'])}",
            flush=True,
        )
    total = time.perf_counter() - began_all
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "rows": args.rows,
                "features": args.features,
                "trees": args.trees,
                "setupSeconds (training the models, generating the data)": round(setup_s, 1),
                "secondsPerStep": {k: round(v, 2) for k, v in timings.items()},
                "totalSeconds": round(total, 1),
                "longestProgressGapSeconds": round(max(gaps.values()), 2),
                "peakRssMiB": round(peak_mib),
                "targets": {"totalSeconds": 120, "peakRssMiB": 2048, "progressGap": 2},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
