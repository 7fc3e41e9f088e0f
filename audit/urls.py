from django.urls import path

from audit import views

urlpatterns = [
    path("audit/", views.audit_trail, name="audit-trail"),
    path("audit/export.csv", views.audit_export, {"fmt": "csv"}, name="audit-export-csv"),
    path("audit/export.jsonl", views.audit_export, {"fmt": "jsonl"}, name="audit-export-jsonl"),
]
