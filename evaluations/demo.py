"""Demo evaluation runs: the demo's ONNX models (governance/demo_models.py) evaluated on their
generated evaluation data through the same services and worker code as an upload, the registry
running the held model to compute the predictions, so the demo's evaluation results are real."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations import services
from evaluations.models import EvaluationRun
from governance.demo_models import DemoModel, perturbed
from registry.choices import RiskTier
from registry.execution import ExecutableModel

# Whether the registry computes a run's predictions by running the version's held ONNX model
# when the dataset carries none (the runs record their predictions_source).
REGISTRY_RUNS_MODELS = hasattr(EvaluationRun, "predictions_source")
SUITES_BY_TIER = {
    RiskTier.LOW: ("performance",),
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

    Where the registry runs the held model itself (REGISTRY_RUNS_MODELS), the dataset carries
    no y_pred/y_score and the run's predictions are the registry's; before that, the demo
    submits the same model's predictions, computed with registry.execution. The reference
    dataset carries the model's predictions, for the suite's degradation check.
    """
    data = adversarial(model, model.evaluation, seed=seed)
    if not REGISTRY_RUNS_MODELS:
        data = scored(model, data)
    return _run_suites(
        version,
        actor=actor,
        data=_csv(data),
        reference=_csv(scored(model, model.reference)),
        sensitive=list(model.sensitive_features),
        features=list(model.features) if REGISTRY_RUNS_MODELS else None,
    )


def _run_suites(
    version,
    *,
    actor,
    data: bytes,
    reference: bytes,
    sensitive: list[str],
    features: list[str] | None = None,
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
            **({"features": features} if features is not None else {}),
        )
        services.run_evaluation(run.pk)
        run.refresh_from_db()
        runs.append(run)
    return runs
