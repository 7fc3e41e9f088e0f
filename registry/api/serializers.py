from __future__ import annotations

from rest_framework import serializers

from core.api.fields import (
    MAX_TEXT,
    DocumentationField,
    StrictInputSerializer,
    TagsField,
    UsernameField,
)
from registry.choices import RiskTier, ScanStatus
from registry.models import Artifact, ModelVersion, RegisteredModel
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


class SecurityScanOutput(serializers.Serializer):
    status = serializers.CharField(source="scan_status")
    scanner = serializers.CharField(source="scan_scanner")
    findings = serializers.JSONField(source="scan_findings", allow_null=True)
    scannedAt = serializers.DateTimeField(source="scanned_at", allow_null=True)


class ArtifactOutput(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version_id")
    securityScan = SecurityScanOutput(source="*")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = Artifact
        fields = [
            "id",
            "version",
            "name",
            "type",
            "uri",
            "sha256",
            "securityScan",
            "createdAt",
            "updatedAt",
        ]


class ModelOutput(serializers.ModelSerializer):
    riskTier = serializers.CharField(source="risk_tier")
    riskTierReason = serializers.CharField(source="risk_tier_reason")
    riskAssessment = serializers.JSONField(source="risk_assessment", allow_null=True)
    owner = UsernameField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "description",
            "riskTier",
            "riskTierReason",
            "riskAssessment",
            "tags",
            "owner",
            "createdAt",
            "updatedAt",
        ]


class VersionOutput(serializers.ModelSerializer):
    model = serializers.IntegerField(source="model_id")
    modelName = serializers.CharField(source="model.name")
    riskTier = serializers.CharField(source="model.risk_tier")
    documentation = serializers.JSONField()
    artifacts = ArtifactOutput(many=True)
    createdBy = UsernameField(source="created_by")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "modelName",
            "riskTier",
            "version",
            "state",
            "description",
            "documentation",
            "tags",
            "artifacts",
            "createdBy",
            "createdAt",
            "updatedAt",
        ]


# ---- input --------------------------------------------------------------------------------


class ModelCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, default="")
    riskTier = serializers.ChoiceField(choices=RiskTier.choices, required=False, source="risk_tier")
    riskAssessment = RiskAssessmentField(required=False, source="risk_assessment")
    tags = TagsField(required=False, default=dict)


class ModelUpdateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=MAX_TEXT, allow_blank=True, required=False)
    riskTier = serializers.ChoiceField(choices=RiskTier.choices, required=False, source="risk_tier")
    riskAssessment = RiskAssessmentField(required=False, source="risk_assessment")
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
    securityScan = SecurityScanInput(required=False, source="security_scan")


class ArtifactUpdateInput(ArtifactCreateInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
