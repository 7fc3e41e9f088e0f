from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from audit.views import name_subjects
from core import charts
from core.access import is_allowed
from core.choices import Action, Role
from core.errors import DomainError, Invalid
from core.roles import roles_of
from governance import dashboard, diagram, promotion, tier_changes
from governance.forms import DecisionForm, TierChangeForm
from governance.models import Notification, RiskTierChangeRequest
from governance.notifications import mark_read
from governance.routing import REVIEW_STATES, route_table
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel

RECENT_EVENTS = 12
HOME_QUEUE = 10


def _work_queues(user) -> dict:
    """What waits for `user`, as the home page and the approval dashboard show it, and which
    of the queues their roles make theirs (an empty one is shown only to those)."""
    held = roles_of(user)
    return {
        "reviews_versions": bool(held & dashboard.VERSION_REVIEWERS),
        "decides_exceptions": bool(held & dashboard.EXCEPTION_DECIDERS),
        "pending": dashboard.pending_reviews(user),
        "ready_to_deploy": dashboard.ready_to_deploy(user),
        "pending_exceptions": dashboard.pending_exceptions(user),
        "pending_tier_changes": dashboard.pending_tier_changes(user),
    }


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
        "my_models": models.owned_by(user).annotate(version_count=Count("versions"))[:20],
        **_work_queues(user),
        "needs_changes": list(dashboard.needs_changes(user)[:HOME_QUEUE]),
        "tier_chart": charts.donut_chart(
            RiskTier.values,
            [tier_counts.get(tier, 0) for tier in RiskTier.values],
            title="Models by risk tier",
            colors={"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"},
            center_label="models",
        ),
    }
    if is_allowed(user, Action.VIEW_AUDIT):
        # The audit trail names every model: only its readers see the recent activity.
        context["recent_events"] = name_subjects(
            dashboard.recent_activity(user, limit=RECENT_EVENTS)
        )
    return render(request, "governance/home.html", context)


@require_POST
@login_required
def version_action(request, pk: int, name: str):
    version = get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model"), pk=pk
    )
    service = promotion.ACTIONS.get(name)
    form = DecisionForm(request.POST, with_checklists=name == "approve")
    if service is None or not form.is_valid():
        messages.error(request, "That action is not known or its comments are too long.")
        return redirect("version-detail", pk=pk)
    kwargs = {"comments": form.cleaned_data["comments"]}
    if name == "approve":
        kwargs.update(form.approve_kwargs())
    try:
        result = service(version, actor=request.user, **kwargs)
    except DomainError as error:
        messages.error(request, f"Refused: {error.detail}")
        return redirect("version-detail", pk=pk)
    if result.blocked:
        failed = "; ".join(
            f"{f['policyId']}: {' / '.join(f['messages'])}" for f in result.gate.failures
        )
        messages.error(request, f"Policies failed, the version is {result.version.state}: {failed}")
    else:
        messages.success(request, f"Done: the version is now {result.version.state}.")
    return redirect("version-detail", pk=pk)


@login_required
def approval_dashboard(request):
    metrics = dashboard.review_metrics(request.user)
    stages = list(REVIEW_STATES)
    chart = charts.grouped_bar_chart(
        stages,
        {
            "Approved": [metrics["decisionsByStage"][s]["approved"] for s in stages],
            "Rejected": [metrics["decisionsByStage"][s]["rejected"] for s in stages],
        },
        title="Decisions per review stage",
        colors={"Approved": "#009E73", "Rejected": "#D55E00"},
    )
    time_chart = charts.grouped_bar_chart(
        stages,
        {
            "Median hours": [metrics["timeInStage"][s]["medianHours"] for s in stages],
            "90th percentile hours": [metrics["timeInStage"][s]["p90Hours"] for s in stages],
        },
        title="Time spent in each review stage (hours)",
    )
    return render(
        request,
        "governance/approvals.html",
        {
            **_work_queues(request.user),
            "my_requests": dashboard.my_requests(request.user),
            "is_owner": Role.MODEL_OWNER in roles_of(request.user),
            "recent": dashboard.recent_decisions(request.user),
            "metrics": metrics,
            "decision_chart": chart,
            "time_chart": time_chart,
            "open_tier_changes": RiskTierChangeRequest.objects.visible_to(request.user)
            .open()
            .select_related("model", "requested_by"),
        },
    )


@login_required
def notifications(request):
    items = Notification.objects.visible_to(request.user)[:100]
    if request.method == "POST":
        mark_read(request.user)
        return redirect("notifications")
    return render(request, "governance/notifications.html", {"items": items})


@login_required
def workflow(request):
    return render(
        request,
        "governance/workflow.html",
        {"routes": route_table(), "diagram_svg": diagram.to_svg()},
    )


@login_required
def tier_change_request(request, pk: int):
    model = get_object_or_404(RegisteredModel.objects.visible_to(request.user), pk=pk)
    form = TierChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            tier_changes.request_tier_change(model, actor=request.user, **form.cleaned_data)
        except Invalid as error:
            form.add_error(None, error.detail)
        except DomainError as error:
            messages.error(request, f"Refused: {error.detail}")
            return redirect("model-detail", pk=pk)
        else:
            messages.success(request, "Risk tier change requested; it applies once approved.")
            return redirect("model-detail", pk=pk)
    return render(request, "governance/tier_change_form.html", {"form": form, "model": model})


TIER_CHANGE_DECISIONS = {
    "approve": tier_changes.approve_tier_change,
    "reject": tier_changes.reject_tier_change,
}


@require_POST
@login_required
def tier_change_decide(request, pk: int, decision: str):
    # The URL takes any word as the decision: an unknown one is no page (it was a KeyError).
    service = TIER_CHANGE_DECISIONS.get(decision)
    if service is None:
        raise Http404("no such decision")
    change = get_object_or_404(RiskTierChangeRequest.objects.visible_to(request.user), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():  # comments too long, or holding characters no text may hold
        messages.error(request, f"Refused: {'; '.join(form.errors.get('comments', []))}")
        return redirect("model-detail", pk=change.model_id)
    try:
        service(change, actor=request.user, comments=form.cleaned_data["comments"])
    except DomainError as error:
        messages.error(request, f"Refused: {error.detail}")
    else:
        messages.success(request, f"Request #{change.pk}: {decision} recorded.")
    return redirect("model-detail", pk=change.model_id)
