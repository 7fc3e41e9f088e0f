from __future__ import annotations

from django import forms

from evaluations.choices import Suite
from evaluations.uploads import (
    DATASET,
    REFERENCE,
    SEGMENTS,
    SENSITIVE,
    SUITE,
    THRESHOLDS,
)

# API field name -> form field name, to show a service error next to its input.
FORM_FIELDS = {
    SUITE: "suite",
    DATASET: "dataset",
    REFERENCE: "reference_dataset",
    SENSITIVE: "sensitive_features",
    SEGMENTS: "segment_columns",
    THRESHOLDS: "thresholds",
}


def split_names(text: str) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


class RunEvaluationForm(forms.Form):
    suite = forms.ChoiceField(choices=Suite.choices)
    dataset = forms.FileField(
        help_text="CSV or Parquet with y_true, y_pred, optional y_score and feature columns."
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
        required=False, help_text="For the robustness suite: the data to compare drift against."
    )
    thresholds = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono"}),
        max_length=20_000,
        help_text="A thresholds document (JSON). Empty: the risk tier's defaults.",
    )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            field = FORM_FIELDS.get(key)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
