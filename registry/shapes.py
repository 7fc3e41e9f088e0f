"""The published shapes of models, versions and artifacts: the API writes them, and so do the
evidence bundles (audit/evidence.py), so an object has one shape wherever it leaves the registry."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import (
    UsernameField,
)
from core.api.serializers import ModelOutputSerializer, OutputSerializer, absolute_url
from registry.choices import ScanSeverity, ScanSource
from registry.models import Artifact, ModelVersion, RegisteredModel


class ScanFindingOutput(OutputSerializer):
    severity = serializers.ChoiceField(choices=ScanSeverity.choices)
    code = serializers.CharField()
    message = serializers.CharField()


class SecurityScanOutput(OutputSerializer):
    status = serializers.CharField(source="scan_status")
    scanner = serializers.CharField(source="scan_scanner", help_text="name and version")
    findings = serializers.JSONField(
        source="scan_findings",
        allow_null=True,
        help_text="[{severity LOW|MEDIUM|HIGH|CRITICAL, code, message}] from the registry's "
        "scanner; as recorded for other sources",
    )
    source = serializers.SerializerMethodField(
        help_text="REGISTRY, SCANNER or SECURITY_ARCHITECT; null while PENDING or for a result "
        "recorded before sources were kept"
    )
    scanned_by = serializers.SerializerMethodField(help_text="a username, or system")
    scanned_at = serializers.DateTimeField(allow_null=True)

    def get_source(self, artifact) -> str | None:
        return artifact.scan_source or None

    def get_scanned_by(self, artifact) -> str | None:
        if artifact.scan_source == ScanSource.REGISTRY:
            return "system"
        return artifact.scanned_by.get_username() if artifact.scanned_by_id else None


class TensorOutput(OutputSerializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="e.g. tensor(float)")
    shape = serializers.ListField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text="per dimension: a size, a symbolic name, or null when unknown",
    )


class SignatureOutput(OutputSerializer):
    inputs = TensorOutput(many=True)
    outputs = TensorOutput(many=True)


class ArtifactOutput(ModelOutputSerializer):
    version = serializers.IntegerField(source="version_id")
    held = serializers.BooleanField(
        help_text="true: the registry holds the bytes; false: a reference (uri) it does not hold"
    )
    size = serializers.IntegerField(allow_null=True, help_text="bytes held; null for a reference")
    download_url = serializers.SerializerMethodField()
    signature = SignatureOutput(
        allow_null=True, help_text="an executable (ONNX) model's inputs and outputs"
    )
    security_scan = SecurityScanOutput(source="*")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        model = Artifact
        fields = [
            "id",
            "version",
            "name",
            "type",
            "uri",
            "sha256",
            "held",
            "size",
            "format",
            "download_url",
            "signature",
            "security_scan",
            "created_at",
            "updated_at",
        ]

    def get_download_url(self, artifact) -> str | None:
        return absolute_url(self, "artifact-download", artifact.pk) if artifact.held else None


class ModelOutput(ModelOutputSerializer):
    risk_tier = serializers.CharField()
    risk_tier_reason = serializers.CharField()
    risk_assessment = serializers.JSONField(allow_null=True)
    owner = UsernameField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        model = RegisteredModel
        fields = [
            "id",
            "name",
            "description",
            "risk_tier",
            "risk_tier_reason",
            "risk_assessment",
            "tags",
            "owner",
            "created_at",
            "updated_at",
        ]


class VersionOutput(ModelOutputSerializer):
    model = serializers.IntegerField(source="model_id")
    model_name = serializers.CharField(source="model.name")
    risk_tier = serializers.CharField(source="model.risk_tier")
    documentation = serializers.JSONField()
    artifacts = ArtifactOutput(many=True)
    created_by = UsernameField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "model",
            "model_name",
            "risk_tier",
            "version",
            "state",
            "description",
            "documentation",
            "tags",
            "artifacts",
            "created_by",
            "created_at",
            "updated_at",
        ]


class VersionRecordOutput(VersionOutput):
    """The version as an evidence bundle records it: the API's shape, plus who submitted it,
    who asked for production and which review cycle it is in."""

    submitted_by = UsernameField(allow_null=True)
    production_requested_by = UsernameField(allow_null=True)

    class Meta(VersionOutput.Meta):
        fields = [
            *VersionOutput.Meta.fields,
            "submitted_by",
            "production_requested_by",
            "review_cycle",
        ]
