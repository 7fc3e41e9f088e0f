"""Admin pages of issue 16: proposed policy changes (read-only; approved or rejected by the
admin actions, which call the same domain functions as the API and pages) and the periodic
reviews of exceptions (read-only: recorded on the exception's page or by the API).

Registered by `from policies.admin import changes` in policies/admin/__init__.py.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.errors import DomainError
from policies import services
from policies.models import ExceptionReview, PolicyChange


@admin.register(PolicyChange)
class PolicyChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "policy", "status", "proposed_by", "created_at", "decided_by", "page")
    list_filter = ("status", "policy")
    search_fields = ("policy__policy_id",)
    list_select_related = ("policy", "proposed_by", "decided_by")
    actions = ["approve", "reject"]

    @admin.display(description="dry run")
    def page(self, obj):
        return format_html(
            '<a href="{}">change page</a>', reverse("policy-change-detail", args=[obj.pk])
        )

    def _decide(self, request, queryset, name: str) -> None:
        for change in queryset.order_by("id"):
            try:
                services.CHANGE_DECISIONS[name](change, actor=request.user)
            except DomainError as error:  # audited by the domain function
                messages.error(request, f"Change #{change.pk} not {name}d: {error.detail}")
            else:
                messages.success(request, f"Change #{change.pk} {name}d.")

    @admin.action(description="Approve (a second person: the change takes effect)")
    def approve(self, request, queryset):
        self._decide(request, queryset, "approve")

    @admin.action(description="Reject")
    def reject(self, request, queryset):
        self._decide(request, queryset, "reject")


@admin.register(ExceptionReview)
class ExceptionReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "exception",
        "reviewer",
        "role",
        "remediation_status",
        "remediation_progress",
        "late",
    )
    list_filter = ("remediation_status", "late", "role")
    list_select_related = ("exception__policy", "reviewer")
