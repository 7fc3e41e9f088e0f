"""Pages of policy change control: the proposed changes, one change with its dry run, and the
approve / reject decision. They parse, call the same domain functions as the API, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from policies import services
from policies.changes import change_impact, may_decide
from policies.choices import PolicyChangeStatus
from policies.filtersets import PolicyChangeFilterSet
from policies.forms.waivers import ExceptionDecisionForm
from policies.selectors import readable_policy_changes

PAGE_SIZE = 50


@login_required
def policy_change_list(request):
    filterset = PolicyChangeFilterSet(
        request.GET or {"status": PolicyChangeStatus.PROPOSED},
        queryset=readable_policy_changes(actor=request.user).order_by("-created_at", "-id"),
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "policies/policy_change_list.html",
        {
            "filter": filterset,
            "page": page,
            "decidable": {
                c.pk for c in page if c.status == "PROPOSED" and may_decide(c, request.user)
            },
        },
    )


@login_required
def policy_change_detail(request, pk: int):
    change = get_object_or_404(readable_policy_changes(actor=request.user), pk=pk)
    return render(
        request,
        "policies/policy_change_detail.html",
        {
            "change": change,
            "impact": change_impact(change, actor=request.user),
            "can_decide": change.status == PolicyChangeStatus.PROPOSED
            and may_decide(change, request.user),
            "form": ExceptionDecisionForm(),
        },
    )


@require_POST
@login_required
def policy_change_decide(request, pk: int, decision: str):
    change = get_object_or_404(readable_policy_changes(actor=request.user), pk=pk)
    service = services.CHANGE_DECISIONS.get(decision)
    form = ExceptionDecisionForm(request.POST)
    if service is None or not form.is_valid():
        messages.error(request, "That decision is not known or its comments are too long.")
        return redirect("policy-change-detail", pk=pk)
    try:
        service(change, actor=request.user, comments=form.cleaned_data["comments"])
    except DomainError as error:
        messages.error(request, f"Refused: {error.detail}")
    else:
        messages.success(request, f"Policy change #{pk}: {decision} recorded.")
    return redirect("policy-change-detail", pk=pk)
