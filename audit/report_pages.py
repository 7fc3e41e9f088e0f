"""The Reports page (list, request, download) and the evidence bundle download of the version
page. The same domain functions as the API; refusals become the refused page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audit.api.report_views import bundle_response, pdf_response
from audit.evidence import export_evidence_bundle
from audit.models import ReportKind, ReportStatus
from audit.reports import services
from audit.reports.periods import PeriodError, last_complete_period, parse_period
from core.access import is_allowed
from core.choices import Action
from registry.models import ModelVersion

PAGE_SIZE = 25


class ReportRequestForm(forms.Form):
    kind = forms.ChoiceField(choices=ReportKind.choices, label="Report")
    period = forms.CharField(
        max_length=20,
        label="Period",
        help_text="a month for monthly (2026-10), a quarter for quarterly (2026-Q3), "
        "a year for annual (2026)",
    )

    def clean(self):
        data = super().clean()
        if "kind" in data and "period" in data:
            try:
                parse_period(data["kind"], data["period"])
            except PeriodError as exc:
                self.add_error("period", str(exc))
        return data


def _suggestions() -> list[tuple[str, str]]:
    now = timezone.now()
    return [(kind, last_complete_period(kind, now).label) for kind in ReportKind.values]


@login_required
@require_http_methods(["GET", "POST"])
def reports(request):
    queryset = services.readable_reports(actor=request.user).select_related("requested_by")
    may_generate = is_allowed(request.user, Action.GENERATE_REPORT)
    form = ReportRequestForm(request.POST or None)
    if request.method == "POST":
        services.authorize_generate(actor=request.user)
        if form.is_valid():
            report = services.request_report(
                form.cleaned_data["kind"], form.cleaned_data["period"], actor=request.user
            )
            messages.success(
                request,
                f"Report #{report.pk} ({report.get_kind_display()} {report.period}) is queued; "
                "this page shows when it is ready.",
            )
            return redirect("reports")
    page = Paginator(queryset.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    pending = any(r.status in (ReportStatus.QUEUED, ReportStatus.RUNNING) for r in page)
    return render(
        request,
        "audit/reports.html",
        {
            "page": page,
            "form": form,
            "may_generate": may_generate,
            "pending": pending,
            "suggestions": _suggestions(),
            "query": "",
        },
    )


@login_required
def report_download(request, pk: int):
    return pdf_response(services.report_for_download(pk, actor=request.user))


@login_required
def evidence_bundle(request, pk: int):
    version = get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model"), pk=pk
    )
    return bundle_response(export_evidence_bundle(version, actor=request.user))
