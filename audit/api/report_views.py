"""Reports, evidence bundles and the streaming audit export. Parse, call the domain, answer."""

from __future__ import annotations

import django_filters
from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.evidence import export_evidence_bundle
from audit.exports import streaming_export
from audit.filtersets import AuditEventFilterSet
from audit.models import Report, ReportStatus
from audit.reports import services as report_services
from audit.selectors import audit_events, export_audit_events
from core.api.fields import StrictInputSerializer
from core.api.negotiation import FirstRendererNegotiation
from core.api.serializers import ModelOutputSerializer, absolute_url
from governance.api.workflow_views import visible_version

# --------------------------------------------------------------------------------------------
# Evidence bundle
# --------------------------------------------------------------------------------------------


class EvidenceBundleView(APIView):
    """A version's evidence bundle (zip): manifest.json with the SHA-256 of every other file,
    a PDF summary, documentation, review decisions, transitions, evaluation results, policy
    evidence and the audit trail excerpt. Readers of the version may export it (read-all
    roles and the model's owner); the export is audited."""

    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            403: OpenApiResponse(description="your role may not export evidence"),
            404: OpenApiResponse(description="no such version, or not visible to you"),
            409: OpenApiResponse(
                description="the audit chain cannot be sealed here (a broken chain, or this "
                "host still holds a retired signing key): no bundle is made"
            ),
        },
        summary="Download the version's evidence bundle",
    )
    def get(self, request, pk: int):
        version = visible_version(request, pk)
        bundle = export_evidence_bundle(version, actor=request.user)
        return bundle_response(bundle)


def bundle_response(bundle) -> HttpResponse:
    response = HttpResponse(bundle.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    response["X-Manifest-SHA256"] = bundle.manifest_sha256
    response["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


class ReportInput(StrictInputSerializer):
    kind = serializers.ChoiceField(choices=report_services.ReportKind.choices)
    period = serializers.CharField(max_length=20)

    def validate(self, attrs):
        try:
            attrs["parsed_period"] = report_services.parse_period(attrs["kind"], attrs["period"])
        except report_services.PeriodError as exc:
            raise serializers.ValidationError({"period": [str(exc)]}) from exc
        return attrs


class ReportOutput(ModelOutputSerializer):
    # A plain string here: the request's enum is the one component that names the kinds (a
    # second would collide with the notifications' `kind` enum in the schema).
    kind = serializers.CharField(
        read_only=True, help_text="MONTHLY_COMPLIANCE, QUARTERLY_RISK or ANNUAL_AUDIT"
    )
    download_url = serializers.SerializerMethodField()
    generator_version = serializers.CharField()
    requested_by = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()

    class Meta:
        model = Report
        fields = [
            "id",
            "kind",
            "period",
            "period_start",
            "period_end",
            "status",
            "trigger",
            "sha256",
            "size",
            "pages",
            "download_url",
            "generator_version",
            "parameters",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "error",
        ]

    def get_download_url(self, report) -> str | None:
        return absolute_url(self, "api-report-download", report.pk) if report.is_done else None

    def get_requested_by(self, report) -> str:
        return report.requested_by.get_username() if report.requested_by else "system"


class ReportFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=report_services.ReportKind.choices)
    status = django_filters.ChoiceFilter(choices=ReportStatus.choices)
    period = django_filters.CharFilter(max_length=7)

    class Meta:
        model = Report
        fields: list[str] = []


class ReportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Compliance reports: request one (MRC, Auditor; answered 202, generated by the worker),
    follow its status, download the PDF (MRC, Security Architect, Auditor, Executive)."""

    serializer_class = ReportOutput
    filterset_class = ReportFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        return report_services.readable_reports(actor=self.request.user).select_related(
            "requested_by"
        )

    @extend_schema(
        request=ReportInput,
        responses={202: ReportOutput, 400: OpenApiResponse(description="invalid kind/period")},
    )
    def create(self, request, *args, **kwargs):
        report_services.authorize_generate(actor=request.user)
        serializer = ReportInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = report_services.request_report(
            serializer.validated_data["kind"],
            serializer.validated_data["period"],
            actor=request.user,
        )
        body = ReportOutput(report, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ReportDownloadView(APIView):
    """The report's PDF (once its status is DONE)."""

    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="the report is not generated (yet)"),
        }
    )
    def get(self, request, pk: int):
        report = report_services.report_for_download(pk, actor=request.user)
        return pdf_response(report)


def pdf_response(report: Report) -> FileResponse:
    response = FileResponse(
        report.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=report_services.download_name(report),
    )
    response["X-Content-SHA256"] = report.sha256
    return response


# --------------------------------------------------------------------------------------------
# Streaming export of the audit trail
# --------------------------------------------------------------------------------------------


class AuditExportView(APIView):
    """The audit trail, filtered like `GET /audit-events/`, streamed as JSON lines or CSV in
    constant memory. The export is itself an audit event."""

    content_negotiation_class = FirstRendererNegotiation
    formats = ("jsonl", "csv")

    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=["jsonl", "csv"], description="default jsonl"),
            OpenApiParameter("modelId", int),
            OpenApiParameter("versionId", int),
            OpenApiParameter("eventType", str),
            OpenApiParameter("userId", str),
            OpenApiParameter("action", str),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
        ],
        responses={
            (200, "application/jsonl"): OpenApiTypes.BINARY,
            (200, "text/csv"): OpenApiTypes.BINARY,
        },
    )
    def get(self, request):
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in self.formats:
            return Response(
                {"format": [f"must be one of {', '.join(self.formats)}"]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        params = request.query_params.copy()
        params.pop("format", None)
        filterset = AuditEventFilterSet(params, queryset=audit_events(actor=request.user))
        if not filterset.is_valid():
            return Response(
                {key: list(messages) for key, messages in filterset.errors.items()},
                status=status.HTTP_400_BAD_REQUEST,
            )
        filters = {key: value for key, value in params.items() if value}
        queryset = export_audit_events(filterset.qs, actor=request.user, fmt=fmt, filters=filters)
        return streaming_export(queryset, fmt)
