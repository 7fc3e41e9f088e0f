"""Pages of policy exceptions and the compliance dashboard (included by config/urls.py)."""

from django.urls import path

from policies import monitoring_views as views

urlpatterns = [
    path("exceptions/", views.exception_list, name="exception-list"),
    path("exceptions/<int:pk>/", views.exception_detail, name="exception-detail"),
    path(
        "exceptions/<int:pk>/<slug:decision>/",
        views.exception_decide,
        name="exception-decide",
    ),
    path(
        "versions/<int:version_pk>/request-exception/",
        views.exception_request,
        name="exception-request",
    ),
    path("compliance/", views.compliance_dashboard, name="compliance"),
]
