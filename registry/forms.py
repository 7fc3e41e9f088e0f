"""Page forms. They only shape input; the services decide."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from core.api.fields import MAX_DOCUMENTATION, MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS, MAX_TEXT
from registry.api.serializers import SHA256_PATTERN, URI_PATTERN, VERSION_PATTERN
from registry.choices import (
    MODEL_CARD_SECTIONS,
    RISK_FACTOR_LEVELS,
    RISK_FACTORS,
    RiskTier,
)


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


def _lines(text: str) -> str:
    """Browsers send a text box's line breaks as CRLF; store them as the API does, LF."""
    return text.replace("\r\n", "\n")


class ModelCardFields:
    """One text box per model card section (registry.choices.MODEL_CARD_SECTIONS, in its
    order), so pages save documentation as the object of sections the policies read."""

    def add_model_card_fields(self, sections: dict | None = None) -> None:
        for key, section in MODEL_CARD_SECTIONS.items():
            self.fields[key] = forms.CharField(
                label=section["label"],
                help_text=section["help"],
                required=False,
                max_length=MAX_DOCUMENTATION,
                initial=(sections or {}).get(key, ""),
                widget=forms.Textarea(attrs={"rows": 4}),
            )

    @property
    def model_card_fields(self):
        return [self[key] for key in MODEL_CARD_SECTIONS]

    @property
    def other_fields(self):
        return [field for field in self if field.name not in MODEL_CARD_SECTIONS]

    def model_card(self) -> dict[str, str]:
        """The sections written, blank ones left out (a blank section is a missing one)."""
        return {
            key: text
            for key in MODEL_CARD_SECTIONS
            if (text := _lines(self.cleaned_data.get(key) or "").strip())
        }


class VersionForm(ModelCardFields, forms.Form):
    version = forms.CharField(
        max_length=100,
        validators=[RegexValidator(VERSION_PATTERN, "use letters, digits and . _ + -")],
        help_text="e.g. 1.0.0",
    )
    description = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = TagsFormField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_model_card_fields()

    @property
    def documentation(self) -> dict[str, str]:
        return self.model_card()


class DocumentationForm(ModelCardFields, forms.Form):
    """A version's description, tags and model card.

    Documentation stored as Markdown text (older versions, or set through the API) is shown
    in a free text box beside the empty sections: policies read only the sections, so the
    owner moves the text into them. Saving both is refused rather than dropping either; with
    every section blank the text is kept as it is. Sections other than the model card's
    (possible through the API) are kept unchanged.
    """

    description = forms.CharField(
        max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = TagsFormField()

    def __init__(self, *args, documentation: str | dict = "", frozen: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.stored = documentation
        sections = documentation if isinstance(documentation, dict) else {}
        self.add_model_card_fields(sections)
        self.other_sections = {k: v for k, v in sections.items() if k not in MODEL_CARD_SECTIONS}
        if isinstance(documentation, str) and documentation.strip():
            self.fields["free_text"] = forms.CharField(
                label="Free text (not read by policies)",
                required=False,
                max_length=MAX_DOCUMENTATION,
                strip=False,
                initial=documentation,
                widget=forms.Textarea(attrs={"rows": 10}),
                help_text="Kept as it is while every section below is blank.",
            )
        if frozen:
            for field in self.fields.values():
                field.disabled = True

    @property
    def has_free_text(self) -> bool:
        return "free_text" in self.fields

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("free_text") or "").strip()
        if text and self.model_card():
            raise forms.ValidationError(
                "The documentation is either free text or model card sections: move the free "
                "text into the sections and clear it, or leave every section blank."
            )
        return cleaned

    @property
    def documentation(self) -> str | dict[str, str]:
        sections = self.model_card()
        if self.has_free_text and not sections:
            text = _lines(self.cleaned_data.get("free_text") or "")
            # Unchanged text (but for its line breaks) stays exactly as stored.
            return self.stored if text == _lines(self.stored) else text
        stored = self.stored if isinstance(self.stored, dict) else {}
        for key, text in sections.items():
            if isinstance(stored.get(key), str) and _lines(stored[key]).strip() == text:
                sections[key] = stored[key]  # unchanged but for surrounding blanks
        return {**self.other_sections, **sections}


class ArtifactForm(forms.Form):
    """An artifact: the file itself, which the registry then holds, hashes and scans; or a
    reference to bytes held elsewhere (a URI and their SHA-256). No scan field: a scan result is
    never the owner's to give."""

    name = forms.CharField(max_length=200, help_text="e.g. credit-scorer.onnx")
    type = forms.CharField(max_length=50, initial="model", help_text="model, dataset, code, …")
    file = forms.FileField(
        required=False,
        help_text="The registry stores the bytes, computes their SHA-256 and scans them; an ONNX "
        "model can then be run by the registry's evaluations.",
    )
    uri = forms.CharField(
        label="Or a URI",
        required=False,
        max_length=2000,
        validators=[RegexValidator(URI_PATTERN, "a URI with a scheme, e.g. s3://bucket/key")],
        help_text="Only for bytes the registry does not hold: it will say so, and cannot scan or "
        "run them.",
    )
    sha256 = forms.CharField(
        label="SHA-256",
        required=False,
        validators=[RegexValidator(SHA256_PATTERN, "64 hexadecimal characters")],
        help_text="Required with a URI; with a file, optional: the upload is refused if the "
        "bytes have another digest.",
    )

    def clean(self):
        data = super().clean()
        if data.get("file") and data.get("uri"):
            raise forms.ValidationError("Upload the file or give a URI, not both.")
        if not data.get("file") and not data.get("uri"):
            raise forms.ValidationError("Upload the file, or give a URI and SHA-256.")
        if data.get("uri") and not data.get("sha256"):
            self.add_error("sha256", "A reference needs the SHA-256 of the bytes it names.")
        return data


class RiskPreviewForm(forms.Form):
    """The questionnaire's factors, for previewing the derived tier as they change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for factor in RISK_FACTORS:
            self.fields[factor] = forms.ChoiceField(choices=RiskTier.choices)
