"""Robustness suite, model-level metrics: accuracy under a bounded attack and under noise.

Computed only when the registry runs the model (a ``Scorer``). Both metrics use the same
seeded sample of the dataset (``DEFAULT_SAMPLE`` fully finite rows, drawn without replacement)
and the same scale: ``epsilon`` is a fraction of each feature's population standard deviation
(``numpy.std``, ddof 0, over the dataset's finite values), so the work happens in z-scored space,
``z = (x - mean) / std``, where an L-inf ball of radius ``epsilon`` is exactly the contract's
bound |x'_j - x_j| <= epsilon * std_j for every feature j. Features with a zero standard
deviation are never perturbed (the attack does not see them; the model gets their value).

``adversarialAccuracy``
    Accuracy on adversarial examples of HopSkipJump (Chen, Jordan and Wainwright, 2020,
    "HopSkipJumpAttack: A Query-Efficient Decision-Based Attack", IEEE S&P), a black-box,
    decision-based attack (it reads only the model's label), untargeted, L-inf norm, as the
    Adversarial Robustness Toolbox (ART) 1.20.1 implements it: ``art.attacks.evasion.HopSkipJump``
    on an ``art.estimators.classification.BlackBoxClassifier`` whose clip values are each
    feature's sample range widened by the largest epsilon of the curve (so no epsilon-ball the
    metric judges is clipped). The black box answers one-hot labels of ``Scorer.predict`` (the
    registry's ``y_pred``: the model's label output, else score >= 0.5) rather than
    ``predict_proba``'s argmax, which would call a score of exactly 0.5 class 0.
    HopSkipJump looks for the smallest perturbation that changes the label, unbounded. Every
    point it queries that the model labels differently from the row's label is an adversarial
    example the attack found; the row's adversarial distance is the smallest L-inf distance
    (z-scored space) of those points, re-checked with one final batched query. A row counts
    as fooled at epsilon when that distance is <= epsilon, so a perturbation beyond epsilon
    never counts. Rows the model already misclassifies are wrong at any epsilon and are not
    attacked. adversarialAccuracy = share of the sample still correct, a lower bound on the
    model's true accuracy within the ball being the attack's limitation (a stronger attack can
    only lower it). ART's per-row loop queries one point per model call, so the attack
    dominates the cost: about ``queriesPerRow`` rows per attacked row, linear in the sample.

    ART's randomness is made reproducible: HopSkipJump draws its gradient-estimation noise from
    NumPy's global generator, which is seeded per row (from ``seed``) around each row's attack
    and restored afterwards; its unseeded random initialisation is never used because the
    attack starts from the nearest (L-inf, z-scored) sample row the model labels differently,
    or a seeded uniform point of the clip box when no sample row does.

``noiseAccuracy``
    Accuracy on the sample with Gaussian noise N(0, (epsilon * std_j)^2) added to each feature,
    one seeded draw (a standard-normal matrix scaled by epsilon * std, the same matrix for every
    epsilon of the curve, so the curve's differences come from epsilon, not from new noise).

``perturbationCurve``
    ``[{"epsilon", "adversarialAccuracy", "noiseAccuracy"}]`` over ``EPSILON_GRID`` plus the
    requested epsilon: the adversarial values come from the one attack (each row's distance
    gives its status at every epsilon, so the curve is non-increasing), the noise values from
    the one noise draw scaled.

``compute_model_robustness`` returns ``(metrics, notes)``; every metric it cannot compute is
``None`` with ``metrics["unavailable"][name]`` saying why, and no exception escapes it.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from registry.execution import ExecutionError, Scorer

__all__ = [
    "ADVERSARIAL_METRICS",
    "DEFAULT_EPSILON",
    "DEFAULT_MAX_QUERIES_PER_ROW",
    "DEFAULT_SAMPLE",
    "EPSILON_GRID",
    "HSJ_INIT_EVAL",
    "HSJ_MAX_EVAL",
    "HSJ_MAX_ITER",
    "compute_model_robustness",
]

ADVERSARIAL_METRICS = ("adversarialAccuracy", "noiseAccuracy")
#: The contract's default bound: a tenth of each feature's standard deviation.
DEFAULT_EPSILON = 0.1
#: Rows of the dataset attacked and noised (seeded, without replacement).
DEFAULT_SAMPLE = 200
#: Epsilons of the perturbation curve (the requested epsilon is added when absent).
EPSILON_GRID = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4)
#: HopSkipJump's iterations and gradient-estimation queries (ART's defaults are 50, 10,000 and
#: 100), tuned for a budget of 20 s per run. Measured on 2 cores, default sample (200 rows), a
#: 200-tree depth-3 gradient-boosted model on 20 features (skl2onnx): 3.6 s at (10, 20, 100),
#: 7.0 s at (20, 30, 300), 12.4 s at (30, 50, 500), 16.1 s at (40, 50, 500), about 6,000
#: queries per row at the chosen (30, 50, 500). On a logistic regression on 20 features, where
#: the exact smallest L-inf distance is |logit| / sum_j |w_j std_j|, the distances found were a
#: median 10%, 3%, 0.9% and 0.6% above it; the accuracy at epsilon 0.1 0.795, 0.785, 0.770 and
#: 0.770 against the exact 0.765.
HSJ_MAX_ITER = 30
HSJ_INIT_EVAL = 50
HSJ_MAX_EVAL = 500
#: Hard cap on the rows the attack may query for one sample row: a row whose attack reaches it
#: stops and keeps the closest adversarial example found so far. Above what the settings above
#: use on ordinary models (about 6,000), it bounds the cost of a pathological one.
DEFAULT_MAX_QUERIES_PER_ROW = 10_000
#: Random points of the clip box tried as starting points when no sample row is labelled
#: differently (ART's init_size default).
RANDOM_STARTS = 100
#: Seconds between progress reports (the contract asks for at least one a second).
REPORT_EVERY = 0.5

Progress = Callable[[float, str], Any]
ART = "adversarial-robustness-toolbox"
METHOD_HSJ = "HopSkipJump (Chen et al. 2020), decision-based black-box"
REFERENCE_HSJ = (
    "Chen, Jordan & Wainwright 2020, HopSkipJumpAttack: A Query-Efficient Decision-Based "
    "Attack / ART 1.20.1 art.attacks.evasion.HopSkipJump"
)


class _Unavailable(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Budget(Exception):
    """Raised inside the black box when a row's attack reaches its query cap."""


