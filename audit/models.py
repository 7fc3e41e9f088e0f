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

from django.conf import settings
from django.db import models

from audit.choices import EventType

GENESIS_HASH = "0" * 64


class AppendOnlyError(RuntimeError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("the audit trail is append-only")

    def delete(self):
        raise AppendOnlyError("the audit trail is append-only")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts or kwargs.get("update_fields"):
            raise AppendOnlyError("the audit trail is append-only")
        return super().bulk_create(objs, *args, **kwargs)


class AuditEventQuerySet(AppendOnlyQuerySet):
    def for_model(self, model_id: int):
        return self.filter(model_id=model_id)


class AppendOnlyModel(models.Model):
    """Refusing, not hiding: a row can be inserted once and never rewritten or deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the audit trail is append-only")
        # Always an INSERT: a reused id must fail, never turn into an UPDATE.
        kwargs["force_insert"] = True
        kwargs.pop("force_update", None)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit trail is append-only")


class AuditEvent(AppendOnlyModel):
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
    # The request (X-Request-ID, or one the registry made) or worker job the event came from:
    # the key that joins it to the JSON logs.
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["event_type", "timestamp"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event_type}/{self.action} by {self.user_id}"

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
            request_id=self.request_id,
        )

    def document(self) -> dict:
        """The event's one published shape: the API, the JSON lines and CSV exports and the
        evidence bundles all write this. It is the hashed content (timestamp in the canonical
        form the hash covers) plus the event's id and its place in the chain, so anyone holding
        it can recompute `hash` from `prevHash`."""
        document = {
            "id": self.id,
            **self.content(),
            "requestId": self.request_id,
            "prevHash": self.prev_hash,
            "hash": self.hash,
        }
        return {key: document[key] for key in EVENT_DOCUMENT_FIELDS}


class AuditChainHead(models.Model):
    """The single row (pk=1) naming the newest event of the chain."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class CheckpointTrigger(models.TextChoices):
    SCHEDULE = "SCHEDULE", "Schedule"
    REPORT = "REPORT", "Report"
    EVIDENCE_BUNDLE = "EVIDENCE_BUNDLE", "Evidence bundle"
    MANUAL = "MANUAL", "Command line"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement "event #seq of the chain has hash head_hash", made by the registry.

    The hash chain alone is plain SHA-256: whoever can write the table can rewrite an event and
    recompute every later hash. The signature is made with an Ed25519 key kept outside the
    database (settings.AUDIT_SIGNING_KEY_FILE), so a rewritten history no longer matches the
    checkpoints signed before the rewrite. Each checkpoint also signs the previous checkpoint's
    signature, so checkpoints form a chain of their own (removing or reordering one breaks it).
    See audit/checkpoints.py.
    """

    number = models.PositiveBigIntegerField(unique=True, editable=False)
    seq = models.BigIntegerField(db_index=True, editable=False)
    head_hash = models.CharField(max_length=64, editable=False)
    signed_at = models.DateTimeField(editable=False)
    key_id = models.CharField(max_length=64, editable=False)
    trigger = models.CharField(max_length=20, choices=CheckpointTrigger.choices, editable=False)
    prev_signature = models.CharField(max_length=100, blank=True, editable=False)
    signature = models.CharField(max_length=100, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return f"checkpoint #{self.number}: event #{self.seq}"


# The keys of AuditEvent.document(), in the order the CSV export writes its columns.
EVENT_DOCUMENT_FIELDS = [
    "id",
    "seq",
    "timestamp",
    "eventType",
    "userId",
    "modelId",
    "versionId",
    "action",
    "details",
    "ipAddress",
    "userAgent",
    "sessionId",
    "requestId",
    "prevHash",
    "hash",
]


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
    request_id="",
) -> dict:
    content = {
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
    # Hashed only when there is one: events written before request ids existed keep their
    # hashes, and a verifier that knows nothing of it still checks those.
    if request_id:
        content["requestId"] = request_id
    return content


def chain_hash(prev_hash: str, content: dict) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Compliance reports (PDF), generated by the worker from the data of a period.
# --------------------------------------------------------------------------------------------


class ReportKind(models.TextChoices):
    MONTHLY_COMPLIANCE = "MONTHLY_COMPLIANCE", "Monthly compliance report"
    QUARTERLY_RISK = "QUARTERLY_RISK", "Quarterly risk assessment"
    ANNUAL_AUDIT = "ANNUAL_AUDIT", "Annual audit report"


class ReportStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    ERROR = "ERROR"


class ReportTrigger(models.TextChoices):
    ON_DEMAND = "ON_DEMAND", "On demand"
    SCHEDULE = "SCHEDULE", "Schedule"


class Report(models.Model):
    """One generated (or queued) report: the PDF, its SHA-256, and what it was made from."""

    kind = models.CharField(max_length=30, choices=ReportKind.choices, db_index=True)
    period = models.CharField(max_length=7)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=ReportStatus.choices, default=ReportStatus.QUEUED, db_index=True
    )
    trigger = models.CharField(
        max_length=10, choices=ReportTrigger.choices, default=ReportTrigger.ON_DEMAND
    )
    file = models.FileField(upload_to="reports/", max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    generator_version = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["kind", "period", "status"], name="report_kind_period")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.period} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status == ReportStatus.DONE and bool(self.file)
