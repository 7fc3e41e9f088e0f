from __future__ import annotations

from rest_framework import serializers

from core.api.fields import (
    MAX_TEXT,
    DocumentationField,
    StrictInputSerializer,
    TagsField,
)
from registry.choices import RiskTier, ScanStatus
from registry.risk import validate_assessment

SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
URI_PATTERN = r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+\-]*$"


class RiskAssessmentField(serializers.JSONField):
    def to_internal_value(self, data):
        try:
            return validate_assessment(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


# ---- output -------------------------------------------------------------------------------


# ---- input --------------------------------------------------------------------------------


class ModelCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    risk_assessment = RiskAssessmentField(required=False)
    tags = TagsField(required=False, default=dict)


class ModelUpdateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, required=False)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    risk_assessment = RiskAssessmentField(required=False)
    tags = TagsField(required=False)


class VersionCreateInput(StrictInputSerializer):
    version = serializers.RegexField(
        VERSION_PATTERN,
        max_length=100,
        error_messages={
            "invalid": "use letters, digits and . _ + - (starting with a letter or digit)"
        },
    )
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")
    documentation = DocumentationField(required=False, default="")
    tags = TagsField(required=False, default=dict)


class VersionUpdateInput(StrictInputSerializer):
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, required=False)
    documentation = DocumentationField(required=False)
    tags = TagsField(required=False)


class SecurityScanInput(StrictInputSerializer):
    status = serializers.ChoiceField(choices=ScanStatus.choices)
    scanner = serializers.CharField(max_length=200, required=False, allow_blank=True)
    findings = serializers.JSONField(required=False, allow_null=True)
    scannedAt = serializers.DateTimeField(required=False)


class ArtifactCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=50)
    uri = serializers.RegexField(
        URI_PATTERN,
        max_length=2000,
        error_messages={"invalid": "must be a URI with a scheme, e.g. s3://bucket/model.onnx"},
    )
    sha256 = serializers.RegexField(
        SHA256_PATTERN, error_messages={"invalid": "must be 64 hexadecimal characters"}
    )
    security_scan = SecurityScanInput(required=False)


class ArtifactUploadInput(StrictInputSerializer):
    """multipart/form-data: bytes for the registry to hold. It hashes them itself; a `sha256`
    given is checked against that (400 when it differs, nothing stored)."""

    file = serializers.FileField(
        allow_empty_file=False, help_text="the artifact's bytes (at most ARTIFACT_MAX_BYTES)"
    )
    name = serializers.CharField(max_length=200)
    type = serializers.CharField(max_length=50)
    sha256 = serializers.RegexField(
        SHA256_PATTERN,
        required=False,
        error_messages={"invalid": "must be 64 hexadecimal characters"},
        help_text="optional: the SHA-256 you expect; the upload is refused when it differs",
    )

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        validated["upload"] = validated.pop("file")
        return validated


class ArtifactUpdateInput(ArtifactCreateInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
