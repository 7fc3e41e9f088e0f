"""The hash chain: verification of an intact chain, tampering through raw SQL, append-only rules.

Tampering goes around the ORM with `connection.cursor()`, as someone with database access would.
On PostgreSQL the append-only trigger refuses that, so the tamper tests switch it off first
(inside the test's transaction, and back on afterwards).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import pairwise

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import Client
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.models import (
    GENESIS_HASH,
    AppendOnlyError,
    AuditChainHead,
    AuditEvent,
    chain_hash,
)
from audit.services import chain_head, record_event, verify_chain
from core.choices import Role

pytestmark = pytest.mark.django_db

TRIGGER = "audit_events_append_only"
CHAIN_LENGTH = 5


def sql(statement: str, params: list | tuple = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@contextmanager
def trigger_disabled() -> Iterator[None]:
    """Let raw UPDATE/DELETE through on PostgreSQL (SQLite has no trigger to switch off)."""
    on_postgres = connection.vendor == "postgresql"
    if on_postgres:
        sql(f"ALTER TABLE audit_auditevent DISABLE TRIGGER {TRIGGER}")
    try:
        yield
    finally:
        if on_postgres:
            sql(f"ALTER TABLE audit_auditevent ENABLE TRIGGER {TRIGGER}")


@pytest.fixture
def chain(db) -> list[AuditEvent]:
    """Five events of different kinds, written the normal way."""
    record_event(EventType.USER_ADMIN, AuditAction.CREATE_USER, details={"username": "ann"})
    record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="ann", session_id="s1")
    record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.REGISTER_MODEL,
        user="ann",
        model_id=7,
        details={"name": "credit", "riskTier": "HIGH", "nested": {"a": [1, 2]}},
    )
    record_event(
        EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION, user="ann", model_id=7, version_id=3
    )
    record_event(EventType.AUTHENTICATION, AuditAction.LOGOUT, user="ann")
    events = list(AuditEvent.objects.order_by("seq"))
    assert len(events) == CHAIN_LENGTH
    return events


@pytest.fixture
def auditor_api(make_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=make_user(Role.AUDITOR, username="auditor"))
    return client


# ---- an intact chain ------------------------------------------------------------------------


def test_an_empty_chain_is_valid(db):
    verdict = verify_chain()
    assert (verdict.valid, verdict.count, verdict.head_hash) == (True, 0, GENESIS_HASH)
    assert chain_head() == (0, GENESIS_HASH)


def test_each_event_links_to_its_predecessor_and_the_head_names_the_last(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == GENESIS_HASH
    for previous, event in pairwise(chain):
        assert event.prev_hash == previous.hash
    for event in chain:
        assert event.hash == chain_hash(event.prev_hash, event.content())
    assert len({e.hash for e in chain}) == CHAIN_LENGTH
    assert chain_head() == (5, chain[-1].hash)


def test_verify_an_untouched_chain_everywhere(chain, auditor_api, capsys):
    verdict = verify_chain()
    assert verdict.valid
    assert verdict.count == CHAIN_LENGTH
    assert verdict.first_invalid is None
    assert verdict.head_hash == chain[-1].hash

    call_command("verify_audit_chain")
    out = capsys.readouterr().out
    assert f"valid: {CHAIN_LENGTH} events, head {chain[-1].hash}" in out

    response = auditor_api.get("/api/v1/audit-events/verify/")
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "count": CHAIN_LENGTH,
        "headHash": chain[-1].hash,
        "headSeq": CHAIN_LENGTH,
        "checkpoints": 0,
        "latestCheckpoint": None,
    }
    # Verifying is itself audited, and keeps the chain valid.
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.event_type, event.action) == (EventType.AUDIT_ACCESS, AuditAction.VERIFY_AUDIT)
    assert event.user_id == "auditor"
    assert event.details == {"valid": True, "count": CHAIN_LENGTH, "reason": "", "checkpoints": 0}
    assert auditor_api.get("/api/v1/audit-events/verify/").json()["count"] == CHAIN_LENGTH + 1


def test_verify_reads_the_chain_in_chunks(chain, monkeypatch):
    monkeypatch.setattr("audit.services.VERIFY_CHUNK", 2)
    verdict = verify_chain()
    assert (verdict.valid, verdict.count) == (True, CHAIN_LENGTH)


def test_an_event_rolled_back_with_its_transaction_leaves_no_trace(chain):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        record_event(EventType.MODEL_REGISTRY, AuditAction.UPDATE_MODEL, model_id=7)
        assert chain_head()[0] == CHAIN_LENGTH + 1
        raise Boom
    assert AuditEvent.objects.count() == CHAIN_LENGTH
    assert chain_head() == (CHAIN_LENGTH, chain[-1].hash)
    assert verify_chain().valid
    follower = record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="bob")
    assert (follower.seq, follower.prev_hash) == (CHAIN_LENGTH + 1, chain[-1].hash)
    assert verify_chain().valid


# ---- tampering through raw SQL --------------------------------------------------------------


def _alter(column: str, value) -> Callable[[list[AuditEvent]], None]:
    def tamper(events):
        sql(f"UPDATE audit_auditevent SET {column} = %s WHERE id = %s", [value, events[2].id])

    return tamper


def _alter_timestamp(events):
    moved = connection.ops.adapt_datetimefield_value(events[2].timestamp + timedelta(seconds=1))
    sql("UPDATE audit_auditevent SET timestamp = %s WHERE id = %s", [moved, events[2].id])


def _alter_and_rehash(events):
    """A careful forger recomputes the altered event's own hash: its successor gives it away."""
    event = events[2]
    content = {**event.content(), "details": {"name": "credit", "riskTier": "LOW"}}
    sql(
        "UPDATE audit_auditevent SET details = %s, hash = %s WHERE id = %s",
        [json.dumps(content["details"]), chain_hash(event.prev_hash, content), event.id],
    )


