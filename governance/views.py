from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from audit.models import AuditEvent
from governance.access import is_allowed
from governance.choices import Action
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel

RECENT_EVENTS = 12


@login_required
def home(request):
    user = request.user
    models = RegisteredModel.objects.visible_to(user)
    tier_counts = dict(models.values_list("risk_tier").annotate(n=Count("id")).order_by())
    state_counts = dict(
        ModelVersion.objects.visible_to(user)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    context = {
        "model_count": sum(tier_counts.values()),
        "tiers": [(tier, tier_counts.get(tier, 0)) for tier in RiskTier.values],
        "states": [(state, state_counts.get(state, 0)) for state in VersionState.values],
        "my_models": models.filter(owner=user).annotate(version_count=Count("versions"))[:20],
    }
    if is_allowed(user, Action.VIEW_AUDIT):
        context["recent_events"] = AuditEvent.objects.order_by("-seq")[:RECENT_EVENTS]
    return render(request, "governance/home.html", context)
