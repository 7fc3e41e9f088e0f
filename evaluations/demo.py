"""Demo evaluation runs: the demo's ONNX models (governance/demo_models.py) evaluated on their
generated evaluation data through the same services and worker code as an upload, the registry
running the held model to compute the predictions, so the demo's evaluation results are real.
The datasets are also left under MEDIA_ROOT/demo-datasets to try uploads with."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations import services
from evaluations.choices import REFERENCE_SUITES, TRAINING_SUITES
from evaluations.uploads import SEEDED_SUITES
from governance.demo_models import DemoModel
from registry.choices import RiskTier

SUITES_BY_TIER = {
    RiskTier.LOW: ("performance", "smoke"),
    RiskTier.MEDIUM: ("performance", "bias", "robustness", "security"),
    RiskTier.HIGH: (
        "performance",
        "bias",
        "robustness",
        "security",
        "explainability",
        "validation",
    ),
}
# HIGH: "extensive validation with multiple datasets": these suites run on a second sample too.
SECOND_DATASET_SUITES = {RiskTier.HIGH: ("performance", "validation")}
# The security suite's members: this many of the training rows.
TRAINING_SAMPLE_ROWS = 2000


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def save_for_people(name: str, data: bytes) -> Path:
    """Keep a copy under MEDIA_ROOT/demo-datasets so people can upload it from the page."""
    folder = Path(settings.MEDIA_ROOT) / "demo-datasets"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def run_model_evaluations(version, *, actor, model: DemoModel, seed: int) -> list:
    """Run the suites the version's tier requires on the demo model's evaluation data.

    The dataset carries no y_pred/y_score: the registry runs the version's held ONNX model to
    compute them (the runs' predictionsSource is REGISTRY), fed the model's feature columns
    in order, and attacks, perturbs and explains the model itself. The robustness, security
    and validation suites read the reference sample (drift, STRIP's clean reference, the
    score PSI), security a sample of the training rows (membership inference); HIGH runs
    performance and validation on a second sample too. `seed` is every run's random seed.
    """
    tier = version.model.risk_tier
    data = _csv(model.evaluation)
    reference = _csv(model.reference)
    training = _csv(model.training.head(TRAINING_SAMPLE_ROWS))
    save_for_people(f"{version.model.name}.csv", data)
    save_for_people(f"{version.model.name}-reference.csv", reference)
    save_for_people(f"{version.model.name}-training.csv", training)
    runs = []
    plans = [(suite, data) for suite in SUITES_BY_TIER[tier]]
    if tier in SECOND_DATASET_SUITES:
        holdout = _csv(model.holdout)
        save_for_people(f"{version.model.name}-holdout.csv", holdout)
        plans = [(suite, holdout) for suite in SECOND_DATASET_SUITES[tier]] + plans
    for suite, content in plans:
        run = services.request_evaluation(
            version,
            actor=actor,
            suite=suite,
            dataset=SimpleUploadedFile(f"{version.model.name}.csv", content, "text/csv"),
            reference_dataset=(
                SimpleUploadedFile("reference.csv", reference, "text/csv")
                if suite in REFERENCE_SUITES
                else None
            ),
            training_dataset=(
                SimpleUploadedFile("training.csv", training, "text/csv")
                if suite in TRAINING_SUITES
                else None
            ),
            sensitive_features=model.sensitive_features if suite in SENSITIVE_SUITES else (),
            # The model's input columns, in order: the dataset also has the sensitive features.
            features=list(model.features),
            seed=seed if suite in SEEDED_SUITES else None,
        )
        services.run_evaluation(run.pk)
        run.refresh_from_db()
        runs.append(run)
    return runs


# The bias suite needs the sensitive features; security's attribute inference reads the first.
SENSITIVE_SUITES = ("bias", "security")
