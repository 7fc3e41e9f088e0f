"""Writing and verifying the audit trail. Every audit event of the product is written here, and
every signed checkpoint of the chain is made here."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from audit import checkpoints as checkpoint_docs
from audit import context as request_context
from audit import signing
from audit.choices import EventType
from audit.models import (
    GENESIS_HASH,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    CheckpointTrigger,
    canonical_timestamp,
    chain_hash,
    event_content,
)
from core.errors import InvalidState

SYSTEM_USER = "system"
ANONYMOUS_USER = "anonymous"
VERIFY_CHUNK = 2000
BULK_BATCH = 1000
# PostgreSQL stores neither NUL (text and jsonb refuse it) nor lone UTF-16 surrogates (not
# UTF-8); both are replaced before hashing, so the hash covers exactly what is stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def actor_name(user) -> str:
    if user is None:
        context = request_context.current()
        return SYSTEM_USER if context is None or context.job else ANONYMOUS_USER
    if isinstance(user, str):
        return user
    if not user.is_authenticated:
        return ANONYMOUS_USER
    return user.get_username()


def storable(value):
    """`value` with every character PostgreSQL cannot store replaced by U+FFFD, in every string
    of it (dictionary keys too)."""
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def _canonical_details(details: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the hash covers exactly what the database will give back.
    return storable(json.loads(json.dumps(details or {}, default=str)))


@dataclass(frozen=True)
class NewEvent:
    """One event to append with record_events (the arguments of record_event)."""

    event_type: EventType | str
    action: str
    user: Any = None
    model_id: int | None = None
    version_id: int | None = None
    details: dict[str, Any] | None = None
    session_id: str | None = None


def record_event(
    event_type: EventType | str,
    action: str,
    *,
    user=None,
    model_id: int | None = None,
    version_id: int | None = None,
    details: dict[str, Any] | None = None,
    session_id: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction if there is one."""
    spec = NewEvent(event_type, action, user, model_id, version_id, details, session_id)
    return record_events([spec])[0]


def record_events(specs: Iterable[NewEvent]) -> list[AuditEvent]:
    """Append events in the order given: one lock of the head and one bulk insert for all of
    them (a sweep that opens a thousand violations writes a thousand events, not a thousand
    lock round trips). Inside the caller's transaction if there is one."""
    specs = list(specs)
    if not specs:
        return []
    ctx = request_context.current() or request_context.RequestContext()
    # No savepoint: nothing here is retried after an error, and a failed append must roll back
    # the caller's whole change with it (no change without its event).
    with transaction.atomic(savepoint=False):
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        seq, prev_hash = head.seq, head.hash
        now = timezone.now()
        events = []
        for spec in specs:
            seq += 1
            fields = {
                "seq": seq,
                "timestamp": now,
                "event_type": storable(str(spec.event_type)),
                "user_id": storable(actor_name(spec.user)),
                "model_id": spec.model_id,
                "version_id": spec.version_id,
                "action": storable(str(spec.action)),
                "details": _canonical_details(spec.details),
                "ip_address": ctx.ip_address,
                "user_agent": storable(ctx.user_agent),
                "session_id": storable(
                    ctx.session_id if spec.session_id is None else spec.session_id
                ),
                "request_id": storable(ctx.request_id),
            }
            event = AuditEvent(**fields, prev_hash=prev_hash)
            event.hash = prev_hash = chain_hash(prev_hash, event_content(**fields))
            events.append(event)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(events, batch_size=BULK_BATCH)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=prev_hash)
    return events


def chain_head() -> tuple[int, str]:
    head = AuditChainHead.objects.get(pk=1)
    return head.seq, head.hash


# --------------------------------------------------------------------------------------------
# Walking the chain
# --------------------------------------------------------------------------------------------

_VERIFY_FIELDS = (
    "id",
    "seq",
    "timestamp",
    "event_type",
    "user_id",
    "model_id",
    "version_id",
    "action",
    "details",
    "ip_address",
    "user_agent",
    "session_id",
    "request_id",
    "prev_hash",
    "hash",
)
_CONTENT_FIELDS = [k for k in _VERIFY_FIELDS if k not in ("id", "prev_hash", "hash")]


def _records(after_seq: int, up_to_seq: int):
    rows = (
        AuditEvent.objects.filter(seq__gt=after_seq, seq__lte=up_to_seq)
        .order_by("seq")
        .values_list(*_VERIFY_FIELDS)
    )
    for row in rows.iterator(chunk_size=VERIFY_CHUNK):
        yield dict(zip(_VERIFY_FIELDS, row, strict=True))


def _record_problem(record: dict, expected_seq: int, expected_prev: str) -> str:
    if record["seq"] != expected_seq:
        return f"sequence jumps from {expected_seq - 1} to {record['seq']}: events removed"
    if record["prev_hash"] != expected_prev:
        return "does not follow its predecessor: events removed or reordered"
    content = event_content(**{k: record[k] for k in _CONTENT_FIELDS})
    if chain_hash(expected_prev, content) != record["hash"]:
        return "content does not match its hash: event altered"
    return ""


