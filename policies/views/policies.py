"""Policy pages: everyone reads; Security Architects write (through the same services)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from core.access import is_allowed
from core.choices import Action
from core.errors import DomainError
from policies import services
from policies.documents import to_document, to_fields
from policies.filtersets import PolicyFilterSet
from policies.forms.policies import PolicyDocumentForm
from policies.impact import impact
from policies.models import Policy, PolicyChange
from policies.selectors import pending_policy_changes, readable_policies

PAGE_SIZE = 50


@login_required
def policy_list(request):
    filterset = PolicyFilterSet(request.GET, queryset=readable_policies(actor=request.user))
    page = Paginator(filterset.qs.order_by("policy_id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "policies/policy_list.html",
        {
            "filter": filterset,
            "page": page,
            "can_write": is_allowed(request.user, Action.WRITE_POLICY),
        },
    )


@login_required
def policy_detail(request, policy_id: str):
    policy = get_object_or_404(readable_policies(actor=request.user), policy_id=policy_id)
    rows = impact(policy, actor=request.user)
    history = policy.history.select_related("history_user").order_by("-history_date")[:25]
    return render(
        request,
        "policies/policy_detail.html",
        {
            "policy": policy,
            "document_json": json.dumps(to_document(policy), indent=2),
            "impact": rows,
            "failing": sum(1 for row in rows if not row["passed"]),
            "history": history,
            "pending_changes": pending_policy_changes(policy),
            "can_write": is_allowed(request.user, Action.WRITE_POLICY),
        },
    )


@login_required
def policy_edit(request, policy_id: str | None = None):
    policy = None
    if policy_id is not None:
        policy = get_object_or_404(readable_policies(actor=request.user), policy_id=policy_id)
    form = PolicyDocumentForm(request.POST or None, policy=policy)
    preview = None
    if request.method == "POST" and form.is_valid():
        document = form.cleaned_data["document"]
        if "dry_run" in request.POST:
            preview = impact(Policy(**to_fields(document)), actor=request.user)
        else:
            try:
                if policy is None:
                    saved = services.create_policy(actor=request.user, document=document)
                else:
                    saved = services.replace_policy(policy, actor=request.user, document=document)
            except DomainError as error:
                form.add_error(None, error.detail)
            else:
                if isinstance(saved, PolicyChange):
                    messages.warning(
                        request,
                        f"This change relaxes an ACTIVE ENFORCE policy: proposed as change "
                        f"#{saved.pk}; it takes effect once another Security Architect or an MRC "
                        "member approves it.",
                    )
                    return redirect("policy-change-detail", pk=saved.pk)
                messages.success(request, f"Saved policy {saved.policy_id}.")
                return redirect("policy-detail", policy_id=saved.policy_id)
    return render(
        request,
        "policies/policy_form.html",
        {"form": form, "policy": policy, "preview": preview},
    )
