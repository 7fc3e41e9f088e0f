from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from core.admin_history import HistoryAdmin
from governance.models import Approval, RiskTierChangeRequest, StateTransition


@admin.register(StateTransition)
class StateTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("timestamp", "version", "from_state", "to_state", "action", "user")
    list_filter = ("action", "to_state")
    search_fields = ("version__model__name", "user__username")
    list_select_related = ("version__model", "user")


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ("created_at", "version", "stage", "decision", "user", "role")
    list_filter = ("stage", "decision", "role", "environment")
    search_fields = ("version__model__name", "user__username", "comments")
    list_select_related = ("version__model", "user")


@admin.register(RiskTierChangeRequest)
class RiskTierChangeRequestAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ("created_at", "model", "from_tier", "requested_tier", "status", "requested_by")
    list_filter = ("status", "requested_tier")
    search_fields = ("model__name", "justification")
    list_select_related = ("model", "requested_by")
