"""The audit trail: append-only events chained by SHA-256.

Each event stores the hash of its predecessor and the hash of its own content (which includes
that predecessor hash), so altering, removing or reordering any event breaks the chain from
that point on. `AuditChainHead` is a single row holding the newest sequence number and hash;
writers lock it, which both serialises the chain under concurrent writers and lets
verification notice events removed from the end.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from django.db import models

from audit.choices import EventType

GENESIS_HASH = "0" * 64


class AppendOnlyError(RuntimeError):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts or kwargs.get("update_fields"):
            raise AppendOnlyError("audit events are append-only")
        return super().bulk_create(objs, *args, **kwargs)

    def for_model(self, model_id: int):
        return self.filter(model_id=model_id)


class AuditEvent(models.Model):
    seq = models.BigIntegerField(unique=True, editable=False)
    timestamp = models.DateTimeField(db_index=True, editable=False)
    event_type = models.CharField(max_length=40, choices=EventType.choices, db_index=True)
    user_id = models.CharField(max_length=150, db_index=True)
    model_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    version_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=60, db_index=True)
    details = models.JSONField(default=dict)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["event_type", "timestamp"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}/{self.action} by {self.user_id}"

    def save(self, *args, **kwargs):
        # Refusing, not hiding: an event can be inserted once and never rewritten.
        if not self._state.adding:
            raise AppendOnlyError("audit events are append-only")
        # Always an INSERT: a reused id must fail, never turn into an UPDATE.
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def content(self) -> dict:
        return event_content(
            seq=self.seq,
            timestamp=self.timestamp,
            event_type=self.event_type,
            user_id=self.user_id,
            model_id=self.model_id,
            version_id=self.version_id,
            action=self.action,
            details=self.details,
            ip_address=self.ip_address,
            user_agent=self.user_agent,
            session_id=self.session_id,
        )


class AuditChainHead(models.Model):
    """The single row (pk=1) naming the newest event of the chain."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.seq}"


def canonical_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_content(
    *,
    seq,
    timestamp,
    event_type,
    user_id,
    model_id,
    version_id,
    action,
    details,
    ip_address,
    user_agent,
    session_id,
) -> dict:
    return {
        "seq": seq,
        "timestamp": canonical_timestamp(timestamp),
        "eventType": event_type,
        "userId": user_id,
        "modelId": model_id,
        "versionId": version_id,
        "action": action,
        "details": details,
        "ipAddress": ip_address,
        "userAgent": user_agent,
        "sessionId": session_id,
    }


def chain_hash(prev_hash: str, content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()
