"""Pages of policy exceptions: list, request form, detail with its checks, decisions. They
parse, call the same domain functions as the API, and render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.errors import DomainError, Invalid
from policies import waivers
from policies.filtersets import ExceptionFilterSet
from policies.forms.waivers import (
    ExceptionDecisionForm,
    ExceptionRequestForm,
    ExceptionReviewForm,
)
from policies.models import ExceptionApproval, ExceptionReview, PolicyException
from policies.selectors import exception_checks, exception_violations
from registry.models import ModelVersion

PAGE_SIZE = 50
TIER_COLORS = {"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"}


def _exceptions(user):
    return (
        PolicyException.objects.visible_to(user)
        .select_related("policy", "version__model__owner", "requested_by", "ended_by")
        .prefetch_related(
            Prefetch("approvals", queryset=ExceptionApproval.objects.select_related("user")),
            Prefetch("reviews", queryset=ExceptionReview.objects.select_related("reviewer")),
        )
        .order_by("-created_at", "-id")
    )


@login_required
def exception_list(request):
    filterset = ExceptionFilterSet(request.GET, queryset=_exceptions(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "policies/exception_list.html",
        {"filter": filterset, "page": page, "now": timezone.now()},
    )


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
def exception_detail(request, pk: int, review_form: ExceptionReviewForm | None = None):
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
            "reason": exception.get_reason_display() if exception.reason else "",
            "review_overdue": waivers.review_is_overdue(exception),
            "review_interval": waivers.review_interval(exception).days,
            "can_review": waivers.may_review(exception, request.user),
            "review_form": review_form or ExceptionReviewForm(),
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


@require_POST
@login_required
def exception_review(request, pk: int):
    exception = get_object_or_404(_exceptions(request.user), pk=pk)
    form = ExceptionReviewForm(request.POST)
    if not form.is_valid():
        return exception_detail(request, pk, review_form=form)
    try:
        waivers.record_review(exception, actor=request.user, **form.cleaned_data)
    except Invalid as error:
        form.add_error(None, error.detail)
        return exception_detail(request, pk, review_form=form)
    except DomainError as error:
        messages.error(request, f"Refused: {error.detail}")
    else:
        messages.success(request, f"Exception #{pk}: review recorded.")
    return redirect("exception-detail", pk=pk)