def _art():
    """ART's attack and black box (imported late and quietly: ART warns about absent PyTorch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import art
        from art.attacks.evasion import HopSkipJump
        from art.estimators.classification import BlackBoxClassifier
    return HopSkipJump, BlackBoxClassifier, f"{ART} {art.__version__}"


def _labels(values: Any, rows: int) -> np.ndarray:
    if values is None:
        raise _Unavailable("needs the dataset's true labels (y_true)")
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _Unavailable("the true labels (y_true) are not all 0 or 1") from None
    if len(array) != rows:
        raise _Unavailable(f"y_true has {len(array)} labels for {rows} rows")
    if not np.all((array == 0) | (array == 1)):
        raise _Unavailable("the true labels (y_true) are not all 0 or 1")
    return array.astype(np.int8)


def _grid(epsilon: float) -> list[float]:
    values = set(EPSILON_GRID) | {float(epsilon)}
    return sorted(values)


def compute_model_robustness(
    scorer: Scorer,
    X: np.ndarray,
    y_true: Any,
    *,
    epsilon: float = DEFAULT_EPSILON,
    sample: int = DEFAULT_SAMPLE,
    max_queries_per_row: int = DEFAULT_MAX_QUERIES_PER_ROW,
    seed: int = 0,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """adversarialAccuracy, noiseAccuracy, cleanAccuracy, adversarialAccuracyDrop and the
    perturbation curve of the model behind `scorer` on a seeded sample of `X` (see the module
    docstring for the definitions), and notes. Never raises."""
    report = progress or (lambda fraction, message: None)
    metrics: dict[str, Any] = {
        "adversarialAccuracy": None,
        "noiseAccuracy": None,
        "cleanAccuracy": None,
        "adversarialAccuracyDrop": None,
        "perturbationCurve": None,
    }
    unavailable: dict[str, str] = {}
    methods: dict[str, Any] = {}
    metrics["unavailable"] = unavailable
    metrics["methods"] = methods
    notes: list[str] = []

    def fail(names, reason: str) -> None:
        for name in names:
            metrics[name] = None
            unavailable[name] = reason
        notes.append(f"{', '.join(names)} not computed: {reason}")

    everything = ("adversarialAccuracy", "noiseAccuracy", "cleanAccuracy")
    try:
        epsilon = float(epsilon)
        if not np.isfinite(epsilon) or epsilon < 0:
            raise _Unavailable(f"epsilon must be a finite number >= 0 (got {epsilon})")
        prepared = _prepare(scorer, X, y_true, epsilon, int(sample), seed, notes)
    except _Unavailable as exc:
        fail(everything, exc.reason)
        return metrics, notes
    except ExecutionError as exc:
        fail(everything, f"the model could not be queried: {exc}")
        return metrics, notes
    except Exception as exc:  # a suite must finish with reasons, not crash
        fail(everything, f"the registry could not compute it ({type(exc).__name__}: {exc})")
        return metrics, notes
    report(0.02, "robustness: clean predictions done")

    grid = _grid(epsilon)
    n = len(prepared.rows)
    clean = float(np.mean(prepared.correct))
    metrics["cleanAccuracy"] = clean

    noise_curve: dict[float, float] | None = None
    methods["noiseAccuracy"] = {
        "method": "Gaussian noise",
        "reference": "N(0, (epsilon * std_j)^2) added to each feature j, one seeded draw",
        "library": f"numpy {np.__version__}",
        "sample": n,
        "seed": seed,
        "parameters": {"epsilon": epsilon, "scale": "fraction of each feature's std"},
    }
    try:
        noise_curve = _noise(scorer, prepared, grid, seed)
        metrics["noiseAccuracy"] = noise_curve[epsilon]
    except ExecutionError as exc:
        fail(("noiseAccuracy",), f"the model could not be queried on noisy inputs: {exc}")
    except Exception as exc:  # any other failure becomes a reason
        fail(("noiseAccuracy",), f"the registry could not compute it ({type(exc).__name__}: {exc})")
    report(0.05, "robustness: Gaussian noise done")

    distances: np.ndarray | None = None
    try:
        distances, method = _attack(
            scorer, prepared, grid, seed, int(max_queries_per_row), epsilon, report
        )
        methods["adversarialAccuracy"] = method
        fooled = distances <= epsilon
        adversarial = float(np.mean(prepared.correct & ~fooled))
        metrics["adversarialAccuracy"] = adversarial
        metrics["adversarialAccuracyDrop"] = clean - adversarial
        capped = method["parameters"]["rowsCapped"]
        unstarted = method["parameters"]["rowsWithoutStart"]
        if unstarted:
            notes.append(
                f"{unstarted} rows were not attacked: the model gave every sampled row and "
                f"{RANDOM_STARTS} random points of the data's range the same label, so the "
                "attack had no starting point (they count as not fooled)"
            )
        if capped:
            notes.append(
                f"the attack on {capped} of {n} rows stopped at the query cap of "
                f"{max_queries_per_row} rows and kept the closest adversarial example found"
            )
    except ExecutionError as exc:
        fail(("adversarialAccuracy",), f"the model could not be queried during the attack: {exc}")
    except Exception as exc:  # any other failure becomes a reason
        fail(
            ("adversarialAccuracy",),
            f"the registry could not compute it ({type(exc).__name__}: {exc})",
        )
    if "adversarialAccuracy" in unavailable:
        unavailable["adversarialAccuracyDrop"] = unavailable["adversarialAccuracy"]

    if noise_curve is not None or distances is not None:
        curve = []
        for e in grid:
            adv = None
            if distances is not None:
                adv = float(np.mean(prepared.correct & ~(distances <= e)))
            curve.append(
                {
                    "epsilon": e,
                    "adversarialAccuracy": adv,
                    "noiseAccuracy": noise_curve[e] if noise_curve is not None else None,
                }
            )
        metrics["perturbationCurve"] = curve
    report(1.0, "robustness: attack done")
    return metrics, notes


class _Prepared:
    """The sample in original and z-scored space, its labels and the attack's view of it."""

    rows: np.ndarray  # indices into X
    X: np.ndarray  # (n, d) float64 original values
    y: np.ndarray  # (n,) int8 true labels
    correct: np.ndarray  # (n,) bool, clean prediction == y
    mean: np.ndarray  # (d,)
    std: np.ndarray  # (d,) population std, 0 for constant features
    varying: np.ndarray  # (d,) bool, std > 0


