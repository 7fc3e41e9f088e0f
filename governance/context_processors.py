from django.urls import reverse

from core.access import is_allowed
from core.choices import Action
from core.roles import roles_of
from governance.models import Notification


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = [
        ("Dashboard", reverse("home")),
        ("Models", reverse("model-list")),
        ("Approvals", reverse("approvals")),
        ("Policies", reverse("policy-list")),
        ("Exceptions", reverse("exception-list")),
    ]
    if is_allowed(user, Action.READ_COMPLIANCE):
        items.append(("Compliance", reverse("compliance")))
        items.append(("Inventory", reverse("inventory")))
    if is_allowed(user, Action.REGISTER_MODEL):
        items.append(("Register a model", reverse("model-register")))
    if is_allowed(user, Action.VIEW_AUDIT):
        items.append(("Audit trail", reverse("audit-trail")))
    if is_allowed(user, Action.READ_REPORTS):
        items.append(("Reports", reverse("reports")))
    items.append(("Workflow", reverse("workflow")))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index")))
    items.append(("API docs", reverse("api-docs")))
    return {
        "nav_items": items,
        "user_roles": sorted(roles_of(user)),
        "unread_notifications": Notification.objects.visible_to(user).unread().count(),
    }
