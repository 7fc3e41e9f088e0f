from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from audit.api import report_views
from audit.api.views import AuditEventViewSet
from governance.api import workflow_views as workflow
from governance.api.inventory_views import InventoryView
from governance.api.views import MeView, ObtainTokenView
from policies.api.views import PolicyViewSet, VersionPolicyEvaluationsView
from registry.api.views import ArtifactViewSet, ModelViewSet, VersionViewSet

# No `.json`-style suffix routes: they are not in the contract or the schema, and DRF passes the
# suffix to each action as a `format` argument that custom actions do not take (a 500 each).
# `?format=` and the Accept header still choose the renderer.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("models", ModelViewSet, basename="model")
router.register("versions", VersionViewSet, basename="version")
router.register("artifacts", ArtifactViewSet, basename="artifact")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("risk-tier-changes", workflow.RiskTierChangeViewSet, basename="risktierchange")
router.register("notifications", workflow.NotificationViewSet, basename="notification")
router.register("policies", PolicyViewSet, basename="policy")
router.register("reports", report_views.ReportViewSet, basename="report")

version_actions = [
    ("submit", workflow.SubmitView),
    ("approve", workflow.ApproveView),
    ("reject", workflow.RejectView),
    ("deploy", workflow.DeployView),
    ("request-production", workflow.RequestProductionView),
    ("retire", workflow.RetireView),
]

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("me/", MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    *[
        path(f"versions/<int:pk>/{name}/", view.as_view(), name=f"api-version-{name}")
        for name, view in version_actions
    ],
    path(
        "versions/<int:pk>/transitions/",
        workflow.TransitionListView.as_view(),
        name="api-version-transitions",
    ),
    path(
        "versions/<int:pk>/policy-evaluations/",
        VersionPolicyEvaluationsView.as_view(),
        name="api-version-policy-evaluations",
    ),
    path(
        "models/<int:pk>/risk-tier-changes/",
        workflow.ModelTierChangesView.as_view(),
        name="api-model-tier-changes",
    ),
    path("approval-dashboard/", workflow.ApprovalDashboardView.as_view(), name="api-dashboard"),
    path("inventory/", InventoryView.as_view(), name="api-inventory"),
    path("", include("evaluations.api.urls")),
    # Reports, evidence bundles and the streaming audit export (issue 7), before the router so
    # that audit-events/export/ is not read as an event id.
    path(
        "versions/<int:pk>/evidence-bundle/",
        report_views.EvidenceBundleView.as_view(),
        name="api-version-evidence-bundle",
    ),
    path(
        "reports/<int:pk>/download/",
        report_views.ReportDownloadView.as_view(),
        name="api-report-download",
    ),
    path("audit-events/export/", report_views.AuditExportView.as_view(), name="api-audit-export"),
    path("", include("policies.api.urls")),
    path("", include(router.urls)),
]
