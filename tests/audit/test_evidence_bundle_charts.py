"""The evidence bundle carries the charts of the version's latest run of each suite, drawn by
the run page's chart code, as SVG files listed in the manifest and in summary.pdf."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pytest
from pypdf import PdfReader

from audit.evidence import EVALUATION_CHARTS_DIR, MANIFEST, SUMMARY, export_evidence_bundle
from core.choices import Role
from tests.evaluations.test_catalogue_runs import boosted_onnx  # noqa: F401 (fixture)
from tests.evaluations.test_registry_predictions import (
    csv_upload,
    feature_frame,
    post_run,
    run_queued,
    upload_model,
)
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_the_bundle_carries_each_suites_charts(api, owner, users, model, boosted_onnx):  # noqa: F811
    version = ModelVersionFactory(model=model)
    upload_model(api(owner), version, boosted_onnx)
    frame = feature_frame(800, seed=1).drop(columns="gender")
    reference = feature_frame(800, seed=2).drop(columns="gender")
    run = run_queued(
        post_run(
            api(owner), version, frame, suite="validation", referenceDataset=csv_upload(reference)
        )
    )

    bundle = export_evidence_bundle(version, actor=users[Role.AUDITOR])
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    charts = sorted(name for name in files if name.startswith(EVALUATION_CHARTS_DIR))
    assert len(charts) >= 4
    assert all(name.startswith(f"{EVALUATION_CHARTS_DIR}run-{run.pk}-") for name in charts)
    assert any("calibration" in name for name in charts)
    for name in charts:
        assert ET.fromstring(files[name]).tag.endswith("svg")
    manifest = json.loads(files[MANIFEST])
    assert set(charts) <= set(manifest["files"])
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files[SUMMARY])).pages)
    assert "Charts of the latest run of each suite" in text
    assert "Calibration (reliability)" in text
