"""Security suite, model-level metrics: what an attacker learns from, or does to, the model.

Computed only when the registry runs the model (a ``Scorer``); every query is batched.

``membershipInferenceAdvantage``
    Black-box membership inference (Shokri et al., 2017, "Membership Inference Attacks against
    Machine Learning Models") as ART 1.20.1 implements it:
    ``art.attacks.inference.membership_inference.MembershipInferenceBlackBox`` with
    ``input_type="prediction"`` (the attack model reads the model's class probabilities and the
    true label) and a random-forest attack model. Members are rows of the training sample
    (``trainingDataset``), non-members rows of the evaluation dataset; the same number of each
    is drawn (balanced), the attack is trained on one half of both and judged on the other:
    advantage = TPR - FPR of its member/non-member decision (probability > 0.5, as ART's
    ``infer`` rounds) on the held-out half (Yeom et al., 2018, "Privacy Risk in Machine
    Learning"). 0 means the attack does no better than chance; it is not clipped (noise can make
    it slightly negative).

``attributeInferenceAdvantage``
    Model inversion of the first sensitive feature (Fredrikson et al., 2015) with ART's
    ``AttributeInferenceBlackBox``: the attacker knows every other model feature and the
    model's predicted label and infers the attribute (treated as categorical, at most
    ``ATTRIBUTE_MAX_CLASSES`` values) with a random forest trained on one half of the rows;
    advantage = its accuracy on the other half minus that half's majority-class share. When the
    attribute is not a model input the attack's rows carry it as an extra last column and the
    model is fed only its own features.

``inputValidationFailures``
    The number of the registry's hostile inputs (``hostile_cases``, a fixed list built from
    ``HOSTILE_ROWS`` real rows: NaN, ±infinity and ±1e6 standard deviations in each feature and
    in all of them, float64's extremes, text, a missing and an extra column, and straight to
    onnxruntime an empty batch, a wrong element type, a wrong rank, text and a missing input)
    for which the model crashed or gave an invalid output. Each case's outcome is ``answered``
    (a valid probability for every row), ``refused`` (onnxruntime or the registry rejected the
    input with a clean error: the correct behaviour, not a failure), ``invalid`` (NaN, infinite
    or out-of-range output: the scorer raised ``OutputError``) or ``crashed`` (any other
    exception from the model run). Failures = invalid + crashed.

``backdoorSuspicion``
    STRIP (Gao et al., 2019, "STRIP: A Defence Against Trojan Attacks on Deep Neural Networks",
    arXiv:1902.06531) adapted to tabular rows: each input x is blended with ``STRIP_BLENDS``
    random clean rows by per-feature random replacement, each feature of x taken from the clean
    row with probability ``STRIP_ALPHA`` = 0.5 (the tabular analogue of the paper's equal-weight
    superimposition). Not the paper's convex blend (1 - alpha) * x + alpha * x_clean: it halves
    a trigger's value, and a tree model's split on a trigger lies midway between the data's
    largest value and the trigger, so a half-size trigger always lands on the clean side of it
    (measured on a gradient-boosted model with a trigger at 8 standard deviations: 1% of the
    trigger rows flagged with a convex blend, 59% with replacement). Replacement keeps every
    value a real one (valid categories and integers, on the data's support) and keeps the
    trigger intact in about half the blends. The input's entropy is the mean over its blends of
    the binary Shannon entropy (bits) of the model's class probabilities (the paper's H_sum /
    N). A trigger-carrying input keeps its prediction in every blend that keeps the trigger, so
    its entropy is low. The cut is the ``STRIP_CUT_QUANTILE`` (1%) quantile of the entropies of
    a clean reference (``referenceDataset``, else a seeded held-out half of the evaluation
    dataset), each reference row blended with reference rows; backdoorSuspicion = the share of
    the dataset's sampled inputs strictly below the cut (about 0.01 on clean data; a dataset
    whose rows carry a trigger scores above it, by the share of trigger rows STRIP catches,
    about half to two thirds in the measurement above). Limits: a trigger spread over many
    features is kept in fewer blends and is harder to see; without a clean reference, a dataset
    in which more than 1% of rows carry a trigger puts the cut among them and the metric
    understates. Rows with a missing value are skipped (a model may answer them with NaN, which
    would void the whole screen).

    ART 1.20.1's ``art.defences.transformer.poisoning.STRIP`` is not used: wrapped around a
    ``BlackBoxClassifier`` its ``predict_fn`` class attribute shadows the black box's own
    ``predict_fn`` and every prediction recurses until ``RecursionError``; it scores one input
    per model call (100,000 calls for a 100,000-row dataset) with the unseeded global
    ``np.random``; and it computes ``scipy.stats.entropy(..., axis=0)``, across the blends for
    each class instead of across the classes for each blend, which gives a constant prediction
    (a trigger) the largest value, log2(N) per class (NaN for a class whose probability is 0 in
    every blend, and NaN is never below the cut), not the lowest. This module's version scores
    all blends of a chunk of inputs in one call.

``compute_model_security`` returns ``(metrics, notes)``; every metric it cannot compute is
``None`` with ``metrics["unavailable"][name]`` saying why, and no exception escapes it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state
from scipy.special import entr

from registry.execution import ExecutionError, OutputError, Scorer
from registry.execution.loading import ORT_ERRORS, ort_message
from registry.execution.outputs import read_score

from ._common import factorize, library_version
from .performance import downsample_curve, roc_auc, roc_curve_points

__all__ = [
    "ATTACK_TREES",
    "ATTRIBUTE_MAX_CLASSES",
    "ATTRIBUTE_SAMPLE",
    "BACKDOOR_REFERENCE_SAMPLE",
    "BACKDOOR_SAMPLE",
    "HOSTILE_ROWS",
    "HOSTILE_SIGMAS",
    "MEMBERSHIP_SAMPLE",
    "MODEL_SECURITY_METRICS",
    "STRIP_ALPHA",
    "STRIP_BLENDS",
    "STRIP_CUT_QUANTILE",
    "compute_model_security",
    "hostile_cases",
]

MODEL_SECURITY_METRICS = (
    "membershipInferenceAdvantage",
    "attributeInferenceAdvantage",
    "inputValidationFailures",
    "backdoorSuspicion",
)
#: The chart / detail block that goes with each metric.
DETAIL = {
    "membershipInferenceAdvantage": "membershipInference",
    "attributeInferenceAdvantage": "attributeInference",
    "inputValidationFailures": "inputValidation",
    "backdoorSuspicion": "backdoor",
}

#: Members drawn from the training sample, and as many non-members from the dataset (at most).
MEMBERSHIP_SAMPLE = 10_000
#: Rows the attribute-inference attack uses (half to train it, half to judge it).
ATTRIBUTE_SAMPLE = 10_000
#: Above this many distinct values the sensitive feature is not treated as a category.
ATTRIBUTE_MAX_CLASSES = 50
#: Trees of the random-forest attack models (scikit-learn's default).
ATTACK_TREES = 100
#: Dataset inputs STRIP scores, and reference rows that set its cut.
BACKDOOR_SAMPLE = 5_000
BACKDOOR_REFERENCE_SAMPLE = 5_000
#: Clean rows each input is blended with (ART's default is 20; a replacement blend keeps the
#: trigger in only about half of them, so more blends lower the entropy's noise).
STRIP_BLENDS = 64
#: Probability that a feature of a blend comes from the clean row rather than the input.
STRIP_ALPHA = 0.5
#: Share of the clean reference the entropy cut flags.
STRIP_CUT_QUANTILE = 0.01
#: Bound on the floats of one chunk of blends (memory), scored in one call.
STRIP_CHUNK_VALUES = 4_000_000
#: Real rows each hostile case is built from.
HOSTILE_ROWS = 3
#: How far out "far out" is, in each feature's (population) standard deviations.
HOSTILE_SIGMAS = 1e6
#: Fewest members (and non-members) for a membership attack, fewest rows for attribute inference.
MIN_ATTACK_ROWS = 20
HISTOGRAM_BINS = 20
ROC_POINTS = 200

Progress = Callable[[float, str], Any]

NO_TRAINING = "needs a sample of the training data (the trainingDataset field)"
NO_SENSITIVE = "needs a sensitive feature (the run names none)"
ART = "adversarial-robustness-toolbox"
# A clean refusal of a malformed tensor handed to onnxruntime (wrong type, rank or shape):
# its InvalidArgument, or a ValueError/TypeError (a missing input). Any other error there, and
# any onnxruntime error on a tensor of the model's own type and shape (the value cases, see
# _score_case), is the model crashing on the input.
INPUT_REFUSALS = (_ort_state.InvalidArgument, ValueError, TypeError)


def _art():
    """ART's attacks and black-box wrapper (imported late: ART warns about absent PyTorch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from art.attacks.inference.attribute_inference import AttributeInferenceBlackBox
        from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
        from art.estimators.classification import BlackBoxClassifier
    return MembershipInferenceBlackBox, AttributeInferenceBlackBox, BlackBoxClassifier


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _labels(values: Any) -> np.ndarray | None:
    """0/1 labels as int64, or None when any label is missing or not 0/1."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        return None
    if not np.all((array == 0) | (array == 1)):
        return None
    return array.astype(np.int64)


class _Span:
    """Maps a step's own 0..1 progress onto its share of the whole run."""

    def __init__(self, report: Progress, start: float, stop: float):
        self.report, self.start, self.stop = report, start, stop

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        self.report(self.start + (self.stop - self.start) * fraction, message)


