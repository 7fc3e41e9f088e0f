from django.urls import path

from evaluations.api import views

urlpatterns = [
    path(
        "evaluation-suites/",
        views.EvaluationSuiteListView.as_view(),
        name="api-evaluation-suites",
    ),
    path(
        "versions/<int:pk>/evaluations/",
        views.VersionEvaluationsView.as_view(),
        name="api-version-evaluations",
    ),
    path("evaluations/", views.EvaluationListView.as_view(), name="api-evaluation-list"),
    path(
        "evaluations/<int:pk>/",
        views.EvaluationDetailView.as_view(),
        name="api-evaluation-detail",
    ),
    path(
        "versions/<int:pk>/monitoring/",
        views.VersionMonitoringView.as_view(),
        name="api-version-monitoring",
    ),
    path(
        "versions/<int:pk>/monitoring/batches/",
        views.MonitoringBatchView.as_view(),
        name="api-version-monitoring-batches",
    ),
    path(
        "versions/<int:pk>/monitoring/outcomes/",
        views.MonitoringOutcomesView.as_view(),
        name="api-version-monitoring-outcomes",
    ),
]
