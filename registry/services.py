"""Writes to the registry. Each function: access rule, state check, change, audit event, in
one transaction. The API, the pages and the admin call these and nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, connection, transaction
from guardian.models import UserObjectPermission

from audit.choices import AuditAction, EventType
from audit.services import record_event
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import Invalid, InvalidState
from registry.choices import EDITABLE_STATES, RiskTier
from registry.models import ModelVersion, RegisteredModel
from registry.risk import TierDecision, derive_tier, stated_tier

OWNER_OBJECT_PERMISSIONS = ("registry.view_registeredmodel", "registry.change_registeredmodel")


def grant_owner_permissions(model: RegisteredModel, user) -> None:
    """The django-guardian object permissions of the model's owner (the admin's per-object
    permissions; core.access reads the owner column itself), in one INSERT ... SELECT (guardian's
    assign_perm takes five queries per permission); a grant already held is left as it is."""
    content_type = ContentType.objects.get_for_model(model)  # cached by Django after the first
    codenames = [name.split(".", 1)[1] for name in OWNER_OBJECT_PERMISSIONS]
    table = UserObjectPermission._meta.db_table
    permissions = Permission._meta.db_table
    placeholders = ", ".join(["%s"] * len(codenames))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (permission_id, content_type_id, object_pk, user_id) "  # noqa: S608 (table names from the models, values bound)
            f"SELECT id, content_type_id, %s, %s FROM {permissions} "
            f"WHERE content_type_id = %s AND codename IN ({placeholders}) "
            "ON CONFLICT DO NOTHING",
            [str(model.pk), user.pk, content_type.pk, *codenames],
        )


def decide_tier(risk_tier: str | None, risk_assessment: dict | None) -> TierDecision:
    if risk_assessment is not None:
        decision = derive_tier(risk_assessment)
        if risk_tier is not None and risk_tier != decision.tier:
            raise Invalid(
                f"riskTier {risk_tier} contradicts the risk assessment, which gives "
                f"{decision.tier}; leave riskTier out to use the derived tier",
                field="riskTier",
            )
        return decision
    if risk_tier is None:
        raise Invalid(
            "give riskAssessment (the six risk factors) or riskTier (LOW, MEDIUM or HIGH)",
            field="riskTier",
        )
    if risk_tier == RiskTier.LOW:
        # LOW is approved by the system at every step, without a human review, so it is never
        # self-declared: it follows only from an assessment whose every factor is LOW.
        raise Invalid(
            "a LOW risk tier is never stated alone: give riskAssessment with each of the six "
            "factors LOW (LOW versions are approved by the system, without a review)",
            field="riskAssessment",
        )
    return stated_tier(risk_tier)


def _name_taken(name: str, *, exclude_pk: int | None = None) -> bool:
    return RegisteredModel.objects.filter(name__iexact=name).exclude(pk=exclude_pk).exists()


def _changes(instance, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        field: {"from": getattr(instance, field), "to": value}
        for field, value in values.items()
        if getattr(instance, field) != value
    }


def _save_unique(instance, *, field: str, message: str, **save_kwargs) -> None:
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        raise Invalid(message, field=field) from exc


def _require_editable(version: ModelVersion, what: str) -> None:
    if version.state not in EDITABLE_STATES:
        raise InvalidState(
            f"{what} can change only while the version is DRAFT or CHANGES_REQUIRED; "
            f"it is {version.state}",
            state=version.state,
        ).about(model_id=version.model_id, version_id=version.pk)


def _locked_version(version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_related("model").select_for_update().get(pk=version.pk)


@domain_action(Action.REGISTER_MODEL)
def register_model(
    *,
    actor,
    name: str,
    description: str = "",
    risk_tier: str | None = None,
    risk_assessment: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    tier_reason: str | None = None,
) -> RegisteredModel:
    """`tier_reason` replaces the stated tier's reason when the tier was not the actor's own
    statement (a model imported from MLflow is HIGH until assessed)."""
    authorize(actor, Action.REGISTER_MODEL)
    decision = decide_tier(risk_tier, risk_assessment)
    if tier_reason:
        decision = TierDecision(decision.tier, tier_reason)
    if _name_taken(name):
        raise Invalid(f"a model named {name!r} is already registered", field="name")
    model = RegisteredModel(
        name=name,
        description=description,
        owner=actor,
        risk_tier=decision.tier,
        risk_assessment=risk_assessment,
        risk_tier_reason=decision.reason,
        tags=tags or {},
    )
    _save_unique(model, field="name", message=f"a model named {name!r} is already registered")
    grant_owner_permissions(model, actor)
    record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.REGISTER_MODEL,
        user=actor,
        model_id=model.pk,
        details={"name": name, "riskTier": decision.tier, "reason": decision.reason},
    )
    return model


@domain_action(Action.CHANGE_MODEL)
def update_model(
    model: RegisteredModel,
    *,
    actor,
    name: str | None = None,
    description: str | None = None,
    tags: dict[str, str] | None = None,
    risk_tier: str | None = None,
    risk_assessment: dict[str, str] | None = None,
) -> RegisteredModel:
    authorize(actor, Action.CHANGE_MODEL, model=model)
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    values: dict[str, Any] = {}
    if name is not None and name != model.name:
        if _name_taken(name, exclude_pk=model.pk):
            raise Invalid(f"a model named {name!r} is already registered", field="name")
        values["name"] = name
    if description is not None:
        values["description"] = description
    if tags is not None:
        values["tags"] = tags

    def needs_request(tier: str, field: str) -> Invalid:
        return Invalid(
            f"the risk tier is {model.risk_tier}; changing it to {tier} needs an "
            "approved risk tier change request",
            field=field,
        )

    if risk_assessment is None and risk_tier is not None and risk_tier != model.risk_tier:
        # The tier changes only by an approved request, whatever tier is stated (LOW too).
        raise needs_request(risk_tier, "riskTier")
    # Restating the model's tier alone changes nothing, so it is not judged again (a LOW
    # decided at registration from its assessment is not declared anew here).
    if risk_assessment is not None:
        decision = decide_tier(risk_tier or None, risk_assessment)
        if decision.tier != model.risk_tier:
            raise needs_request(decision.tier, "riskAssessment")
        values["risk_assessment"] = risk_assessment
        values["risk_tier_reason"] = decision.reason
    changes = _changes(model, values)
    if not changes:
        return model
    for field, value in values.items():
        setattr(model, field, value)
    _save_unique(model, field="name", message=f"a model named {name!r} is already registered")
    record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.UPDATE_MODEL,
        user=actor,
        model_id=model.pk,
        details={"changes": changes},
    )
    return model


@domain_action(Action.ADD_VERSION)
def create_version(
    model: RegisteredModel,
    *,
    actor,
    version: str,
    description: str = "",
    documentation: str | dict[str, str] = "",
    tags: dict[str, str] | None = None,
) -> ModelVersion:
    authorize(actor, Action.ADD_VERSION, model=model)
    taken = f"model {model.name!r} already has a version {version!r}"
    if model.versions.filter(version=version).exists():
        raise Invalid(taken, field="version")
    created = ModelVersion(
        model=model,
        version=version,
        description=description,
        documentation=documentation,
        tags=tags or {},
        created_by=actor,
    )
    _save_unique(created, field="version", message=taken)
    record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.CREATE_VERSION,
        user=actor,
        model_id=model.pk,
        version_id=created.pk,
        details={"version": version, "state": created.state},
    )
    return created


@domain_action(Action.CHANGE_VERSION)
def update_version(
    version: ModelVersion,
    *,
    actor,
    description: str | None = None,
    documentation: str | dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
) -> ModelVersion:
    authorize(actor, Action.CHANGE_VERSION, model=version.model, version_id=version.pk)
    version = _locked_version(version)
    values = {
        field: value
        for field, value in (
            ("description", description),
            ("documentation", documentation),
            ("tags", tags),
        )
        if value is not None
    }
    changes = _changes(version, values)
    if not changes:
        return version
    _require_editable(version, "A version's documentation, description and tags")
    for field, value in values.items():
        setattr(version, field, value)
    version.save(update_fields=[*values, "updated_at"])
    record_event(
        EventType.MODEL_REGISTRY,
        AuditAction.UPDATE_VERSION,
        user=actor,
        model_id=version.model_id,
        version_id=version.pk,
        details={"changes": changes},
    )
    return version
