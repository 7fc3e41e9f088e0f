from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit import checkpoints as checkpoint_docs
from audit import signing
from audit.api.serializers import AuditEventOutput, ChainVerdictOutput, CheckpointListOutput
from audit.filtersets import AuditEventFilterSet
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import audit_checkpoints, audit_events, verify_audit_chain


def checkpoint_summary(checkpoint: AuditCheckpoint | None) -> dict | None:
    return None if checkpoint is None else checkpoint_docs.document(checkpoint)


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The audit trail, read-only: no method changes or deletes an event."""

    serializer_class = AuditEventOutput
    filterset_class = AuditEventFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return AuditEvent.objects.none()
        return audit_events(actor=self.request.user).order_by("seq")

    @extend_schema(responses=ChainVerdictOutput)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def verify(self, request):
        verdict = verify_audit_chain(actor=request.user)
        body = {"valid": verdict.valid, "count": verdict.count}
        if verdict.valid:
            body["headHash"] = verdict.head_hash
        else:
            body["firstInvalid"] = verdict.first_invalid
            body["reason"] = verdict.reason
        body["headSeq"] = verdict.head_seq
        body["checkpoints"] = verdict.checkpoints
        body["latestCheckpoint"] = checkpoint_summary(verdict.latest_checkpoint)
        if verdict.broken_checkpoint is not None:
            broken = verdict.broken_checkpoint
            body["brokenCheckpoint"] = {
                "number": broken.number,
                "seq": broken.seq,
                "signedAt": checkpoint_docs.document(broken)["signedAt"],
            }
        return Response(body)

    @extend_schema(responses=CheckpointListOutput)
    @action(detail=False, methods=["get"], filterset_class=None)
    def checkpoints(self, request):
        """The signed checkpoints, newest first, with the public key that checks them."""
        queryset = audit_checkpoints(actor=request.user).order_by("-number")
        key = signing.public_key()
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response([checkpoint_docs.document(c) for c in page])
        response.data = {
            "algorithm": signing.ALGORITHM,
            "keyId": signing.key_id(key),
            "publicKey": signing.public_pem(key),
            **response.data,
        }
        return response
