"""Workflow endpoints: version actions, transitions, tier change requests, notifications and
the approval dashboard. Parse, call the domain function, answer."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import dashboard, promotion, tier_changes
from governance.api.workflow_serializers import ActionInput, ApproveInput, TierChangeInput
from governance.models import Notification, RiskTierChangeRequest, StateTransition
from governance.notifications import mark_read
from governance.shapes import NotificationOutput, TierChangeOutput, TransitionOutput
from policies.shapes import gate_document
from registry.api.views import validated, versions_with_artifacts
from registry.models import ModelVersion, RegisteredModel
from registry.shapes import VersionOutput


def visible_version(request, pk: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model__owner"), pk=pk
    )


def _version_body(result: promotion.StepResult) -> dict:
    version = versions_with_artifacts(ModelVersion.objects).get(pk=result.version.pk)
    body = dict(VersionOutput(version).data)
    if result.gate is not None:
        body["policyEvaluation"] = gate_document(result.gate)
    return body


class VersionActionView(APIView):
    service = None
    input_class = ActionInput
    description = ""

    def post(self, request, pk: int):
        version = visible_version(request, pk)
        data = validated(self.input_class, request)
        result = type(self).service(version, actor=request.user, **data)
        body = _version_body(result)
        if result.blocked and result.version.state == promotion.S.STAGING:
            failed = ", ".join(f["policyId"] for f in result.gate.failures)
            return Response(
                {
                    "detail": f"production policies failed: {failed}",
                    "state": result.version.state,
                    "failures": result.gate.failures,
                    "policyEvaluation": body["policyEvaluation"],
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(body)


def action_view(name: str, service, input_class=ActionInput, summary: str = ""):
    responses = {
        200: VersionOutput,
        403: OpenApiResponse(description="a role or separation-of-duties rule refuses"),
        404: OpenApiResponse(description="no such version, or not visible to you"),
        409: OpenApiResponse(description="not possible in the version's current state"),
    }

    # A function of its own per view: the schema decorator annotates the function it is given.
    def post(self, request, pk: int):
        return VersionActionView.post(self, request, pk)

    schema = extend_schema(
        request=input_class, responses=responses, summary=summary, operation_id=f"version_{name}"
    )
    return type(
        f"{name.title().replace('-', '')}VersionView",
        (VersionActionView,),
        {"service": staticmethod(service), "input_class": input_class, "post": schema(post)},
    )


SubmitView = action_view(
    "submit", promotion.submit_version, summary="Submit for approval (runs staging policies)"
)
ApproveView = action_view(
    "approve", promotion.approve_version, ApproveInput, summary="Approve at the current review"
)
RejectView = action_view("reject", promotion.reject_version, summary="Reject at the current review")
DeployView = action_view("deploy", promotion.deploy_version, summary="Deploy (SRE)")
RequestProductionView = action_view(
    "request-production",
    promotion.request_production,
    summary="Request production (runs production policies; 409 with failures)",
)
RetireView = action_view("retire", promotion.retire_version, summary="Retire the version")


class TransitionListView(ListAPIView):
    """Every state change of the version, oldest first (`user` is `system` for automatic steps)."""

    serializer_class = TransitionOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return StateTransition.objects.none()
        version = visible_version(self.request, self.kwargs["pk"])
        return version.transitions.select_related("user").order_by("timestamp", "id")


class RiskTierChangeViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TierChangeOutput

    def get_queryset(self):
        return (
            RiskTierChangeRequest.objects.visible_to(self.request.user)
            .select_related("model__owner", "requested_by")
            .prefetch_related("decisions__user")
        )

    def _answer(self, request_obj):
        return Response(TierChangeOutput(self.get_queryset().get(pk=request_obj.pk)).data)

    @extend_schema(request=ActionInput, responses=TierChangeOutput)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        data = validated(ActionInput, request)
        decided = tier_changes.approve_tier_change(self.get_object(), actor=request.user, **data)
        return self._answer(decided)

    @extend_schema(request=ActionInput, responses=TierChangeOutput)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = validated(ActionInput, request)
        decided = tier_changes.reject_tier_change(self.get_object(), actor=request.user, **data)
        return self._answer(decided)


class ModelTierChangesView(APIView):
    """Open a risk tier change request for a model, or list its requests."""

    @extend_schema(responses=TierChangeOutput(many=True))
    def get(self, request, pk: int):
        model = get_object_or_404(RegisteredModel.objects.visible_to(request.user), pk=pk)
        requests = model.tier_change_requests.select_related(
            "model", "requested_by"
        ).prefetch_related("decisions__user")
        return Response(TierChangeOutput(requests, many=True).data)

    @extend_schema(request=TierChangeInput, responses={201: TierChangeOutput})
    def post(self, request, pk: int):
        model = get_object_or_404(RegisteredModel.objects.visible_to(request.user), pk=pk)
        data = validated(TierChangeInput, request)
        created = tier_changes.request_tier_change(model, actor=request.user, **data)
        return Response(TierChangeOutput(created).data, status=status.HTTP_201_CREATED)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Your in-app notifications, newest first (`?unread=true` for the unread ones)."""

    serializer_class = NotificationOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        queryset = Notification.objects.visible_to(self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.unread()
        return queryset

    @extend_schema(request=None, responses=NotificationOutput)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        # DRF's lookup, like get_object(): an id that is not a number is a 404, where Django's
        # get_object_or_404 raises ValueError (a 500).
        notification = generics.get_object_or_404(
            Notification.objects.visible_to(request.user), pk=pk
        )
        if mark_read(request.user, ids=[notification.pk]):
            notification.refresh_from_db(fields=["read_at"])
        return Response(NotificationOutput(notification).data)

    @extend_schema(request=None, responses={200: OpenApiResponse(description="{'marked': n}")})
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        marked = mark_read(request.user)
        return Response({"marked": marked})


class ApprovalDashboardView(APIView):
    """What waits for you (reviews, deployments, policy exceptions, risk tier changes), your
    open requests, recent decisions and review metrics."""

    @extend_schema(
        responses={
            200: OpenApiResponse(
                description="{pending: [...versions waiting for your review], "
                "readyToDeploy: [...versions APPROVED_STAGING / APPROVED_PRODUCTION you may "
                "deploy (SRE), oldest first, each with waitingSince], "
                "pendingExceptions: [{id, policy, version, modelName, versionLabel, riskTier, "
                "requestedBy, yourRole, awaiting, createdAt}], "
                "pendingTierChanges: [{id, model, modelName, fromTier, requestedTier, "
                "requestedBy, yourRole, awaiting, createdAt}], "
                "myRequests: [...your submissions still on their way], recentDecisions: [...], "
                "metrics: {decisionsByStage, timeInStage, approvalRate, approved, rejected}}"
            )
        }
    )
    def get(self, request):
        return Response(dashboard.dashboard_document(request.user))
