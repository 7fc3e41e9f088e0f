"""Explainability suite: which features the model's scores depend on, and can that be trusted.

Computed only when the registry runs the model (a ``Scorer``); every query is batched.

``featureImportance``
    {feature: mean |phi_j|} over ``EXPLAIN_SAMPLE`` explained rows, phi the Shapley values of the
    model's probability of class 1 (Shapley 1953; Lundberg & Lee 2017, "A Unified Approach to
    Interpreting Model Predictions": global importance = mean absolute SHAP value). phi is the
    interventional Shapley value with respect to a background sample B (``BACKGROUND_SAMPLE``
    rows): v(S) = E_{z in B} f(x_S, z_rest), the definition shap's ``Exact`` / ``Permutation``
    explainers with an ``Independent`` masker compute. It is estimated by permutation sampling
    (Strumbelj & Kononenko 2014, "Explaining prediction models and individual predictions with
    feature contributions", Knowledge and Information Systems 41:647-665, algorithm 1): for each
    explained row x, ``PERMUTATIONS`` draws of (feature order pi, background row z); along pi
    the features of z are replaced one at a time by those of x, and feature j's contribution is
    the change of the score when it is replaced. Each draw is an unbiased sample of phi, and the
    contributions of one draw sum exactly to f(x) - f(z) (efficiency). Orders come in antithetic
    pairs (pi and its reverse, same z), as shap's Permutation explainer does, which lowers the
    variance. Every chain of a chunk of rows is scored in one ``scorer.score`` call.

    Why not the shap package: shap 0.52 and later need Python >= 3.12 (the registry runs 3.11);
    shap 0.51.0 installs, but its model-agnostic explainers explain one row per Python call and
    evaluate every coalition on the whole background sample: measured on a 200-tree gradient
    boosting model with 20 features, ``shap.explainers.Permutation`` (default max_evals, 100-row
    ``Independent`` masker) scored 50,592 model rows and took 0.56 s per explained row, about
    560 s for this suite's 1,000 rows against 3.3 s for everything here. The tests check this
    estimator against exact Shapley values by enumeration, and those against shap's
    ``ExactExplainer`` where shap is installed.

``explanationStability``
    Mean Spearman rank correlation (``scipy.stats.spearmanr``) of the global importances over
    the 10 pairs of ``BOOTSTRAP_RESAMPLES`` = 5 bootstrap resamples of the explained rows, each
    resample explained afresh (new orders and background draws), so that both the row sample
    and the estimator's own randomness count. 1 means every resample ranks the features alike.

``explanationFaithfulness``
    rocAuc drop when the ``FAITHFULNESS_TOP`` = 3 most important features are set to their
    dataset means, minus the mean rocAuc drop over ``FAITHFULNESS_DRAWS`` = 5 seeded draws of 3
    other features set to their means (a deletion test, Samek et al. 2017 "Evaluating the
    visualization of what a deep neural network has learned"; Hooker et al. 2019). rocAuc is
    the performance suite's ``roc_auc`` (equal to ``sklearn.metrics.roc_auc_score``) on at
    most ``FAITHFULNESS_SAMPLE`` rows. Above 0 means
    the explanation points at what the model uses. Edge cases: fewer than 4 features is None
    (nothing to compare the top 3 with); with 4 to 6 features the "other" draws take the
    ``d - 3`` remaining features (all of them when fewer than 3); when there are at most 5
    distinct sets of other features each is used once instead of 5 draws; y_true missing, not
    0/1, or of one class is None (rocAuc is undefined).

Rows with a missing value in a model feature are left out (a model may answer them with NaN,
which would void the whole attribution) and counted. ``compute_explainability`` returns
``(metrics, notes)``; every metric it cannot compute is ``None`` with
``metrics["unavailable"][name]`` saying why, and no exception escapes it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from registry.execution import ExecutionError, Scorer

from ._common import library_version
from .performance import roc_auc

__all__ = [
    "BACKGROUND_SAMPLE",
    "BOOTSTRAP_RESAMPLES",
    "CHART_TOP",
    "EXPLAINABILITY_METRICS",
    "EXPLAIN_SAMPLE",
    "FAITHFULNESS_DRAWS",
    "FAITHFULNESS_SAMPLE",
    "FAITHFULNESS_TOP",
    "PERMUTATIONS",
    "compute_explainability",
    "shapley_values",
]

EXPLAINABILITY_METRICS = ("featureImportance", "explanationStability", "explanationFaithfulness")

#: Rows whose attributions are computed (a seeded sample of the dataset's complete rows).
EXPLAIN_SAMPLE = 1_000
#: Background rows the absent features are drawn from (interventional Shapley values).
BACKGROUND_SAMPLE = 200
#: (order, background row) draws per explained row; even, as orders come in antithetic pairs.
PERMUTATIONS = 16
#: Bootstrap resamples of the explained rows for explanationStability.
BOOTSTRAP_RESAMPLES = 5
#: Rows the rocAuc of explanationFaithfulness is computed on.
FAITHFULNESS_SAMPLE = 20_000
#: Most important features replaced by their means, and draws of as many other features.
FAITHFULNESS_TOP = 3
FAITHFULNESS_DRAWS = 5
#: Bars in the attributions chart.
CHART_TOP = 20
#: Bound on the floats of one chunk of coalition rows (memory), scored in one call.
CHUNK_VALUES = 4_000_000

Progress = Callable[[float, str], Any]


class _Unavailable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def shapley_values(
    score: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    background: np.ndarray,
    *,
    permutations: int = PERMUTATIONS,
    rng: np.random.Generator,
    progress: Progress | None = None,
) -> np.ndarray:
    """Interventional Shapley values ``(n, d)`` of `score` at the rows of `X`, by sampling.

    Strumbelj & Kononenko (2014), algorithm 1, with antithetic orders: `permutations` (even)
    draws of (order, background row) per row. ``score`` maps an ``(m, d)`` matrix to ``(m,)``.
    """
    X = np.asarray(X, dtype=np.float64)
    background = np.asarray(background, dtype=np.float64)
    n, d = X.shape
    half = max(1, permutations // 2)
    draws = 2 * half
    steps = np.arange(d + 1)
    phi = np.empty((n, d), dtype=np.float64)
    per_row = draws * (d + 1) * d
    chunk = max(1, CHUNK_VALUES // per_row)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        r = stop - start
        x = X[start:stop]
        orders = rng.permuted(np.tile(np.arange(d), (r, half, 1)), axis=2)
        orders = np.concatenate([orders, orders[:, :, ::-1]], axis=1)  # (r, draws, d)
        z_index = rng.integers(len(background), size=(r, half))
        z = background[np.concatenate([z_index, z_index], axis=1)]  # (r, draws, d)
        rank = np.argsort(orders, axis=2)  # rank[..., j]: position of feature j in the order
        # Point k of a chain takes from x the features the order places before k.
        take_x = rank[:, :, None, :] < steps[None, None, :, None]  # (r, draws, d+1, d)
        points = np.where(take_x, x[:, None, None, :], z[:, :, None, :])
        f = np.asarray(score(points.reshape(-1, d)), dtype=np.float64).reshape(r, draws, d + 1)
        gains = np.diff(f, axis=2)  # gain of the feature at each position of the order
        phi[start:stop] = np.take_along_axis(gains, rank, axis=2).mean(axis=1)
        if progress is not None:
            progress(stop / n, f"attributions: {stop} of {n} rows")
    return phi


def _importances(phi: np.ndarray) -> np.ndarray:
    return np.abs(phi).mean(axis=0)


def compute_explainability(
    scorer: Scorer,
    X: np.ndarray,
    y_true: Any,
    *,
    sample: int = EXPLAIN_SAMPLE,
    background: int = BACKGROUND_SAMPLE,
    permutations: int = PERMUTATIONS,
    faithfulness_sample: int = FAITHFULNESS_SAMPLE,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The explainability suite's metrics of `scorer` on the dataset `X` (``scorer.features``
    order) with labels `y_true` (0/1, or None: then faithfulness is None).

    `sample` explained rows, `background` background rows, `permutations` draws per row,
    `faithfulness_sample` rows for the rocAuc of the deletion test; all seeded by `seed`.
    """
    report = progress or (lambda fraction, message: None)
    metrics: dict[str, Any] = dict.fromkeys(EXPLAINABILITY_METRICS)
    metrics["attributions"] = None
    metrics["stability"] = None
    metrics["faithfulness"] = None
    unavailable: dict[str, str] = {}
    methods: dict[str, dict[str, Any]] = {}
    metrics["unavailable"] = unavailable
    metrics["methods"] = methods
    notes: list[str] = []

    def give_up(names: tuple[str, ...], reason: str) -> None:
        for name in names:
            metrics[name] = None
            unavailable[name] = reason
            notes.append(f"{name} not computed: {reason}")

    try:
        X = np.asarray(X, dtype=np.float64)
        features = [str(f) for f in scorer.features]
        if X.ndim != 2 or X.shape[1] != len(features) or len(X) == 0:
            raise ValueError(
                f"the dataset gives a matrix of shape {X.shape}; the model reads "
                f"{len(features)} features"
            )
    except (TypeError, ValueError) as exc:
        give_up(EXPLAINABILITY_METRICS, f"the dataset's model features are not usable: {exc}")
        return metrics, notes

    # Independent streams: row draws, attributions, bootstrap, faithfulness draws.
    rows_rng, phi_rng, boot_rng, faith_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    complete = np.flatnonzero(np.isfinite(X).all(axis=1))
    excluded = len(X) - len(complete)
    if excluded:
        notes.append(
            f"explainability leaves out {excluded} rows with a missing or infinite model "
            "feature value"
        )
    if len(complete) == 0:
        give_up(EXPLAINABILITY_METRICS, "no row has a value for every model feature")
        return metrics, notes
    n_e = min(max(1, int(sample)), len(complete))
    n_b = min(max(1, int(background)), len(complete))
    explained = X[np.sort(rows_rng.choice(complete, n_e, replace=False))]
    base = X[np.sort(rows_rng.choice(complete, n_b, replace=False))]
    libraries = ", ".join(library_version(p) for p in ("numpy", "onnxruntime"))
    rows_before = scorer.rows_scored

    # Six explanations of the same size (the full sample, then the bootstrap resamples).
    share = 0.85 / (1 + BOOTSTRAP_RESAMPLES)

    def span(i: int) -> Progress:
        return lambda f, m: report(min(max(f, 0.0), 1.0) * share + i * share, m)

    methods["featureImportance"] = {
        "method": "mean |Shapley value| of the model's probability of class 1; interventional "
        "Shapley values (absent features from a background sample) estimated by permutation "
        "sampling with antithetic orders",
        "reference": "Strumbelj & Kononenko 2014 (permutation sampling); Lundberg & Lee 2017 "
        "(SHAP, mean |SHAP| importance)",
        "library": f"registry's own vectorised estimator ({libraries})",
        "sample": n_e,
        "seed": seed,
        "parameters": {
            "backgroundSize": n_b,
            "permutations": 2 * max(1, permutations // 2),
            "antithetic": True,
            "output": "probability of class 1",
            "rowsExcluded": excluded,
        },
    }
    try:
        phi = shapley_values(
            scorer.score,
            explained,
            base,
            permutations=permutations,
            rng=phi_rng,
            progress=span(0),
        )
        if not np.isfinite(phi).all():
            raise _Unavailable("the model gave a non-finite score on a blend of two rows")
    except _Unavailable as exc:
        give_up(EXPLAINABILITY_METRICS, exc.reason)
        return metrics, notes
    except ExecutionError as exc:
        give_up(EXPLAINABILITY_METRICS, f"the model could not be queried: {exc}")
        return metrics, notes
    except Exception as exc:  # a finding about this suite, never a failed run
        give_up(
            EXPLAINABILITY_METRICS,
            f"the registry could not compute attributions ({type(exc).__name__}: {exc})",
        )
        return metrics, notes

    importance = _importances(phi)
    order = np.argsort(-importance, kind="stable")
    metrics["featureImportance"] = {features[j]: float(importance[j]) for j in order}
    metrics["attributions"] = [
        {"feature": features[j], "importance": float(importance[j])} for j in order[:CHART_TOP]
    ]

    try:
        _stability(metrics, methods, scorer, explained, base, permutations, boot_rng, span, seed)
    except _Unavailable as exc:
        give_up(("explanationStability",), exc.reason)
    except ExecutionError as exc:
        give_up(("explanationStability",), f"the model could not be queried: {exc}")
    except Exception as exc:
        give_up(
            ("explanationStability",),
            f"the registry could not compute it ({type(exc).__name__}: {exc})",
        )

    report(0.85, "faithfulness: scoring with features replaced by their means")
    try:
        _faithfulness(
            metrics,
            methods,
            scorer,
            X,
            y_true,
            complete,
            importance,
            features,
            faithfulness_sample,
            faith_rng,
            seed,
        )
    except _Unavailable as exc:
        give_up(("explanationFaithfulness",), exc.reason)
    except ExecutionError as exc:
        give_up(("explanationFaithfulness",), f"the model could not be queried: {exc}")
    except Exception as exc:
        give_up(
            ("explanationFaithfulness",),
            f"the registry could not compute it ({type(exc).__name__}: {exc})",
        )
    methods["featureImportance"]["parameters"]["modelRowsScored"] = int(
        scorer.rows_scored - rows_before
    )
    report(1.0, "explainability metrics computed")
    return metrics, notes


def _stability(metrics, methods, scorer, explained, base, permutations, rng, span, seed):
    n_e = len(explained)
    methods["explanationStability"] = {
        "method": "mean Spearman rank correlation of the global importances over the 10 pairs "
        f"of {BOOTSTRAP_RESAMPLES} bootstrap resamples of the explained rows, each explained "
        "afresh (new orders and background draws)",
        "reference": "scipy.stats.spearmanr",
        "library": library_version("scipy"),
        "sample": n_e,
        "seed": seed,
        "parameters": {"resamples": BOOTSTRAP_RESAMPLES, "pairs": "all"},
    }
    if explained.shape[1] < 2:
        raise _Unavailable("needs at least 2 features to rank")
    resampled = []
    for b in range(BOOTSTRAP_RESAMPLES):
        rows = rng.integers(n_e, size=n_e)
        phi = shapley_values(
            scorer.score,
            explained[rows],
            base,
            permutations=permutations,
            rng=rng,
            progress=span(1 + b),
        )
        resampled.append(_importances(phi))
    pairs = []
    for a, b in itertools.combinations(range(BOOTSTRAP_RESAMPLES), 2):
        if np.ptp(resampled[a]) == 0 or np.ptp(resampled[b]) == 0:
            raise _Unavailable(
                "every feature has the same importance in a resample (the model's score does "
                "not depend on its features there), so there is no ranking to compare"
            )
        pairs.append(float(spearmanr(resampled[a], resampled[b]).statistic))
    metrics["explanationStability"] = float(np.mean(pairs))
    metrics["stability"] = {"correlations": pairs}


def _binary(values: Any, n: int) -> np.ndarray:
    if values is None:
        raise _Unavailable("needs the dataset's y_true column to compute rocAuc")
    try:
        y = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _Unavailable("the dataset's y_true must hold 0 or 1 for every row") from None
    if len(y) != n or not np.all((y == 0) | (y == 1)):
        raise _Unavailable("the dataset's y_true must hold 0 or 1 for every row")
    return y.astype(np.int64)


def _faithfulness(
    metrics, methods, scorer, X, y_true, complete, importance, features, cap, rng, seed
):
    d = X.shape[1]
    method: dict[str, Any] = {
        "method": "rocAuc drop when the 3 most important features are set to their dataset "
        "means, minus the mean drop over draws of 3 other features set to their means",
        "reference": "deletion test (Samek et al. 2017; Hooker et al. 2019); rocAuc as the "
        "performance suite computes it (equal to sklearn.metrics.roc_auc_score)",
        "library": library_version("numpy"),
        "seed": seed,
        "parameters": {"top": FAITHFULNESS_TOP, "draws": FAITHFULNESS_DRAWS},
    }
    methods["explanationFaithfulness"] = method
    if d <= FAITHFULNESS_TOP:
        raise _Unavailable(
            f"needs at least {FAITHFULNESS_TOP + 1} model features (the {FAITHFULNESS_TOP} most "
            f"important and others to compare them with); the model reads {d}"
        )
    y_all = _binary(y_true, len(X))
    rows = complete
    if len(rows) > cap:
        rows = np.sort(rng.choice(rows, cap, replace=False))
    method["sample"] = len(rows)
    y = y_all[rows]
    if y.min() == y.max():
        raise _Unavailable(
            f"rocAuc needs both classes in y_true; the rows used hold only class {int(y[0])}"
        )
    means = X[complete].mean(axis=0)
    top = np.argsort(-importance, kind="stable")[:FAITHFULNESS_TOP]
    others = np.setdiff1d(np.arange(d), top)
    size = min(FAITHFULNESS_TOP, len(others))
    if math.comb(len(others), size) <= FAITHFULNESS_DRAWS:
        # Few distinct sets: each once (5 random draws would repeat them unevenly).
        draws = [np.asarray(c) for c in itertools.combinations(others, size)]
    else:
        draws = [
            np.sort(rng.choice(others, size, replace=False)) for _ in range(FAITHFULNESS_DRAWS)
        ]
    method["parameters"]["otherSetSize"] = size
    Xs = X[rows]
    blocks = [Xs]
    for columns in [top, *draws]:
        block = Xs.copy()
        block[:, columns] = means[columns]
        blocks.append(block)
    scores = scorer.score(np.vstack(blocks)).reshape(len(blocks), len(rows))
    if not np.isfinite(scores).all():
        raise _Unavailable("the model gave a non-finite score with features set to their means")
    aucs = [roc_auc(y, s)[0] for s in scores]
    top_drop = aucs[0] - aucs[1]
    other_drops = [aucs[0] - a for a in aucs[2:]]
    metrics["explanationFaithfulness"] = float(top_drop - np.mean(other_drops))
    metrics["faithfulness"] = {
        "rocAuc": aucs[0],
        "topFeatures": [features[j] for j in top],
        "topDrop": top_drop,
        "otherFeatures": [[features[j] for j in c] for c in draws],
        "otherDrops": other_drops,
    }
