"""A failed rule says in its own words what is missing: an error of the expression engine on a
version's data (documentation written as text, a missing section) fails the rule with the
rule's message, keeps the engine's account in `reason` for the record, and is never a pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from audit.models import AuditEvent
from policies.conditions import compile_condition
from policies.context import build_context, documentation_document
from policies.gate import dry_run_gate, evaluate_gate
from policies.models import PolicyEvaluation
from registry.choices import MODEL_CARD_SECTIONS
from tests.factories import (
    ArtifactFactory,
    ModelVersionFactory,
    PolicyFactory,
    RegisteredModelFactory,
)

pytestmark = pytest.mark.django_db

PACK = "policies/packs/default.yaml"
ENGINE_WORDS = re.compile(r"type error|no such (overload|key|name)|CEL|implicitly", re.I)
FULL_CARD = {key: f"{key} written" for key in MODEL_CARD_SECTIONS}


def version_of(owner, *, tier="MEDIUM", documentation, state="DRAFT"):
    model = RegisteredModelFactory(owner=owner, risk_tier=tier)
    version = ModelVersionFactory(model=model, documentation=documentation, state=state)
    ArtifactFactory(version=version)
    return version


def section_policy(condition: str, message: str):
    return PolicyFactory(policy_id="card", rules=[{"condition": condition, "message": message}])


@pytest.mark.parametrize(
    "condition, documentation, reason",
    [
        ("has(version.documentation.limitations)", "# Model card", "no such overload"),
        ("size(version.documentation.limitations) > 0", "# Model card", "no such overload"),
        ("size(version.documentation.limitations) > 0", {"intendedUse": "x"}, "no such key"),
        ("version.documentation.limitations.size() > 0", {}, "no such key"),
    ],
)
def test_an_engine_error_fails_the_rule_with_its_own_message(
    owner, condition, documentation, reason
):
    section_policy(condition, "missing model card section: limitations")
    version = version_of(owner, documentation=documentation)
    gate = evaluate_gate(version, environment="staging", trigger="SUBMIT", actor=owner)
    assert gate.blocked
    (result,) = PolicyEvaluation.objects.get(version=version).rule_results
    assert result["passed"] is False
    assert result["message"] == "missing model card section: limitations"
    assert reason in result["reason"]
    assert gate.failures[0]["messages"] == ["missing model card section: limitations"]


def test_the_api_publishes_the_message_and_never_the_engine_reason(owner, api):
    section_policy(
        "has(version.documentation.limitations)", "missing model card section: limitations"
    )
    version = version_of(owner, documentation="# Model card")
    body = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert body["state"] == "CHANGES_REQUIRED"
    assert body["policyEvaluation"]["failures"][0]["messages"] == [
        "missing model card section: limitations"
    ]
    listed = api(owner).get(f"/api/v1/versions/{version.pk}/policy-evaluations/").json()
    (evaluation,) = listed["results"] if isinstance(listed, dict) else listed
    (rule,) = evaluation["rules"]
    assert set(rule) == {"index", "condition", "passed", "message", "exception"}
    assert rule["message"] == "missing model card section: limitations"


def test_a_name_the_version_lacks_is_said_in_words(owner):
    PolicyFactory(
        policy_id="scan",
        rules=[{"condition": "artifact.securityScan.status == 'PASSED'", "message": "Scan first"}],
    )
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner))  # no artifact
    gate = dry_run_gate(version, environment="staging")
    (result,) = gate.evaluations[0].rule_results
    assert result["message"] == "Scan first (the version has no artifacts)"
    assert "no such name" in result["reason"]


def test_a_passing_rule_has_no_reason(owner):
    section_policy(
        "has(version.documentation.limitations)", "missing model card section: limitations"
    )
    version = version_of(owner, documentation={"limitations": "EU only"})
    (result,) = dry_run_gate(version, environment="staging").evaluations[0].rule_results
    assert result["passed"] is True
    assert result["reason"] is None


def test_blank_sections_are_missing_sections():
    assert documentation_document({"limitations": "  \n", "intendedUse": "x"}) == {
        "intendedUse": "x"
    }
    assert documentation_document("# text") == "# text"


def test_the_context_gives_sections_without_blank_ones(owner):
    version = version_of(owner, documentation={"limitations": " ", "intendedUse": "scoring"})
    context = build_context(version, environment="staging", artifacts=[], evaluations={})
    assert context["version"]["documentation"] == {"intendedUse": "scoring"}


def test_the_dry_run_records_nothing_and_agrees_with_the_gate(owner):
    call_command("load_policies", PACK, verbosity=0)
    version = version_of(owner, documentation={"intendedUse": "scoring"})
    evaluations, events = PolicyEvaluation.objects.count(), AuditEvent.objects.count()
    dry = dry_run_gate(version, environment="staging")
    assert (PolicyEvaluation.objects.count(), AuditEvent.objects.count()) == (evaluations, events)
    real = evaluate_gate(version, environment="staging", trigger="SUBMIT", actor=owner)
    assert dry.blocked == real.blocked
    assert dry.failures == real.failures


def messages_of(gate) -> list[str]:
    return [m for failure in gate.failures for m in failure["messages"]]


def test_default_pack_names_each_missing_section_in_words(owner):
    call_command("load_policies", PACK, verbosity=0)
    version = version_of(owner, documentation={"intendedUse": "scoring", "evaluation": "AUC"})
    messages = messages_of(dry_run_gate(version, environment="staging"))
    assert "missing model card section: trainingData" in messages
    assert "missing model card section: limitations" in messages
    assert "missing model card section: monitoring" in messages
    assert "missing model card section: intendedUse" not in messages
    assert "missing model card section: evaluation" not in messages


def test_default_pack_on_documentation_written_as_text(owner):
    call_command("load_policies", PACK, verbosity=0)
    version = version_of(owner, documentation="# Model card\nIntended use: scoring.")
    gate = evaluate_gate(
        version, environment="production", trigger="REQUEST_PRODUCTION", actor=owner
    )
    messages = messages_of(gate)
    assert gate.blocked
    assert "missing model card section: intendedUse" in messages
    assert "missing model card section: limitations" in messages
    assert any("free text" in m for m in messages)
    assert not any(ENGINE_WORDS.search(m) for m in messages)
    for evaluation in PolicyEvaluation.objects.filter(version=version):
        for result in evaluation.rule_results:
            assert not ENGINE_WORDS.search(result["message"])


@pytest.mark.parametrize("tier", ["LOW", "MEDIUM", "HIGH"])
def test_default_pack_documentation_policies_pass_a_full_model_card(owner, tier):
    call_command("load_policies", PACK, verbosity=0)
    version = version_of(owner, tier=tier, documentation=FULL_CARD)
    for environment in ("staging", "production"):
        gate = dry_run_gate(version, environment=environment)
        documentation = [
            e
            for e in gate.evaluations
            if e.policy.policy_id in ("documentation-complete", "model-card-sections")
        ]
        assert documentation and all(e.passed for e in documentation)


def test_default_pack_reads_only_the_model_card_section_names():
    documents = yaml.safe_load(Path(PACK).read_text())
    read = set()
    for document in documents:
        for rule in document["rules"]:
            for path in compile_condition(rule["condition"]).paths:
                if path[:2] == ("version", "documentation") and len(path) > 2:
                    read.add(path[2])
    assert read and read <= set(MODEL_CARD_SECTIONS)
    assert {"intendedUse", "limitations"} <= read


def test_an_owner_sees_the_words_on_the_version_page(owner, client):
    call_command("load_policies", PACK, verbosity=0)
    version = version_of(owner, documentation="# Model card")
    client.force_login(owner)
    client.post(f"/versions/{version.pk}/do/submit/", {"comments": ""})
    page = client.get(f"/versions/{version.pk}/").content.decode()
    assert "missing model card section: intendedUse" in page
    assert not ENGINE_WORDS.search(page.split('id="policy-results"')[1])
