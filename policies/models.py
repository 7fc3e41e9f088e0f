from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from policies.choices import Enforcement, EvaluationTrigger, PolicyStatus, PolicyType, Severity
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

    class Meta:
        ordering = ["-evaluated_at", "-id"]
        indexes = [models.Index(fields=["version", "policy", "environment", "-evaluated_at"])]

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "failed"
        return f"{self.policy_id} on {self.version_id}: {verdict}"

    @property
    def blocks(self) -> bool:
        return self.enforcement == Enforcement.ENFORCE and not self.passed and not self.excepted
