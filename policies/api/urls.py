"""The policies app's API routes beyond the policy router: exceptions, violations, policy
changes and the compliance summary (included by config/api_urls.py)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from policies.api.change_views import PolicyChangeViewSet
from policies.api.compliance import ComplianceSummaryView
from policies.api.waiver_views import ExceptionViewSet, ViolationViewSet

router = DefaultRouter()
router.include_root_view = False
router.include_format_suffixes = False  # as in config/api_urls.py: not in the contract
router.register("exceptions", ExceptionViewSet, basename="exception")
router.register("violations", ViolationViewSet, basename="violation")
router.register("policy-changes", PolicyChangeViewSet, basename="policychange")

urlpatterns = [
    path("compliance/summary/", ComplianceSummaryView.as_view(), name="api-compliance-summary"),
    path("", include(router.urls)),
]
