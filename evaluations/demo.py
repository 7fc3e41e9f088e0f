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
from governance.demo_models import DemoModel, perturbed
from registry.choices import RiskTier
from registry.execution import ExecutableModel

SUITES_BY_TIER = {
    RiskTier.LOW: ("performance", "smoke"),
    RiskTier.MEDIUM: ("performance", "bias", "robustness", "security"),
    RiskTier.HIGH: ("performance", "bias", "robustness", "security"),
}


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


def scored(model: DemoModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the ONNX model's own predictions (y_pred, y_score), computed by the
    registry's model runner."""
    predictions = ExecutableModel.load(model.onnx).predict_frame(frame, features=model.features)
    return frame.assign(y_pred=predictions.y_pred, y_score=predictions.y_score.round(6))


def adversarial(model: DemoModel, frame: pd.DataFrame, *, seed: int) -> pd.DataFrame:
    """The frame with the model's predictions on perturbed inputs (y_pred_adversarial), which
    the robustness suite compares with y_true; the registry does not perturb inputs itself."""
    nudged = perturbed(frame, model.features, seed)
    predictions = ExecutableModel.load(model.onnx).predict_frame(nudged, features=model.features)
    return frame.assign(y_pred_adversarial=predictions.y_pred)


def run_model_evaluations(version, *, actor, model: DemoModel, seed: int) -> list:
    """Run the suites the version's tier requires on the demo model's evaluation data.

    The dataset carries no y_pred/y_score: the registry runs the version's held ONNX model to
    compute them (the runs' predictionsSource is REGISTRY), fed the model's feature columns
    in order. It carries y_pred_adversarial, the same model's predictions on perturbed
    inputs, and the reference dataset the model's predictions, for the robustness suite's
    adversarial and degradation checks.
    """
    return _run_suites(
        version,
        actor=actor,
        data=_csv(adversarial(model, model.evaluation, seed=seed)),
        reference=_csv(scored(model, model.reference)),
        sensitive=list(model.sensitive_features),
        features=list(model.features),
    )


def _run_suites(
    version,
    *,
    actor,
    data: bytes,
    reference: bytes,
    sensitive: list[str],
    features: list[str],
) -> list:
    save_for_people(f"{version.model.name}.csv", data)
    save_for_people(f"{version.model.name}-reference.csv", reference)
    runs = []
    for suite in SUITES_BY_TIER[version.model.risk_tier]:
        run = services.request_evaluation(
            version,
            actor=actor,
            suite=suite,
            dataset=SimpleUploadedFile(f"{version.model.name}.csv", data, "text/csv"),
            reference_dataset=(
                SimpleUploadedFile("reference.csv", reference, "text/csv")
                if suite == "robustness"
                else None
            ),
            sensitive_features=sensitive if suite == "bias" else (),
            # The model's input columns, in order: the dataset also has the sensitive features.
            features=features,
        )
        services.run_evaluation(run.pk)
        run.refresh_from_db()
        runs.append(run)
    return runs
