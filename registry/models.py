from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.visibility import VisibleQuerySet
from registry.choices import EDITABLE_STATES, RiskTier, ScanSource, ScanStatus, VersionState
from registry.mlflow.choices import SyncKind, SyncStatus

S = VersionState


class RegisteredModelQuerySet(VisibleQuerySet):
    """`visible_to(user)`: every model for the role-wide view permission (MRC, Security
    Architect, SRE, Auditor, Executive), else those the user holds an object permission on
    (core/visibility.py, the root every other governed record derives from)."""

    model_path = ""

    def owned_by(self, user) -> RegisteredModelQuerySet:
        """The models `user` owns: "my models" on a dashboard (not a visibility rule: chain it
        after `visible_to`)."""
        return self.filter(owner=user)


class RegisteredModel(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_models"
    )
    risk_tier = models.CharField(max_length=10, choices=RiskTier.choices, db_index=True)
    risk_assessment = models.JSONField(null=True, blank=True)
    risk_tier_reason = models.CharField(max_length=300)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = RegisteredModelQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="registeredmodel_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class ModelVersionQuerySet(VisibleQuerySet):
    model_path = "model"


class ModelVersion(FSMModelMixin, models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=100)
    # protected: the state changes only through the promotion workflow's transitions.
    state = FSMField(
        max_length=30, choices=VersionState.choices, default=VersionState.DRAFT, protected=True
    )
    description = models.TextField(blank=True)
    documentation = models.JSONField(default=str, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_versions"
    )
    # Who last submitted it, and who asked for production: separation of duties keeps both
    # away from approving and deploying it.
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="submitted_versions",
    )
    production_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="production_requests",
    )
    # Each submit and each production request opens a new review cycle; approvals count
    # within a cycle.
    review_cycle = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["model__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="modelversion_unique"),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.model.name} {self.version}"

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    # The legal moves of the promotion state machine. They only change the state; the
    # workflow's services (governance/promotion.py) decide which one to make and record it.

    @transition(field=state, source=[S.DRAFT, S.CHANGES_REQUIRED], target=S.SUBMITTED)
    def submit(self) -> None:
        pass

    @transition(field=state, source=S.SUBMITTED, target=S.CHANGES_REQUIRED)
    def fail_policy_check(self) -> None:
        pass

    @transition(
        field=state,
        source=S.SUBMITTED,
        target=RETURN_VALUE(S.MRC_REVIEW, S.SECURITY_REVIEW, S.APPROVED_STAGING),
    )
    def route_after_submit(self, next_state: str) -> str:
        return next_state

    @transition(
        field=state,
        source=S.MRC_REVIEW,
        target=RETURN_VALUE(S.SECURITY_REVIEW, S.APPROVED_STAGING),
    )
    def approve_mrc_review(self, next_state: str) -> str:
        return next_state

    @transition(field=state, source=S.SECURITY_REVIEW, target=S.APPROVED_STAGING)
    def approve_security_review(self) -> None:
        pass

    @transition(field=state, source=[S.MRC_REVIEW, S.SECURITY_REVIEW], target=S.CHANGES_REQUIRED)
    def require_changes(self) -> None:
        pass

    @transition(field=state, source=S.APPROVED_STAGING, target=S.STAGING)
    def deploy_to_staging(self) -> None:
        pass

    @transition(
        field=state,
        source=S.STAGING,
        target=RETURN_VALUE(S.PRODUCTION_REVIEW, S.APPROVED_PRODUCTION),
    )
    def advance_to_production(self, next_state: str) -> str:
        return next_state

    @transition(field=state, source=S.PRODUCTION_REVIEW, target=S.APPROVED_PRODUCTION)
    def approve_for_production(self) -> None:
        pass

    @transition(field=state, source=S.PRODUCTION_REVIEW, target=S.STAGING)
    def return_to_staging(self) -> None:
        pass

    @transition(field=state, source=S.APPROVED_PRODUCTION, target=S.PRODUCTION)
    def deploy_to_production(self) -> None:
        pass

    # An approved risk tier change whose new tier needs reviews the version's approvals lack
    # sends it back to the first review of its way (made by the system).
    @transition(field=state, source=S.APPROVED_STAGING, target=S.MRC_REVIEW)
    def reopen_staging_review(self) -> None:
        pass

    @transition(field=state, source=S.APPROVED_PRODUCTION, target=S.PRODUCTION_REVIEW)
    def reopen_production_review(self) -> None:
        pass

    @transition(field=state, source=[s for s in S.values if s != S.RETIRED], target=S.RETIRED)
    def retire(self) -> None:
        pass


class ArtifactQuerySet(VisibleQuerySet):
    model_path = "version__model"


class Artifact(models.Model):
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="artifacts")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=50)
    uri = models.CharField(max_length=2000)
    sha256 = models.CharField(max_length=64)
    scan_status = models.CharField(
        max_length=10, choices=ScanStatus.choices, default=ScanStatus.PENDING, db_index=True
    )
    scan_scanner = models.CharField(max_length=200, blank=True)
    scan_findings = models.JSONField(null=True, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)
    # Who produced the scan result (blank: none yet, or one recorded before sources were kept,
    # which no policy accepts), the person for SCANNER / SECURITY_ARCHITECT results, and the
    # scanner's rules it was made under (a held artifact is rescanned when they change).
    scan_source = models.CharField(max_length=20, choices=ScanSource.choices, blank=True)
    scanned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    scan_rules_version = models.CharField(max_length=64, blank=True)
    # Custody: the registry holds the bytes (content-addressed in the artifact storage, never
    # changed) or the artifact is a reference (`uri`) to bytes the registry does not hold.
    held = models.BooleanField(default=False)
    size = models.BigIntegerField(null=True, blank=True)
    storage_name = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=30, blank=True)  # detected from the bytes
    # An executable model's inputs and outputs ({"inputs": [...], "outputs": [...]}).
    signature = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = ArtifactQuerySet.as_manager()

    class Meta:
        ordering = ["version", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"

    @property
    def executable(self) -> bool:
        """The registry can run it: held bytes of an ONNX model whose signature it read."""
        return self.held and self.format == "onnx" and self.signature is not None


class MlflowSyncRecordQuerySet(VisibleQuerySet):
    model_path = "model"


class MlflowSyncRecord(models.Model):
    """What the MLflow sync (registry/mlflow/sync.py) knows of one thing on one tracking server:
    a sync run of the server (RUN: the last one's status and the back-off), an MLflow registered
    model (MODEL: the aliases the registry wrote and the moved ones it reported) or an MLflow
    model version (VERSION: imported or not, its files in custody, the tags written back).
    Written only by the sync; read-only everywhere else."""

    kind = models.CharField(max_length=10, choices=SyncKind.choices)
    tracking_uri = models.CharField(max_length=500)  # without credentials
    mlflow_model = models.CharField(max_length=256, blank=True)
    mlflow_version = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=10, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True
    )
    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.OneToOneField(
        ModelVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="mlflow_sync"
    )
    # VERSION: MLflow's download URI and the files brought into custody
    # ([{"path", "size", "sha256", "artifact"}]); the tags last written to MLflow.
    source = models.CharField(max_length=2000, blank=True)
    files = models.JSONField(default=list, blank=True)
    tags_written = models.JSONField(default=dict, blank=True)
    # MODEL: the aliases the registry last wrote ({alias: version}) and the moved ones it has
    # reported ({alias: {"found", "expected", "since"}}).
    aliases_written = models.JSONField(default=dict, blank=True)
    alias_violations = models.JSONField(default=dict, blank=True)
    # Consecutive failures, the last one's message, and (RUN) when the next sync is due.
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MlflowSyncRecordQuerySet.as_manager()

    class Meta:
        ordering = ["tracking_uri", "kind", "mlflow_model", "mlflow_version"]
        constraints = [
            models.UniqueConstraint(
                fields=["tracking_uri", "kind", "mlflow_model", "mlflow_version"],
                name="mlflowsyncrecord_unique",
            ),
        ]

    def __str__(self) -> str:
        what = " ".join(filter(None, (self.mlflow_model, self.mlflow_version))) or "sync"
        return f"{self.kind} {what} at {self.tracking_uri} ({self.status})"
