from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from audit.api.serializers import AuditEventOutput, ChainVerdictOutput
from audit.filtersets import AuditEventFilterSet
from audit.models import AuditEvent
from audit.selectors import audit_events, verify_audit_chain


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
        return Response(body)
