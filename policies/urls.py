from django.urls import path

from policies.views import changes, compliance, policies, waivers

urlpatterns = [
    path("policies/", policies.policy_list, name="policy-list"),
    path("policies/new/", policies.policy_edit, name="policy-create"),
    path("policies/<str:policy_id>/", policies.policy_detail, name="policy-detail"),
    path("policies/<str:policy_id>/edit/", policies.policy_edit, name="policy-edit"),
    path("policy-changes/", changes.policy_change_list, name="policy-change-list"),
    path("policy-changes/<int:pk>/", changes.policy_change_detail, name="policy-change-detail"),
    path(
        "policy-changes/<int:pk>/<slug:decision>/",
        changes.policy_change_decide,
        name="policy-change-decide",
    ),
    path("exceptions/", waivers.exception_list, name="exception-list"),
    path("exceptions/<int:pk>/", waivers.exception_detail, name="exception-detail"),
    path("exceptions/<int:pk>/review/", waivers.exception_review, name="exception-review"),
    path(
        "exceptions/<int:pk>/<slug:decision>/",
        waivers.exception_decide,
        name="exception-decide",
    ),
    path(
        "versions/<int:version_pk>/request-exception/",
        waivers.exception_request,
        name="exception-request",
    ),
    path("compliance/", compliance.compliance_dashboard, name="compliance"),
]
