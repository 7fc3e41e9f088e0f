from django.contrib import admin

from core.admin import ReadOnlyAdminMixin
from core.admin_history import HistoryAdmin
from governance.choices import REVIEW_CHECKLISTS
from governance.models import Approval, RiskTierChangeRequest, StateTransition


@admin.register(StateTransition)
class StateTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("timestamp", "version", "from_state", "to_state", "action", "user")
    list_filter = ("action", "to_state")
    search_fields = ("version__model__name", "user__username")
    list_select_related = ("version__model", "user")


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ("created_at", "version", "stage", "decision", "user", "role", "attested")
    list_filter = ("stage", "decision", "role", "environment")
    search_fields = ("version__model__name", "user__username", "comments")
    list_select_related = ("version__model", "user")
    readonly_fields = ("attested",)

    @admin.display(description="attested")
    def attested(self, obj: Approval) -> str:
        """What the approval attested: the role's checklist, item by item."""
        parts = []
        for checklist in REVIEW_CHECKLISTS.values():
            given = getattr(obj, checklist.attribute)
            if isinstance(given, dict):
                ticked = [label for item, label in checklist.items.items() if given.get(item)]
                parts.append(f"{checklist.title}: {len(ticked)}/{len(checklist.items)} ticked")
        return "; ".join(parts) or "—"


@admin.register(RiskTierChangeRequest)
class RiskTierChangeRequestAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ("created_at", "model", "from_tier", "requested_tier", "status", "requested_by")
    list_filter = ("status", "requested_tier")
    search_fields = ("model__name", "justification")
    list_select_related = ("model", "requested_by")
