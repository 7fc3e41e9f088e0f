"""The compliance summary endpoint."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from policies.compliance import read_compliance_summary


class ComplianceSummaryView(APIView):
    """Compliance score, active violations (by severity), risk distribution across models and
    the daily trend, with the score's definition. Every role reads it."""

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="{complianceScore, activeViolations, riskDistribution, trend, "
                "violationsBySeverity, definition, ...}"
            )
        }
    )
    def get(self, request):
        return Response(read_compliance_summary(actor=request.user))
