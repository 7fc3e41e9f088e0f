"""Exceptions and violations endpoints: parse, call the domain function, answer."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.errors import Invalid
from policies import waivers
from policies.api.waiver_serializers import (
    DecisionInput,
    ExceptionRequestInput,
    ExceptionReviewOutput,
    ExceptionWithReviewsOutput,
    ReviewInput,
)
from policies.filtersets import ExceptionFilterSet, ViolationFilterSet
from policies.models import (
    ExceptionApproval,
    ExceptionReview,
    Policy,
    PolicyException,
    Violation,
)
from policies.shapes import ViolationOutput
from registry.api.views import validated
from registry.models import ModelVersion

DECISION_RESPONSES = {
    200: ExceptionWithReviewsOutput,
    403: OpenApiResponse(description="a role or separation-of-duties rule refuses"),
    404: OpenApiResponse(description="no such exception, or not visible to you"),
    409: OpenApiResponse(description="not possible in the exception's current status"),
}


def exceptions_for(user):
    return (
        PolicyException.objects.visible_to(user)
        .select_related("policy", "version__model", "requested_by", "ended_by")
        .prefetch_related(
            Prefetch("approvals", queryset=ExceptionApproval.objects.select_related("user")),
            Prefetch("reviews", queryset=ExceptionReview.objects.select_related("reviewer")),
        )
        .order_by("-created_at", "-id")
    )


class ExceptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Policy exceptions (the guide's request form), their approvals and their status."""

    serializer_class = ExceptionWithReviewsOutput
    filterset_class = ExceptionFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PolicyException.objects.none()
        return exceptions_for(self.request.user)

    def _answer(self, exception, code=status.HTTP_200_OK):
        return Response(
            ExceptionWithReviewsOutput(self.get_queryset().get(pk=exception.pk)).data, status=code
        )

    @extend_schema(
        request=ExceptionRequestInput,
        responses={
            201: ExceptionWithReviewsOutput,
            400: OpenApiResponse(description="policy allows no exceptions, duration too long…"),
            403: OpenApiResponse(description="only the owner of the version's model requests"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
            409: OpenApiResponse(description="an exception for this pair is already open"),
        },
    )
    def create(self, request):
        data = dict(validated(ExceptionRequestInput, request))
        version = get_object_or_404(
            ModelVersion.objects.visible_to(request.user).select_related("model__owner"),
            pk=data.pop("version"),
        )
        policy = Policy.objects.filter(policy_id=data.pop("policy")).first()
        if policy is None:
            raise Invalid("no policy with this policyId", field="policy")
        created = waivers.request_exception(
            actor=request.user, policy=policy, version=version, **data
        )
        return self._answer(created, status.HTTP_201_CREATED)

    def _decide(self, request, name: str):
        data = validated(DecisionInput, request)
        decided = waivers.DECISIONS[name](self.get_object(), actor=request.user, **data)
        return self._answer(decided)

    @extend_schema(request=DecisionInput, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request, pk=None):
        """Approve in the role the exception still needs (by its model's risk tier)."""
        return self._decide(request, "approve")

    @extend_schema(request=DecisionInput, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        return self._decide(request, "reject")

    @extend_schema(request=DecisionInput, responses=DECISION_RESPONSES)
    @action(detail=True, methods=["post"], filterset_class=None)
    def revoke(self, request, pk=None):
        """MRC withdraws a requested or active exception."""
        return self._decide(request, "revoke")

    @extend_schema(
        request=ReviewInput,
        responses={
            201: ExceptionReviewOutput,
            400: OpenApiResponse(description="notes missing, progress inconsistent…"),
            403: OpenApiResponse(description="not an approver role of this exception, or barred"),
            404: OpenApiResponse(description="no such exception, or not visible to you"),
            409: OpenApiResponse(description="the exception is not ACTIVE"),
        },
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def reviews(self, request, pk=None):
        """Record a periodic review of an ACTIVE exception: notes and the remediation's status
        and percentage; the next review falls due by the model's tier."""
        exception = self.get_object()  # 404 before anything is said about the input
        data = validated(ReviewInput, request)
        review = waivers.record_review(exception, actor=request.user, **data)
        return Response(ExceptionReviewOutput(review).data, status=status.HTTP_201_CREATED)


class ViolationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Policy violations found by continuous monitoring (filters status, severity, policy,
    version), newest first."""

    serializer_class = ViolationOutput
    filterset_class = ViolationFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Violation.objects.none()
        return (
            Violation.objects.visible_to(self.request.user)
            .select_related("policy", "version")
            .order_by("-first_seen", "-id")
        )