def _delete(*indexes: int) -> Callable[[list[AuditEvent]], None]:
    def tamper(events):
        for index in indexes:
            sql("DELETE FROM audit_auditevent WHERE id = %s", [events[index].id])

    return tamper


def _swap_seq(first: int, second: int) -> Callable[[list[AuditEvent]], None]:
    def tamper(events):
        a, b = events[first], events[second]
        sql("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [-1, a.id])
        sql("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [a.seq, b.id])
        sql("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [b.seq, a.id])

    return tamper


def _delete_all(events):
    sql("DELETE FROM audit_auditevent")


def _head(**values) -> Callable[[list[AuditEvent]], None]:
    def tamper(events):
        for column, value in values.items():
            sql(f"UPDATE audit_auditchainhead SET {column} = %s WHERE id = 1", [value])

    return tamper


def _append_forged(events):
    """A well-formed event appended behind the writers' back: the head does not name it."""
    last = events[-1]
    forged = AuditEvent(
        seq=last.seq + 1,
        timestamp=last.timestamp + timedelta(seconds=1),
        event_type=EventType.MODEL_REGISTRY,
        user_id="ann",
        action=AuditAction.REGISTER_MODEL,
        details={"name": "backdoor"},
        prev_hash=last.hash,
    )
    forged.hash = chain_hash(last.hash, forged.content())
    forged.save(force_insert=True)


# (tamper, index of the first invalid event or None, words of the reason, events left)
TAMPERING = {
    "details of a middle event": (_alter("details", '{"name": "credit"}'), 2, "altered", 5),
    "user_id of a middle event": (_alter("user_id", "mallory"), 2, "altered", 5),
    "action of a middle event": (_alter("action", "UPDATE_MODEL"), 2, "altered", 5),
    "event_type of a middle event": (_alter("event_type", "REPORT"), 2, "altered", 5),
    "model_id of a middle event": (_alter("model_id", 8), 2, "altered", 5),
    "ip_address of a middle event": (_alter("ip_address", "10.9.8.7"), 2, "altered", 5),
    "timestamp of a middle event": (_alter_timestamp, 2, "altered", 5),
    "altered and rehashed": (_alter_and_rehash, 3, "does not follow its predecessor", 5),
    "a middle event deleted": (_delete(2), 3, "sequence jumps from 2 to 4", 4),
    "the first event deleted": (_delete(0), 1, "sequence jumps from 0 to 2", 4),
    "the last two events deleted": (_delete(3, 4), None, "events removed from the end", 3),
    "every event deleted": (_delete_all, None, "events removed from the end", 0),
    "seq of events 2 and 4 swapped": (_swap_seq(1, 3), 3, "does not follow", 5),
    "adjacent events 3 and 4 reordered": (_swap_seq(2, 3), 3, "does not follow", 5),
    "head hash rewritten": (_head(hash="f" * 64), None, "chain head", 5),
    "head seq moved forward": (_head(seq=9), None, "chain head names event #9", 5),
    "forged event appended past the head": (_append_forged, None, "chain head names event #5", 6),
}


@pytest.mark.parametrize(
    ("tamper", "bad_index", "reason", "remaining"),
    list(TAMPERING.values()),
    ids=list(TAMPERING),
)
def test_tampering_is_reported_by_every_verifier(
    chain, auditor_api, tamper, bad_index, reason, remaining
):
    with trigger_disabled():
        tamper(chain)
    expected_id = None if bad_index is None else chain[bad_index].id

    verdict = verify_chain()
    assert not verdict.valid
    assert verdict.first_invalid == expected_id
    assert reason in verdict.reason
    assert verdict.count <= remaining

    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_chain")
    message = str(excinfo.value)
    assert message.startswith("INVALID")
    assert reason in message
    if expected_id is None:
        assert "at event id" not in message
    else:
        assert f"INVALID at event id {expected_id}:" in message

    response = auditor_api.get("/api/v1/audit-events/verify/")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert body["firstInvalid"] == expected_id
    assert reason in body["reason"]
    assert body["count"] == verdict.count
    assert "headHash" not in body
    if tamper is _append_forged:
        # The forged event holds the next sequence number; chaining the auditor's check after
        # it would make the forgery look legitimate, so that check cannot be chained.
        assert not AuditEvent.objects.filter(action=AuditAction.VERIFY_AUDIT).exists()
        return
    # The auditor's check is on the record, with its (bad) result.
    audited = AuditEvent.objects.filter(action=AuditAction.VERIFY_AUDIT).get()
    assert audited.details["valid"] is False
    assert reason in audited.details["reason"]


def test_the_audit_page_shows_a_broken_chain(chain, make_user):
    with trigger_disabled():
        _alter("user_id", "mallory")(chain)
    client = Client()
    client.force_login(make_user(Role.MRC, username="mrc"))
    response = client.get("/audit/?verify=1")
    assert response.status_code == 200
    assert f"The chain is broken at event id {chain[2].id}".encode() in response.content
    assert b"event altered" in response.content


def test_a_counterfeit_head_with_a_lower_seq_is_caught_by_verify_chain(chain):
    AuditChainHead.objects.filter(pk=1).update(seq=3, hash=chain[2].hash)
    verdict = verify_chain()
    assert not verdict.valid
    assert verdict.first_invalid is None
    assert "names event #3 but the last event is #5" in verdict.reason
    with pytest.raises(CommandError, match="names event #3"):
        call_command("verify_audit_chain")


# ---- append-only through the ORM ------------------------------------------------------------


def test_orm_update_and_delete_of_events_are_refused(chain):
    event = AuditEvent.objects.get(pk=chain[2].pk)
    with pytest.raises(AppendOnlyError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(user_id="mallory")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().update(details={})
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    event.user_id = "mallory"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["user_id"])
    with pytest.raises(AppendOnlyError):
        event.delete()
    # bulk_update runs its updates in an atomic block: give it a savepoint to roll back.
    with pytest.raises(AppendOnlyError), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["user_id"])
    assert AuditEvent.objects.get(pk=event.pk).user_id == "ann"
    assert AuditEvent.objects.count() == CHAIN_LENGTH
    assert verify_chain().valid


def _save_with_existing_pk(event: AuditEvent) -> None:
    """A fresh instance that reuses a stored event's id: Django's save() tries UPDATE first."""
    clone = AuditEvent(
        **{f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
    )
    clone.user_id = "mallory"
    clone.save()


def _bulk_create_upsert(event: AuditEvent) -> None:
    clone = AuditEvent(
        **{f.attname: getattr(event, f.attname) for f in AuditEvent._meta.concrete_fields}
    )
    clone.user_id = "mallory"
    AuditEvent.objects.bulk_create(
        [clone], update_conflicts=True, unique_fields=["id"], update_fields=["user_id"]
    )


@pytest.mark.parametrize(
    "rewrite", [_save_with_existing_pk, _bulk_create_upsert], ids=["save-clone", "upsert"]
)
def test_orm_paths_that_turn_an_insert_into_an_update_are_refused(chain, rewrite):
    """Inserting an event whose id already exists must not overwrite the stored event."""
    target = chain[2]
    with pytest.raises((AppendOnlyError, DatabaseError)), transaction.atomic():
        rewrite(target)
    assert AuditEvent.objects.get(pk=target.pk).user_id == "ann"
    assert verify_chain().valid


def test_a_duplicate_seq_cannot_be_inserted(chain):
    last = chain[-1]
    duplicate = AuditEvent(
        seq=last.seq,
        timestamp=last.timestamp,
        event_type=last.event_type,
        user_id="mallory",
        action=last.action,
        prev_hash=last.prev_hash,
        hash="e" * 64,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save(force_insert=True)
    assert verify_chain().valid


# ---- PostgreSQL: the trigger ----------------------------------------------------------------


@pytest.mark.postgres
def test_the_append_only_trigger_is_installed_and_enabled(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = %s "
            "AND tgrelid = 'audit_auditevent'::regclass",
            [TRIGGER],
        )
        assert cursor.fetchall() == [("O",)]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("UPDATE audit_auditevent SET user_id = 'mallory' WHERE id = %s", "UPDATE"),
        ("UPDATE audit_auditevent SET details = '{}' WHERE id = %s", "UPDATE"),
        ("DELETE FROM audit_auditevent WHERE id = %s", "DELETE"),
        ("DELETE FROM audit_auditevent WHERE id >= %s", "DELETE"),
    ],
)
def test_postgres_refuses_raw_update_and_delete(chain, statement, operation):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        sql(statement, [chain[2].id])
    message = str(excinfo.value)
    assert "append-only" in message
    assert f"{operation} refused" in message
    stored = AuditEvent.objects.get(pk=chain[2].pk)
    assert (stored.user_id, stored.details) == ("ann", chain[2].details)
    assert AuditEvent.objects.count() == CHAIN_LENGTH
    assert verify_chain().valid


@pytest.mark.postgres
def test_postgres_refuses_an_orm_save_over_an_existing_event(chain):
    # save() always INSERTs, so a reused id is a duplicate key before the trigger is reached
    with pytest.raises(DatabaseError, match=r"duplicate key|append-only"), transaction.atomic():
        _save_with_existing_pk(chain[2])
    assert AuditEvent.objects.get(pk=chain[2].pk).user_id == "ann"


TRUNCATE_GUARDED = ["audit_auditevent", "audit_auditchainhead", "audit_auditcheckpoint"]


@pytest.mark.postgres
def test_the_truncate_triggers_are_installed_and_enabled(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_no_truncate' ORDER BY c.relname"
        )
        assert cursor.fetchall() == [(table, "O") for table in sorted(TRUNCATE_GUARDED)]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE audit_auditevent",
        "TRUNCATE TABLE audit_auditevent RESTART IDENTITY CASCADE",
        "TRUNCATE audit_auditchainhead",
        "TRUNCATE audit_auditcheckpoint",
        "TRUNCATE audit_report, audit_auditevent",
    ],
)
def test_postgres_refuses_truncate_of_the_audit_tables(chain, statement):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        sql(statement)
    message = str(excinfo.value)
    assert "append-only" in message
    assert "TRUNCATE refused" in message
    assert AuditEvent.objects.count() == CHAIN_LENGTH
    assert chain_head() == (CHAIN_LENGTH, chain[-1].hash)
    assert verify_chain().valid


def test_flush_empties_the_trail_and_leaves_it_writable(chain):
    call_command("flush", interactive=False, verbosity=0)
    assert (AuditEvent.objects.count(), chain_head()) == (0, (0, GENESIS_HASH))
    record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="ann")
    assert verify_chain().valid


@pytest.mark.postgres
def test_flush_still_empties_the_database_and_leaves_the_triggers_on(chain):
    """`manage.py flush` (the test runner's reset between transactional tests) is the owner's
    deliberate wipe: it switches the TRUNCATE triggers off for its own statement only."""
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEvent.objects.count() == 0
    # The trail is writable again: an empty chain, as after a fresh migrate.
    assert chain_head() == (0, GENESIS_HASH)
    assert record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="ann").seq == 1
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = c.relname || '_no_truncate' AND t.tgenabled = 'O'"
        )
        assert cursor.fetchone() == (len(TRUNCATE_GUARDED),)
    with pytest.raises(DatabaseError, match="TRUNCATE refused"), transaction.atomic():
        sql("TRUNCATE audit_auditevent")
