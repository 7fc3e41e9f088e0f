from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.choices import Role
from core.visibility import VisibleQuerySet
from policies.choices import (
    Enforcement,
    EvaluationTrigger,
    ExceptionReason,
    ExceptionStatus,
    MonitoringTrigger,
    PolicyChangeStatus,
    PolicyStatus,
    PolicyType,
    RemediationStatus,
    Severity,
    ViolationStatus,
)
from registry.models import ModelVersion


class PolicyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=PolicyStatus.ACTIVE)

    def in_scope(self, *, tier: str, environment: str) -> list[Policy]:
        """Policies whose scope holds the tier and environment (JSON list membership is
        checked in Python so it works the same on SQLite and PostgreSQL)."""
        return [
            policy
            for policy in self
            if tier in policy.risk_tiers and environment in policy.environments
        ]


class Policy(models.Model):
    """The guide's policy document, field by field, so it exports exactly as it came in."""

    policy_id = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    type = models.CharField(max_length=20, choices=PolicyType.choices, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.ACTIVE, db_index=True
    )
    enforcement = models.CharField(
        max_length=10, choices=Enforcement.choices, default=Enforcement.ENFORCE
    )
    risk_tiers = models.JSONField(default=list)
    environments = models.JSONField(default=list)
    rules = models.JSONField(default=list)
    allow_exceptions = models.BooleanField(default=False)
    require_approval = models.BooleanField(default=True)
    max_duration = models.CharField(max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = PolicyQuerySet.as_manager()

    class Meta:
        ordering = ["policy_id"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.policy_id


class PolicyEvaluationQuerySet(VisibleQuerySet):
    model_path = "version__model"


class PolicyEvaluation(models.Model):
    """The result of one policy on one version at one moment, rule by rule.

    `policy_revision` is the id of the policy's history record that judged, so an auditor can
    see exactly which text of the policy decided.
    """

    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="policy_evaluations"
    )
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="evaluations")
    policy_revision = models.BigIntegerField(null=True, blank=True)
    environment = models.CharField(max_length=20)
    enforcement = models.CharField(max_length=10, choices=Enforcement.choices)
    trigger = models.CharField(max_length=20, choices=EvaluationTrigger.choices)
    passed = models.BooleanField()
    excepted = models.BooleanField(default=False)
    rule_results = models.JSONField(default=list)
    evaluated_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = PolicyEvaluationQuerySet.as_manager()

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["version", "policy", "environment", "-evaluated_at"])]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "failed"
        return f"{self.policy_id} on {self.version_id}: {verdict}"

    @property
    def blocks(self) -> bool:
        return self.enforcement == Enforcement.ENFORCE and not self.passed and not self.excepted


# --------------------------------------------------------------------------------------------
# Policy exceptions, continuous monitoring and compliance (issue 6).
# --------------------------------------------------------------------------------------------


class PolicyExceptionQuerySet(VisibleQuerySet):
    """`visible_to(user)`: exceptions on the versions `user` may see (a Model Owner: their own
    models')."""

    model_path = "version__model"

    def in_force(self, now=None) -> PolicyExceptionQuerySet:
        """ACTIVE and not yet past `expiresAt` (the expiry job may not have run yet)."""
        return self.filter(status=ExceptionStatus.ACTIVE, expires_at__gt=now or timezone.now())


