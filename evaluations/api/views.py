"""Evaluation endpoints: parse, call the service, answer. No rule lives here."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from evaluations import catalogue, selectors, services
from evaluations.api.serializers import (
    EvaluationCreateInput,
    EvaluationQueuedOutput,
    MonitoringBatchInput,
    MonitoringBatchOutput,
    MonitoringOutcomesInput,
    MonitoringOutcomesOutput,
    MonitoringOutput,
    SuiteOutput,
)
from evaluations.filtersets import AllEvaluationRunsFilterSet, EvaluationRunFilterSet
from evaluations.models import EvaluationRun
from evaluations.monitoring import selectors as monitoring_selectors
from evaluations.monitoring import services as monitoring
from evaluations.shapes import EvaluationRunOutput, EvaluationRunSummaryOutput
from governance.api.workflow_views import visible_version
from registry.api.views import validated

SUMMARY_DEFERRED = ("metrics", "notes", "thresholds")


class EvaluationSuiteListView(generics.ListAPIView):
    """The suites a run can use: what each needs and produces, and its default thresholds per
    risk tier."""

    serializer_class = SuiteOutput
    filter_backends: list = []

    def get_queryset(self):
        return catalogue.suite_documents()


class VersionEvaluationsView(generics.ListAPIView):
    """GET: the version's runs, newest first (filters `suite`, `status`).
    POST (multipart/form-data): queue a run; 202 `{"id", "status": "QUEUED"}`."""

    serializer_class = EvaluationRunSummaryOutput
    filterset_class = EvaluationRunFilterSet
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EvaluationRun.objects.none()
        version = visible_version(self.request, self.kwargs["pk"])
        services.check_may_read(version, actor=self.request.user)
        return selectors.runs_of_version(version).defer(*SUMMARY_DEFERRED)

    @extend_schema(
        request={"multipart/form-data": EvaluationCreateInput},
        responses={
            202: EvaluationQueuedOutput,
            400: OpenApiResponse(description="invalid input, by field"),
            403: OpenApiResponse(description="only the model's owner or MRC runs evaluations"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
            409: OpenApiResponse(description="the version is RETIRED"),
            415: OpenApiResponse(description="the body is not multipart/form-data"),
        },
    )
    def post(self, request, pk: int):
        version = visible_version(request, pk)
        data = validated(EvaluationCreateInput, request)
        run = services.request_evaluation(version, actor=request.user, **data)
        return Response(
            {"id": run.pk, "status": run.status},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": reverse("api-evaluation-detail", args=[run.pk])},
        )


class EvaluationListView(generics.ListAPIView):
    """Every run the caller may read (filters `version`, `model`, `suite`, `status`)."""

    serializer_class = EvaluationRunSummaryOutput
    filterset_class = AllEvaluationRunsFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EvaluationRun.objects.none()
        services.check_may_read(actor=self.request.user)
        return (
            selectors.readable_runs(self.request.user)
            .select_related("requested_by")
            .defer(*SUMMARY_DEFERRED)
            .order_by("-created_at", "-id")
        )


class EvaluationDetailView(generics.RetrieveAPIView):
    serializer_class = EvaluationRunOutput

    def get_object(self):
        run = get_object_or_404(
            EvaluationRun.objects.visible_to(self.request.user).select_related(
                "version__model", "requested_by"
            ),
            pk=self.kwargs["pk"],
        )
        services.check_may_read(run.version, actor=self.request.user)
        return run


# ---- monitoring deployed versions -------------------------------------------------------------


def batch_document(batch) -> dict:
    return {
        "id": batch.pk,
        "batchId": batch.batch_id,
        "rows": batch.rows,
        "status": batch.status,
        "receivedAt": batch.received_at.isoformat().replace("+00:00", "Z"),
        "window": batch.window_start.isoformat(),
    }


class VersionMonitoringView(APIView):
    """The version's monitoring windows (UTC days by batch arrival), newest first."""

    @extend_schema(
        responses={
            200: MonitoringOutput,
            403: OpenApiResponse(description="only its owner, SRE and the oversight roles"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
        }
    )
    def get(self, request, pk: int):
        version = visible_version(request, pk)
        monitoring.check_may_read(version, actor=request.user)
        return Response(monitoring_selectors.monitoring_document(version.pk))


class MonitoringBatchView(APIView):
    """POST (multipart/form-data) a batch of the version's production traffic: 202 with the
    new batch, 200 with the first one when its batchId was sent before."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": MonitoringBatchInput},
        responses={
            200: MonitoringBatchOutput,
            202: MonitoringBatchOutput,
            400: OpenApiResponse(
                description="a missing, extra or mistyped column, a duplicate record id, by field"
            ),
            403: OpenApiResponse(description="only SRE, or the model's owner"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
            409: OpenApiResponse(
                description="the version is not in STAGING or PRODUCTION, or has no finished "
                "evaluation run to compare with"
            ),
            415: OpenApiResponse(description="the body is not multipart/form-data"),
        },
    )
    def post(self, request, pk: int):
        version = visible_version(request, pk)
        data = validated(MonitoringBatchInput, request)
        recorded = monitoring.record_batch(
            version, actor=request.user, file=data["file"], batch_id=data["batch_id"]
        )
        return Response(
            batch_document(recorded.batch),
            status=status.HTTP_202_ACCEPTED if recorded.created else status.HTTP_200_OK,
        )


class MonitoringOutcomesView(APIView):
    """POST (multipart/form-data) outcomes (recordId, y_true) for records of the version's
    batches; their windows are computed again."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": MonitoringOutcomesInput},
        responses={
            202: MonitoringOutcomesOutput,
            400: OpenApiResponse(
                description="unknown record ids, outcomes sent twice, bad columns, by field"
            ),
            403: OpenApiResponse(description="only SRE, or the model's owner"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
            409: OpenApiResponse(description="the version is not in STAGING or PRODUCTION"),
            415: OpenApiResponse(description="the body is not multipart/form-data"),
        },
    )
    def post(self, request, pk: int):
        version = visible_version(request, pk)
        data = validated(MonitoringOutcomesInput, request)
        created = monitoring.record_outcomes(version, actor=request.user, file=data["file"])
        return Response(
            {"rows": sum(o.rows for o in created), "batches": [o.batch_id for o in created]},
            status=status.HTTP_202_ACCEPTED,
        )
