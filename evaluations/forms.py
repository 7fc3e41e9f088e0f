from __future__ import annotations

from django import forms

from evaluations.choices import Suite
from evaluations.uploads import (
    ARTIFACT,
    DATASET,
    EPSILON,
    FEATURES,
    REFERENCE,
    SEED,
    SEGMENTS,
    SENSITIVE,
    SUITE,
    THRESHOLDS,
    TRAINING,
    default_model,
)

# API field name -> form field name, to show a service error next to its input.
FORM_FIELDS = {
    SUITE: "suite",
    DATASET: "dataset",
    REFERENCE: "reference_dataset",
    SENSITIVE: "sensitive_features",
    SEGMENTS: "segment_columns",
    THRESHOLDS: "thresholds",
    ARTIFACT: "artifact",
    FEATURES: "features",
    TRAINING: "training_dataset",
    EPSILON: "epsilon",
    SEED: "seed",
}


def split_names(text: str) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


def artifact_choices(artifacts: list) -> list[tuple[str, str]]:
    """The form's model choices: the default (the version's executable model artifact), then
    each artifact the registry can run."""
    model = default_model(artifacts)
    default = (
        f"Default: {model.name} (artifact {model.pk}, sha256 {model.sha256[:12]}…)"
        if model is not None
        else "None: this version has no model the registry can run"
    )
    return [("", default)] + [
        (str(a.pk), f"{a.name} (artifact {a.pk}, {a.type}, sha256 {a.sha256[:12]}…)")
        for a in artifacts
        if a.executable
    ]


class RunEvaluationForm(forms.Form):
    suite = forms.ChoiceField(choices=Suite.choices)
    dataset = forms.FileField(
        help_text="CSV or Parquet with y_true and the feature columns, and y_pred (optional "
        "y_score) if you submit the predictions yourself."
    )
    artifact = forms.ChoiceField(
        required=False,
        label="Model",
        help_text="When the dataset has no y_pred, the registry computes y_score and y_pred by "
        "running this ONNX model on the feature columns. A dataset with y_pred is evaluated "
        "on the predictions it carries, as submitted.",
    )
    features = forms.CharField(
        required=False,
        max_length=20_000,
        help_text="Comma-separated feature columns in the order the model's single input takes "
        "them (optional; default: every column but y_true and the sensitive features, in file "
        "order).",
    )
    sensitive_features = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Comma-separated column names, e.g. gender, age_band (needed for bias).",
    )
    segment_columns = forms.CharField(
        required=False,
        max_length=2000,
        help_text="Comma-separated columns to break performance down by (optional).",
    )
    reference_dataset = forms.FileField(
        required=False,
        help_text="Robustness: the data to compare drift against. Security: clean data STRIP's "
        "entropy cut is set on (else half the dataset). Validation: the population the score "
        "PSI is measured against (the development sample).",
    )
    training_dataset = forms.FileField(
        required=False,
        label="Training sample",
        help_text="For the security suite: a sample of the training data (the model's feature "
        "columns and y_true). Membership inference is measured only with it.",
    )
    epsilon = forms.CharField(
        required=False,
        max_length=40,
        label="Perturbation bound (epsilon)",
        help_text="For the robustness suite: the attack and the noise are bounded by this "
        "fraction of each feature's standard deviation (default 0.1).",
    )
    seed = forms.CharField(
        required=False,
        max_length=40,
        label="Random seed",
        help_text="The seed of every sample, attack and resample (default 0): the same seed "
        "gives the same result.",
    )
    thresholds = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        max_length=20_000,
        help_text="A thresholds document (JSON): stricter values than the risk tier's "
        "defaults (only MRC may relax one); what it leaves out keeps the tier's. Empty: the "
        "risk tier's defaults.",
    )

    def __init__(self, *args, artifacts: list | tuple = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.artifacts = list(artifacts)
        self.fields["artifact"].choices = artifact_choices(self.artifacts)
        # The model the registry runs when the form names none (the page says so).
        self.registry_model = default_model(self.artifacts)

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            field = FORM_FIELDS.get(key)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
