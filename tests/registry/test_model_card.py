"""The model card on the pages: one box per section on the version forms, saved as the object
of sections the policies read; documentation written as text is shown for moving into the
sections; the version page lists what the next step's gate would refuse, and where to fix it."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from policies.models import Policy, PolicyEvaluation
from registry.choices import MODEL_CARD_SECTIONS
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db

PACK = "policies/packs/default.yaml"
SECTIONS = list(MODEL_CARD_SECTIONS)


def field_names(html: str) -> list[str]:
    return re.findall(r'<textarea name="([^"]+)"', html)


def test_the_section_keys_are_the_contracts_in_order():
    assert SECTIONS == [
        "intendedUse",
        "trainingData",
        "evaluation",
        "limitations",
        "monitoring",
        "fairnessStatement",
    ]
    for section in MODEL_CARD_SECTIONS.values():
        assert section["label"] and section["help"]


def test_the_create_form_has_one_box_per_section_with_label_and_help(client, owner, model):
    client.force_login(owner)
    html = client.get(f"/models/{model.pk}/versions/new/").content.decode()
    names = field_names(html)
    assert [n for n in names if n in MODEL_CARD_SECTIONS] == SECTIONS
    assert "documentation" not in names
    for section in MODEL_CARD_SECTIONS.values():
        assert f">{section['label']}</label>" in html
        assert section["help"] in html.replace("&#x27;", "'")


def test_creating_a_version_saves_the_written_sections_only(client, owner, model):
    client.force_login(owner)
    response = client.post(
        f"/models/{model.pk}/versions/new/",
        {
            "version": "2.0.0",
            "intendedUse": "Card fraud scoring.\r\nNot for credit decisions.",
            "limitations": "  EU only.  ",
            "monitoring": "   ",
            "tags": "team=risk",
        },
    )
    assert response.status_code == 302
    version = model.versions.get(version="2.0.0")
    assert version.documentation == {
        "intendedUse": "Card fraud scoring.\nNot for credit decisions.",
        "limitations": "EU only.",
    }
    assert version.tags == {"team": "risk"}


def test_the_edit_form_changes_sections_and_keeps_other_api_sections(client, owner, model):
    version = ModelVersionFactory(
        model=model, documentation={"intendedUse": "Scoring.", "releaseNotes": "from CI"}
    )
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/edit/").content.decode()
    assert "Scoring." in html
    assert "releaseNotes" in html  # named as kept
    response = client.post(
        f"/versions/{version.pk}/edit/",
        {"description": "d", "intendedUse": "Scoring.", "limitations": "EU only.", "tags": ""},
    )
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.documentation == {
        "releaseNotes": "from CI",
        "intendedUse": "Scoring.",
        "limitations": "EU only.",
    }


def test_text_documentation_is_shown_as_free_text_to_move_into_sections(client, owner, model):
    version = ModelVersionFactory(model=model, documentation="# Card\nIntended use: scoring.")
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/edit/").content.decode()
    assert 'name="free_text"' in html
    assert "Intended use: scoring." in html
    assert 'id="free-text-notice"' in html
    assert [n for n in field_names(html) if n in MODEL_CARD_SECTIONS] == SECTIONS

    # Both at once would lose one of them: refused, nothing saved.
    both = client.post(
        f"/versions/{version.pk}/edit/",
        {"free_text": "# Card", "intendedUse": "Scoring.", "tags": ""},
    )
    assert both.status_code == 200
    assert "either free text or model card sections" in both.content.decode()
    version.refresh_from_db()
    assert version.documentation == "# Card\nIntended use: scoring."

    # Unchanged text (as a browser sends it, CRLF) is no change at all.
    events = AuditEvent.objects.count()
    same = client.post(
        f"/versions/{version.pk}/edit/",
        {
            "description": version.description,
            "free_text": "# Card\r\nIntended use: scoring.",
            "tags": "",
        },
    )
    assert same.status_code == 302
    version.refresh_from_db()
    assert version.documentation == "# Card\nIntended use: scoring."
    assert AuditEvent.objects.count() == events

    moved = client.post(
        f"/versions/{version.pk}/edit/",
        {"free_text": "", "intendedUse": "Scoring.", "tags": ""},
    )
    assert moved.status_code == 302
    version.refresh_from_db()
    assert version.documentation == {"intendedUse": "Scoring."}
    assert 'name="free_text"' not in client.get(f"/versions/{version.pk}/edit/").content.decode()


def test_a_frozen_version_shows_its_card_read_only(client, owner, model):
    version = ModelVersionFactory(
        model=model, state="MRC_REVIEW", documentation={"intendedUse": "Scoring."}
    )
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/edit/").content.decode()
    assert "frozen" in html
    assert re.search(r'<textarea name="intendedUse"[^>]*disabled', html)
    assert ">Save</button>" not in html
    refused = client.post(f"/versions/{version.pk}/edit/", {"intendedUse": "Other.", "tags": ""})
    assert refused.status_code == 409
    version.refresh_from_db()
    assert version.documentation == {"intendedUse": "Scoring."}


def test_the_version_page_shows_the_sections_with_their_labels(client, owner, model):
    version = ModelVersionFactory(
        model=model, documentation={"intendedUse": "Scoring.", "limitations": "EU only."}
    )
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/").content.decode()
    card = html.split('id="model-card-sections"')[1].split("</section>")[0]
    labels = re.findall(r"<h3>([^<]+)</h3>", card)
    assert labels == [s["label"] for s in MODEL_CARD_SECTIONS.values()]
    assert "Scoring." in card and "EU only." in card
    assert f'href="/versions/{version.pk}/edit/#id_monitoring"' in card


def readiness_of(html: str) -> str:
    return html.split('id="readiness"')[1].split("</ul>\n</div>")[0]


def test_readiness_before_submit_lists_what_the_staging_gate_would_refuse(client, owner):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model, documentation={"intendedUse": "Scoring."})
    ArtifactFactory(version=version, scan_status="FAILED")
    client.force_login(owner)
    evaluations, events = PolicyEvaluation.objects.count(), AuditEvent.objects.count()
    html = client.get(f"/versions/{version.pk}/").content.decode()
    assert (PolicyEvaluation.objects.count(), AuditEvent.objects.count()) == (evaluations, events)
    readiness = readiness_of(html)
    assert "Readiness for staging" in readiness
    assert "would fail the policy check now" in readiness
    for section in ("trainingData", "evaluation", "limitations", "monitoring"):
        assert f"missing model card section: {section}" in readiness
        label = MODEL_CARD_SECTIONS[section]["label"]
        assert f'href="/versions/{version.pk}/edit/#id_{section}">write the “{label}” section' in (
            readiness
        )
    assert "missing model card section: intendedUse" not in readiness
    assert "The bias and fairness suite must have passed" in readiness
    assert 'href="#evaluations">run the Bias and fairness suite' in readiness
    assert "Every artifact of the version must pass its security scan" in readiness
    assert f'href="/versions/{version.pk}/artifacts/new/"' in readiness
    assert "type error" not in readiness


def test_readiness_is_green_exactly_when_submit_passes(client, owner, api):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="LOW")
    version = ModelVersionFactory(model=model, documentation={"intendedUse": "Scoring."})
    client.force_login(owner)
    readiness = readiness_of(client.get(f"/versions/{version.pk}/").content.decode())
    # LOW needs the performance and smoke suites: not run yet, so not ready.
    assert "would fail the policy check now" in readiness
    assert "The performance suite must have passed" in readiness
    assert "Documentation Standards" in readiness
    body = api(owner).post(f"/api/v1/versions/{version.pk}/submit/", {}, format="json").json()
    assert body["state"] == "CHANGES_REQUIRED"
    assert body["policyEvaluation"]["failures"] == [
        {
            "policyId": "evaluation-requirements-low",
            "severity": "MEDIUM",
            "messages": [
                "The performance suite must have passed",
                "The smoke suite must have passed (a failed or incomplete run is not a pass)",
                "The smoke suite must be run on the model artifact by the registry",
            ],
        }
    ]


def test_readiness_without_a_failing_policy_says_the_step_passes(client, owner):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="LOW")
    version = ModelVersionFactory(model=model, documentation={"intendedUse": "Scoring."})
    Policy.objects.filter(policy_id="evaluation-requirements-low").update(enforcement="WARN")
    client.force_login(owner)
    readiness = readiness_of(client.get(f"/versions/{version.pk}/").content.decode())
    assert "passes every enforced policy for staging" in readiness
    assert "warning only: does not block" in readiness


def test_readiness_before_request_production_runs_the_production_gate(client, owner):
    call_command("load_policies", PACK, verbosity=0)
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(
        model=model, state="STAGING", review_cycle=1, documentation="# Card as text"
    )
    ArtifactFactory(version=version)
    client.force_login(owner)
    html = client.get(f"/versions/{version.pk}/").content.decode()
    readiness = readiness_of(html)
    assert "Readiness for production" in readiness
    assert "free text" in readiness
    assert "missing model card section: limitations" in readiness
    # Documentation is frozen in STAGING: the way to fix it is a new version.
    assert "documentation is frozen in STAGING" in readiness
    assert f'href="/models/{model.pk}/versions/new/"' in readiness
    assert html.index('id="readiness"') < html.index('id="request-production-button"')


def test_no_readiness_for_someone_with_no_step_to_take(client, owner, users):
    call_command("load_policies", PACK, verbosity=0)
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner))
    client.force_login(users["Auditor"])
    assert 'id="readiness"' not in client.get(f"/versions/{version.pk}/").content.decode()


def test_the_api_still_takes_markdown_or_an_object(api, owner, model):
    client = api(owner)
    text = client.post(
        f"/api/v1/models/{model.pk}/versions/",
        {"version": "5.0", "documentation": "# Card"},
        format="json",
    )
    assert text.status_code == 201 and text.json()["documentation"] == "# Card"
    card = client.post(
        f"/api/v1/models/{model.pk}/versions/",
        {"version": "5.1", "documentation": {"intendedUse": "Scoring."}},
        format="json",
    )
    assert card.status_code == 201 and card.json()["documentation"] == {"intendedUse": "Scoring."}
