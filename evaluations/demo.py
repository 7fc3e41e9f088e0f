"""Demo datasets and evaluation runs: generated data with a known quality and bias, run through
the same services and worker code as an upload, so the demo's evaluation results are real."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluations import services
from registry.choices import RiskTier

ROWS = 4000
SUITES_BY_TIER = {
    RiskTier.LOW: ("performance",),
    RiskTier.MEDIUM: ("performance", "bias", "robustness", "security"),
    RiskTier.HIGH: ("performance", "bias", "robustness", "security"),
}


def make_dataset(seed: int, *, rows: int = ROWS, skill: float = 3.2, bias: float = 0.0) -> bytes:
    """A scored binary classifier's output on `rows` people: higher `skill` separates the
    classes better; `bias` lowers the scores of group B (a known demographic parity gap)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["A", "B"]), size=rows, p=[0.6, 0.4])
    age = rng.normal(45, 12, rows).round(1)
    income = rng.lognormal(10.6, 0.35, rows).round(0)
    tenure = rng.integers(0, 25, rows)
    y_true = (rng.random(rows) < 0.35).astype(int)
    logit = skill * (y_true - 0.5) + rng.normal(0, 1, rows) - bias * (group == "B")
    y_score = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "y_true": y_true,
            "y_pred": (y_score >= 0.5).astype(int),
            "y_score": y_score.round(4),
            "group": group,
            "age": age,
            "income": income,
            "tenure": tenure,
        }
    )
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


def run_demo_evaluations(version, *, actor, seed: int, skill: float, bias: float) -> list:
    """Run the suites the version's tier requires, now, in this process (as the worker would)."""
    data = make_dataset(seed, skill=skill, bias=bias)
    reference = make_dataset(seed + 1000, skill=skill, bias=bias)
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
            sensitive_features=["group"] if suite == "bias" else (),
        )
        services.run_evaluation(run.pk)
        run.refresh_from_db()
        runs.append(run)
    return runs
