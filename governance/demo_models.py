"""Real models for the demo: small scikit-learn classifiers trained at seed time on generated
tabular data, converted to ONNX with skl2onnx, with the evaluation and drift-reference datasets
the registry evaluates them on; and one malicious pickle for the scanner to catch.

Everything is deterministic (fixed seeds, fixed column order), so two seeds of the demo hold the
same bytes under the same SHA-256. The data is generated from latent factors: each feature is a
monotone transform of one standard-normal factor, and the label is a noisy threshold of a
weighted sum of the factors, so a small model learns it well enough to meet the HIGH tier's
thresholds. The sensitive features (gender, age band) are never model inputs and are drawn
independently of everything else, so the bias suite finds no gap beyond sampling noise; except
where a spec has a `proxy`: a feature that differs by gender, which the model learns (the demo's
version that fails the bias suite).
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass

import numpy as np
import pandas as pd
from onnx import helper, numpy_helper
from scipy.stats import norm
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROWS = 6000
# The ONNX opset the models are converted to: pinned, so a newer skl2onnx default does not
# change the bytes (and their SHA-256) of the demo's artifacts.
TARGET_OPSET = 17
SENSITIVE_FEATURES = ("gender", "age_band")
GENDERS = np.array(["female", "male"])
AGE_BANDS = np.array(["18-34", "35-54", "55+"])
MALICIOUS_PICKLE_NAME = "legacy-weights.pkl"
# The second evaluation sample's seed is the first's plus this.
HOLDOUT_SEED_OFFSET = 1000


@dataclass(frozen=True)
class Feature:
    """One column: a transform of its own standard-normal factor `z`, and that factor's weight
    in the label."""

    name: str
    weight: float
    shift: float
    scale: float
    kind: str = "normal"  # normal: shift + scale*z; lognormal: exp(shift + scale*z); count
    decimals: int = 2

    def values(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "lognormal":
            return np.exp(self.shift + self.scale * z).round(self.decimals)
        if self.kind == "count":
            return np.maximum(0, np.round(self.shift + self.scale * z)).astype(np.int64)
        return (self.shift + self.scale * z).round(self.decimals)


@dataclass(frozen=True)
class ModelSpec:
    features: tuple[Feature, ...]
    learner: str  # "logistic" or "boosting"
    base_rate: float  # share of positives (y_true = 1)
    noise: float  # label noise, relative to the signal's unit standard deviation
    training_seed: int
    evaluation_seed: int
    reference_seed: int
    sensitive: bool = True  # whether the datasets carry gender and age_band
    trees: int = 30
    # How far the first feature's factor is shifted for men: a proxy of gender that the model
    # learns, so its predictions differ by gender (the bias suite's demographic parity gap).
    proxy: float = 0.0


FRAUD_FEATURES = (
    Feature("amount", 0.9, 3.6, 0.9, "lognormal"),
    Feature("merchant_risk", 1.1, 0.3, 0.12),
    Feature("distance_from_home_km", 0.7, 2.0, 1.1, "lognormal", 1),
    Feature("transactions_24h", 0.6, 3.0, 1.6, "count"),
    Feature("card_age_days", -0.5, 6.0, 0.8, "lognormal", 0),
    Feature("hour_of_day", 0.0, 13.0, 5.0, "count"),
)
CREDIT_FEATURES = (
    Feature("annual_income", -0.8, 52000.0, 14000.0, decimals=0),
    Feature("debt_to_income", 1.2, 0.32, 0.1, decimals=3),
    Feature("credit_history_years", -0.6, 11.0, 5.0, decimals=1),
    Feature("open_accounts", 0.3, 6.0, 2.5, decimals=1),
    Feature("delinquencies_2y", 0.9, 1.0, 0.9, decimals=2),
    Feature("loan_amount", 0.5, 15000.0, 5000.0, decimals=0),
    Feature("employment_years", -0.4, 7.0, 4.0, decimals=1),
)
CHURN_FEATURES = (
    Feature("tenure_months", -1.0, 30.0, 14.0, decimals=0),
    Feature("monthly_charges", 0.6, 70.0, 20.0),
    Feature("support_calls_90d", 0.9, 2.5, 1.5, "count"),
    Feature("contract_months", -0.7, 12.0, 6.0, decimals=0),
    Feature("logins_30d", -0.8, 12.0, 5.0, "count"),
    Feature("discount_pct", -0.3, 8.0, 4.0, decimals=1),
)
RECOMMENDER_FEATURES = (
    Feature("category_affinity", 1.0, 0.0, 1.0),
    Feature("sessions_30d", 0.8, 8.0, 4.0, "count"),
    Feature("days_since_purchase", -0.7, 3.0, 0.8, "lognormal", 0),
    Feature("basket_value", 0.5, 4.0, 0.6, "lognormal"),
    Feature("email_opens_30d", 0.4, 4.0, 2.5, "count"),
    Feature("page_views_7d", 0.6, 20.0, 9.0, "count"),
)
TICKET_FEATURES = (
    Feature("priority", 0.8, 2.5, 0.9, decimals=1),
    Feature("affected_users", 1.0, 1.5, 1.0, "lognormal", 0),
    Feature("reopen_count", 0.5, 0.8, 0.8, "count"),
    Feature("words_network", 1.1, 3.0, 2.0, "count"),
    Feature("words_password", -0.9, 2.0, 1.5, "count"),
)

# Which model each demo version holds. The seeds were chosen once so that each model's
# evaluation meets its tier's thresholds (product-recommender 0.9.0 fails the bias suite, as
# meant; the tests hold them to it): the drift test compares two samples of one distribution,
# whose smallest p-value is itself a random draw. A fraud "population" here is a case-control
# evaluation sample (40% fraud), not the live rate.
MODEL_SPECS: dict[tuple[str, str], ModelSpec] = {
    # 200 trees: fewer leave the boosted model underconfident on this nearly separable
    # population, and the validation suite's Hosmer-Lemeshow test rejects its calibration.
    ("fraud-detector", "1.0.0"): ModelSpec(
        FRAUD_FEATURES, "boosting", 0.4, 0.12, 101, 102, 103, trees=200
    ),
    ("fraud-detector", "1.1.0"): ModelSpec(
        FRAUD_FEATURES, "boosting", 0.4, 0.12, 111, 112, 113, trees=240
    ),
    ("credit-scoring", "2.3.0"): ModelSpec(CREDIT_FEATURES, "logistic", 0.4, 0.15, 201, 202, 244),
    ("churn-predictor", "3.1.0"): ModelSpec(CHURN_FEATURES, "boosting", 0.4, 0.2, 301, 302, 303),
    # The beta ranking model learnt a proxy of gender; 1.0.0 dropped it.
    ("product-recommender", "0.9.0"): ModelSpec(
        RECOMMENDER_FEATURES, "logistic", 0.4, 0.25, 501, 502, 505, proxy=1.2
    ),
    ("product-recommender", "1.0.0"): ModelSpec(
        RECOMMENDER_FEATURES, "logistic", 0.4, 0.25, 511, 512, 514
    ),
    ("ticket-router", "0.2.0"): ModelSpec(
        TICKET_FEATURES, "logistic", 0.4, 0.3, 401, 402, 403, sensitive=False
    ),
}


@dataclass(frozen=True)
class DemoModel:
    """A trained demo model as ONNX bytes, and the data the registry evaluates it on."""

    onnx: bytes
    features: tuple[str, ...]
    sensitive_features: tuple[str, ...]
    evaluation: pd.DataFrame  # the features, then the sensitive features, then y_true
    reference: pd.DataFrame  # a sample of the same population, for the drift test
    training: pd.DataFrame  # the rows the model was trained on (security's members)
    holdout: pd.DataFrame  # a second evaluation sample (HIGH: validation on two datasets)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.onnx).hexdigest()


def has_model(model: str, version: str) -> bool:
    return (model, version) in MODEL_SPECS


def sample(spec: ModelSpec, seed: int, rows: int = ROWS) -> pd.DataFrame:
    """`rows` people drawn from the spec's population: features, sensitive features, y_true."""
    rng = np.random.default_rng(seed)
    factors = rng.standard_normal((rows, len(spec.features)))
    weights = np.array([f.weight for f in spec.features])
    noise = rng.standard_normal(rows)
    columns: dict[str, np.ndarray] = {}
    if spec.sensitive:
        columns["gender"] = rng.choice(GENDERS, size=rows)
        columns["age_band"] = rng.choice(AGE_BANDS, size=rows, p=[0.35, 0.4, 0.25])
    if spec.proxy:
        factors[:, 0] += spec.proxy * (columns["gender"] == "male")
    signal = factors @ weights / np.linalg.norm(weights)
    noisy = signal + spec.noise * noise
    # The population's cut-off is fixed (not the sample's quantile), so every sample of one
    # spec is drawn from the same distribution.
    cutoff = float(norm.ppf(1 - spec.base_rate)) * np.sqrt(1 + spec.noise**2)
    features = {f.name: f.values(factors[:, i]) for i, f in enumerate(spec.features)}
    return pd.DataFrame({**features, **columns, "y_true": (noisy > cutoff).astype(np.int64)})


