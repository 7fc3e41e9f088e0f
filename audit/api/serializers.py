from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventOutput(serializers.ModelSerializer):
    eventType = serializers.CharField(source="event_type")
    userId = serializers.CharField(source="user_id")
    # Null for events about no model or version, and when no client address was known.
    modelId = serializers.IntegerField(source="model_id", allow_null=True)
    versionId = serializers.IntegerField(source="version_id", allow_null=True)
    ipAddress = serializers.CharField(source="ip_address", allow_null=True)
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


class CheckpointOutput(serializers.Serializer):
    format = serializers.CharField()
    algorithm = serializers.CharField()
    number = serializers.IntegerField()
    seq = serializers.IntegerField(help_text="the event whose hash is signed")
    headHash = serializers.CharField()
    signedAt = serializers.DateTimeField()
    keyId = serializers.CharField(help_text="SHA-256 of the raw Ed25519 public key, hex")
    trigger = serializers.CharField()
    prevSignature = serializers.CharField(help_text="the previous checkpoint's signature")
    signature = serializers.CharField(help_text="base64 Ed25519 signature")


class BrokenCheckpointOutput(serializers.Serializer):
    number = serializers.IntegerField()
    seq = serializers.IntegerField()
    signedAt = serializers.DateTimeField()


class CheckpointListOutput(serializers.Serializer):
    algorithm = serializers.CharField()
    keyId = serializers.CharField()
    publicKey = serializers.CharField(help_text="PEM SubjectPublicKeyInfo")
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = CheckpointOutput(many=True)


class ChainVerdictOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    count = serializers.IntegerField()
    firstInvalid = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="id of the first bad event (null when a checkpoint, not an event, is broken)",
    )
    reason = serializers.CharField(required=False)
    headHash = serializers.CharField(required=False)
    headSeq = serializers.IntegerField(help_text="the head verified up to")
    checkpoints = serializers.IntegerField(help_text="signed checkpoints checked")
    latestCheckpoint = CheckpointOutput(allow_null=True)
    brokenCheckpoint = BrokenCheckpointOutput(
        required=False, help_text="the checkpoint the chain no longer matches"
    )
