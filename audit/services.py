"""Writing and verifying the audit trail. Every audit event of the product is written here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit import context as request_context
from audit.choices import EventType
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent, chain_hash, event_content

SYSTEM_USER = "system"
ANONYMOUS_USER = "anonymous"
VERIFY_CHUNK = 2000


def actor_name(user) -> str:
    if user is None:
        return SYSTEM_USER if request_context.current() is None else ANONYMOUS_USER
    if isinstance(user, str):
        return user
    if not user.is_authenticated:
        return ANONYMOUS_USER
    return user.get_username()


def _canonical_details(details: dict[str, Any] | None) -> dict[str, Any]:
    # Round-trip through JSON so the hash covers exactly what the database will give back.
    return json.loads(json.dumps(details or {}, default=str))


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
    ctx = request_context.current() or request_context.RequestContext()
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        fields = {
            "seq": head.seq + 1,
            "timestamp": timezone.now(),
            "event_type": str(event_type),
            "user_id": actor_name(user),
            "model_id": model_id,
            "version_id": version_id,
            "action": str(action),
            "details": _canonical_details(details),
            "ip_address": ctx.ip_address,
            "user_agent": ctx.user_agent,
            "session_id": ctx.session_id if session_id is None else session_id,
        }
        event = AuditEvent(**fields, prev_hash=head.hash)
        event.hash = chain_hash(head.hash, event_content(**fields))
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(seq=event.seq, hash=event.hash)
    return event


@dataclass(frozen=True)
class ChainVerdict:
    valid: bool
    count: int
    first_invalid: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH


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
    "prev_hash",
    "hash",
)


def verify_chain() -> ChainVerdict:
    """Recompute the chain from the first event; name the first event that does not fit."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = AuditEvent.objects.order_by("seq").values_list(*_VERIFY_FIELDS)
    for row in rows.iterator(chunk_size=VERIFY_CHUNK):
        record = dict(zip(_VERIFY_FIELDS, row, strict=True))
        count += 1
        problem = ""
        if record["seq"] != expected_seq:
            problem = f"sequence jumps from {expected_seq - 1} to {record['seq']}: events removed"
        elif record["prev_hash"] != expected_prev:
            problem = "does not follow its predecessor: events removed or reordered"
        else:
            content = event_content(
                **{k: record[k] for k in _VERIFY_FIELDS if k not in ("id", "prev_hash", "hash")}
            )
            if chain_hash(expected_prev, content) != record["hash"]:
                problem = "content does not match its hash: event altered"
        if problem:
            return ChainVerdict(False, count, first_invalid=record["id"], reason=problem)
        expected_prev = record["hash"]
        expected_seq += 1
    head = AuditChainHead.objects.get(pk=1)
    if head.seq != expected_seq - 1 or head.hash != expected_prev:
        return ChainVerdict(
            False,
            count,
            first_invalid=None,
            reason=f"chain head names event #{head.seq} but the last event is "
            f"#{expected_seq - 1}: events removed from the end",
        )
    return ChainVerdict(True, count, head_hash=expected_prev)


def chain_head() -> tuple[int, str]:
    head = AuditChainHead.objects.get(pk=1)
    return head.seq, head.hash