def compute_model_security(
    scorer: Scorer,
    X: np.ndarray,
    y_true: np.ndarray,
    *,
    training: tuple[np.ndarray, np.ndarray] | None = None,
    sensitive: Sequence[Any] | np.ndarray | pd.Series | None = None,
    sensitive_name: str | None = None,
    reference: np.ndarray | None = None,
    seed: int = 0,
    sample: int | None = None,
    blends: int = STRIP_BLENDS,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The security suite's model-level metrics of `scorer` on the dataset `X`, `y_true`.

    `X` (and `training[0]`, `reference`) hold the model's features in ``scorer.features``
    order; `training` is ``(X_train, y_train)``, a sample of the training data (members);
    `sensitive` the values of the first sensitive feature for the rows of `X` (named
    `sensitive_name`; when that is a model feature its column of `X` is used). `sample`, when
    given, replaces every default row sample (MEMBERSHIP_SAMPLE, ATTRIBUTE_SAMPLE,
    BACKDOOR_SAMPLE, BACKDOOR_REFERENCE_SAMPLE); `blends` is STRIP's N.
    """
    report = progress or (lambda fraction, message: None)
    metrics: dict[str, Any] = {name: None for name in MODEL_SECURITY_METRICS}
    metrics.update(dict.fromkeys(DETAIL.values()))
    unavailable: dict[str, str] = {}
    methods: dict[str, dict[str, Any]] = {}
    metrics["unavailable"] = unavailable
    metrics["methods"] = methods
    notes: list[str] = []
    # One independent stream per metric: skipping one (no training sample) changes no other.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]

    try:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(scorer.features) or len(X) == 0:
            raise ExecutionError(
                f"the dataset gives a matrix of shape {X.shape}; the model reads "
                f"{len(scorer.features)} features"
            )
    except (TypeError, ValueError) as exc:
        reason = f"the dataset's model features are not a numeric matrix: {exc}"
        unavailable.update(dict.fromkeys(MODEL_SECURITY_METRICS, reason))
        notes.append(reason)
        return metrics, notes

    steps: list[tuple[str, Callable[[], tuple[Any, Any, dict[str, Any]]]]] = [
        (
            "inputValidationFailures",
            lambda: _input_validation(scorer, X, streams[0], _Span(report, 0.0, 0.1), seed),
        ),
        (
            "membershipInferenceAdvantage",
            lambda: _membership(
                scorer,
                X,
                y_true,
                training,
                streams[1],
                sample or MEMBERSHIP_SAMPLE,
                _Span(report, 0.1, 0.4),
                seed,
            ),
        ),
        (
            "attributeInferenceAdvantage",
            lambda: _attribute(
                scorer,
                X,
                sensitive,
                sensitive_name,
                streams[2],
                sample or ATTRIBUTE_SAMPLE,
                _Span(report, 0.4, 0.7),
                seed,
            ),
        ),
        (
            "backdoorSuspicion",
            lambda: _backdoor(
                scorer,
                X,
                reference,
                streams[3],
                sample or BACKDOOR_SAMPLE,
                sample or BACKDOOR_REFERENCE_SAMPLE,
                blends,
                _Span(report, 0.7, 1.0),
                seed,
                notes,
            ),
        ),
    ]
    for name, step in steps:
        try:
            value, detail, method = step()
        except _Unavailable as exc:
            value, detail, method = None, None, exc.method
            unavailable[name] = exc.reason
            notes.append(f"{name} not computed: {exc.reason}")
        except ExecutionError as exc:
            value, detail, method = None, None, None
            unavailable[name] = f"the model could not be queried: {exc}"
            notes.append(f"{name} not computed: {unavailable[name]}")
        except Exception as exc:  # a finding about this metric, never a failed run
            value, detail, method = None, None, None
            unavailable[name] = f"the registry could not compute it ({type(exc).__name__}: {exc})"
            notes.append(f"{name} not computed: {unavailable[name]}")
        metrics[name] = value
        metrics[DETAIL[name]] = detail
        if method is not None:
            methods[name] = method
    report(1.0, "security metrics computed")
    return metrics, notes


class _Unavailable(Exception):
    def __init__(self, reason: str, method: dict[str, Any] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.method = method


def _black_box(predict: Callable[[np.ndarray], np.ndarray], width: int):
    _, _, BlackBoxClassifier = _art()
    return BlackBoxClassifier(predict, input_shape=(width,), nb_classes=2)


# --------------------------------------------------------------------------- membership


def _membership(
    scorer: Scorer,
    X: np.ndarray,
    y_true: Any,
    training: tuple[np.ndarray, np.ndarray] | None,
    rng: np.random.Generator,
    cap: int,
    report: _Span,
    seed: int,
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    method = {
        "method": "black-box membership inference: an attack model trained on the model's "
        "class probabilities and the true label of members and non-members; advantage = "
        "TPR - FPR on a held-out half",
        "reference": "Shokri et al. 2017; Yeom et al. 2018 (advantage); ART 1.20.1 "
        "MembershipInferenceBlackBox",
        "library": library_version(ART),
        "seed": seed,
        "parameters": {
            "inputType": "prediction",
            "attackModel": "random forest",
            "attackTrees": ATTACK_TREES,
            "decision": "membership probability > 0.5",
        },
    }
    if training is None:
        raise _Unavailable(NO_TRAINING)
    X_train, y_train = training
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2 or X_train.shape[1] != X.shape[1]:
        raise _Unavailable(
            f"the training sample has {X_train.shape[-1] if X_train.ndim else 0} model "
            f"features, the model reads {X.shape[1]}"
        )
    if y_true is None:
        raise _Unavailable("needs the dataset's y_true column (the non-members' labels)")
    members_y = _labels(y_train)
    others_y = _labels(y_true)
    if members_y is None or len(members_y) != len(X_train):
        raise _Unavailable("the training sample's y_true must hold 0 or 1 for every row")
    if others_y is None or len(others_y) != len(X):
        raise _Unavailable("the dataset's y_true must hold 0 or 1 for every row")
    n = min(len(X_train), len(X), cap)
    if n < MIN_ATTACK_ROWS:
        raise _Unavailable(
            f"needs at least {MIN_ATTACK_ROWS} training rows and dataset rows; got {n}"
        )
    # Random order: the first half of each draw trains the attack, the rest judges it.
    mi = rng.choice(len(X_train), n, replace=False)
    ni = rng.choice(len(X), n, replace=False)
    report(0.0, f"membership inference: querying the model on {2 * n} rows")
    proba = scorer.predict_proba(np.vstack([X_train[mi], X[ni]]))
    pm, pn = proba[:n], proba[n:]
    ym, yn = members_y[mi], others_y[ni]
    half = n // 2

    MembershipInferenceBlackBox, _, _ = _art()
    attack = MembershipInferenceBlackBox(
        _black_box(scorer.predict_proba, X.shape[1]),
        input_type="prediction",
        attack_model_type="rf",
    )
    # ART builds an unseeded RandomForestClassifier(); seed it (keeps ART's predict_proba path).
    attack.attack_model.set_params(n_estimators=ATTACK_TREES, random_state=_seed(rng), n_jobs=1)
    report(0.2, "membership inference: training the attack model")
    attack.fit(y=ym[:half], test_y=yn[:half], pred=pm[:half], test_pred=pn[:half])
    report(0.8, "membership inference: attacking the held-out half")
    held_members = n - half
    score = (
        attack.infer(
            None,
            np.concatenate([ym[half:], yn[half:]]),
            pred=np.vstack([pm[half:], pn[half:]]),
            probabilities=True,
        )
        .reshape(-1)
        .astype(np.float64)
    )
    truth = np.r_[np.ones(held_members, dtype=np.int64), np.zeros(held_members, dtype=np.int64)]
    decided = score > 0.5
    tpr = float(decided[:held_members].mean())
    fpr = float(decided[held_members:].mean())
    curve = downsample_curve(*roc_curve_points(truth, score), max_points=ROC_POINTS)
    detail = {
        "rocCurve": {"fpr": curve["fpr"], "tpr": curve["tpr"]},
        "auc": roc_auc(truth, score)[0],
        "members": int(n),
        "nonMembers": int(n),
        "heldOut": int(held_members),
        "truePositiveRate": tpr,
        "falsePositiveRate": fpr,
    }
    method["sample"] = {
        "members": int(n),
        "nonMembers": int(n),
        "attackTrain": int(2 * half),
        "attackTest": int(2 * held_members),
    }
    return tpr - fpr, detail, method


# --------------------------------------------------------------------------- attribute


def _attribute(
    scorer: Scorer,
    X: np.ndarray,
    sensitive: Any,
    name: str | None,
    rng: np.random.Generator,
    cap: int,
    report: _Span,
    seed: int,
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    method = {
        "method": "black-box attribute inference (model inversion): an attack model infers "
        "the sensitive feature from the other model features and the model's predicted "
        "label; advantage = attack accuracy - majority-class share on a held-out half",
        "reference": "Fredrikson et al. 2015; ART 1.20.1 AttributeInferenceBlackBox",
        "library": library_version(ART),
        "seed": seed,
        "parameters": {
            "attackModel": "random forest",
            "attackTrees": ATTACK_TREES,
            "feature": name,
            "modelOutput": "predicted label",
        },
    }
    if sensitive is None:
        raise _Unavailable(NO_SENSITIVE)
    in_model = name is not None and name in scorer.features
    if in_model:
        column = scorer.features.index(name)
        values = X[:, column]
    else:
        values = np.asarray(sensitive, dtype=object).reshape(-1)
        if len(values) != len(X):
            raise _Unavailable(
                f"the sensitive feature has {len(values)} values for {len(X)} dataset rows"
            )
    codes, labels = factorize(pd.Series(values))
    classes = len(labels)
    if classes < 2:
        raise _Unavailable(
            f"the sensitive feature '{name}' takes a single value; there is nothing to infer"
        )
    if classes > ATTRIBUTE_MAX_CLASSES:
        raise _Unavailable(
            f"the sensitive feature '{name}' has {classes} distinct values; attribute "
            f"inference treats it as a category (at most {ATTRIBUTE_MAX_CLASSES} values)"
        )
    n = min(len(X), cap)
    if n < MIN_ATTACK_ROWS:
        raise _Unavailable(f"needs at least {MIN_ATTACK_ROWS} dataset rows; got {n}")
    rows = rng.choice(len(X), n, replace=False)
    rest = np.delete(X[rows], column, axis=1) if in_model else X[rows]
    attack_x = np.column_stack([rest, codes[rows].astype(np.float64)])
    if in_model:
        # The model value of each code, to rebuild the model's row from the attack's row.
        value_of = np.empty(classes, dtype=np.float64)
        value_of[codes] = values

        def model_rows(ax: np.ndarray) -> np.ndarray:
            code = np.rint(ax[:, -1]).astype(np.intp)
            return np.insert(ax[:, :-1], column, value_of[code], axis=1)
    else:

        def model_rows(ax: np.ndarray) -> np.ndarray:
            return ax[:, :-1]

    def predict(ax: np.ndarray) -> np.ndarray:
        return scorer.predict_proba(model_rows(np.asarray(ax, dtype=np.float64)))

    half = n // 2
    _, AttributeInferenceBlackBox, _ = _art()
    attack = AttributeInferenceBlackBox(
        _black_box(predict, attack_x.shape[1]),
        attack_model_type="rf",
        attack_feature=attack_x.shape[1] - 1,
        is_continuous=False,
    )
    attack.attack_model.set_params(n_estimators=ATTACK_TREES, random_state=_seed(rng), n_jobs=1)
    report(0.0, "attribute inference: training the attack model")
    attack.fit(attack_x[:half])
    report(0.7, "attribute inference: attacking the held-out half")
    held = attack_x[half:]
    # The attacker sees the model's label for each row, as ART's fit gave it (argmax).
    label = np.argmax(predict(held), axis=1).reshape(-1, 1).astype(np.float64)
    inferred = np.asarray(attack.infer(held[:, :-1], pred=label), dtype=np.float64)
    truth = codes[rows][half:]
    accuracy = float(np.mean(np.rint(inferred).astype(np.int64) == truth))
    baseline = float(np.bincount(truth, minlength=classes).max() / len(truth))
    detail = {
        "feature": name,
        "attackAccuracy": accuracy,
        "baseline": baseline,
        "classes": labels,
        "modelInput": bool(in_model),
        "heldOut": int(n - half),
    }
    method["sample"] = {"attackTrain": int(half), "attackTest": int(n - half)}
    method["parameters"]["modelInput"] = bool(in_model)
    return accuracy - baseline, detail, method


# --------------------------------------------------------------------------- hostile inputs


def _base_rows(X: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """HOSTILE_ROWS real, fully finite rows (else column medians) and each feature's std."""
    finite = np.flatnonzero(np.isfinite(X).all(axis=1))
    if len(finite):
        rows = X[np.sort(rng.choice(finite, min(HOSTILE_ROWS, len(finite)), replace=False))]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            median = np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=0)
        rows = np.nan_to_num(median, nan=0.0).reshape(1, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        std = np.nanstd(np.where(np.isfinite(X), X, np.nan), axis=0)
    std = np.where(np.isfinite(std) & (std > 0), std, 1.0)
    return rows.copy(), std


def hostile_cases(
    features: Sequence[str], rows: np.ndarray, std: np.ndarray
) -> list[tuple[str, np.ndarray]]:
    """The scorer-level hostile cases: (name, matrix) built from `rows`.

    For each of NaN, +inf, -inf, +1e6 sd and -1e6 sd: one case per feature (that feature of
    every row set) and one with every feature set; then float64's largest and lowest value in
    every feature (they overflow a float32 input), text in every cell, a missing column and an
    extra one. The direct onnxruntime cases are built in ``_session_cases``.
    """
    cases: list[tuple[str, np.ndarray]] = []
    kinds = [
        ("NaN", lambda m, j: np.full(len(m), np.nan)),
        ("+inf", lambda m, j: np.full(len(m), np.inf)),
        ("-inf", lambda m, j: np.full(len(m), -np.inf)),
        ("+1e6 sd", lambda m, j: m[:, j] + HOSTILE_SIGMAS * std[j]),
        ("-1e6 sd", lambda m, j: m[:, j] - HOSTILE_SIGMAS * std[j]),
    ]
    for kind, value in kinds:
        for j, feature in enumerate(features):
            m = rows.copy()
            m[:, j] = value(rows, j)
            cases.append((f"{kind} in {feature}", m))
        m = rows.copy()
        for j in range(len(features)):
            m[:, j] = value(rows, j)
        cases.append((f"{kind} in every feature", m))
    big = np.finfo(np.float64).max
    cases.append(("float64 max in every feature", np.full_like(rows, big)))
    cases.append(("float64 lowest in every feature", np.full_like(rows, -big)))
    cases.append(("text in every feature", np.full(rows.shape, "not a number", dtype=object)))
    cases.append(("a missing column", rows[:, :-1].copy()))
    cases.append(("an extra column", np.column_stack([rows, rows[:, :1]])))
    return cases


def _valid(score: Any, rows: int) -> tuple[str, str]:
    score = np.asarray(score, dtype=np.float64)
    if score.shape != (rows,):
        return "invalid", f"gave {score.shape} scores for {rows} rows"
    if not np.all(np.isfinite(score) & (score >= 0) & (score <= 1)):
        return "invalid", "gave a score that is not a probability"
    return "answered", f"{rows} valid probabilities"


def _detail(exc: BaseException) -> str:
    text = ort_message(exc) if isinstance(exc, ORT_ERRORS) else str(exc)
    text = text.splitlines()[0] if text else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _score_case(scorer: Scorer, matrix: np.ndarray) -> tuple[str, str]:
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = scorer.score(matrix)
    except OutputError as exc:
        return "invalid", _detail(exc)
    except ExecutionError as exc:
        cause = exc.__cause__
        if isinstance(cause, ORT_ERRORS):
            # The scorer built a tensor of the model's own type and shape: the graph failed on
            # its values (even when onnxruntime calls it an invalid argument, e.g. an index
            # out of range), which in production is an exception, not an answer.
            return "crashed", f"{type(cause).__name__}: {_detail(cause)}"
        return "refused", _detail(exc)
    except INPUT_REFUSALS as exc:
        return "refused", _detail(exc)
    except Exception as exc:
        return "crashed", f"{type(exc).__name__}: {_detail(exc)}"
    return _valid(score, len(matrix))


def _feeds(scorer: Scorer, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The model's input tensors for `rows`, built as the scorer builds them."""
    position = {name: i for i, name in enumerate(scorer.features)}
    size = scorer.inputs.batch_size
    if size and len(rows) != size:
        rows = rows[np.arange(size) % len(rows)]
    feeds = {}
    for feed in scorer.inputs.feeds:
        values = rows[:, [position[c] for c in feed.columns]]
        if feed.dtype is np.bool_:
            values = values > 0.5
        elif not np.issubdtype(feed.dtype, np.floating):
            values = np.rint(values)
        values = np.ascontiguousarray(values.astype(feed.dtype))
        feeds[feed.input_name] = values.reshape(-1) if feed.rank == 1 else values
    return feeds


def _session_cases(scorer: Scorer, rows: np.ndarray) -> list[tuple[str, dict[str, np.ndarray]]]:
    """Malformed tensors handed to onnxruntime directly (what the scorer never builds)."""
    good = _feeds(scorer, rows)
    first = next(iter(good))

    def other_dtype(a: np.ndarray) -> np.ndarray:
        return a.astype(np.float64 if a.dtype == np.float32 else np.float32)

    def other_rank(a: np.ndarray) -> np.ndarray:
        return a.reshape(-1) if a.ndim == 2 else a.reshape(-1, 1)

    empty = {k: v[:0] for k, v in good.items()}
    return [
        ("onnxruntime: an empty batch", empty),
        ("onnxruntime: wrong element type", {k: other_dtype(v) for k, v in good.items()}),
        ("onnxruntime: wrong rank", {k: other_rank(v) for k, v in good.items()}),
        ("onnxruntime: text tensor", {k: v.astype(str) for k, v in good.items()}),
        ("onnxruntime: a missing input", {k: v for k, v in good.items() if k != first}),
    ]


def _session_case(scorer: Scorer, feeds: dict[str, np.ndarray]) -> tuple[str, str]:
    try:
        with np.errstate(all="ignore"):
            outputs = scorer.model.session.run(scorer.outputs.fetch, feeds)
    except INPUT_REFUSALS as exc:
        return "refused", _detail(exc)
    except Exception as exc:
        return "crashed", f"{type(exc).__name__}: {_detail(exc)}"
    rows = len(next(iter(feeds.values()))) if feeds else 0
    try:
        score = read_score(scorer.outputs, outputs[0], rows, 0)
    except OutputError as exc:
        return "invalid", _detail(exc)
    except Exception as exc:
        return "invalid", f"its output could not be read ({type(exc).__name__}: {_detail(exc)})"
    return _valid(score, rows)


def _input_validation(
    scorer: Scorer, X: np.ndarray, rng: np.random.Generator, report: _Span, seed: int
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    rows, std = _base_rows(X, rng)
    cases = hostile_cases(scorer.features, rows, std)
    results: list[dict[str, Any]] = []
    # hostile_cases gives 5 kinds of len(features) + 1 cases first; the cases of one kind are
    # asked together (one call) and one by one only when that call did not answer them all.
    group = len(scorer.features) + 1
    blocks = [cases[k * group : (k + 1) * group] for k in range(5)]
    blocks += [[case] for case in cases[5 * group :]]
    report(0.0, f"hostile inputs: {len(cases) + 5} cases")
    for number, block in enumerate(blocks):
        if len(block) > 1:
            outcome, _ = _score_case(scorer, np.vstack([m for _, m in block]))
            if outcome == "answered":
                results.extend(
                    {"case": c, "outcome": "answered", "detail": f"{len(m)} valid probabilities"}
                    for c, m in block
                )
                continue
        for case, matrix in block:
            outcome, detail = _score_case(scorer, matrix)
            results.append({"case": case, "outcome": outcome, "detail": detail})
        report((number + 1) / len(blocks), "hostile inputs")
    for case, feeds in _session_cases(scorer, rows):
        outcome, detail = _session_case(scorer, feeds)
        results.append({"case": case, "outcome": outcome, "detail": detail})
    failures = sum(r["outcome"] in ("invalid", "crashed") for r in results)
    counts = {
        o: sum(r["outcome"] == o for r in results)
        for o in ("answered", "refused", "invalid", "crashed")
    }
    detail = {
        "cases": results,
        "failures": int(failures),
        "cases_total": len(results),
        "outcomes": counts,
    }
    method = {
        "method": "hostile inputs from real rows: NaN, +/-infinity and +/-1e6 standard "
        "deviations in each feature and in all, float64 extremes, text, a missing and an extra "
        "column, and malformed tensors given to onnxruntime; failures = invalid outputs + "
        "crashes (a clean refusal is not a failure)",
        "reference": "registry hostile-input list (evaluations.metrics.model_security)",
        "library": library_version("onnxruntime"),
        "sample": len(rows),
        "seed": seed,
        "parameters": {
            "rowsPerCase": len(rows),
            "sigmas": HOSTILE_SIGMAS,
            "cases": len(results),
        },
    }
    return int(failures), detail, method


# --------------------------------------------------------------------------- STRIP


def _strip_entropy(
    scorer: Scorer,
    inputs: np.ndarray,
    clean: np.ndarray,
    blends: int,
    rng: np.random.Generator,
    report: Callable[[float], None],
) -> np.ndarray:
    """Mean binary entropy (bits) of the model's probabilities over `blends` blends per input."""
    n, d = inputs.shape
    out = np.empty(n, dtype=np.float64)
    chunk = max(1, STRIP_CHUNK_VALUES // (blends * max(d, 1)))
    for start in range(0, n, chunk):
        x = inputs[start : start + chunk]
        partners = clean[rng.integers(len(clean), size=(len(x), blends))]
        replaced = rng.random(partners.shape) < STRIP_ALPHA
        blended = np.where(replaced, partners, x[:, None, :])
        p = scorer.score(blended.reshape(-1, d)).reshape(len(x), blends)
        h = (entr(p) + entr(1.0 - p)) / np.log(2.0)
        out[start : start + len(x)] = np.clip(h, 0.0, 1.0).mean(axis=1)
        report((start + len(x)) / n)
    return out


def _backdoor(
    scorer: Scorer,
    X: np.ndarray,
    reference: np.ndarray | None,
    rng: np.random.Generator,
    cap: int,
    reference_cap: int,
    blends: int,
    report: _Span,
    seed: int,
    notes: list[str],
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    blends = max(int(blends), 1)
    finite = X[np.isfinite(X).all(axis=1)]
    if reference is not None:
        clean = np.asarray(reference, dtype=np.float64)
        if clean.ndim != 2 or clean.shape[1] != X.shape[1]:
            raise _Unavailable(
                f"the reference dataset has {clean.shape[-1] if clean.ndim else 0} model "
                f"features, the model reads {X.shape[1]}"
            )
        clean = clean[np.isfinite(clean).all(axis=1)]
        pool = finite
        source = "referenceDataset"
    else:
        order = rng.permutation(len(finite))
        half = len(finite) // 2
        clean, pool = finite[order[:half]], finite[order[half:]]
        source = "held-out half of the evaluation dataset"
        notes.append(
            "backdoorSuspicion: no reference dataset, so STRIP's entropy cut was set on a "
            "held-out half of the evaluation dataset; if more than 1% of its rows carry a "
            "trigger the cut falls among them and the share understates (supply a clean "
            "referenceDataset)"
        )
    if len(clean) < MIN_ATTACK_ROWS or len(pool) < 1:
        raise _Unavailable(
            f"needs at least {MIN_ATTACK_ROWS} clean reference rows without missing values "
            f"and one dataset row; got {len(clean)} and {len(pool)}"
        )
    ref_rows = clean[rng.choice(len(clean), min(reference_cap, len(clean)), replace=False)]
    inputs = pool[rng.choice(len(pool), min(cap, len(pool)), replace=False)]
    ref_entropy = _strip_entropy(
        scorer,
        ref_rows,
        clean,
        blends,
        rng,
        lambda f: report(0.5 * f, "STRIP: blending the reference"),
    )
    entropy = _strip_entropy(
        scorer,
        inputs,
        clean,
        blends,
        rng,
        lambda f: report(0.5 + 0.5 * f, "STRIP: blending the dataset"),
    )
    cut = float(np.quantile(ref_entropy, STRIP_CUT_QUANTILE))
    if cut <= float(np.min(ref_entropy)):
        # No spread at the bottom of the clean reference (a model whose outputs are hard 0/1
        # probabilities gives every blend entropy 0): a cut at the minimum can flag nothing,
        # which would read as "no backdoor" without having screened anything.
        raise _Unavailable(
            "STRIP cannot screen this model: the entropies of its blended clean inputs do not "
            f"spread (the 1% cut, {cut:.3g}, is their minimum; a model with hard 0/1 outputs "
            "gives every blend the same entropy)"
        )
    flagged = int(np.count_nonzero(entropy < cut))
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    detail = {
        "entropyCut": cut,
        "flagged": flagged,
        "sample": len(inputs),
        "referenceSample": len(ref_rows),
        "referenceSource": source,
        "entropyHistogram": {
            "edges": edges.tolist(),
            "dataset": np.histogram(entropy, bins=edges)[0].astype(int).tolist(),
            "reference": np.histogram(ref_entropy, bins=edges)[0].astype(int).tolist(),
        },
    }
    method = {
        "method": "STRIP for tabular rows: each input blended with N random clean rows "
        "(each feature replaced by the clean row's with probability alpha), mean binary "
        "entropy of the model's "
        "probabilities over the blends; share of inputs below the entropy that flags 1% of "
        "the clean reference",
        "reference": "Gao et al. 2019, STRIP (arXiv:1902.06531); own vectorised version "
        "(ART 1.20.1's STRIP does not run on a black-box classifier)",
        "library": f"{library_version('numpy')}, {library_version('scipy')}",
        "sample": {"dataset": len(inputs), "reference": len(ref_rows)},
        "seed": seed,
        "parameters": {
            "blends": blends,
            "blend": "per-feature random replacement",
            "alpha": STRIP_ALPHA,
            "cutQuantile": STRIP_CUT_QUANTILE,
            "referenceSource": source,
        },
    }
    return flagged / len(inputs), detail, method