def _end_problem(head_seq: int, head_hash: str, last_seq: int, last_hash: str) -> str:
    if last_seq < head_seq:
        return (
            f"chain head names event #{head_seq} but the last event is #{last_seq}: events "
            "removed from the end"
        )
    if last_hash != head_hash:
        return (
            f"chain head names event #{head_seq} with another hash than that event's: the "
            "head or the event was rewritten"
        )
    return ""


# --------------------------------------------------------------------------------------------
# Verifying
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainVerdict:
    valid: bool
    count: int
    first_invalid: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH
    head_seq: int = 0
    checkpoints: int = 0  # how many signed checkpoints were checked
    latest_checkpoint: AuditCheckpoint | None = None
    broken_checkpoint: AuditCheckpoint | None = None


def verify_chain() -> ChainVerdict:
    """Recompute the chain from the first event up to the head and check it against every
    signed checkpoint; name the first event (or checkpoint) that does not fit.

    Writers go on while this runs, and it must never call their work tampering. The reads are
    ordered so that each one only relies on what was committed before it, in any isolation
    level and inside or outside a transaction (a writer commits its events and the head row
    together, and a checkpoint is made under the head's lock):
    1. the checkpoints; 2. the head (seq N): every checkpoint read in 1 signs an event <= N;
    3. the events up to N, which are all committed: they must end exactly at the head;
    4. the highest seq past N, then the head again (N'): an event written by a writer before
       step 4 has seq <= N', so an event past N' was not written through the head.
    """
    signed = list(AuditCheckpoint.objects.order_by("number"))
    head_seq, head_hash = chain_head()
    key = signing.public_key() if signed else None  # SigningKeyUnavailable: a clear 503
    count = 0

    def broken(reason: str, *, event_id=None, checkpoint=None) -> ChainVerdict:
        return ChainVerdict(
            False,
            count,
            first_invalid=event_id,
            reason=reason,
            head_seq=head_seq,
            checkpoints=len(signed),
            latest_checkpoint=signed[-1] if signed else None,
            broken_checkpoint=checkpoint,
        )

    for checkpoint, problem in checkpoint_docs.chain_problems(signed, key):
        return broken(_checkpoint_reason(checkpoint, problem), checkpoint=checkpoint)
    by_seq: dict[int, list[AuditCheckpoint]] = defaultdict(list)
    for checkpoint in signed:
        by_seq[checkpoint.seq].append(checkpoint)
    for checkpoint in by_seq.get(0, []):
        if checkpoint.head_hash != GENESIS_HASH:
            return broken(_checkpoint_reason(checkpoint, "the empty chain"), checkpoint=checkpoint)

    expected_prev, expected_seq = GENESIS_HASH, 1
    for record in _records(0, head_seq):
        count += 1
        problem = _record_problem(record, expected_seq, expected_prev)
        if problem:
            return broken(problem, event_id=record["id"])
        for checkpoint in by_seq.get(record["seq"], ()):
            if checkpoint.head_hash != record["hash"]:
                return broken(
                    _rewritten_reason(checkpoint, signed),
                    event_id=record["id"],
                    checkpoint=checkpoint,
                )
        expected_prev, expected_seq = record["hash"], expected_seq + 1
    beyond = [c for c in signed if c.seq > head_seq]
    if beyond:
        checkpoint = beyond[0]
        return broken(
            f"checkpoint #{checkpoint.number} (signed {_when(checkpoint)}) signs event "
            f"#{checkpoint.seq} but the chain head names #{head_seq}: events removed from the "
            "end",
            checkpoint=checkpoint,
        )
    problem = _end_problem(head_seq, head_hash, expected_seq - 1, expected_prev)
    if problem:
        return broken(problem)
    last_beyond = AuditEvent.objects.filter(seq__gt=head_seq).aggregate(last=Max("seq"))["last"]
    if last_beyond is not None:
        head_now = chain_head()[0]
        if last_beyond > head_now:
            return broken(
                f"chain head names event #{head_now} but the last event is #{last_beyond}: "
                "events written past the head"
            )
    return ChainVerdict(
        True,
        count,
        head_hash=expected_prev,
        head_seq=head_seq,
        checkpoints=len(signed),
        latest_checkpoint=signed[-1] if signed else None,
    )


def _when(checkpoint: AuditCheckpoint) -> str:
    return f"{checkpoint.signed_at:%Y-%m-%d %H:%M:%S} UTC"


def _checkpoint_reason(checkpoint: AuditCheckpoint, problem: str) -> str:
    if problem == "the empty chain":
        return f"checkpoint #{checkpoint.number} signs an empty chain with a non-genesis hash"
    return f"checkpoint #{checkpoint.number} (signed {_when(checkpoint)}): {problem}"


