import json

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from audit.exports import streaming_export
from audit.models import AuditEvent
from audit.selectors import export_audit_events


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the admin can look at and export events, never add, change or delete them."""

    list_display = ("seq", "timestamp", "event_type", "action", "user_id", "model_id", "version_id")
    list_filter = ("event_type", "action", ("timestamp", admin.DateFieldListFilter))
    search_fields = ("user_id", "action", "=model_id", "=version_id")
    date_hierarchy = "timestamp"
    ordering = ("-seq",)
    change_list_template = "admin/audit/auditevent/change_list.html"
    readonly_fields = [f.name for f in AuditEvent._meta.fields if f.name != "details"] + [
        "details_pretty"
    ]
    exclude = ("details",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

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
