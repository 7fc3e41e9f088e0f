"""The evidence bundle of a version: what it holds, who may export it, that the export is
audited, and that it verifies, and stops verifying after any byte of it is changed."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from pypdf import PdfReader

from audit import checkpoints, signing
from audit.evidence import CHECKPOINT_FILE, MANIFEST, SUMMARY, export_evidence_bundle, sha256_hex
from audit.evidence_verify import verify_bundle
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import chain_head
from core.choices import Role
from governance import promotion
from policies.documents import to_document, validate_document
from policies.models import Policy
from policies.services import load_documents
from tests.audit.keys import new_key_pem
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory
from tests.governance.checklists import ticked_kwargs

pytestmark = pytest.mark.django_db

# Policies of their own, so the tests do not follow edits of the shipped pack.
POLICIES = [
    {
        "policyId": "security-scan-required",
        "name": "Security scan",
        "severity": "HIGH",
        "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
        "rules": [
            {"condition": "artifact.securityScan.status == 'PASSED'", "message": "Scan must pass"}
        ],
    },
    {
        "policyId": "documentation-complete",
        "name": "Documentation",
        "severity": "MEDIUM",
        "scope": {
            "riskTiers": ["LOW", "MEDIUM", "HIGH"],
            "environments": ["staging", "production"],
        },
        "rules": [{"condition": "size(version.documentation) > 0", "message": "No documentation"}],
    },
    {
        "policyId": "card-sections",
        "name": "Model card sections",
        "severity": "MEDIUM",
        "enforcement": "WARN",
        "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
        "rules": [
            {"condition": "has(version.documentation.monitoring)", "message": "No monitoring"}
        ],
    },
]


def load_policies():
    load_documents([validate_document(document) for document in POLICIES])


@pytest.fixture
def walked(users):
    """A MEDIUM version submitted, sent back by MRC, re-submitted and approved: approvals,
    transitions, policy evaluations and audit events of every kind."""
    load_policies()
    owner = users[Role.MODEL_OWNER]
    model = RegisteredModelFactory(owner=owner, name="loan-pricer", risk_tier="MEDIUM")
    version = ModelVersionFactory(
        model=model,
        version="2.0.0",
        documentation={"intendedUse": "Pricing of retail loans.", "limitations": "Retail only."},
    )
    ArtifactFactory(version=version, name="pricer.onnx")
    promotion.submit_version(version, actor=owner, comments="first try")
    version.refresh_from_db()
    promotion.reject_version(version, actor=users[Role.MRC], comments="Explain the features.")
    version.refresh_from_db()
    promotion.submit_version(version, actor=owner, comments="features explained")
    version.refresh_from_db()
    promotion.approve_version(
        version, actor=users[Role.MRC], comments="Clear now.", **ticked_kwargs(Role.MRC)
    )
    version.refresh_from_db()
    return version


def download(user, version) -> bytes:
    client = Client()
    client.force_login(user)
    response = client.get(f"/api/v1/versions/{version.pk}/evidence-bundle/")
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    return response.content


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes], like: bytes) -> bytes:
    """The same zip (same entry metadata), with `files` as contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(like)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, files[info.filename])
    return buffer.getvalue()