class PolicyException(models.Model):
    """The guide's exception request form, and where the request stands.

    REQUESTED until every approval the model's risk tier needs is in, then ACTIVE for
    `duration_days` (until `expires_at`); it ends EXPIRED, REJECTED or REVOKED. While ACTIVE, the
    policy's failure on the version passes as excepted (policies.gate.covering_exceptions).
    """

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="exceptions")
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="policy_exceptions"
    )
    justification = models.TextField()
    risk_assessment = models.TextField()
    mitigation = models.TextField()
    duration_days = models.PositiveSmallIntegerField()
    monitoring_plan = models.TextField()
    status = models.CharField(
        max_length=10,
        choices=ExceptionStatus.choices,
        default=ExceptionStatus.REQUESTED,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The last approval (ACTIVE) or the rejection.
    decided_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # When it stopped being REQUESTED or ACTIVE, by whom (empty: the expiry job), and why.
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    end_comments = models.TextField(blank=True)
    # The "expires within 48 hours" reminder went out.
    reminded_at = models.DateTimeField(null=True, blank=True)
    # The guide's reason for the request; empty only on requests made before it was asked.
    reason = models.CharField(max_length=30, choices=ExceptionReason.choices, blank=True)
    # How the failure the exception covers will be fixed, and by when.
    remediation_plan = models.TextField(blank=True)
    remediation_due_date = models.DateField(null=True, blank=True)
    # The periodic review of an ACTIVE exception: when the next one is due (by the model's tier,
    # policies.choices.EXCEPTION_REVIEW_INTERVAL_DAYS), and when its being overdue was last
    # escalated to the approvers (once per due date).
    next_review_due = models.DateTimeField(null=True, blank=True)
    review_escalated_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()
    objects = PolicyExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One open request or active exception per policy and version.
            models.UniqueConstraint(
                fields=["policy", "version"],
                condition=models.Q(status__in=[ExceptionStatus.REQUESTED, ExceptionStatus.ACTIVE]),
                name="policyexception_one_open_per_pair",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"]),
            models.Index(fields=["status", "next_review_due"]),
        ]

    def __str__(self) -> str:
        return f"exception #{self.pk} {self.policy_id} on {self.version_id} ({self.status})"

    @property
    def window_end(self):
        """The end of the time it was (or is) in force: ended, else its expiry."""
        if self.ended_at is not None and self.expires_at is not None:
            return min(self.ended_at, self.expires_at)
        return self.ended_at or self.expires_at


class ExceptionApprovalQuerySet(VisibleQuerySet):
    model_path = "exception__version__model"


class ExceptionApproval(models.Model):
    """One approval of an exception: who, in which role, when, with which comments."""

    exception = models.ForeignKey(
        PolicyException, on_delete=models.PROTECT, related_name="approvals"
    )
    role = models.CharField(max_length=40, choices=Role.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    comments = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ExceptionApprovalQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exception", "user"], name="exception_approval_person"),
            models.UniqueConstraint(fields=["exception", "role"], name="exception_approval_role"),
        ]

    def __str__(self) -> str:
        return f"{self.role} approval of exception {self.exception_id} by {self.user_id}"


class ExceptionReviewQuerySet(VisibleQuerySet):
    model_path = "exception__version__model"


class ExceptionReview(models.Model):
    """One periodic review of an ACTIVE exception by a person of an approver role: their notes
    and where the remediation stands (a status and a percentage)."""

    exception = models.ForeignKey(PolicyException, on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=40, choices=Role.choices)
    notes = models.TextField()
    remediation_status = models.CharField(max_length=20, choices=RemediationStatus.choices)
    remediation_progress = models.PositiveSmallIntegerField()
    # The due date this review answered, and whether it came after it.
    due_at = models.DateTimeField(null=True, blank=True)
    late = models.BooleanField(default=False)
    next_review_due = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ExceptionReviewQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remediation_progress__lte=100),
                name="exception_review_progress_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"review of exception {self.exception_id} by {self.reviewer_id}"


class PolicyChange(models.Model):
    """A change that relaxes an ACTIVE ENFORCE policy, waiting for a second person.

    `base_document` is the policy's document when the change was proposed, `document` the one
    proposed; `changes` the field-by-field difference and `relaxations` why it counts as
    relaxing (policies.changes.relaxations). Approving applies `document` to the policy.
    """

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="changes")
    status = models.CharField(
        max_length=12,
        choices=PolicyChangeStatus.choices,
        default=PolicyChangeStatus.PROPOSED,
        db_index=True,
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    base_document = models.JSONField()
    document = models.JSONField()
    changes = models.JSONField(default=dict)
    relaxations = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_role = models.CharField(max_length=40, choices=Role.choices, blank=True)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One proposal awaiting a decision per policy.
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(status=PolicyChangeStatus.PROPOSED),
                name="policychange_one_proposed_per_policy",
            ),
        ]

    def __str__(self) -> str:
        return f"policy change #{self.pk} of {self.policy_id} ({self.status})"


class ViolationQuerySet(VisibleQuerySet):
    model_path = "version__model"

    def open(self) -> ViolationQuerySet:
        return self.filter(status=ViolationStatus.OPEN)


class Violation(models.Model):
    """A rule of an active policy failing on a monitored version, not covered by an exception.

    Opened by the monitoring sweep when it first sees the failure, `last_seen` moved on at every
    sweep that still sees it, RESOLVED (with the reason) once the rule passes, an exception
    covers it, or the pair leaves monitoring (version retired or policy out of scope).
    """

    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="violations")
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="violations")
    rule_index = models.PositiveSmallIntegerField()
    condition = models.TextField()
    message = models.TextField()
    severity = models.CharField(max_length=10, choices=Severity.choices, db_index=True)
    environment = models.CharField(max_length=20)
    status = models.CharField(
        max_length=10, choices=ViolationStatus.choices, default=ViolationStatus.OPEN, db_index=True
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=200, blank=True)

    objects = ViolationQuerySet.as_manager()

    class Meta:
        ordering = ["-first_seen", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "version", "rule_index"],
                condition=models.Q(status=ViolationStatus.OPEN),
                name="violation_one_open_per_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} rule {self.rule_index} on {self.version_id} ({self.status})"


class MonitoringRun(models.Model):
    """One sweep of continuous monitoring: what it covered and what it found."""

    trigger = models.CharField(max_length=20, choices=MonitoringTrigger.choices)
    policy = models.ForeignKey(
        Policy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    versions = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    evaluations_stored = models.PositiveIntegerField(default=0)
    violations_opened = models.PositiveIntegerField(default=0)
    violations_resolved = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.trigger} sweep at {self.started_at:%Y-%m-%d %H:%M}"


class ComplianceSnapshot(models.Model):
    """The compliance figures of one day, kept for the trend (taken by a daily job)."""

    date = models.DateField(unique=True)
    score = models.FloatField()
    pairs = models.PositiveIntegerField()
    complying_pairs = models.PositiveIntegerField()
    active_violations = models.PositiveIntegerField()
    violations_by_severity = models.JSONField(default=dict)
    risk_distribution = models.JSONField(default=dict)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.score}%"
