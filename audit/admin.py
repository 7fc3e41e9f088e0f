import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from audit.exports import streaming_export
from audit.filtersets import events_of_models_named
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import export_audit_events
from audit.templatetags.audit_tags import details_summary, pretty_json
from audit.views import name_subjects
from core.admin import ReadOnlyAdminMixin
from core.admin_changelist import DateHierarchyChangeList, SafeDateHierarchyMixin


class NamedEventChangeList(DateHierarchyChangeList):
    """The change list with each event's model and version named: two queries per page
    (audit.views.name_subjects), never one per row."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list = name_subjects(self.result_list)


@admin.register(AuditEvent)
class AuditEventAdmin(SafeDateHierarchyMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the admin can look at and export events, never add, change or delete them."""

    # The event type is the filter sidebar's first list; the action says it more precisely, so
    # the columns go to the names and the details (the list fits 1,280 px).
    list_display = (
        "seq",
        "timestamp",
        "action",
        "user_id",
        "model_name",
        "version_label",
        "details_short",
    )
    list_display_links = ("seq",)
    list_filter = ("event_type", "action", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("user_id", "action", "=model_id", "=version_id")
    search_help_text = "Person, action, model name, model id or version id."
    date_hierarchy = "timestamp"
    ordering = ("-seq",)
    change_list_template = "admin/audit/auditevent/change_list.html"
    readonly_fields = [f.name for f in AuditEvent._meta.fields if f.name != "details"] + [
        "details_pretty"
    ]
    exclude = ("details",)

    class Media:
        css = {"all": ("css/admin.css",)}

    def get_changelist(self, request, **kwargs):
        return NamedEventChangeList

    def get_search_results(self, request, queryset, search_term):
        """The admin's search, and the events about any model whose name holds the term."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            found = found | events_of_models_named(queryset, term)
        return found, may_have_duplicates

    @admin.display(description="model", ordering="model_id")
    def model_name(self, obj):
        if obj.model_id is None:
            return ""
        url = reverse("model-detail", args=[obj.model_id])
        return format_html('<a href="{}">{}</a>', url, getattr(obj, "model_name", obj.model_id))

    @admin.display(description="version", ordering="version_id")
    def version_label(self, obj):
        if obj.version_id is None:
            return ""
        url = reverse("version-detail", args=[obj.version_id])
        label = getattr(obj, "version_label", obj.version_id)
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="details")
    def details_short(self, obj):
        if not obj.details:
            return ""
        return format_html(
            '<details class="audit-details"><summary>{}</summary><pre>{}</pre></details>',
            details_summary(obj.details),
            pretty_json(obj.details),
        )

    @admin.display(description="details")
    def details_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.details, indent=2, sort_keys=True))

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        return [
            path("export.csv", export, {"fmt": "csv"}, name="audit_auditevent_export_csv"),
            path("export.jsonl", export, {"fmt": "jsonl"}, name="audit_auditevent_export_jsonl"),
            *super().get_urls(),
        ]

    def export_view(self, request, fmt: str):
        """Export exactly the changelist's filtered set (same filters, same search)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            # the changelist's own answer to a bad filter: back to it with ?e=1
            return HttpResponseRedirect(f"{reverse('admin:audit_auditevent_changelist')}?e=1")
        filters = {key: value for key, value in request.GET.items() if value}
        queryset = export_audit_events(queryset, actor=request.user, fmt=fmt, filters=filters)
        return streaming_export(queryset, fmt)


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Signed checkpoints of the chain, read-only (the database refuses changes too)."""

    list_display = ("number", "seq", "signed_at", "trigger", "short_hash", "short_key")
    list_filter = ("trigger", ("signed_at", admin.DateFieldListFilter))
    search_fields = ("=seq", "=number", "head_hash")
    ordering = ("-number",)
    readonly_fields = (
        "number",
        "seq",
        "head_hash",
        "signed_at",
        "key_id",
        "trigger",
        "prev_signature",
        "signature",
    )
    fields = readonly_fields

    @admin.display(description="head hash")
    def short_hash(self, obj):
        return format_html('<span title="{}">{}…</span>', obj.head_hash, obj.head_hash[:16])

    @admin.display(description="key id")
    def short_key(self, obj):
        return format_html('<span title="{}">{}…</span>', obj.key_id, obj.key_id[:16])


# --------------------------------------------------------------------------------------------
# Reports and evidence bundles
# --------------------------------------------------------------------------------------------

from django.shortcuts import get_object_or_404, render  # noqa: E402

from audit.api.report_views import bundle_response, pdf_response  # noqa: E402
from audit.evidence import export_evidence_bundle  # noqa: E402
from audit.models import Report, ReportStatus  # noqa: E402
from audit.reports.services import report_for_download  # noqa: E402
from registry.models import ModelVersion  # noqa: E402

EVIDENCE_PAGE_SIZE = 100


@admin.register(Report)
class ReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Generated reports, read-only, with their PDF; and the evidence bundle of any version.
    Reports are requested on the Reports page or through the API, never edited here."""

    list_display = (
        "id",
        "kind",
        "period",
        "status",
        "trigger",
        "requested_by",
        "created_at",
        "finished_at",
        "pages",
        "short_sha256",
        "download",
    )
    list_filter = ("kind", "status", "trigger", ("created_at", admin.DateFieldListFilter))
    search_fields = ("period", "sha256")
    list_select_related = ("requested_by",)
    ordering = ("-created_at", "-id")
    change_list_template = "admin/audit/report/change_list.html"
    fields = (
        "kind",
        "period",
        "period_start",
        "period_end",
        "status",
        "trigger",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "file",
        "sha256",
        "size",
        "pages",
        "generator_version",
        "parameters_pretty",
        "error",
        "download",
    )
    readonly_fields = fields

    @admin.display(description="SHA-256")
    def short_sha256(self, obj):
        return (
            format_html('<span title="{}">{}…</span>', obj.sha256, obj.sha256[:12])
            if obj.sha256
            else ""
        )

    @admin.display(description="parameters")
    def parameters_pretty(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.parameters, indent=2, sort_keys=True))

    @admin.display(description="PDF")
    def download(self, obj):
        if obj.status != ReportStatus.DONE:
            return ""
        return format_html(
            '<a href="{}">Download</a>', reverse("admin:audit_report_download", args=[obj.pk])
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/download/", wrap(self.download_view), name="audit_report_download"),
            path("evidence-bundles/", wrap(self.evidence_list_view), name="audit_evidence_list"),
            path(
                "evidence-bundles/<int:version_id>/",
                wrap(self.evidence_view),
                name="audit_evidence_bundle",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk: int):
        return pdf_response(report_for_download(pk, actor=request.user))

    def evidence_list_view(self, request):
        """Pick a version (search by model name or version id) to download its bundle."""
        query = request.GET.get("q", "").strip()[:200]
        versions = ModelVersion.objects.visible_to(request.user).select_related("model")
        if query.isdigit():
            versions = versions.filter(pk=int(query))
        elif query:
            versions = versions.filter(model__name__icontains=query)
        versions = versions.order_by("model__name", "-created_at")
        context = {
            **self.admin_site.each_context(request),
            "title": "Evidence bundles",
            "opts": self.model._meta,
            "query": query,
            "versions": versions[:EVIDENCE_PAGE_SIZE],
            "more": versions.count() > EVIDENCE_PAGE_SIZE,
        }
        return render(request, "admin/audit/report/evidence_bundles.html", context)

    def evidence_view(self, request, version_id: int):
        version = get_object_or_404(
            ModelVersion.objects.visible_to(request.user).select_related("model"), pk=version_id
        )
        return bundle_response(export_evidence_bundle(version, actor=request.user))