def _rewritten_reason(checkpoint: AuditCheckpoint, signed: list[AuditCheckpoint]) -> str:
    earlier = [c.seq for c in signed if c.seq < checkpoint.seq and c.number < checkpoint.number]
    since = max(earlier, default=0) + 1
    return (
        f"event #{checkpoint.seq} does not have the hash signed by checkpoint "
        f"#{checkpoint.number} (signed {_when(checkpoint)}): history rewritten after that "
        f"checkpoint, somewhere in events #{since} to #{checkpoint.seq}"
    )


# --------------------------------------------------------------------------------------------
# Signed checkpoints
# --------------------------------------------------------------------------------------------


class ChainBroken(InvalidState):
    """The chain since the last checkpoint does not verify: the registry will not sign it."""

    def __init__(self, detail: str):
        super().__init__(
            f"the audit chain does not verify, so no signed checkpoint is made: {detail}",
            state="AUDIT_CHAIN_BROKEN",
        )


def _segment_problem(previous: AuditCheckpoint | None, head: AuditChainHead) -> str:
    """Check the chain from the last checkpoint to the head (what the next checkpoint would
    vouch for), so that a chain already visibly broken is never signed."""
    start_seq, start_hash = (previous.seq, previous.head_hash) if previous else (0, GENESIS_HASH)
    if start_seq > head.seq:
        return (
            f"checkpoint #{previous.number} signs event #{start_seq} but the chain head names "
            f"#{head.seq}: events removed from the end"
        )
    if start_seq:
        stored = AuditEvent.objects.filter(seq=start_seq).values_list("hash", flat=True).first()
        if stored != start_hash:
            return (
                f"event #{start_seq} does not have the hash signed by checkpoint "
                f"#{previous.number}: history rewritten"
            )
    expected_prev, expected_seq = start_hash, start_seq + 1
    for record in _records(start_seq, head.seq):
        problem = _record_problem(record, expected_seq, expected_prev)
        if problem:
            return f"event #{record['seq']} (id {record['id']}) {problem}"
        expected_prev, expected_seq = record["hash"], expected_seq + 1
    return _end_problem(head.seq, head.hash, expected_seq - 1, expected_prev)


def make_checkpoint(trigger: str = CheckpointTrigger.MANUAL) -> AuditCheckpoint:
    """Sign the chain's head now (SigningKeyUnavailable without the key, ChainBroken when the
    chain since the last checkpoint does not verify)."""
    key = signing.private_key()
    with transaction.atomic():
        # The head's lock orders checkpoints among themselves and with the writers: the head
        # cannot move while it is checked and signed, and numbers never collide.
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        previous = AuditCheckpoint.objects.order_by("-number").first()
        problem = _segment_problem(previous, head)
        if problem:
            raise ChainBroken(problem)
        own = signing.key_id(key.public_key())
        if (
            previous is not None
            and previous.key_id != own
            and previous.key_id not in signing.endorsed_predecessors(key.public_key())
        ):
            # A host still holding the retired key after a rotation elsewhere: its checkpoint
            # would break the chain for good (an older key never signs after a newer one).
            raise ChainBroken(
                f"checkpoint #{previous.number} is signed by key {previous.key_id[:16]}…, which "
                f"this host's key {own[:16]}… does not vouch for: the signing key was rotated "
                "on another host; install the new key file and the retired keys' folder here"
            )
        signed_at = timezone.now()
        document = {
            "number": previous.number + 1 if previous else 1,
            "seq": head.seq,
            "headHash": head.hash,
            "signedAt": canonical_timestamp(signed_at),
            "keyId": signing.key_id(key.public_key()),
            "trigger": str(trigger),
            "prevSignature": previous.signature if previous else "",
        }
        signature = signing.sign(checkpoint_docs.payload(document))
        checkpoint = AuditCheckpoint(
            number=document["number"],
            seq=document["seq"],
            head_hash=document["headHash"],
            signed_at=signed_at,
            key_id=document["keyId"],
            trigger=document["trigger"],
            prev_signature=document["prevSignature"],
            signature=signature,
        )
        checkpoint.save(force_insert=True)
    return checkpoint


def scheduled_checkpoint() -> str:
    """The schedule's task: sign the head if it moved since the latest checkpoint."""
    latest = AuditCheckpoint.objects.order_by("-number").first()
    if latest is not None and (latest.seq, latest.head_hash) == chain_head():
        return f"head unchanged since checkpoint #{latest.number} (event #{latest.seq})"
    checkpoint = make_checkpoint(CheckpointTrigger.SCHEDULE)
    return f"checkpoint #{checkpoint.number}: event #{checkpoint.seq}"


def checkpoint_bundle(checkpoint: AuditCheckpoint) -> dict:
    """A checkpoint with the public key that checks it: what reports and bundles carry."""
    key = signing.public_key()
    return {
        "checkpoint": checkpoint_docs.document(checkpoint),
        "publicKey": signing.public_pem(key),
        "keyId": signing.key_id(key),
        "algorithm": signing.ALGORITHM,
        "signedPayload": "the checkpoint's format, headHash, keyId, number, prevSignature, "
        "seq, signedAt and trigger as JSON with sorted keys, no spaces, ASCII; the signature "
        "is base64 Ed25519 over those bytes",
    }
