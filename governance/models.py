"""The promotion workflow's records: transitions, review decisions, tier change requests and
in-app notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.choices import Role
from core.visibility import VisibleQuerySet
from governance.choices import (
    Decision,
    Environment,
    NotificationKind,
    PromotionAction,
    TierChangeStatus,
)
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel


class StateTransitionQuerySet(VisibleQuerySet):
    model_path = "version__model"


class ApprovalQuerySet(VisibleQuerySet):
    model_path = "version__model"


class RiskTierChangeRequestQuerySet(VisibleQuerySet):
    model_path = "model"

    def open(self) -> RiskTierChangeRequestQuerySet:
        return self.filter(status=TierChangeStatus.REQUESTED)


class TierChangeDecisionQuerySet(VisibleQuerySet):
    model_path = "request__model"


class StateTransition(models.Model):
    """One state change of a version; `user` is empty for the system's automatic steps."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="transitions")
    from_state = models.CharField(max_length=30, choices=VersionState.choices)
    to_state = models.CharField(max_length=30, choices=VersionState.choices)
    action = models.CharField(max_length=30, choices=PromotionAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comments = models.TextField(blank=True)
    timestamp = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = StateTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["timestamp", "id"]

    def __str__(self) -> str:
        return f"{self.version_id}: {self.from_state} → {self.to_state}"


class Approval(models.Model):
    """A review decision on a version: who decided, in which role, at which stage and cycle."""

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="approvals")
    stage = models.CharField(max_length=30, choices=VersionState.choices)
    environment = models.CharField(max_length=20, choices=Environment.choices)
    cycle = models.PositiveIntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=40, choices=Role.choices)
    comments = models.TextField(blank=True)
    # What the reviewer attested by approving: the MRC checklist (an MRC approval) or the
    # guide's four security review areas (a Security Architect's), every item ticked.
    checklist = models.JSONField(null=True, blank=True)
    security_checklist = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    history = HistoricalRecords()
    objects = ApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One person, one decision on a version's way to an environment (per review cycle).
            models.UniqueConstraint(
                fields=["version", "environment", "cycle", "user"],
                name="approval_one_per_person_per_way",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.stage} by {self.user_id}"


class RiskTierChangeRequest(models.Model):
    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="tier_change_requests"
    )
    from_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    requested_tier = models.CharField(max_length=10, choices=RiskTier.choices)
    justification = models.TextField()
    status = models.CharField(
        max_length=10, choices=TierChangeStatus.choices, default=TierChangeStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()
    objects = RiskTierChangeRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.model} {self.from_tier} → {self.requested_tier} ({self.status})"

    @property
    def touches_high(self) -> bool:
        return RiskTier.HIGH in (self.from_tier, self.requested_tier)


class TierChangeDecision(models.Model):
    request = models.ForeignKey(
        RiskTierChangeRequest, on_delete=models.PROTECT, related_name="decisions"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=40, choices=Role.choices)
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TierChangeDecisionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "user"], name="tier_decision_one_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.user_id} as {self.role}"


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user) -> NotificationQuerySet:
        """A notification is its recipient's alone. Recipients are chosen by the domain when it
        is sent, among the people who may see the model it names (the owner and submitter, or a
        read-all role)."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# Outgoing webhooks (issue 6): configured in the admin, delivered by the worker
# (governance/webhooks.py).
# --------------------------------------------------------------------------------------------


from governance.choices import DeliveryStatus, WebhookEvent  # noqa: E402


def new_webhook_secret() -> str:
    import secrets

    return secrets.token_urlsafe(32)


class Webhook(models.Model):
    """A receiver of alerts: every event it subscribes to is POSTed to `url` as JSON, signed
    with HMAC-SHA256 under `secret` (see governance/webhooks.py for the headers)."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=200, default=new_webhook_secret)
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one webhook, and every attempt to deliver it (the delivery log)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices, db_index=True)
    event_id = models.UUIDField()
    # The exact bytes POSTed, so every retry sends (and signs) the same body.
    body = models.TextField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    log = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} to {self.webhook_id} ({self.status})"
