from django.urls import path

from registry import artifact_views, views

urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/register/", views.model_register, name="model-register"),
    path("models/risk-tier-preview/", views.risk_tier_preview, name="risk-tier-preview"),
    path("models/<int:pk>/", views.model_detail, name="model-detail"),
    path("models/<int:pk>/versions/new/", views.version_create, name="version-create"),
    path("versions/<int:pk>/", views.version_detail, name="version-detail"),
    path("versions/<int:pk>/edit/", views.version_edit, name="version-edit"),
    path(
        "versions/<int:pk>/artifacts/new/", artifact_views.artifact_create, name="artifact-create"
    ),
    path(
        "artifacts/<int:pk>/download/",
        artifact_views.artifact_download,
        name="artifact-download-page",
    ),
]