def test_bundle_holds_every_piece_of_evidence(users, walked):
    content = download(users[Role.AUDITOR], walked)
    files = members(content)
    manifest = json.loads(files[MANIFEST])
    export = AuditEvent.objects.get(action="EXPORT_EVIDENCE")

    assert set(manifest["files"]) == set(files) - {MANIFEST}
    for name, digest in manifest["files"].items():
        assert sha256_hex(files[name]) == digest, name
    assert manifest["exportedBy"] == users[Role.AUDITOR].username
    # The chain's head when the bundle was made: the event just before the export's own.
    assert manifest["auditChainHeadSeq"] == export.seq - 1
    assert manifest["auditChainHead"] == export.prev_hash
    assert chain_head() == (export.seq, export.hash)
    assert manifest["version"] == {"id": walked.pk, "version": "2.0.0", "state": walked.state}
    assert manifest["model"]["name"] == "loan-pricer"
    for required in (
        "summary.pdf",
        "documentation.json",
        "approvals.json",
        "transitions.json",
        "evaluations.json",
        "policy-evidence/evaluations.json",
        "audit-trail.jsonl",
        "version.json",
    ):
        assert required in files

    assert json.loads(files["documentation.json"]) == walked.documentation
    approvals = json.loads(files["approvals.json"])
    assert [(a["decision"], a["user"], a["comments"]) for a in approvals] == [
        ("REJECTED", users[Role.MRC].username, "Explain the features."),
        ("APPROVED", users[Role.MRC].username, "Clear now."),
    ]
    transitions = json.loads(files["transitions.json"])
    assert [t["toState"] for t in transitions] == [
        "SUBMITTED",
        "MRC_REVIEW",
        "CHANGES_REQUIRED",
        "SUBMITTED",
        "MRC_REVIEW",
        "APPROVED_STAGING",
    ]
    artifact = json.loads(files["version.json"])["version"]["artifacts"][0]
    assert artifact["name"] == "pricer.onnx" and len(artifact["sha256"]) == 64


def test_policy_evidence_holds_the_exact_revision_that_judged(users, walked):
    # The policy changes after it judged: the bundle must still show the text that judged.
    policy = Policy.objects.get(policy_id="security-scan-required")
    judged_text = to_document(policy)
    policy.description = "A later wording."
    policy.save()

    files = members(download(users[Role.MRC], walked))
    evaluations = json.loads(files["policy-evidence/evaluations.json"])
    assert len(evaluations) == walked.policy_evaluations.count() > 0
    for evaluation in evaluations:
        assert evaluation["policyRevision"] is not None
        revision = json.loads(files[evaluation["policyDocument"]])
        record = Policy.history.get(history_id=evaluation["policyRevision"])
        assert revision["document"] == to_document(record)
        assert revision["policyId"] == evaluation["policyId"]
        assert isinstance(evaluation["passed"], bool) and evaluation["rules"]
    scan = next(e for e in evaluations if e["policyId"] == "security-scan-required")
    assert json.loads(files[scan["policyDocument"]])["document"] == judged_text
    assert "A later wording." not in files[scan["policyDocument"]].decode()


def test_audit_excerpt_matches_the_stored_chain(users, walked):
    files = members(download(users[Role.AUDITOR], walked))
    lines = [json.loads(line) for line in files["audit-trail.jsonl"].decode().splitlines()]
    stored = {
        e.seq: e
        for e in AuditEvent.objects.filter(version_id=walked.pk)
        | AuditEvent.objects.filter(model_id=walked.model_id, version_id__isnull=True)
    }
    manifest = json.loads(files[MANIFEST])
    expected = sorted(s for s in stored if s <= manifest["auditChainHeadSeq"])
    assert [line["seq"] for line in lines] == expected
    for line in lines:
        event = stored[line["seq"]]
        assert (line["hash"], line["prevHash"], line["action"]) == (
            event.hash,
            event.prev_hash,
            event.action,
        )
    assert {"SUBMIT", "REJECT", "APPROVE_STAGING"} <= {line["action"] for line in lines}


def test_summary_pdf_states_the_evidence(users, walked):
    files = members(download(users[Role.AUDITOR], walked))
    reader = PdfReader(io.BytesIO(files["summary.pdf"]))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Evidence bundle" in text
    assert "loan-pricer" in text and "2.0.0" in text
    assert "Explain the features." in text and "Clear now." in text
    assert "security-scan-required" in text
    assert users[Role.AUDITOR].username in text
    manifest = json.loads(files[MANIFEST])
    assert manifest["auditChainHead"] in text.replace("\n", "").replace(" ", "")


