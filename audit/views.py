from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import render

from audit.choices import AuditAction
from audit.exports import streaming_export
from audit.filtersets import AuditEventFilterSet, AuditTrailFilterSet
from audit.selectors import audit_events, export_audit_events, verify_audit_chain
from core.choices import Action
from governance.choices import PromotionAction
from registry.models import ModelVersion, RegisteredModel

PAGE_SIZE = 50
# How many names the filters' suggestion lists offer (they filter as one types).
SUGGESTIONS = 500


def name_subjects(events) -> list:
    """Give each event `model_name` and `version_label` ("fraud-detector", "fraud-detector
    1.1.0") from its model and version ids: two queries for any number of events, never one per
    row. An id whose record is gone keeps its number ("#4"). Returns the events as a list."""
    events = list(events)
    model_ids = {e.model_id for e in events if e.model_id is not None}
    version_ids = {e.version_id for e in events if e.version_id is not None}
    models = (
        dict(RegisteredModel.objects.filter(pk__in=model_ids).values_list("pk", "name"))
        if model_ids
        else {}
    )
    versions = (
        {
            pk: f"{name} {label}"
            for pk, name, label in ModelVersion.objects.filter(pk__in=version_ids).values_list(
                "pk", "model__name", "version"
            )
        }
        if version_ids
        else {}
    )
    for event in events:
        event.model_name = models.get(event.model_id, f"#{event.model_id}")
        event.version_label = versions.get(event.version_id, f"#{event.version_id}")
    return events


def _suggestions() -> dict:
    """What the trail's filters offer as you type: model names, people, actions."""
    return {
        "model_names": RegisteredModel.objects.order_by("name").values_list("name", flat=True)[
            :SUGGESTIONS
        ],
        "people": get_user_model()
        .objects.order_by("username")
        .values_list("username", flat=True)[:SUGGESTIONS],
        "actions": sorted({*AuditAction.values, *PromotionAction.values, *Action.values}),
    }


def _filtered(request, filterset_class=AuditEventFilterSet):
    return filterset_class(request.GET, queryset=audit_events(actor=request.user))


@login_required
def audit_trail(request):
    # Verify first: the verification is itself an event and belongs on the page it shows.
    verdict = verify_audit_chain(actor=request.user) if "verify" in request.GET else None
    filterset = _filtered(request, AuditTrailFilterSet)
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(queryset.order_by("-seq"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = name_subjects(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("verify", None)
    return render(
        request,
        "audit/trail.html",
        {
            "filter": filterset,
            "page": page,
            "verdict": verdict,
            "query": query.urlencode(),
            **_suggestions(),
        },
    )


@login_required
def audit_export(request, fmt: str):
    filterset = _filtered(request, AuditTrailFilterSet)
    if not filterset.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponseBadRequest(f"invalid filter: {problems}", content_type="text/plain")
    filters = {key: value for key, value in request.GET.items() if value}
    queryset = export_audit_events(filterset.qs, actor=request.user, fmt=fmt, filters=filters)
    return streaming_export(queryset, fmt)
