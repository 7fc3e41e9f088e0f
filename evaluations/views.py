"""Evaluation pages: run a suite, watch it, read its results. Thin: forms in, services do."""

from __future__ import annotations

import json
import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from evaluations import access, catalogue, selectors, services
from evaluations.charts import bias_blocks, run_charts
from evaluations.filtersets import EvaluationRunFilterSet
from evaluations.forms import RunEvaluationForm, split_names
from evaluations.models import EvaluationRun
from evaluations.monitoring import selectors as monitoring_selectors
from evaluations.monitoring import services as monitoring
from evaluations.monitoring.charts import monitoring_charts
from policies.models import Violation
from registry.models import ModelVersion

PAGE_SIZE = 25


def _visible_version(request, pk: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model__owner"), pk=pk
    )


@login_required
def run_create(request, pk: int):
    """The "Run evaluation" form (also shown on the version page's panel)."""
    version = _visible_version(request, pk)
    services.check_may_run(version, actor=request.user)
    form = RunEvaluationForm(
        request.POST or None,
        request.FILES or None,
        artifacts=list(version.artifacts.order_by("created_at", "id")),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = services.request_evaluation(
                version,
                actor=request.user,
                suite=data["suite"],
                dataset=data["dataset"],
                reference_dataset=data.get("reference_dataset"),
                sensitive_features=split_names(data["sensitive_features"]),
                segment_columns=split_names(data["segment_columns"]),
                thresholds=data["thresholds"],
                artifact=data.get("artifact") or None,
                features=split_names(data.get("features", "")),
                training_dataset=data.get("training_dataset"),
                epsilon=data.get("epsilon"),
                seed=data.get("seed"),
            )
        except ValidationError as error:
            form.add_service_errors(error.message_dict)
        else:
            messages.success(request, f"The {run.suite} evaluation is queued.")
            return redirect("evaluation-detail", pk=run.pk)
    return render(
        request,
        "evaluations/run_form.html",
        {
            "form": form,
            "version": version,
            "model": version.model,
            "default_thresholds": selectors.default_thresholds_text(version.model.risk_tier),
            "suites": catalogue.suite_documents(),
        },
    )


@login_required
def run_detail(request, pk: int):
    run = get_object_or_404(
        EvaluationRun.objects.visible_to(request.user).select_related(
            "version__model__owner", "requested_by", "artifact"
        ),
        pk=pk,
    )
    services.check_may_read(run.version, actor=request.user)
    metrics = run.metrics or {}
    return render(
        request,
        "evaluations/run_detail.html",
        {
            "run": run,
            "version": run.version,
            "model": run.version.model,
            "metrics": metrics,
            "charts": run_charts(run) if run.is_done else [],
            "bias_blocks": bias_blocks(metrics) if run.suite == "bias" else [],
            "meanings": catalogue.MEANINGS.get(run.suite, []),
            "segments": (metrics.get("segments") or {}) if run.suite == "performance" else {},
            "drift": (metrics.get("featureDrift") or {}) if run.suite == "robustness" else {},
            "can_run": access.may_run(request.user, run.version.model),
            "thresholds_text": json.dumps(run.thresholds, indent=2),
        },
    )


@login_required
def version_history(request, pk: int):
    version = _visible_version(request, pk)
    services.check_may_read(version, actor=request.user)
    filterset = EvaluationRunFilterSet(
        request.GET, queryset=selectors.runs_of_version(version).defer("metrics", "notes")
    )
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluations/history.html",
        {"version": version, "model": version.model, "page": page, "filter": filterset},
    )


# ---- monitoring deployed versions ---------------------------------------------------------


class MonitoringBatchForm(forms.Form):
    """The page's upload of a batch; the service checks the file and names its problems."""

    file = forms.FileField(
        help_text="CSV, Parquet or JSON lines: the model's input columns, y_score, optionally "
        "y_pred and recordId"
    )
    batch_id = forms.CharField(
        max_length=200,
        label="Batch id",
        help_text="your key for this batch: sending it again stores nothing twice",
    )


@login_required
def version_monitoring(request, pk: int):
    """The version's monitoring: metric time series with thresholds, the last batches, open
    violations, and (for SRE and the owner, while deployed) an upload form."""
    version = _visible_version(request, pk)
    monitoring.check_may_read(version, actor=request.user)
    can_upload = monitoring.may_record(request.user, version.model) and (
        version.state in monitoring.MONITORED_STATES
    )
    form = MonitoringBatchForm(
        request.POST or None,
        request.FILES or None,
        initial={"batch_id": f"page-{uuid.uuid4().hex[:12]}"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            recorded = monitoring.record_batch(
                version,
                actor=request.user,
                file=form.cleaned_data["file"],
                batch_id=form.cleaned_data["batch_id"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                name = "batch_id" if field == monitoring.BATCH_ID else field
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            batch = recorded.batch
            if recorded.created:
                messages.success(
                    request,
                    f"Batch {batch.batch_id} received ({batch.rows} rows); its window is "
                    "being computed.",
                )
            else:
                messages.info(request, f"Batch {batch.batch_id} was already received: nothing new.")
            return redirect("version-monitoring", pk=version.pk)
    windows = monitoring_selectors.windows_of(version.pk)
    violations = (
        Violation.objects.open()
        .visible_to(request.user)
        .filter(version=version)
        .select_related("policy")
        .order_by("-first_seen", "-id")
    )
    return render(
        request,
        "evaluations/monitoring.html",
        {
            "version": version,
            "model": version.model,
            "windows": windows,
            "latest": windows[0] if windows else None,
            "last_batch_at": monitoring_selectors.last_batch_at(version.pk),
            "charts": monitoring_charts(windows),
            "batches": monitoring_selectors.last_batches(version.pk),
            "violations": violations,
            "form": form if can_upload else None,
            "deployed": version.state in monitoring.MONITORED_STATES,
        },
    )
