from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventOutput(serializers.ModelSerializer):
    eventType = serializers.CharField(source="event_type")
    userId = serializers.CharField(source="user_id")
    modelId = serializers.IntegerField(source="model_id")
    versionId = serializers.IntegerField(source="version_id")
    ipAddress = serializers.CharField(source="ip_address")
    userAgent = serializers.CharField(source="user_agent")
    sessionId = serializers.CharField(source="session_id")
    prevHash = serializers.CharField(source="prev_hash")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "timestamp",
            "eventType",
            "userId",
            "modelId",
            "versionId",
            "action",
            "details",
            "ipAddress",
            "userAgent",
            "sessionId",
            "prevHash",
            "hash",
        ]


class ChainVerdictOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    count = serializers.IntegerField()
    firstInvalid = serializers.IntegerField(required=False, help_text="id of the first bad event")
    reason = serializers.CharField(required=False)
    headHash = serializers.CharField(required=False)
