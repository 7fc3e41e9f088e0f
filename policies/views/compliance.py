"""The compliance dashboard page: the one compliance score, violations and their charts."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from core import charts
from policies.choices import Severity
from policies.compliance import DEFINITION, open_violations_by_policy, read_compliance_summary
from policies.filtersets import ViolationFilterSet
from policies.models import Violation

PAGE_SIZE = 50
TIER_COLORS = {"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"}


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