def _learner(spec: ModelSpec):
    if spec.learner == "logistic":
        # A scorecard as banks build them: missing values imputed (the training mean) and,
        # in the ONNX graph, every input capped to the training range (see _capped), so the
        # security suite's hostile inputs get a valid score, not NaN.
        return make_pipeline(
            SimpleImputer(strategy="mean"), StandardScaler(), LogisticRegression(max_iter=500)
        )
    return GradientBoostingClassifier(
        n_estimators=spec.trees, max_depth=3, learning_rate=0.3, random_state=spec.training_seed
    )


def build(model: str, version: str) -> DemoModel:
    """Train the demo version's model and convert it to ONNX (one float tensor input [N, k]
    named `X`, outputs `label` and a `probabilities` tensor [N, 2], no ZipMap)."""
    spec = MODEL_SPECS[(model, version)]
    features = tuple(f.name for f in spec.features)
    training = sample(spec, spec.training_seed)
    X = training[list(features)].to_numpy(dtype=np.float32)
    estimator = _learner(spec).fit(X, training["y_true"].to_numpy())
    classifier = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    onx = to_onnx(
        estimator,
        X[:1],
        options={id(classifier): {"zipmap": False}},
        target_opset=TARGET_OPSET,
    )
    if spec.learner == "logistic":
        onx = _capped(onx, np.nanmin(X, axis=0), np.nanmax(X, axis=0))
    return DemoModel(
        onnx=onx.SerializeToString(),
        features=features,
        sensitive_features=SENSITIVE_FEATURES if spec.sensitive else (),
        evaluation=sample(spec, spec.evaluation_seed),
        reference=sample(spec, spec.reference_seed),
        training=training,
        holdout=sample(spec, spec.evaluation_seed + HOLDOUT_SEED_OFFSET),
    )