def test_export_is_audited_with_the_digests(users, walked):
    content = download(users[Role.EXECUTIVE], walked)
    manifest_bytes = members(content)[MANIFEST]
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.event_type, event.action) == ("AUDIT_ACCESS", "EXPORT_EVIDENCE")
    assert event.user_id == users[Role.EXECUTIVE].username
    assert event.version_id == walked.pk and event.model_id == walked.model_id
    assert event.details["manifestSha256"] == sha256_hex(manifest_bytes)
    assert event.details["bundleSha256"] == sha256_hex(content)
    # The head in the manifest is the chain just before the export event.
    assert json.loads(manifest_bytes)["auditChainHead"] == event.prev_hash


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.MRC, 200),
        (Role.SECURITY_ARCHITECT, 200),
        (Role.AUDITOR, 200),
        (Role.EXECUTIVE, 200),
        (Role.SRE, 403),
    ],
)
def test_who_may_export(users, walked, role, status, api):
    response = api(users[role]).get(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
    assert response.status_code == status
    if status == 403:
        assert "evidence" in response.json()["detail"]
        refused = AuditEvent.objects.order_by("-seq").first()
        assert refused.event_type == "ACCESS_DENIED" and refused.version_id == walked.pk


def test_owner_exports_their_own_and_not_others(users, walked, make_user, api):
    assert (
        api(users[Role.MODEL_OWNER])
        .get(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
        .status_code
        == 200
    )
    stranger = make_user(Role.MODEL_OWNER, username="stranger")
    response = api(stranger).get(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
    assert response.status_code == 404
    assert api().get(f"/api/v1/versions/{walked.pk}/evidence-bundle/").status_code == 401
    assert api(users[Role.AUDITOR]).get("/api/v1/versions/999999/evidence-bundle/").status_code == (
        404
    )
    post = api(users[Role.AUDITOR]).post(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
    assert post.status_code == 405


def test_page_link_and_page_download(users, walked, make_user):
    client = Client()
    client.force_login(users[Role.AUDITOR])
    page = client.get(f"/versions/{walked.pk}/").content.decode()
    assert f"/versions/{walked.pk}/evidence-bundle/" in page
    response = client.get(f"/versions/{walked.pk}/evidence-bundle/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert verify_bundle(io.BytesIO(response.content)).valid

    sre = Client()
    sre.force_login(users[Role.SRE])
    assert "evidence-bundle" not in sre.get(f"/versions/{walked.pk}/").content.decode()
    assert sre.get(f"/versions/{walked.pk}/evidence-bundle/").status_code == 403


def test_admin_download(users, walked):
    client = Client()
    client.force_login(users[Role.AUDITOR])
    listing = client.get("/admin/audit/report/evidence-bundles/?q=loan").content.decode()
    assert f"/admin/audit/report/evidence-bundles/{walked.pk}/" in listing
    response = client.get(f"/admin/audit/report/evidence-bundles/{walked.pk}/")
    assert response.status_code == 200
    assert verify_bundle(io.BytesIO(response.content)).valid


# ---- verification --------------------------------------------------------------------------


@pytest.fixture
def bundle(users, walked) -> bytes:
    return export_evidence_bundle(walked, actor=users[Role.AUDITOR]).content


def test_an_untouched_bundle_verifies_with_and_without_the_database(bundle, tmp_path):
    verdict = verify_bundle(io.BytesIO(bundle))
    assert verdict.valid, verdict.problems
    assert verdict.database_checked and verdict.events_checked > 5
    assert verdict.files_checked == len(members(bundle)) - 1
    assert any("export recorded as audit event" in note for note in verdict.notes)
    offline = verify_bundle(io.BytesIO(bundle), use_database=False)
    assert offline.valid and not offline.database_checked

    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    out = io.StringIO()
    call_command("verify_evidence_bundle", str(path), stdout=out)
    assert "OK:" in out.getvalue()


@pytest.mark.parametrize("use_database", [True, False])
def test_a_flipped_byte_inside_any_file_fails_naming_it(bundle, use_database):
    files = members(bundle)
    for name in files:
        if name == MANIFEST:
            continue
        data = bytearray(files[name])
        data[len(data) // 2] ^= 0x01
        tampered = rezip({**files, name: bytes(data)}, like=bundle)
        verdict = verify_bundle(io.BytesIO(tampered), use_database=use_database)
        assert not verdict.valid, name
        assert any(problem.startswith(f"{name}:") for problem in verdict.problems), (
            name,
            verdict.problems,
        )


def test_a_changed_manifest_fails(bundle):
    files = members(bundle)
    manifest = json.loads(files[MANIFEST])
    manifest["exportedBy"] = "someone-else"
    changed = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    verdict = verify_bundle(io.BytesIO(rezip({**files, MANIFEST: changed}, like=bundle)))
    assert not verdict.valid
    assert any("no export of this manifest is recorded" in p for p in verdict.problems)
    # A consistent forgery (file and its digest rewritten together) is caught by the chain.
    approvals = files["approvals.json"].replace(b"Clear now.", b"Great!!!!!")
    manifest = json.loads(files[MANIFEST])
    manifest["files"]["approvals.json"] = sha256_hex(approvals)
    forged = {
        **files,
        "approvals.json": approvals,
        MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    }
    verdict = verify_bundle(io.BytesIO(rezip(forged, like=bundle)))
    assert not verdict.valid
    assert any("manifest.json" in p for p in verdict.problems)


def test_a_missing_or_extra_file_fails(bundle):
    files = members(bundle)
    without = {k: v for k, v in files.items() if k != "approvals.json"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in without.items():
            archive.writestr(name, data)
    verdict = verify_bundle(io.BytesIO(buffer.getvalue()), use_database=False)
    assert any(
        p.startswith("approvals.json: listed in the manifest but missing")
        for p in (verdict.problems)
    )
    buffer = io.BytesIO(bundle)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("extra.txt", b"not evidence")
    verdict = verify_bundle(io.BytesIO(buffer.getvalue()), use_database=False)
    assert any(p.startswith("extra.txt: in the bundle but not listed") for p in verdict.problems)


def test_an_altered_excerpt_event_fails_against_its_hash_and_the_chain(bundle):
    files = members(bundle)
    lines = files["audit-trail.jsonl"].decode().splitlines()
    event = json.loads(lines[2])
    event["userId"] = "mallory"
    lines[2] = json.dumps(event, sort_keys=True)
    excerpt = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files[MANIFEST])
    manifest["files"]["audit-trail.jsonl"] = sha256_hex(excerpt)
    forged = {
        **files,
        "audit-trail.jsonl": excerpt,
        MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    }
    verdict = verify_bundle(io.BytesIO(rezip(forged, like=bundle)), use_database=False)
    assert any("line 3" in p and "does not match its hash" in p for p in verdict.problems)


def test_any_changed_byte_of_the_zip_fails(bundle):
    """Flip bytes all over the file (contents, headers, central directory, end record)."""
    positions = sorted(
        set(range(0, len(bundle), max(1, len(bundle) // 150)))
        | set(range(len(bundle) - 120, len(bundle)))
    )
    for position in positions:
        data = bytearray(bundle)
        data[position] ^= 0x20
        verdict = verify_bundle(io.BytesIO(bytes(data)))
        assert not verdict.valid, f"byte {position} of {len(bundle)} changed, still valid"


def test_command_fails_naming_the_file(bundle, tmp_path):
    files = members(bundle)
    data = bytearray(files["transitions.json"])
    data[10] ^= 0x01
    path = tmp_path / "tampered.zip"
    path.write_bytes(rezip({**files, "transitions.json": bytes(data)}, like=bundle))
    err = io.StringIO()
    with pytest.raises(CommandError, match="NOT valid"):
        call_command("verify_evidence_bundle", str(path), stderr=err, stdout=io.StringIO())
    assert "transitions.json" in err.getvalue()
    path.write_bytes(b"not a zip at all")
    with pytest.raises(CommandError):
        call_command(
            "verify_evidence_bundle", str(path), stderr=io.StringIO(), stdout=io.StringIO()
        )


def test_excerpt_event_missing_from_the_chain_is_named(bundle, users, walked):
    files = members(bundle)
    lines = files["audit-trail.jsonl"].decode().splitlines()
    del lines[1]
    excerpt = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files[MANIFEST])
    manifest["files"]["audit-trail.jsonl"] = sha256_hex(excerpt)
    forged = {
        **files,
        "audit-trail.jsonl": excerpt,
        MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode(),
    }
    verdict = verify_bundle(io.BytesIO(rezip(forged, like=bundle)))
    assert any("lacks 1 event" in p for p in verdict.problems)


# ---- the signed checkpoint -------------------------------------------------------------------


def with_files(bundle: bytes, **changed: bytes) -> bytes:
    """The bundle with some files replaced and the manifest's digests updated to match, as a
    forger would: only the signature can tell."""
    files = members(bundle)
    manifest = json.loads(files[MANIFEST])
    for name, data in changed.items():
        manifest["files"][name] = sha256_hex(data)
    files.update(changed)
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return rezip(files, like=bundle)


def carried_checkpoint(bundle: bytes) -> dict:
    return json.loads(members(bundle)[CHECKPOINT_FILE])


def registry_key(settings):
    return signing.load_public_pem(settings.AUDIT_SIGNING_KEY_FILE.read_bytes())


def test_the_bundle_carries_a_checkpoint_of_its_head_signed_at_export(users, walked, settings):
    exported = export_evidence_bundle(walked, actor=users[Role.AUDITOR])
    files = members(exported.content)
    manifest = json.loads(files[MANIFEST])
    assert {"files", "exportedBy", "exportedAt", "auditChainHead"} <= set(manifest)
    assert CHECKPOINT_FILE in manifest["files"]
    stored = AuditCheckpoint.objects.get()
    assert stored.trigger == "EVIDENCE_BUNDLE"
    carried = carried_checkpoint(exported.content)
    assert carried["checkpoint"] == checkpoints.document(stored)
    assert carried["keyId"] == signing.key_id(registry_key(settings))
    assert signing.load_public_pem(carried["publicKey"].encode()) == registry_key(settings)
    assert checkpoints.signature_problem(carried["checkpoint"], registry_key(settings)) == ""
    assert (manifest["auditChainHeadSeq"], manifest["auditChainHead"]) == (
        stored.seq,
        stored.head_hash,
    )
    assert manifest["auditCheckpoint"] == {
        "file": CHECKPOINT_FILE,
        "number": stored.number,
        "seq": stored.seq,
        "keyId": stored.key_id,
    }
    assert exported.event.details["auditCheckpoint"] == stored.number
    excerpt = [json.loads(line) for line in files["audit-trail.jsonl"].splitlines()]
    assert max(e["seq"] for e in excerpt) <= stored.seq
    summary = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(files[SUMMARY])).pages
    )
    assert "Signedcheckpoint" in summary and stored.key_id in summary


def test_a_good_bundle_verifies_against_the_trusted_public_key(bundle, settings, tmp_path):
    verdict = verify_bundle(
        io.BytesIO(bundle), use_database=False, public_key=registry_key(settings)
    )
    assert verdict.authentic, verdict.problems
    assert any("is signed by the trusted key" in vouch for vouch in verdict.authenticated_by)
    # Intact, but nothing the checker trusts vouches for it: not authentic.
    untrusted = verify_bundle(io.BytesIO(bundle), use_database=False)
    assert untrusted.valid and not untrusted.authentic
    assert any("give --public-key" in note for note in untrusted.notes)
    # With the registry's database, its records vouch for the bundle.
    assert verify_bundle(io.BytesIO(bundle)).authentic

    public = tmp_path / "registry-public.pem"
    public.write_text(signing.public_pem(registry_key(settings)))
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    out = io.StringIO()
    call_command(
        "verify_evidence_bundle", str(path), "--offline", "--public-key", str(public), stdout=out
    )
    assert "OK:" in out.getvalue() and "signed by the trusted key" in out.getvalue()


def test_an_edited_checkpoint_fails_its_signature(bundle, settings):
    carried = carried_checkpoint(bundle)
    manifest = json.loads(members(bundle)[MANIFEST])
    carried["checkpoint"]["seq"] -= 1  # e.g. to hide the last events of the excerpt
    edited = with_files(bundle, **{CHECKPOINT_FILE: json.dumps(carried).encode()})
    for key in (None, registry_key(settings)):
        verdict = verify_bundle(io.BytesIO(edited), use_database=False, public_key=key)
        assert not verdict.valid
        assert any(
            p.startswith(CHECKPOINT_FILE) and "signature does not verify" in p
            for p in verdict.problems
        ), verdict.problems
    assert manifest["auditChainHeadSeq"] == carried["checkpoint"]["seq"] + 1


def test_a_checkpoint_signed_with_another_key_fails_against_the_trusted_key(
    bundle, settings, tmp_path
):
    forger_file = tmp_path / "forger.pem"
    forger_file.write_bytes(new_key_pem())
    forger = signing.load_public_pem(forger_file.read_bytes())
    carried = carried_checkpoint(bundle)
    document = {**carried["checkpoint"], "keyId": signing.key_id(forger)}
    settings.AUDIT_SIGNING_KEY_FILE, registry_file = forger_file, settings.AUDIT_SIGNING_KEY_FILE
    document["signature"] = signing.sign(checkpoints.payload(document))
    settings.AUDIT_SIGNING_KEY_FILE = registry_file
    carried.update(
        checkpoint=document, publicKey=signing.public_pem(forger), keyId=signing.key_id(forger)
    )
    resigned = with_files(bundle, **{CHECKPOINT_FILE: json.dumps(carried).encode()})

    # On its own, the bundle is consistent: the key it carries checks the signature, but that
    # authenticates nothing ...
    alone = verify_bundle(io.BytesIO(resigned), use_database=False)
    assert alone.valid and not alone.authentic
    assert any(signing.key_id(forger) in note for note in alone.notes)
    # ... but it is not the registry's key.
    trusted = verify_bundle(
        io.BytesIO(resigned), use_database=False, public_key=registry_key(settings)
    )
    assert not trusted.valid
    assert any("not the registry's signing key" in p for p in trusted.problems)
    with_database = verify_bundle(io.BytesIO(resigned))
    assert any("against the registry's key" in p for p in with_database.problems)

    public = tmp_path / "registry-public.pem"
    public.write_text(signing.public_pem(registry_key(settings)))
    path = tmp_path / "resigned.zip"
    path.write_bytes(resigned)
    err = io.StringIO()
    with pytest.raises(CommandError, match="NOT valid"):
        call_command(
            "verify_evidence_bundle",
            str(path),
            "--offline",
            "--public-key",
            str(public),
            stdout=io.StringIO(),
            stderr=err,
        )
    assert "not the registry's signing key" in err.getvalue()


def test_the_manifest_and_excerpt_must_agree_with_the_checkpoint(bundle, settings):
    files = members(bundle)
    manifest = json.loads(files[MANIFEST])
    manifest["auditChainHeadSeq"] += 5
    changed = rezip(
        {**files, MANIFEST: (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()},
        like=bundle,
    )
    verdict = verify_bundle(
        io.BytesIO(changed), use_database=False, public_key=registry_key(settings)
    )
    assert any("is not the one checkpoint #1" in p for p in verdict.problems)


def test_an_unreadable_public_key_file_is_a_clear_command_error(bundle, tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    (tmp_path / "key.pem").write_text("nonsense")
    with pytest.raises(CommandError, match=r"--public-key .* not an Ed25519 public key"):
        call_command("verify_evidence_bundle", str(path), "--public-key", str(tmp_path / "key.pem"))


def test_export_of_a_broken_chain_is_refused_and_without_a_key_fails_clearly(
    users, walked, api, settings, tmp_path
):
    auditor = api(users[Role.AUDITOR])
    settings.AUDIT_SIGNING_KEY_FILE, registry_file = (
        tmp_path / "absent.pem",
        settings.AUDIT_SIGNING_KEY_FILE,
    )
    response = auditor.get(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
    assert response.status_code == 503
    assert "AUDIT_SIGNING_KEY_FILE" in response.json()["detail"]
    settings.AUDIT_SIGNING_KEY_FILE = registry_file

    event = AuditEvent.objects.filter(version_id=walked.pk).order_by("seq").first()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_events_append_only")
        cursor.execute("UPDATE audit_auditevent SET user_id = 'mallory' WHERE id = %s", [event.id])
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_events_append_only")
    response = auditor.get(f"/api/v1/versions/{walked.pk}/evidence-bundle/")
    assert response.status_code == 409
    assert "no signed checkpoint is made" in response.json()["detail"]
    refused = AuditEvent.objects.filter(event_type="ACCESS_DENIED").order_by("-seq").first()
    assert (refused.action, refused.version_id) == ("EXPORT_EVIDENCE", walked.pk)
    assert not AuditCheckpoint.objects.exists()


def forged_by_resigning(bundle: bytes, tmp_path) -> bytes:
    """The bundle with a changed excerpt, its checkpoint re-signed with a forger's own key."""
    key_file = tmp_path / "forger.pem"
    key_file.write_bytes(new_key_pem())
    private = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    forger = private.public_key()
    files = members(bundle)
    lines = files["audit-trail.jsonl"].decode().splitlines()
    carried = carried_checkpoint(bundle)
    document = {**carried["checkpoint"], "keyId": signing.key_id(forger)}
    document["signature"] = base64.b64encode(private.sign(checkpoints.payload(document))).decode()
    carried.update(
        checkpoint=document, publicKey=signing.public_pem(forger), keyId=signing.key_id(forger)
    )
    return with_files(
        bundle,
        **{
            CHECKPOINT_FILE: json.dumps(carried).encode(),
            "audit-trail.jsonl": ("\n".join(lines[:-1]) + "\n").encode(),
        },
    )


def test_a_resigned_bundle_is_never_reported_authentic_offline(bundle, tmp_path):
    """The forgery the first verifier let through: re-signed with the forger's key, the bundle
    is consistent with itself; offline and without a trusted key the command says it is NOT
    authenticated and exits 2, so no script takes it for verified."""
    path = tmp_path / "forged.zip"
    path.write_bytes(forged_by_resigning(bundle, tmp_path))
    out = io.StringIO()
    with pytest.raises(CommandError, match="NOT AUTHENTICATED") as raised:
        call_command("verify_evidence_bundle", str(path), "--offline", stdout=out)
    assert raised.value.returncode == 2
    assert "OK" not in out.getvalue()


def test_a_bundle_rewritten_as_the_unsigned_first_format_is_not_authentic(bundle, tmp_path):
    """Downgrade: drop the signed checkpoint and call the bundle format /1, which carried none.
    Offline nothing can vouch for it; with the database the export record does not match."""
    files = members(bundle)
    manifest = json.loads(files.pop(MANIFEST))
    files.pop(CHECKPOINT_FILE)
    del manifest["files"][CHECKPOINT_FILE]
    manifest["format"] = "model-registry-evidence-bundle/1"
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bundle)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename == MANIFEST:
                data = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
                target.writestr(info, data)
            elif info.filename in files:
                target.writestr(info, files[info.filename])
    downgraded = buffer.getvalue()

    offline = verify_bundle(io.BytesIO(downgraded), use_database=False)
    assert offline.valid and not offline.authentic
    assert any("first format" in note for note in offline.notes)
    online = verify_bundle(io.BytesIO(downgraded))
    assert not online.authentic
    assert any("no export of this manifest is recorded" in p for p in online.problems)


def test_the_command_says_what_vouched_for_an_authentic_bundle(bundle, tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    out = io.StringIO()
    call_command("verify_evidence_bundle", str(path), stdout=out)
    text = out.getvalue()
    assert "OK: authentic" in text
    assert "authenticated: the audit trail records the export of this exact file" in text
