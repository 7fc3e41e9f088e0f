"""Pages: policy exceptions (list, request form, detail with its checks) and the compliance
dashboard. They parse, call the same domain functions as the API, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core import charts
from core.errors import DomainError, Invalid
from policies import waivers
from policies.choices import Severity
from policies.compliance import (
    DEFINITION,
    open_violations_by_policy,
    read_compliance_summary,
)
from policies.exception_forms import ExceptionDecisionForm, ExceptionRequestForm
from policies.models import ExceptionApproval, PolicyException, Violation
from policies.monitoring_filtersets import ExceptionFilterSet, ViolationFilterSet
from policies.selectors import exception_checks, exception_violations
from registry.models import ModelVersion

PAGE_SIZE = 50
TIER_COLORS = {"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"}


def _exceptions(user):
    return (
        PolicyException.objects.visible_to(user)
        .select_related("policy", "version__model__owner", "requested_by", "ended_by")
        .prefetch_related(
            Prefetch("approvals", queryset=ExceptionApproval.objects.select_related("user"))
        )
        .order_by("-created_at", "-id")
    )


@login_required
def exception_list(request):
    filterset = ExceptionFilterSet(request.GET, queryset=_exceptions(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "policies/exception_list.html", {"filter": filterset, "page": page})


@login_required
def exception_request(request, version_pk: int):
    version = get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model__owner"),
        pk=version_pk,
    )
    initial = {"policy": request.GET.get("policy")} if request.GET.get("policy") else None
    form = ExceptionRequestForm(request.POST or None, version=version, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            created = waivers.request_exception(
                actor=request.user, version=version, **form.cleaned_data
            )
        except Invalid as error:
            form.add_error(None, error.detail)
        except DomainError as error:
            messages.error(request, f"Refused: {error.detail}")
            return redirect("version-detail", pk=version.pk)
        else:
            messages.success(request, f"Exception #{created.pk} requested.")
            return redirect("exception-detail", pk=created.pk)
    return render(
        request,
        "policies/exception_form.html",
        {
            "form": form,
            "version": version,
            "approval_roles": form.approval_roles,
            "without_approval": form.without_approval,
        },
    )


@login_required
def exception_detail(request, pk: int):
    exception = get_object_or_404(_exceptions(request.user), pk=pk)
    checks = exception_checks(exception, user=request.user)
    given = waivers.approved_roles(exception)
    return render(
        request,
        "policies/exception_detail.html",
        {
            "exception": exception,
            "roles": [(role, role in given) for role in waivers.required_roles(exception)],
            "actions": waivers.available_actions(exception, request.user),
            "checks": Paginator(checks, PAGE_SIZE).get_page(request.GET.get("page")),
            "violations": exception_violations(exception, user=request.user)[:50],
            "form": ExceptionDecisionForm(),
        },
    )


@require_POST
@login_required
def exception_decide(request, pk: int, decision: str):
    exception = get_object_or_404(_exceptions(request.user), pk=pk)
    service = waivers.DECISIONS.get(decision)
    form = ExceptionDecisionForm(request.POST)
    if service is None or not form.is_valid():
        messages.error(request, "That decision is not known or its comments are too long.")
        return redirect("exception-detail", pk=pk)
    try:
        service(exception, actor=request.user, comments=form.cleaned_data["comments"])
    except DomainError as error:
        messages.error(request, f"Refused: {error.detail}")
    else:
        messages.success(request, f"Exception #{pk}: {decision} recorded.")
    return redirect("exception-detail", pk=pk)


@login_required
def compliance_dashboard(request):
    summary = read_compliance_summary(actor=request.user)
    severities = Severity.values
    by_severity = summary["violationsBySeverity"]
    by_policy = open_violations_by_policy()
    filterset = ViolationFilterSet(
        request.GET or {"status": "OPEN"},
        queryset=Violation.objects.visible_to(request.user)
        .select_related("policy", "version__model")
        .order_by("-last_seen", "-id"),
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "governance/compliance.html",
        {
            "summary": summary,
            "definition": DEFINITION,
            "filter": filterset,
            "page": page,
            "severity_chart": charts.bar_chart(
                severities,
                [by_severity[s] for s in severities],
                title="Open violations by severity",
                value_label="open violations",
            ),
            "policy_chart": charts.bar_chart(
                list(by_policy)[:15],
                list(by_policy.values())[:15],
                title="Open violations by policy",
                horizontal=True,
            )
            if by_policy
            else "",
            "risk_chart": charts.donut_chart(
                list(summary["riskDistribution"]),
                list(summary["riskDistribution"].values()),
                title="Models by risk tier",
                colors=TIER_COLORS,
                center_label="models",
            ),
            "trend_chart": charts.line_chart(
                [point["date"] for point in summary["trend"]],
                {"Compliance score (%)": [point["complianceScore"] for point in summary["trend"]]},
                title="Compliance score, daily",
                y_min=0,
                y_max=100,
                y_label="%",
            ),
        },
    )
