"""Evaluation runs in the admin, read-only: runs are queued through the service (API, pages)
and written by the worker only."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin_changelist import SafeDateHierarchyMixin
from evaluations.models import (
    EvaluationRun,
    MonitoringBatch,
    MonitoringOutcomes,
    MonitoringWindow,
)


@admin.register(EvaluationRun)
class EvaluationRunAdmin(SafeDateHierarchyMixin, admin.ModelAdmin):
    # The changelist shows a run's provenance in two codes; the change page has the rest
    # (artifact, runtime, features), so no row loads an artifact of its own.
    list_display = (
        "id",
        "suite",
        "status",
        "version",
        "progress",
        "predictions_source",
        "thresholds_source",
        "requested_by",
        "created_at",
        "finished_at",
        "attempts",
    )
    list_filter = ("suite", "status", "predictions_source", "thresholds_source", "created_at")
    search_fields = (
        "version__model__name",
        "version__version",
        "dataset_sha256",
        "artifact_sha256",
    )
    list_select_related = ("version__model", "requested_by")
    date_hierarchy = "created_at"
    readonly_fields = (
        "page_link",
        "version",
        "suite",
        "status",
        "progress",
        "progress_message",
        "error",
        "threshold_results",
        "notes",
        "metrics",
        "dataset_name",
        "dataset_format",
        "dataset_sha256",
        "dataset_size",
        "dataset_rows",
        "dataset_columns",
        "reference_name",
        "reference_sha256",
        "reference_rows",
        "training_name",
        "training_sha256",
        "training_rows",
        "parameters",
        "sensitive_features",
        "segment_columns",
        "thresholds",
        "thresholds_source",
        "thresholds_note",
        "predictions_source",
        "predictions_note",
        "artifact",
        "artifact_sha256",
        "runtime",
        "features",
        "prediction_features",
        "score_output",
        "label_output",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "heartbeat_at",
        "attempts",
    )
    exclude = (
        "dataset",
        "reference_dataset",
        "reference_format",
        "reference_size",
        "reference_columns",
        "training_dataset",
        "training_format",
        "training_size",
        "training_columns",
    )

    @admin.display(description="Run page")
    def page_link(self, run):
        return format_html(
            '<a href="{}">results and charts</a>', reverse("evaluation-detail", args=[run.pk])
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# ---- monitoring: written by the API, the pages and the worker only ---------------------------


class ReadOnlyAdmin(SafeDateHierarchyMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoringBatch)
class MonitoringBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "batch_id",
        "version",
        "status",
        "rows",
        "file_format",
        "window_start",
        "received_by",
        "received_at",
    )
    list_filter = ("status", "file_format", "received_at")
    search_fields = ("batch_id", "version__model__name", "version__version", "sha256")
    list_select_related = ("version__model", "received_by")
    date_hierarchy = "received_at"
    readonly_fields = (
        "page_link",
        "version",
        "batch_id",
        "status",
        "rows",
        "columns",
        "has_predictions",
        "has_record_ids",
        "file_name",
        "file_format",
        "sha256",
        "size",
        "stored_sha256",
        "window_start",
        "received_at",
        "received_by",
    )
    exclude = ("stored",)

    @admin.display(description="Monitoring page")
    def page_link(self, batch):
        return format_html(
            '<a href="{}">windows and charts</a>',
            reverse("version-monitoring", args=[batch.version_id]),
        )


@admin.register(MonitoringOutcomes)
class MonitoringOutcomesAdmin(ReadOnlyAdmin):
    list_display = ("id", "version", "batch", "rows", "file_name", "received_by", "received_at")
    list_filter = ("received_at",)
    search_fields = ("version__model__name", "version__version", "batch__batch_id", "sha256")
    list_select_related = ("version__model", "batch", "received_by")
    date_hierarchy = "received_at"
    readonly_fields = (
        "version",
        "batch",
        "rows",
        "file_name",
        "sha256",
        "stored_sha256",
        "received_at",
        "received_by",
    )
    exclude = ("stored",)


@admin.register(MonitoringWindow)
class MonitoringWindowAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "version",
        "start",
        "rows",
        "batches",
        "outcome_rows",
        "score_psi",
        "computed_at",
        "seconds",
    )
    list_filter = ("start", "computed_at")
    search_fields = ("version__model__name", "version__version")
    list_select_related = ("version__model",)
    date_hierarchy = "start"
    readonly_fields = (
        "page_link",
        "version",
        "start",
        "rows",
        "batches",
        "outcome_rows",
        "metrics",
        "notes",
        "reference_run",
        "last_batch",
        "last_outcomes",
        "computed_at",
        "seconds",
    )

    @admin.display(description="score PSI")
    def score_psi(self, window):
        value = (window.metrics or {}).get("scorePsi")
        return "-" if value is None else f"{value:.3f}"

    @admin.display(description="Monitoring page")
    def page_link(self, window):
        return format_html(
            '<a href="{}">windows and charts</a>',
            reverse("version-monitoring", args=[window.version_id]),
        )
