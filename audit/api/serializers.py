from rest_framework import serializers

from audit.models import AuditEvent
from core.api.serializers import ModelOutputSerializer


class AuditEventOutput(ModelOutputSerializer):
    # The schema of AuditEvent.document(), which writes the response: the API, the exports and
    # the evidence bundles publish one shape (tests/audit/test_event_document.py holds them
    # together).
    event_type = serializers.CharField()
    user_id = serializers.CharField()
    # Null for events about no model or version, and when no client address was known.
    model_id = serializers.IntegerField(allow_null=True)
    version_id = serializers.IntegerField(allow_null=True)
    ip_address = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    session_id = serializers.CharField()
    request_id = serializers.CharField(
        help_text="The request or worker job the event came from (X-Request-ID); hashed when "
        "not empty"
    )
    prev_hash = serializers.CharField()

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "seq",
            "timestamp",
            "event_type",
            "user_id",
            "model_id",
            "version_id",
            "action",
            "details",
            "ip_address",
            "user_agent",
            "session_id",
            "request_id",
            "prev_hash",
            "hash",
        ]
        extra_kwargs = {
            "timestamp": {
                "help_text": "UTC with microseconds (2026-03-01T12:00:00.000000+00:00): the "
                "form the hash covers, so a client can recompute `hash` from `prevHash`"
            }
        }

    def to_representation(self, instance: AuditEvent) -> dict:
        return instance.document()


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
