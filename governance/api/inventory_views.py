"""The inventory at a point in time (`GET /api/v1/inventory/?at=`): parse `at`, call the domain
function, write its answer in the published shape."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.serializers import OutputSerializer
from governance.inventory import AT_FIELD, inventory_at, parse_at


class InventoryApprovalOutput(OutputSerializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()
    environment = serializers.CharField()
    cycle = serializers.IntegerField()
    decision = serializers.CharField()
    user = serializers.CharField()
    role = serializers.CharField()
    at = serializers.DateTimeField()


class InventoryEvaluationOutput(OutputSerializer):
    id = serializers.IntegerField()
    policy_id = serializers.CharField()
    policy_revision = serializers.IntegerField(allow_null=True)
    environment = serializers.CharField()
    enforcement = serializers.CharField()
    trigger = serializers.CharField()
    passed = serializers.BooleanField()
    excepted = serializers.BooleanField()
    evaluated_at = serializers.DateTimeField()


class InventoryExceptionApprovalOutput(OutputSerializer):
    role = serializers.CharField()
    user = serializers.CharField()
    at = serializers.DateTimeField()


class InventoryExceptionOutput(OutputSerializer):
    id = serializers.IntegerField()
    policy = serializers.CharField(source="policy_id")
    requested_by = serializers.CharField()
    activated_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    approvals = InventoryExceptionApprovalOutput(many=True)


class InventoryVersionOutput(OutputSerializer):
    id = serializers.IntegerField()
    version = serializers.CharField()
    state = serializers.CharField()
    since = serializers.DateTimeField()
    approvals = InventoryApprovalOutput(many=True)
    policy_evaluations = InventoryEvaluationOutput(many=True)
    active_exceptions = InventoryExceptionOutput(many=True)


class InventoryModelOutput(OutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    risk_tier = serializers.CharField()
    owner = serializers.CharField()
    versions = InventoryVersionOutput(many=True)


class InventoryAuditHeadOutput(OutputSerializer):
    seq = serializers.IntegerField()
    hash = serializers.CharField()
    timestamp = serializers.DateTimeField()


class InventoryOutput(OutputSerializer):
    at = serializers.DateTimeField()
    models = InventoryModelOutput(many=True)
    audit_head = InventoryAuditHeadOutput(allow_null=True)


class InventoryView(APIView):
    """Every model the caller may see as the record states it at `at` (default now): its risk
    tier and owner then, each version's state then (its last transition at or before `at`),
    the review decisions made by then, the policy evaluations in force (the latest per policy
    and environment, with the policy revision that judged) and the exceptions active at that
    instant; `auditHead` is the newest audit event at or before `at`. A model registered after
    `at` is absent."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                AT_FIELD,
                OpenApiTypes.DATETIME,
                description="ISO 8601 with a timezone (e.g. 2026-03-31T23:59:59Z); default "
                "now. A time without a timezone, one that does not parse, or one in the "
                "future is a 400 naming `at`.",
            )
        ],
        responses={
            200: InventoryOutput,
            400: OpenApiResponse(description="`at` unparseable, without a timezone or future"),
            403: OpenApiResponse(
                description="the caller holds no person's role (a Scanner account)"
            ),
        },
    )
    def get(self, request):
        at = parse_at(request.query_params.get(AT_FIELD))
        return Response(InventoryOutput(inventory_at(at, actor=request.user)).data)
