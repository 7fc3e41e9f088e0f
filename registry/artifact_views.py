"""Artifact pages: add one (upload the bytes, with progress, or give a reference) and download
held bytes. Thin: the form shapes input, registry.artifacts decides."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from core.errors import Invalid, TooLarge
from registry import artifacts, downloads, uploads
from registry.forms import ArtifactForm
from registry.models import Artifact, ModelVersion


def _wants_json(request) -> bool:
    # The page's upload script asks for JSON so it can show progress and then follow the
    # answer; without script the form posts and the page answers as usual.
    return "application/json" in request.headers.get("Accept", "")


@csrf_exempt  # checked by _artifact_create, after the hashing upload handler is in place
@login_required
def artifact_create(request, pk: int):
    if request.method == "POST":
        try:
            uploads.install(request)
            request.FILES  # noqa: B018 -- receive the body now, where an oversize file is caught
        except TooLarge as error:
            if _wants_json(request):
                return JsonResponse({"file": [error.detail]}, status=413)
            raise
    return _artifact_create(request, pk)


@csrf_protect
def _artifact_create(request, pk: int):
    version = get_object_or_404(
        ModelVersion.objects.visible_to(request.user).select_related("model"), pk=pk
    )
    form = ArtifactForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            artifact = artifacts.add_artifact(
                version,
                actor=request.user,
                name=data["name"],
                type=data["type"],
                uri=data["uri"],
                sha256=data["sha256"],
                upload=data["file"],
            )
        except Invalid as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.detail)
        else:
            held = (
                "the registry holds it and is scanning it"
                if artifact.held
                else ("a reference: the registry does not hold these bytes")
            )
            messages.success(request, f"Added artifact {artifact.name} ({held}).")
            target = reverse("version-detail", args=[version.pk]) + "#artifacts"
            if _wants_json(request):
                return JsonResponse({"redirect": target}, status=201)
            return redirect(target)
    if request.method == "POST" and _wants_json(request):
        return JsonResponse(form.errors.get_json_data(), status=400)
    return render(request, "registry/artifact_form.html", {"form": form, "version": version})


@require_GET
@login_required
def artifact_download(request, pk: int):
    artifact = get_object_or_404(
        Artifact.objects.visible_to(request.user).select_related("version__model"), pk=pk
    )
    return downloads.artifact_response(artifact, actor=request.user)
