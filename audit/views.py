from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from audit.exports import streaming_export
from audit.filtersets import AuditEventFilterSet
from audit.selectors import audit_events, export_audit_events, verify_audit_chain

PAGE_SIZE = 50


def _filtered(request):
    return AuditEventFilterSet(request.GET, queryset=audit_events(actor=request.user))


@login_required
def audit_trail(request):
    # Verify first: the verification is itself an event and belongs on the page it shows.
    verdict = verify_audit_chain(actor=request.user) if "verify" in request.GET else None
    filterset = _filtered(request)
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(queryset.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("verify", None)
    return render(
        request,
        "audit/trail.html",
        {"filter": filterset, "page": page, "verdict": verdict, "query": query.urlencode()},
    )


@login_required
def audit_export(request, fmt: str):
    filterset = _filtered(request)
    if not filterset.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponseBadRequest(f"invalid filter: {problems}", content_type="text/plain")
    filters = {key: value for key, value in request.GET.items() if value}
    queryset = export_audit_events(filterset.qs, actor=request.user, fmt=fmt, filters=filters)
    return streaming_export(queryset, fmt)
