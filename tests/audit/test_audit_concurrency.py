"""Concurrent writers on PostgreSQL: the locked head row keeps the chain one unbroken line, and
verification while they write never reports tampering that did not happen.

Each thread has its own database connection (Django connections are per thread) and closes it
at the end. The test runs with real transactions; `serialized_rollback` restores the rows the
migrations created (the chain head and the role groups) that the previous flush removed.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections, transaction

from audit.choices import AuditAction, EventType
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import chain_head, make_checkpoint, record_event, verify_chain

THREADS = 8
EVENTS_PER_THREAD = 25
TOTAL = THREADS * EVENTS_PER_THREAD

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def run_writers(write_one) -> list[BaseException]:
    """Start THREADS writers together; each calls write_one(thread, n) EVENTS_PER_THREAD times."""
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def writer(thread: int) -> None:
        try:
            start.wait(timeout=30)
            for n in range(EVENTS_PER_THREAD):
                write_one(thread, n)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=writer, args=(t,)) for t in range(THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a writer hung"
    return errors


def test_concurrent_record_event_keeps_one_contiguous_valid_chain():
    AuditChainHead.objects.get_or_create(pk=1)
    assert chain_head() == (0, GENESIS_HASH)

    def write_one(thread: int, n: int) -> None:
        record_event(
            EventType.MODEL_REGISTRY,
            AuditAction.UPDATE_MODEL,
            user=f"writer{thread}",
            model_id=thread,
            details={"thread": thread, "n": n},
        )

    assert run_writers(write_one) == []

    rows = list(AuditEvent.objects.order_by("seq").values("seq", "prev_hash", "hash", "details"))
    assert [row["seq"] for row in rows] == list(range(1, TOTAL + 1))
    prev_hashes = [row["prev_hash"] for row in rows]
    assert len(set(prev_hashes)) == TOTAL, "two events claim the same predecessor: a fork"
    assert prev_hashes[0] == GENESIS_HASH
    assert [row["prev_hash"] for row in rows[1:]] == [row["hash"] for row in rows[:-1]]
    assert len({row["hash"] for row in rows}) == TOTAL
    # Every event of every thread made it, each thread's in its own order.
    assert Counter(row["details"]["thread"] for row in rows) == dict.fromkeys(
        range(THREADS), EVENTS_PER_THREAD
    )
    for thread in range(THREADS):
        ns = [row["details"]["n"] for row in rows if row["details"]["thread"] == thread]
        assert ns == list(range(EVENTS_PER_THREAD))

    verdict = verify_chain()
    assert (verdict.valid, verdict.count) == (True, TOTAL)
    assert chain_head() == (TOTAL, rows[-1]["hash"])


def test_concurrent_writers_inside_longer_transactions_still_serialise():
    """Writers that record two events in one transaction never interleave inside it."""
    AuditChainHead.objects.get_or_create(pk=1)

    def write_pair(thread: int, n: int) -> None:
        with transaction.atomic():
            for part in ("a", "b"):
                record_event(
                    EventType.POLICY_EVALUATION,
                    AuditAction.UPDATE_VERSION,
                    user=f"writer{thread}",
                    details={"thread": thread, "n": n, "part": part},
                )

    assert run_writers(write_pair) == []
    rows = list(AuditEvent.objects.order_by("seq").values_list("seq", "details"))
    assert [seq for seq, _ in rows] == list(range(1, 2 * TOTAL + 1))
    for (_, first), (_, second) in zip(rows[::2], rows[1::2], strict=True):
        assert (first["part"], second["part"]) == ("a", "b")
        assert (first["thread"], first["n"]) == (second["thread"], second["n"])
    assert verify_chain().valid


# ---- verifying while others write ------------------------------------------------------------

VERIFIERS = 3
VERIFICATIONS_EACH = 100
MAX_EVENTS_PER_WRITER = 3000


def test_verification_during_concurrent_writes_and_checkpoints_never_reports_tampering():
    """Writers, a checkpointer and verifiers all at once: every verification must say valid.

    Before, verification read the events and then the head in separate statements, so a writer
    committing in between looked like "events removed from the end" (9 of 40 in production)."""
    AuditChainHead.objects.get_or_create(pk=1)
    stop = threading.Event()
    start = threading.Barrier(THREADS // 2 + VERIFIERS + 1)
    errors: list[BaseException] = []
    false_alarms: list[str] = []
    verified: list[int] = []
    signed: list[int] = []

    def worker(body) -> None:
        try:
            start.wait(timeout=30)
            body()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            stop.set()
        finally:
            connections.close_all()

    def write(thread: int) -> None:
        for n in range(MAX_EVENTS_PER_WRITER):
            if stop.is_set():
                return
            with transaction.atomic():
                record_event(
                    EventType.MODEL_REGISTRY,
                    AuditAction.UPDATE_MODEL,
                    user=f"writer{thread}",
                    details={"thread": thread, "n": n},
                )

    def verify() -> None:
        for _ in range(VERIFICATIONS_EACH):
            verdict = verify_chain()
            verified.append(verdict.count)
            if not verdict.valid:
                false_alarms.append(verdict.reason)

    def checkpoint() -> None:
        while not stop.is_set():
            signed.append(make_checkpoint().number)

    writers = [threading.Thread(target=worker, args=(lambda t=t: write(t),)) for t in range(4)]
    verifiers = [threading.Thread(target=worker, args=(verify,)) for _ in range(VERIFIERS)]
    checkpointer = threading.Thread(target=worker, args=(checkpoint,))
    for thread in [*writers, *verifiers, checkpointer]:
        thread.start()
    for thread in verifiers:
        thread.join(timeout=300)
    stop.set()
    for thread in [*writers, checkpointer]:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in [*writers, *verifiers, checkpointer]), "a thread hung"

    assert errors == []
    assert false_alarms == []
    assert len(verified) == VERIFIERS * VERIFICATIONS_EACH
    # The writers really were writing while the verifiers read: the chain grew between checks.
    assert len(set(verified)) > VERIFICATIONS_EACH
    assert signed == list(range(1, len(signed) + 1))
    final = verify_chain()
    assert final.valid, final.reason
    assert final.checkpoints == len(signed) > 1
