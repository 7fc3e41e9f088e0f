"""The published shapes of models, versions and artifacts: the API writes them, and so do the
evidence bundles (audit/evidence.py), so an object has one shape wherever it leaves the registry."""

from __future__ import annotations

from rest_framework import serializers

from core.api.fields import (
    UsernameField,
)
from core.api.serializers import ModelOutputSerializer, OutputSerializer
from registry.models import Artifact, ModelVersion, RegisteredModel


class SecurityScanOutput(OutputSerializer):
    status = serializers.CharField(source="scan_status")
    scanner = serializers.CharField(source="scan_scanner")
    findings = serializers.JSONField(source="scan_findings", allow_null=True)
    scanned_at = serializers.DateTimeField(allow_null=True)


class ArtifactOutput(ModelOutputSerializer):
    version = serializers.IntegerField(source="version_id")
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
            "security_scan",
            "created_at",
            "updated_at",
        ]


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