def _prepare(scorer, X, y_true, epsilon, sample, seed, notes) -> _Prepared:
    if sample < 1:
        raise _Unavailable(f"the sample size must be at least 1 (got {sample})")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Unavailable("the model's input columns are not all numeric") from None
    if X.ndim != 2 or len(X) == 0:
        raise _Unavailable("the dataset has no rows to attack")
    y = _labels(y_true, len(X))
    finite = np.isfinite(X)
    complete = np.flatnonzero(finite.all(axis=1))
    if len(complete) == 0:
        raise _Unavailable("every row of the dataset has a missing or infinite feature value")
    if len(complete) < len(X):
        notes.append(
            f"{len(X) - len(complete)} rows with a missing or infinite feature value were not "
            "sampled (a perturbation of a missing value is not defined)"
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean_X = np.where(finite, X, np.nan)
        mean = np.nanmean(clean_X, axis=0)
        std = np.nanstd(clean_X, axis=0)
    std = np.where(np.isfinite(std), std, 0.0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    rng = np.random.default_rng(seed)
    if len(complete) > sample:
        rows = np.sort(rng.choice(complete, size=sample, replace=False))
        notes.append(f"robustness attack and noise on a seeded sample of {sample} rows")
    else:
        rows = complete
    out = _Prepared()
    out.rows = rows
    out.X = X[rows]
    out.y = y[rows]
    out.mean, out.std = mean, std
    out.varying = std > 0
    out.correct = scorer.predict(out.X) == out.y
    if len(np.unique(out.y)) < 2:
        notes.append("the sampled rows carry one class only; accuracies are over that class")
    return out


def _noise(scorer: Scorer, prepared: _Prepared, grid: list[float], seed: int) -> dict[float, float]:
    """Accuracy with N(0, (e * std)^2) noise for every e of the grid, in one model call."""
    rng = np.random.default_rng([seed, 1])
    n, d = prepared.X.shape
    gauss = rng.standard_normal((n, d)) * prepared.std
    batch = np.concatenate([prepared.X + e * gauss for e in grid])
    labels = scorer.predict(batch).reshape(len(grid), n)
    return {e: float(np.mean(labels[i] == prepared.y)) for i, e in enumerate(grid)}


class _BlackBox:
    """The model as ART sees it: z-scored varying features in, one-hot labels out; remembers
    the closest point it labelled differently from the row under attack."""

    def __init__(self, scorer: Scorer, prepared: _Prepared, cap: int):
        self.scorer = scorer
        self.base = prepared.X[0].copy()  # constant features keep their value
        self.mean = prepared.mean[prepared.varying]
        self.std = prepared.std[prepared.varying]
        self.varying = prepared.varying
        self.cap = cap
        self.start(None, -1)

    def to_original(self, z: np.ndarray) -> np.ndarray:
        out = np.repeat(self.base[None, :], len(z), axis=0)
        out[:, self.varying] = self.mean + np.asarray(z, dtype=np.float64) * self.std
        return out

    def start(self, origin: np.ndarray | None, label: int, base: np.ndarray | None = None):
        self.origin, self.label = origin, label
        if base is not None:
            self.base = base
        self.queries = 0
        self.best = np.inf
        self.best_point: np.ndarray | None = None

    def labels(self, z: np.ndarray) -> np.ndarray:
        return self.scorer.predict(self.to_original(z)).astype(np.int64)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if self.origin is not None and self.queries >= self.cap:
            raise _Budget
        labels = self.labels(z)
        if self.origin is not None:
            self.queries += len(z)
            other = labels != self.label
            if other.any():
                found = np.asarray(z[other], dtype=np.float64)
                dist = np.max(np.abs(found - self.origin), axis=1)
                k = int(np.argmin(dist))
                if dist[k] < self.best:
                    self.best, self.best_point = float(dist[k]), found[k].copy()
        return np.eye(2, dtype=np.float32)[labels]


def _starts(
    z32: np.ndarray, labels: np.ndarray, lo: np.ndarray, hi: np.ndarray, box, rng
) -> np.ndarray:
    """A starting point of the other label for every row (NaN when none is known): the nearest
    sample row (L-inf) the model labels differently, else the nearest such random box point."""
    starts = np.full_like(z32, np.nan)
    pool_z, pool_labels = z32, labels
    if len(np.unique(labels)) < 2:
        random = rng.uniform(lo, hi, size=(RANDOM_STARTS, z32.shape[1])).astype(np.float32)
        pool_z = np.concatenate([z32, random])
        pool_labels = np.concatenate([labels, box.labels(random)])
    for label in (0, 1):
        rows = np.flatnonzero(labels == label)
        pool = np.flatnonzero(pool_labels != label)
        if len(rows) == 0 or len(pool) == 0:
            continue
        nn = NearestNeighbors(n_neighbors=1, metric="chebyshev").fit(pool_z[pool])
        index = nn.kneighbors(z32[rows], return_distance=False)[:, 0]
        starts[rows] = pool_z[pool[index]]
    return starts


def _attack(scorer, prepared, grid, seed, cap, epsilon, report):
    """Each row's smallest adversarial L-inf distance (z-scored space; inf when none was found
    or the row is misclassified) and the methods entry."""
    HopSkipJump, BlackBoxClassifier, library = _art()
    report(0.06, "robustness: attack set up")
    n = len(prepared.rows)
    distances = np.full(n, np.inf)
    parameters: dict[str, Any] = {
        "epsilon": epsilon,
        "norm": "inf",
        "space": "z-scored (each feature divided by its std)",
        "maxIter": HSJ_MAX_ITER,
        "maxEval": HSJ_MAX_EVAL,
        "initEval": HSJ_INIT_EVAL,
        "maxQueriesPerRow": cap,
        "rowsAttacked": 0,
        "rowsFooled": 0,
        "rowsCapped": 0,
        "rowsWithoutStart": 0,
        "queries": 0,
        "queriesPerRow": None,
    }
    method = {
        "method": METHOD_HSJ,
        "reference": REFERENCE_HSJ,
        "library": library,
        "sample": n,
        "seed": seed,
        "parameters": parameters,
    }
    varying = prepared.varying
    if not varying.any():
        return distances, method  # nothing can be perturbed: the model's answers cannot move
    before = scorer.rows_scored
    box = _BlackBox(scorer, prepared, cap)
    z = (prepared.X[:, varying] - prepared.mean[varying]) / prepared.std[varying]
    z32 = z.astype(np.float32)
    reach = max(grid)
    lo = (z32.min(axis=0) - reach).astype(np.float32)
    hi = (z32.max(axis=0) + reach).astype(np.float32)
    hi = np.where(hi > lo, hi, lo + 1).astype(np.float32)

    # The attack sees float32 (ART's dtype): a row whose float32 copy the model already labels
    # differently is fooled at that rounding distance, which no epsilon > 0 excludes.
    labels32 = box.labels(z32)
    rounded = prepared.correct & (labels32 != prepared.y)
    distances[rounded] = np.max(np.abs(z32[rounded].astype(np.float64) - z[rounded]), axis=1)
    target = np.flatnonzero(prepared.correct & ~rounded)

    rng = np.random.default_rng([seed, 2])
    starts = _starts(z32, labels32, lo, hi, box, rng)
    row_seeds = rng.integers(0, 2**32 - 1, size=n, dtype=np.uint64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = BlackBoxClassifier(
            box, input_shape=(int(varying.sum()),), nb_classes=2, clip_values=(lo, hi)
        )
        attack = HopSkipJump(
            classifier,
            batch_size=max(HSJ_MAX_EVAL, 128),
            targeted=False,
            norm=np.inf,
            max_iter=HSJ_MAX_ITER,
            max_eval=HSJ_MAX_EVAL,
            init_eval=HSJ_INIT_EVAL,
            verbose=False,
        )
    attacked = capped = unstarted = 0
    points = np.full_like(z, np.nan)
    state = np.random.get_state()
    # ART logs its success rate at INFO after every generate call, i.e. once per row.
    art_log = logging.getLogger("art.attacks.evasion.hop_skip_jump")
    level = art_log.level
    art_log.setLevel(logging.WARNING)
    last = time.monotonic()
    try:
        for done, i in enumerate(target):
            if np.isnan(starts[i]).any():
                unstarted += 1  # every known point has this label: no start, not fooled
                continue
            attacked += 1
            box.start(z[i], int(labels32[i]), base=prepared.X[i])
            # HopSkipJump's noise comes from NumPy's global generator: seeded per row so the
            # result does not depend on which rows were attacked before.
            np.random.seed(int(row_seeds[i]) % (2**32))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    attack.generate(z32[i : i + 1], x_adv_init=starts[i : i + 1].copy())
            except _Budget:
                capped += 1
            if box.best_point is not None:
                points[i] = box.best_point
            now = time.monotonic()
            if now - last >= REPORT_EVERY:
                last = now
                report(0.05 + 0.93 * (done + 1) / len(target), f"attacked {done + 1} rows")
    finally:
        np.random.set_state(state)
        art_log.setLevel(level)
        box.start(None, -1)
    # Re-check every adversarial example in one call: only a confirmed label change counts.
    found = np.flatnonzero(~np.isnan(points).any(axis=1))
    if len(found):
        again = box.labels(points[found].astype(np.float32))
        confirmed = found[again != prepared.y[found]]
        distances[confirmed] = np.max(
            np.abs(points[confirmed].astype(np.float32).astype(np.float64) - z[confirmed]),
            axis=1,
        )
    queries = scorer.rows_scored - before
    parameters.update(
        rowsAttacked=attacked,
        rowsFooled=int(np.sum(distances <= epsilon)),
        rowsCapped=capped,
        rowsWithoutStart=unstarted,
        queries=int(queries),
        queriesPerRow=float(queries / attacked) if attacked else None,
    )
    return distances, method
