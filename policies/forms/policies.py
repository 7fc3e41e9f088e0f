"""The policy editor: the guide's document as JSON or YAML text, validated like the API."""

from __future__ import annotations

import json

import yaml
from django import forms
from rest_framework.exceptions import ValidationError

from policies.documents import to_document, validate_document


def document_errors(detail) -> list[str]:
    """DRF's nested error detail as readable lines ("rules: rule 0: ...")."""
    lines: list[str] = []

    def walk(node, prefix=""):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}{key}: ")
        elif isinstance(node, list):
            for item in node:
                walk(item, prefix)
        else:
            lines.append(f"{prefix}{node}")

    walk(detail)
    return lines


class PolicyDocumentForm(forms.Form):
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 28, "class": "mono", "spellcheck": "false"}),
        help_text="The policy document as JSON or YAML (the guide's shape).",
        max_length=100_000,
    )

    def __init__(self, *args, policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        if policy is not None and not self.is_bound:
            self.initial["document"] = json.dumps(to_document(policy), indent=2)

    def clean_document(self) -> dict:
        text = self.cleaned_data["document"]
        try:
            data = yaml.safe_load(text)  # YAML is a superset of JSON
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"not JSON or YAML: {exc}") from exc
        try:
            return validate_document(data)
        except ValidationError as exc:
            raise forms.ValidationError(document_errors(exc.detail)) from exc
