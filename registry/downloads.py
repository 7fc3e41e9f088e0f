"""Answering a download of held artifact bytes (the API and the version page): allowed and
audited by `artifacts.record_download`, then streamed from the storage in chunks."""

from __future__ import annotations

from django.http import FileResponse

from registry import artifacts, custody
from registry.models import Artifact


def artifact_response(artifact: Artifact, *, actor) -> FileResponse:
    artifacts.record_download(artifact, actor=actor)
    response = FileResponse(
        custody.open_held(artifact),
        as_attachment=True,
        filename=artifact.filename or f"artifact-{artifact.pk}",
        content_type="application/octet-stream",
    )
    response["X-Content-SHA256"] = artifact.sha256
    response["Content-Length"] = str(artifact.size)
    return response
