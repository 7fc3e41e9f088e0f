"""Reading the audit trail: only the oversight roles may, and a refused read is itself audited."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from audit.choices import AuditAction, EventType
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import ChainVerdict, chain_head, record_event, verify_chain
from core.access import authorize
from core.choices import Action
from core.domain import domain_action


@domain_action(Action.VIEW_AUDIT)
def audit_events(*, actor):
    authorize(actor, Action.VIEW_AUDIT)
    return AuditEvent.objects.all()


@domain_action(Action.VIEW_AUDIT)
def verify_audit_chain(*, actor) -> ChainVerdict:
    authorize(actor, Action.VIEW_AUDIT)
    verdict = verify_chain()
    try:
        with transaction.atomic():
            record_event(
                EventType.AUDIT_ACCESS,
                AuditAction.VERIFY_AUDIT,
                user=actor,
                details={
                    "valid": verdict.valid,
                    "count": verdict.count,
                    "reason": verdict.reason,
                    "checkpoints": verdict.checkpoints,
                }
                | (
                    {"brokenCheckpoint": verdict.broken_checkpoint.number}
                    if verdict.broken_checkpoint
                    else {}
                ),
            )
    except IntegrityError:
        # A forged event already holds the next sequence number: the verdict (invalid) is
        # the answer that matters, so it is returned even though this access cannot be chained.
        if verdict.valid:
            raise
    return verdict


@domain_action(Action.VIEW_AUDIT)
def audit_checkpoints(*, actor):
    authorize(actor, Action.VIEW_AUDIT)
    return AuditCheckpoint.objects.all()


@domain_action(Action.EXPORT_AUDIT)
def export_audit_events(queryset, *, actor, fmt: str, filters: dict):
    """Authorise and record an export of `queryset` (already filtered by the caller)."""
    authorize(actor, Action.EXPORT_AUDIT)
    # Fix the set before recording the export, so the file holds exactly what was counted.
    frozen = queryset.filter(seq__lte=chain_head()[0])
    record_event(
        EventType.AUDIT_ACCESS,
        AuditAction.EXPORT_AUDIT,
        user=actor,
        details={"format": fmt, "filters": filters, "count": frozen.count()},
    )
    return frozen
