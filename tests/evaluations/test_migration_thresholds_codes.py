"""Migration 0004 turns the old free-text thresholds_source into a code, keeping the text in
thresholds_note: the tier's defaults are TIER, a supplied document no looser than the tier's is
STRICTER, a looser one (allowed before thresholds were a floor) is left without a code."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("evaluations", "0003_run_status_cancelled")]
AFTER = [("evaluations", "0004_run_provenance_thresholds_floor_incomplete")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


# serialized_rollback: like every transactional test here, so the rows migrations create (content
# types, role groups, the chain head) come back without a post_migrate that the next
# serialized test would duplicate.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_old_texts_become_codes_and_notes():
    apps = migrate(BEFORE)
    User = apps.get_model("auth", "User")
    Model = apps.get_model("registry", "RegisteredModel")
    Version = apps.get_model("registry", "ModelVersion")
    Run = apps.get_model("evaluations", "EvaluationRun")
    owner = User.objects.create(username="legacy-owner")
    model = Model.objects.create(name="legacy", owner=owner, risk_tier="MEDIUM")
    version = Version.objects.create(model=model, version="1.0.0", created_by=owner)
    common = {
        "version": version,
        "suite": "performance",
        "status": "PASSED",
        "dataset": "evaluations/x.csv",
        "dataset_name": "x.csv",
        "dataset_format": "csv",
        "dataset_sha256": "0" * 64,
        "dataset_size": 1,
        "dataset_rows": 1,
        "requested_by": owner,
    }
    tier = Run.objects.create(thresholds_source="risk tier default (MEDIUM)", **common).pk
    stricter = Run.objects.create(
        thresholds={"performanceThresholds": {"accuracy": 0.9}},
        thresholds_source="supplied with the request",
        **common,
    ).pk
    looser = Run.objects.create(
        thresholds={"performanceThresholds": {"accuracy": 0.5}},
        thresholds_source="supplied with the request (MEDIUM defaults for biasThresholds)",
        **common,
    ).pk
    try:
        apps = migrate(AFTER)
        Run = apps.get_model("evaluations", "EvaluationRun")
        rows = {
            pk: (source, note)
            for pk, source, note in Run.objects.values_list(
                "pk", "thresholds_source", "thresholds_note"
            )
        }
        assert rows[tier] == ("TIER", "risk tier default (MEDIUM)")
        assert rows[stricter] == ("STRICTER", "supplied with the request")
        assert rows[looser] == (
            "",
            "supplied with the request (MEDIUM defaults for biasThresholds)",
        )
        assert Run.objects.get(pk=tier).predictions_source == "SUBMITTED"
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