def _capped(onx, lower: np.ndarray, upper: np.ndarray):
    """The model with its input first capped to [lower, upper] per feature (Min, then Max):
    outlier capping, the usual guard of a linear scorecard; NaN passes to the imputer."""
    graph = onx.graph
    source = graph.input[0].name
    capped = f"{source}_capped"
    for node in graph.node:
        node.input[:] = [capped if name == source else name for name in node.input]
    graph.initializer.extend(
        [
            numpy_helper.from_array(upper.astype(np.float32).reshape(1, -1), "cap_upper"),
            numpy_helper.from_array(lower.astype(np.float32).reshape(1, -1), "cap_lower"),
        ]
    )
    guard = [
        helper.make_node("Min", [source, "cap_upper"], [f"{source}_below_upper"]),
        helper.make_node("Max", [f"{source}_below_upper", "cap_lower"], [capped]),
    ]
    nodes = guard + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return onx


class _ShellOnLoad:
    """Whoever unpickles this runs a shell command: what a tampered weights file does."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def malicious_pickle() -> bytes:
    """A pickle whose loading would call os.system("echo pwned"). It is only ever written and
    scanned, never loaded; protocol 4 keeps the bytes the same across Python versions."""
    return pickle.dumps(_ShellOnLoad(), protocol=4)
