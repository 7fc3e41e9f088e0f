"""factory_boy factories: build state directly, so tests exercise one behaviour each."""

from __future__ import annotations

import hashlib

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from audit.models import Report, ReportKind, ReportStatus
from core.choices import Role
from core.roles import set_roles
from evaluations.choices import DatasetFormat, RunStatus, Suite
from evaluations.models import EvaluationRun
from governance.choices import (
    Decision,
    Environment,
    NotificationKind,
    PromotionAction,
    TierChangeStatus,
    WebhookEvent,
)
from governance.models import (
    Approval,
    Notification,
    RiskTierChangeRequest,
    StateTransition,
    Webhook,
)
from policies.choices import (
    Enforcement,
    EvaluationTrigger,
    ExceptionStatus,
    Severity,
    ViolationStatus,
)
from policies.models import (
    ExceptionApproval,
    Policy,
    PolicyEvaluation,
    PolicyException,
    Violation,
)
from registry.choices import RiskTier, ScanStatus, VersionState
from registry.models import Artifact, ModelVersion, RegisteredModel
from registry.services import grant_owner_permissions

PASSWORD = "test-pass-1234"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            set_roles(self, list(extracted))


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisteredModel
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"model-{n}")
    description = "A model for tests."
    owner = factory.SubFactory(UserFactory, roles=["Model Owner"])
    risk_tier = RiskTier.MEDIUM
    risk_tier_reason = "MEDIUM: stated by the owner without an assessment"
    tags = factory.LazyFunction(dict)

    @factory.post_generation
    def owner_permissions(self, create, extracted, **kwargs):
        if create:
            grant_owner_permissions(self, self.owner)


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    model = factory.SubFactory(RegisteredModelFactory)
    version = factory.Sequence(lambda n: f"1.{n}.0")
    description = "A version for tests."
    documentation = "# Model card"
    tags = factory.LazyFunction(dict)
    created_by = factory.LazyAttribute(lambda v: v.model.owner)


class ArtifactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Artifact

    version = factory.SubFactory(ModelVersionFactory)
    name = factory.Sequence(lambda n: f"artifact-{n}.onnx")
    type = "model"
    uri = factory.LazyAttribute(lambda a: f"s3://models/{a.name}")
    sha256 = factory.LazyAttribute(lambda a: hashlib.sha256(a.name.encode()).hexdigest())
    scan_status = ScanStatus.PASSED
    scan_scanner = "trivy"


# ---- the records under a version (a version's state is set by the workflow, so these build
# the records directly; tests that need a state set it with ModelVersion.objects.update) ----

SCAN_RULE = {
    "condition": "artifacts.all(a, a.securityScan.status == 'PASSED')",
    "message": "every artifact must pass its security scan",
}


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy
        django_get_or_create = ("policy_id",)

    policy_id = factory.Sequence(lambda n: f"policy-{n}")
    name = factory.LazyAttribute(lambda p: f"Policy {p.policy_id}")
    severity = Severity.HIGH
    enforcement = Enforcement.ENFORCE
    risk_tiers = factory.LazyFunction(lambda: list(RiskTier.values))
    environments = factory.LazyFunction(lambda: list(Environment.values))
    rules = factory.LazyFunction(lambda: [dict(SCAN_RULE)])
    allow_exceptions = True


class PolicyEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PolicyEvaluation

    version = factory.SubFactory(ModelVersionFactory)
    policy = factory.SubFactory(PolicyFactory)
    environment = Environment.STAGING
    enforcement = Enforcement.ENFORCE
    trigger = EvaluationTrigger.SUBMIT
    passed = False
    rule_results = factory.LazyAttribute(
        lambda e: [
            {
                "index": 0,
                "condition": SCAN_RULE["condition"],
                "passed": e.passed,
                "message": SCAN_RULE["message"],
            }
        ]
    )


class PolicyExceptionFactory(factory.django.DjangoModelFactory):
    """An ACTIVE exception (its approvals are not built: add ExceptionApproval rows if needed)."""

    class Meta:
        model = PolicyException

    policy = factory.SubFactory(PolicyFactory)
    version = factory.SubFactory(ModelVersionFactory)
    justification = "The scanner flags a known false positive."
    risk_assessment = "Low: the finding does not apply to this artifact."
    mitigation = "Manual review of the artifact."
    duration_days = 30
    monitoring_plan = "Weekly re-scan."
    status = ExceptionStatus.ACTIVE
    requested_by = factory.LazyAttribute(lambda e: e.version.model.owner)
    activated_at = factory.LazyFunction(timezone.now)
    decided_at = factory.LazyAttribute(lambda e: e.activated_at)
    expires_at = factory.LazyAttribute(
        lambda e: e.activated_at + timezone.timedelta(days=e.duration_days)
    )


class ExceptionApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExceptionApproval

    exception = factory.SubFactory(PolicyExceptionFactory)
    role = Role.MRC
    user = factory.SubFactory(UserFactory, roles=[Role.MRC])
    comments = "Accepted for the stated duration."


class ViolationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Violation

    policy = factory.SubFactory(PolicyFactory)
    version = factory.SubFactory(ModelVersionFactory)
    rule_index = 0
    condition = SCAN_RULE["condition"]
    message = SCAN_RULE["message"]
    severity = Severity.HIGH
    environment = Environment.STAGING
    status = ViolationStatus.OPEN
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyAttribute(lambda v: v.first_seen)


class EvaluationRunFactory(factory.django.DjangoModelFactory):
    """A finished run's record (no dataset file is written: pages show its name only)."""

    class Meta:
        model = EvaluationRun

    version = factory.SubFactory(ModelVersionFactory)
    suite = Suite.SECURITY
    status = RunStatus.PASSED
    progress = 100
    metrics = factory.LazyFunction(dict)
    dataset = "evaluations/dataset.csv"
    dataset_name = "dataset.csv"
    dataset_format = DatasetFormat.CSV
    dataset_sha256 = factory.LazyFunction(lambda: "0" * 64)
    dataset_size = 100
    dataset_rows = 10
    dataset_columns = factory.LazyFunction(lambda: ["y_true", "y_pred"])
    requested_by = factory.LazyAttribute(lambda r: r.version.model.owner)
    started_at = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyAttribute(lambda r: r.started_at)


class StateTransitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StateTransition

    version = factory.SubFactory(ModelVersionFactory)
    from_state = VersionState.DRAFT
    to_state = VersionState.SUBMITTED
    action = PromotionAction.SUBMIT
    user = factory.LazyAttribute(lambda t: t.version.model.owner)


class ApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Approval

    version = factory.SubFactory(ModelVersionFactory)
    stage = VersionState.MRC_REVIEW
    environment = Environment.STAGING
    cycle = 1
    decision = Decision.APPROVED
    user = factory.SubFactory(UserFactory, roles=[Role.MRC])
    role = Role.MRC


class RiskTierChangeRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RiskTierChangeRequest

    model = factory.SubFactory(RegisteredModelFactory)
    from_tier = factory.LazyAttribute(lambda r: r.model.risk_tier)
    requested_tier = RiskTier.HIGH
    justification = "The model now decides on credit lines."
    status = TierChangeStatus.REQUESTED
    requested_by = factory.LazyAttribute(lambda r: r.model.owner)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    user = factory.SubFactory(UserFactory)
    kind = NotificationKind.APPROVED
    version = None
    message = factory.LazyAttribute(
        lambda n: (
            f"{n.version.model.name} {n.version.version} was approved for staging"
            if n.version is not None
            else "Something happened"
        )
    )
    url = factory.LazyAttribute(lambda n: f"/versions/{n.version.pk}/" if n.version else "")


class ReportFactory(factory.django.DjangoModelFactory):
    """A QUEUED report's record (no PDF is written: set status and file for a finished one)."""

    class Meta:
        model = Report

    kind = ReportKind.MONTHLY_COMPLIANCE
    period = "2026-11"
    period_start = factory.LazyFunction(
        lambda: timezone.datetime(2026, 11, 1, tzinfo=timezone.get_current_timezone())
    )
    period_end = factory.LazyFunction(
        lambda: timezone.datetime(2026, 12, 1, tzinfo=timezone.get_current_timezone())
    )
    status = ReportStatus.QUEUED
    requested_by = factory.SubFactory(UserFactory, roles=[Role.MRC])


class WebhookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Webhook

    name = factory.Sequence(lambda n: f"hook-{n}")
    url = factory.LazyAttribute(lambda w: f"https://hooks.example.com/{w.name}")
    events = factory.LazyFunction(lambda: [WebhookEvent.VIOLATION_OPENED.value])
    active = True
    created_by = factory.SubFactory(UserFactory, roles=[Role.MRC])
