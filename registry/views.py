"""Pages for model owners (and read-only for the oversight roles). Thin: forms in, services do."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from core.access import is_allowed
from core.choices import Action
from core.errors import Invalid
from evaluations.panels import version_panel
from governance.selectors import version_workflow
from registry import services
from registry.choices import MODEL_CARD_SECTIONS, RISK_FACTORS
from registry.filtersets import RegisteredModelFilterSet
from registry.forms import (
    DocumentationForm,
    RegisterModelForm,
    RiskPreviewForm,
    VersionForm,
)
from registry.models import ModelVersion, RegisteredModel
from registry.risk import derive_tier

PAGE_SIZE = 25


def _form_error(form, error: Invalid) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.detail)


@login_required
def model_list(request):
    visible = RegisteredModel.objects.visible_to(request.user)
    filterset = RegisteredModelFilterSet(request.GET, queryset=visible)
    queryset = (
        filterset.qs.select_related("owner")
        .annotate(version_count=Count("versions"))
        .order_by("name")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "registry/model_list.html",
        {
            "page": page,
            "filter": filterset,
            "can_register": is_allowed(request.user, Action.REGISTER_MODEL),
        },
    )


@login_required
def model_register(request):
    form = RegisterModelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            model = services.register_model(
                actor=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                risk_assessment=form.assessment,
                tags=form.cleaned_data["tags"],
            )
        except Invalid as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Registered {model.name} as {model.risk_tier} risk.")
            return redirect("model-detail", pk=model.pk)
    return render(request, "registry/model_form.html", {"form": form, "factors": RISK_FACTORS})


@require_GET
@login_required
def risk_tier_preview(request):
    form = RiskPreviewForm(request.GET)
    if not form.is_valid():
        missing = [label for f, label in RISK_FACTORS.items() if f in form.errors]
        return JsonResponse({"tier": None, "reason": f"Still to answer: {', '.join(missing)}."})
    decision = derive_tier(form.cleaned_data)
    return JsonResponse({"tier": decision.tier, "reason": decision.reason})


@login_required
def model_detail(request, pk: int):
    model = get_object_or_404(
        RegisteredModel.objects.visible_to(request.user).select_related("owner"), pk=pk
    )
    versions = (
        model.versions.select_related("created_by")
        .annotate(artifact_count=Count("artifacts"))
        .order_by("-created_at")
    )
    return render(
        request,
        "registry/model_detail.html",
        {
            "model": model,
            "versions": versions,
            "can_add_version": is_allowed(request.user, Action.ADD_VERSION, model=model),
            "can_request_tier_change": is_allowed(
                request.user, Action.REQUEST_TIER_CHANGE, model=model
            ),
            "can_decide_tier_change": is_allowed(
                request.user, Action.DECIDE_TIER_CHANGE, model=model
            ),
            "tier_changes": model.tier_change_requests.select_related(
                "requested_by"
            ).prefetch_related("decisions__user")[:10],
            "factors": [
                (label, (model.risk_assessment or {}).get(f)) for f, label in RISK_FACTORS.items()
            ],
        },
    )


@login_required
def version_create(request, pk: int):
    model = get_object_or_404(RegisteredModel.objects.visible_to(request.user), pk=pk)
    form = VersionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            version = services.create_version(
                model,
                actor=request.user,
                version=form.cleaned_data["version"],
                description=form.cleaned_data["description"],
                documentation=form.documentation,
                tags=form.cleaned_data["tags"],
            )
        except Invalid as error:
            _form_error(form, error)
        else:
            messages.success(request, f"Added version {version.version}.")
            return redirect("version-detail", pk=version.pk)
    return render(request, "registry/version_form.html", {"form": form, "model": model})


def _visible_version(request, pk: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model__owner", "created_by"),
        pk=pk,
    )


def _model_card_sections(documentation: str | dict) -> list[dict]:
    """The model card's sections in their order with their labels (blank when not written),
    then any other section set through the API; none for documentation written as text."""
    if not isinstance(documentation, dict):
        return []
    sections = [
        {"key": key, "label": section["label"], "text": documentation.get(key, "")}
        for key, section in MODEL_CARD_SECTIONS.items()
    ]
    sections += [
        {"key": key, "label": key, "text": text}
        for key, text in documentation.items()
        if key not in MODEL_CARD_SECTIONS
    ]
    return sections


@login_required
def version_detail(request, pk: int):
    version = _visible_version(request, pk)
    artifacts = list(version.artifacts.select_related("scanned_by").order_by("created_at", "id"))
    owner_may_edit = is_allowed(request.user, Action.CHANGE_VERSION, model=version.model)
    documentation = version.documentation
    return render(
        request,
        "registry/version_detail.html",
        {
            "version": version,
            "model": version.model,
            "artifacts": artifacts,
            "documentation_text": documentation if isinstance(documentation, str) else None,
            "documentation_sections": _model_card_sections(documentation),
            "can_edit": owner_may_edit and version.is_editable,
            "can_request_exception": is_allowed(
                request.user, Action.REQUEST_EXCEPTION, model=version.model
            ),
            **version_workflow(version, request.user),
            **version_panel(version, request.user),
        },
    )


@login_required
def version_edit(request, pk: int):
    version = _visible_version(request, pk)
    form = DocumentationForm(
        request.POST or None,
        initial={"description": version.description, "tags": version.tags},
        documentation=version.documentation,
        # A frozen version's page shows its model card read-only; a POST still goes to the
        # service, which refuses it saying why.
        frozen=request.method != "POST" and not version.is_editable,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_version(
                version,
                actor=request.user,
                description=form.cleaned_data["description"],
                documentation=form.documentation,
                tags=form.cleaned_data["tags"],
            )
        except Invalid as error:
            _form_error(form, error)
        else:
            messages.success(request, "Saved.")
            return redirect("version-detail", pk=version.pk)
    return render(request, "registry/version_edit.html", {"form": form, "version": version})
