from django.urls import path

from audit import report_pages, views

urlpatterns = [
    path("audit/", views.audit_trail, name="audit-trail"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit-export-jsonl"),
    path("reports/", report_pages.reports, name="reports"),
    path("reports/<int:pk>/download/", report_pages.report_download, name="report-download"),
    path(
        "versions/<int:pk>/evidence-bundle/",
        report_pages.evidence_bundle,
        name="version-evidence-bundle",
    ),
]
