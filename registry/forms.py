"""Page forms. They only shape input; the services decide."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from core.api.fields import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS, MAX_TEXT
from registry.api.serializers import SHA256_PATTERN, URI_PATTERN, VERSION_PATTERN
from registry.choices import RISK_FACTOR_LEVELS, RISK_FACTORS, RiskTier, ScanStatus


class TagsFormField(forms.CharField):
    """Tags typed one per line as key=value."""

    widget = forms.Textarea(attrs={"rows": 3, "placeholder": "team=credit-risk\nregion=eu"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "One per line, as key=value.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return "\n".join(f"{key}={item}" for key, item in value.items())
        return value

    def clean(self, value):
        text = super().clean(value) or ""
        tags: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, item = line.partition("=")
            key, item = key.strip(), item.strip()
            if not sep or not key:
                raise forms.ValidationError(f"line {number}: write key=value")
            if len(key) > MAX_TAG_KEY or len(item) > MAX_TAG_VALUE:
                raise forms.ValidationError(f"line {number}: key or value too long")
            tags[key] = item
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"at most {MAX_TAGS} tags")
        return tags


class RegisterModelForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = TagsFormField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for factor, label in RISK_FACTORS.items():
            self.fields[factor] = forms.ChoiceField(
                label=label,
                choices=[("", "Choose…")]
                + [
                    (level, f"{level} — {meaning}")
                    for level, meaning in RISK_FACTOR_LEVELS[factor].items()
                ],
            )

    @property
    def risk_fields(self):
        return [self[factor] for factor in RISK_FACTORS]

    @property
    def assessment(self) -> dict[str, str]:
        return {factor: self.cleaned_data[factor] for factor in RISK_FACTORS}


class VersionForm(forms.Form):
    version = forms.CharField(
        max_length=100,
        validators=[RegexValidator(VERSION_PATTERN, "use letters, digits and . _ + -")],
        help_text="e.g. 1.0.0",
    )
    description = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    documentation = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Intended use, training data, evaluation, limitations, monitoring (plain "
        "text; shown as written).",
    )
    tags = TagsFormField()


class DocumentationForm(forms.Form):
    description = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    documentation = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 14}))
    tags = TagsFormField()


class ArtifactForm(forms.Form):
    name = forms.CharField(max_length=200)
    type = forms.CharField(max_length=50, initial="model", help_text="model, dataset, code, …")
    uri = forms.CharField(
        label="URI",
        max_length=2000,
        validators=[RegexValidator(URI_PATTERN, "a URI with a scheme, e.g. s3://bucket/key")],
    )
    sha256 = forms.CharField(
        label="SHA-256",
        validators=[RegexValidator(SHA256_PATTERN, "64 hexadecimal characters")],
    )
    scan_status = forms.ChoiceField(
        label="Security scan", choices=ScanStatus.choices, initial=ScanStatus.PENDING
    )
    scan_scanner = forms.CharField(label="Scanner", max_length=200, required=False)

    @property
    def security_scan(self) -> dict:
        return {
            "status": self.cleaned_data["scan_status"],
            "scanner": self.cleaned_data["scan_scanner"],
        }


class RiskPreviewForm(forms.Form):
    """The questionnaire's factors, for previewing the derived tier as they change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for factor in RISK_FACTORS:
            self.fields[factor] = forms.ChoiceField(choices=RiskTier.choices)
