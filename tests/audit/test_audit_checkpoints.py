"""Signed checkpoints: the registry signs the chain's head with an Ed25519 key kept outside the
database, and verification checks the chain against every checkpoint.

The point: someone who can write the audit table (a database superuser) can rewrite an event
and recompute every later hash with the same public algorithm, and the plain hash chain then
verifies. A checkpoint signed before the rewrite no longer matches. Tampering goes around the
ORM with raw SQL, as such a person would; on PostgreSQL the append-only triggers refuse that,
so the tamper steps switch them off first (inside the test's transaction).
"""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django_q.models import Schedule

from audit import checkpoints, signing
from audit.choices import AuditAction, EventType
from audit.models import (
    AppendOnlyError,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    CheckpointTrigger,
    chain_hash,
)
from audit.services import (
    ChainBroken,
    make_checkpoint,
    record_event,
    scheduled_checkpoint,
    verify_chain,
)
from core.choices import Role
from tests.audit.keys import new_key_pem

pytestmark = pytest.mark.django_db

EVENT_TRIGGER = "audit_events_append_only"
CHECKPOINT_TRIGGER = "audit_checkpoints_append_only"


def sql(statement: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def as_superuser() -> Iterator[None]:
    """What a database superuser can do: switch the append-only triggers off (PostgreSQL)."""
    on_postgres = connection.vendor == "postgresql"
    tables = {"audit_auditevent": EVENT_TRIGGER, "audit_auditcheckpoint": CHECKPOINT_TRIGGER}
    if on_postgres:
        for table, trigger in tables.items():
            sql(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    try:
        yield
    finally:
        if on_postgres:
            for table, trigger in tables.items():
                sql(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")


def write(n: int, **details) -> list[AuditEvent]:
    return [
        record_event(
            EventType.MODEL_REGISTRY,
            AuditAction.UPDATE_MODEL,
            user="ann",
            model_id=7,
            details={"n": i, **details},
        )
        for i in range(n)
    ]


def rewrite_history(seq: int, details: dict) -> None:
    """Rewrite event #seq and recompute its hash and every later hash, and the head: the plain
    chain is consistent again afterwards."""
    events = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq"))
    prev_hash = events[0].prev_hash
    with as_superuser():
        for event in events:
            if event.seq == seq:
                event.details = details
            new_hash = chain_hash(prev_hash, event.content())
            sql(
                "UPDATE audit_auditevent SET details = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [json.dumps(event.details), prev_hash, new_hash, event.id],
            )
            prev_hash = new_hash
    AuditChainHead.objects.filter(pk=1).update(seq=events[-1].seq, hash=prev_hash)


@pytest.fixture
def auditor_api(api, users):
    return api(users[Role.AUDITOR])


# ---- making checkpoints ------------------------------------------------------------------------


def test_a_checkpoint_signs_the_head_with_the_key_from_the_file(settings):
    events = write(3)
    checkpoint = make_checkpoint(CheckpointTrigger.MANUAL)
    assert (checkpoint.number, checkpoint.seq, checkpoint.head_hash) == (1, 3, events[-1].hash)
    assert checkpoint.prev_signature == ""
    key = signing.load_public_pem(settings.AUDIT_SIGNING_KEY_FILE.read_bytes())
    assert checkpoint.key_id == signing.key_id(key)
    document = checkpoints.document(checkpoint)
    assert checkpoints.signature_problem(document, key) == ""
    # The signature covers every signed field: changing any one breaks it.
    for name, value in [("seq", 2), ("headHash", "0" * 64), ("number", 9), ("trigger", "X")]:
        assert "does not verify" in checkpoints.signature_problem({**document, name: value}, key)

    write(2)
    second = make_checkpoint(CheckpointTrigger.SCHEDULE)
    assert (second.number, second.seq, second.prev_signature) == (2, 5, checkpoint.signature)
    verdict = verify_chain()
    assert verdict.valid, verdict.reason
    assert (verdict.checkpoints, verdict.latest_checkpoint) == (2, second)


def test_the_schedule_signs_only_when_the_head_moved():
    assert Schedule.objects.filter(func="audit.tasks.scheduled_checkpoint", minutes=5).exists()
    write(2)
    assert scheduled_checkpoint() == "checkpoint #1: event #2"
    assert scheduled_checkpoint().startswith("head unchanged since checkpoint #1")
    write(1)
    assert scheduled_checkpoint() == "checkpoint #2: event #3"
    assert AuditCheckpoint.objects.get(number=2).trigger == CheckpointTrigger.SCHEDULE


def test_a_chain_already_broken_is_not_signed():
    write(3)
    make_checkpoint()
    later = write(2)
    with as_superuser():
        sql("UPDATE audit_auditevent SET user_id = 'mallory' WHERE id = %s", [later[0].id])
    with pytest.raises(ChainBroken, match=r"event #4 .* event altered"):
        make_checkpoint()
    assert AuditCheckpoint.objects.count() == 1


# ---- what checkpoints catch ----------------------------------------------------------------


def test_a_rewritten_and_rehashed_history_verified_before_checkpoints_and_now_is_caught(
    auditor_api,
):
    write(4)
    rewrite_history(2, {"n": 1, "note": "rewritten"})
    assert verify_chain().valid  # the gap this closes: a rehashed history looks intact

    write(2)
    first = make_checkpoint()
    write(3)
    second = make_checkpoint()
    write(2)
    assert verify_chain().valid

    rewrite_history(3, {"n": 2, "riskTier": "LOW"})  # before the first checkpoint's seq (6)
    verdict = verify_chain()
    assert not verdict.valid
    assert verdict.broken_checkpoint == first
    assert verdict.first_invalid == AuditEvent.objects.get(seq=first.seq).id
    assert f"checkpoint #{first.number}" in verdict.reason
    assert "history rewritten" in verdict.reason
    assert "events #1 to #6" in verdict.reason

    with pytest.raises(CommandError, match=r"checkpoint #1 .*history rewritten"):
        call_command("verify_audit_chain")
    body = auditor_api.get("/api/v1/audit-events/verify/").json()
    assert body["valid"] is False
    assert body["firstInvalid"] == verdict.first_invalid
    assert body["brokenCheckpoint"] == {
        "number": 1,
        "seq": first.seq,
        "signedAt": checkpoints.document(first)["signedAt"],
    }
    assert body["latestCheckpoint"]["number"] == second.number
    audited = AuditEvent.objects.filter(action=AuditAction.VERIFY_AUDIT).last()
    assert audited.details["brokenCheckpoint"] == 1


def test_a_rewrite_between_two_checkpoints_names_the_later_one():
    write(3)
    make_checkpoint()
    write(3)
    second = make_checkpoint()
    rewrite_history(5, {"n": 1, "note": "rewritten"})
    verdict = verify_chain()
    assert (verdict.valid, verdict.broken_checkpoint) == (False, second)
    assert "events #4 to #6" in verdict.reason


def test_events_removed_from_the_end_with_the_head_rewound_are_caught():
    events = write(5)
    checkpoint = make_checkpoint()
    with as_superuser():
        sql("DELETE FROM audit_auditevent WHERE seq > 3")
    AuditChainHead.objects.filter(pk=1).update(seq=3, hash=events[2].hash)
    verdict = verify_chain()
    assert (verdict.valid, verdict.broken_checkpoint) == (False, checkpoint)
    assert "signs event #5 but the chain head names #3: events removed from the end" in (
        verdict.reason
    )


def _checkpoint_sql(statement: str, params) -> None:
    with as_superuser():
        sql(statement, params)


def test_an_altered_checkpoint_fails_its_signature():
    write(3)
    make_checkpoint()
    rewrite_history(2, {"n": 1, "note": "rewritten"})
    # The forger also "fixes" the checkpoint to the new hash: the signature gives it away.
    _checkpoint_sql(
        "UPDATE audit_auditcheckpoint SET head_hash = %s WHERE number = 1",
        [AuditEvent.objects.get(seq=3).hash],
    )
    verdict = verify_chain()
    assert not verdict.valid
    assert verdict.broken_checkpoint.number == 1
    assert verdict.first_invalid is None
    assert "checkpoint #1" in verdict.reason and "signature does not verify" in verdict.reason


def test_a_removed_checkpoint_breaks_the_checkpoints_own_chain():
    for _ in range(3):
        write(1)
        make_checkpoint()
    _checkpoint_sql("DELETE FROM audit_auditcheckpoint WHERE number = %s", [2])
    verdict = verify_chain()
    assert not verdict.valid
    assert "checkpoint #2 is missing" in verdict.reason
    assert verdict.broken_checkpoint.number == 3


def test_checkpoints_re_signed_with_another_key_are_refused(settings, tmp_path):
    write(3)
    make_checkpoint()
    rewrite_history(2, {"n": 1, "note": "rewritten"})
    # The forger removes the registry's checkpoint and signs the rewritten head with a key of
    # their own: everything is consistent, except that the key is not the registry's.
    _checkpoint_sql("DELETE FROM audit_auditcheckpoint WHERE number = %s", [1])
    registry_key_file = settings.AUDIT_SIGNING_KEY_FILE
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "forger.pem"
    settings.AUDIT_SIGNING_KEY_FILE.write_bytes(new_key_pem())
    forged = make_checkpoint()
    assert verify_chain().valid  # with the forger's key, of course
    settings.AUDIT_SIGNING_KEY_FILE = registry_key_file
    verdict = verify_chain()
    assert not verdict.valid
    assert verdict.broken_checkpoint == forged
    assert "not the registry's signing key" in verdict.reason
    assert forged.key_id[:16] in verdict.reason


# ---- append-only ---------------------------------------------------------------------------


def test_orm_update_and_delete_of_checkpoints_are_refused():
    write(1)
    checkpoint = make_checkpoint()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(seq=0)
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        checkpoint.save()
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()
    assert verify_chain().valid


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_auditcheckpoint SET seq = 0", "UPDATE"),
        ("DELETE FROM audit_auditcheckpoint", "DELETE"),
        ("TRUNCATE audit_auditcheckpoint", "TRUNCATE"),
    ],
)
def test_postgres_refuses_raw_changes_to_checkpoints(statement, operation):
    write(1)
    make_checkpoint()
    with (
        pytest.raises(DatabaseError, match=f"append-only: {operation} refused"),
        transaction.atomic(),
    ):
        sql(statement)
    assert AuditCheckpoint.objects.count() == 1


# ---- the key ---------------------------------------------------------------------------------


def test_without_the_key_file_signing_and_checking_fail_clearly(settings, tmp_path, auditor_api):
    write(2)
    make_checkpoint()
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "nowhere" / "key.pem"
    with pytest.raises(signing.SigningKeyUnavailable, match="AUDIT_SIGNING_KEY_FILE"):
        make_checkpoint()
    with pytest.raises(signing.SigningKeyUnavailable, match="audit_signing_key"):
        verify_chain()
    response = auditor_api.get("/api/v1/audit-events/verify/")
    assert response.status_code == 503
    assert "AUDIT_SIGNING_KEY_FILE" in response.json()["detail"]
    with pytest.raises(CommandError, match="AUDIT_SIGNING_KEY_FILE"):
        call_command("verify_audit_chain")
    assert AuditCheckpoint.objects.count() == 1


def test_system_checks_name_the_setting(settings, tmp_path):
    def audit_messages():
        return {m.id: m for m in run_checks(include_deployment_checks=True) if "audit" in m.id}

    assert audit_messages() == {}
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "missing.pem"
    missing = audit_messages()["audit.W001"]
    assert "AUDIT_SIGNING_KEY_FILE" in missing.msg and "--create-if-missing" in missing.hint
    settings.AUDIT_SIGNING_KEY_FILE.write_text("not a key")
    os.chmod(settings.AUDIT_SIGNING_KEY_FILE, 0o600)
    assert "AUDIT_SIGNING_KEY_FILE" in audit_messages()["audit.E001"].msg
    settings.AUDIT_SIGNING_KEY_FILE.write_bytes(new_key_pem())
    os.chmod(settings.AUDIT_SIGNING_KEY_FILE, 0o644)
    assert set(audit_messages()) == {"audit.W002"}


def test_the_key_command_creates_a_private_key_once(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = path = tmp_path / "var" / "audit-signing-key.pem"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("audit_signing_key")
    out = io.StringIO()
    call_command("audit_signing_key", "--create-if-missing", stdout=out)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = signing.public_key()
    assert f"created {path}" in out.getvalue()
    assert f"key id: {signing.key_id(key)}" in out.getvalue()
    assert signing.public_pem(key).strip() in out.getvalue()
    before = path.read_bytes()
    again = io.StringIO()
    call_command("audit_signing_key", "--create-if-missing", stdout=again)
    assert path.read_bytes() == before  # never replaced: old checkpoints must still verify
    assert "created" not in again.getvalue()
    call_command(
        "audit_signing_key", "--create-if-missing", "--quiet", stdout=(quiet := io.StringIO())
    )
    assert quiet.getvalue() == ""


# ---- reading them ----------------------------------------------------------------------------


def test_the_api_lists_checkpoints_with_the_public_key(auditor_api, api, users, settings):
    write(1)
    make_checkpoint()
    write(1)
    make_checkpoint(CheckpointTrigger.REPORT)
    body = auditor_api.get("/api/v1/audit-events/checkpoints/").json()
    key = signing.load_public_pem(settings.AUDIT_SIGNING_KEY_FILE.read_bytes())
    assert body["algorithm"] == "Ed25519"
    assert body["keyId"] == signing.key_id(key)
    assert signing.load_public_pem(body["publicKey"].encode()) == key
    assert body["count"] == 2
    assert [c["number"] for c in body["results"]] == [2, 1]
    newest = body["results"][0]
    assert (newest["seq"], newest["trigger"]) == (2, "REPORT")
    assert newest["prevSignature"] == body["results"][1]["signature"]
    assert checkpoints.signature_problem(newest, key) == ""

    verify = auditor_api.get("/api/v1/audit-events/verify/").json()
    assert verify["valid"] is True
    assert verify["checkpoints"] == 2
    assert verify["latestCheckpoint"] == newest

    owner = api(users[Role.MODEL_OWNER]).get("/api/v1/audit-events/checkpoints/")
    assert owner.status_code == 403
    assert AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED).exists()


def test_the_admin_shows_checkpoints_read_only(users):
    write(1)
    checkpoint = make_checkpoint()
    client = Client()
    client.force_login(users[Role.AUDITOR])
    listing = client.get("/admin/audit/auditcheckpoint/")
    assert listing.status_code == 200
    assert checkpoint.head_hash[:16].encode() in listing.content
    detail = client.get(f"/admin/audit/auditcheckpoint/{checkpoint.pk}/change/")
    assert detail.status_code == 200
    assert checkpoint.signature.encode() in detail.content
    assert client.get("/admin/audit/auditcheckpoint/add/").status_code == 403
    deleted = client.post(f"/admin/audit/auditcheckpoint/{checkpoint.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert AuditCheckpoint.objects.count() == 1


def test_the_audit_page_states_the_checkpoints_it_checked(users):
    write(2)
    make_checkpoint()
    client = Client()
    client.force_login(users[Role.AUDITOR])
    page = client.get("/audit/?verify=1").content.decode()
    assert "The chain is intact" in page
    assert "1 signed checkpoint checked, the latest (#1) of event #2" in page
