"""The inventory at a point in time: what the record says the registry held at an instant.

"Which model versions were in production on 2026-03-31, approved by whom, judged by which
policy revisions, under which exceptions?" is answered from the record, never from current
state, so it is right for any past instant:

- a model exists at `at` when its first history record (django-simple-history) is at or
  before `at`; its name, owner and risk tier are those of its newest history record at or
  before `at` (a model deleted by then is absent). A model without any history record (made
  before history was kept, or by a bulk insert) is taken as it is now, from its `created_at`;
- a version exists when it was created at or before `at`; its state is the `to_state` of its
  last state transition at or before `at` (DRAFT before its first one), and `since` is when
  that transition happened (or when it was created);
- approvals: every review decision (approve or reject) recorded on it at or before `at`;
- the policy evaluations in force: the latest evaluation of each (policy, environment) at or
  before `at`, with the policy's history revision that judged when the record carries one,
  leaving out the policies RETIRED at `at` (their last result was no longer a current one,
  as `policies.selectors.latest_evaluations` does for now);
- active exceptions: those activated at or before `at` and neither ended (revoked, expired)
  nor past their expiry by then, with their approvals;
- the audit chain head at `at`: the newest audit event at or before `at` (sequence number
  and hash), so the answer can be checked against the verified, signed trail.

"At or before" is inclusive: an event stamped exactly `at` has happened at `at`.

Everything is read in a constant number of set-based queries (one per kind of record) and put
together in Python, so the answer costs the same number of queries for ten models or ten
thousand. Who may see which models is `RegisteredModel.objects.visible_to(user)`, the one
visibility mechanism (core/visibility.py); the reports, which read the whole registry under
their own authorisation, call `build_inventory` with every model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.db.models import F, Max, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import Invalid
from governance.models import Approval, StateTransition
from policies.choices import PolicyStatus
from policies.models import ExceptionApproval, Policy, PolicyEvaluation, PolicyException
from registry.choices import VersionState
from registry.models import ModelVersion, RegisteredModel

AT_FIELD = "at"
AT_MAX_LENGTH = 64
# "2026-03-31T00:00:00+02:00" sent unencoded in a query string arrives with a space for "+".
_SPACED_OFFSET = re.compile(r"^(.+\d) (\d{2}(?::?\d{2})?)$")
DELETED = "-"  # simple-history's history_type of a deletion


# ---- the answer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalAt:
    id: int
    stage: str
    environment: str
    cycle: int
    decision: str
    user: str
    role: str
    at: datetime


@dataclass(frozen=True)
class EvaluationAt:
    id: int
    policy_id: str
    policy_revision: int | None
    environment: str
    enforcement: str
    trigger: str
    passed: bool
    excepted: bool
    evaluated_at: datetime


@dataclass(frozen=True)
class ExceptionApprovalAt:
    role: str
    user: str
    at: datetime


@dataclass(frozen=True)
class ExceptionAt:
    id: int
    policy_id: str
    requested_by: str
    activated_at: datetime
    expires_at: datetime | None
    approvals: list[ExceptionApprovalAt]


@dataclass(frozen=True)
class VersionAt:
    id: int
    version: str
    state: str
    since: datetime
    approvals: list[ApprovalAt] = field(default_factory=list)
    policy_evaluations: list[EvaluationAt] = field(default_factory=list)
    active_exceptions: list[ExceptionAt] = field(default_factory=list)


@dataclass(frozen=True)
class ModelAt:
    id: int
    name: str
    risk_tier: str
    owner: str
    versions: list[VersionAt] = field(default_factory=list)


@dataclass(frozen=True)
class AuditHead:
    seq: int
    hash: str
    timestamp: datetime


@dataclass(frozen=True)
class Inventory:
    at: datetime
    models: list[ModelAt]
    audit_head: AuditHead | None

    @property
    def version_count(self) -> int:
        return sum(len(m.versions) for m in self.models)

    def tiers(self) -> dict[str, int]:
        """Models per risk tier at `at`."""
        counts: dict[str, int] = defaultdict(int)
        for model in self.models:
            counts[model.risk_tier] += 1
        return dict(counts)

    def states(self) -> list[tuple[str, int]]:
        """Versions per state at `at`, in the workflow's order, states with none left out."""
        counts: dict[str, int] = defaultdict(int)
        for model in self.models:
            for version in model.versions:
                counts[version.state] += 1
        return [(state, counts[state]) for state in VersionState.values if counts[state]]


# ---- the instant -------------------------------------------------------------------------------


def parse_at(value: str | None, *, naive_is_utc: bool = False, now: datetime | None = None):
    """The instant `value` names (ISO 8601), or now when it is empty.

    Refused with a 400 naming `at`: what does not parse, a time without its timezone (unless
    `naive_is_utc`, which the page's date-time picker, labelled UTC, asks for) and a time in
    the future (the record knows nothing of it; a future instant answered with today's state
    would claim what nobody can know yet, e.g. that an exception is still in force).
    """
    now = now or timezone.now()
    if value is None or not value.strip():
        return now
    text = value.strip()
    if len(text) > AT_MAX_LENGTH or "\x00" in text:
        raise Invalid("not an ISO 8601 date and time", field=AT_FIELD)
    spaced = _SPACED_OFFSET.match(text)
    if spaced and "T" in text:
        text = f"{spaced[1]}+{spaced[2]}"
    try:
        moment = parse_datetime(text)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise Invalid(
            f"{value[:AT_MAX_LENGTH]!r} is not an ISO 8601 date and time "
            "(e.g. 2026-03-31T23:59:59Z)",
            field=AT_FIELD,
        )
    if timezone.is_naive(moment):
        if not naive_is_utc:
            raise Invalid(
                "give the timezone of the time (e.g. 2026-03-31T23:59:59Z or +02:00)",
                field=AT_FIELD,
            )
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid("the time is out of range", field=AT_FIELD) from None
    if moment > now:
        raise Invalid(
            f"{moment.isoformat()} is in the future; the record answers up to now "
            f"({now.isoformat()})",
            field=AT_FIELD,
        )
    return moment


# ---- reading the record ------------------------------------------------------------------------


def _usernames(ids) -> dict[int, str]:
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username"))


def _models_at(models: QuerySet, at: datetime) -> dict[int, tuple[str, str, int]]:
    """model id -> (name, risk tier, owner id) as of `at`, for the models of `models`."""
    history = RegisteredModel.history.filter(id__in=models.values("pk"), history_date__lte=at)
    newest = history.order_by().values("id").annotate(last=Max("history_id")).values("last")
    result = {
        pk: (name, tier, owner_id)
        for pk, name, tier, owner_id, kind in RegisteredModel.history.filter(
            history_id__in=newest
        ).values_list("id", "name", "risk_tier", "owner_id", "history_type")
        if kind != DELETED
    }
    # Made before history was kept (or by a bulk insert): as it is now.
    result.update(
        (pk, (name, tier, owner_id))
        for pk, name, tier, owner_id in models.filter(created_at__lte=at)
        .exclude(pk__in=RegisteredModel.history.values("id"))
        .values_list("pk", "name", "risk_tier", "owner_id")
    )
    return result


def _latest(queryset: QuerySet, *, partition: list[str], order: list) -> QuerySet:
    """The first row of each `partition` group of `queryset` in `order` (one query, a window
    function, on SQLite and PostgreSQL alike)."""
    return queryset.annotate(
        _rank=Window(RowNumber(), partition_by=[F(p) for p in partition], order_by=order)
    ).filter(_rank=1)


def _retired_policies_at(at: datetime) -> set[int]:
    """The policies whose status at `at` was RETIRED (by their history; a policy without any
    history record by its status now)."""
    newest = (
        Policy.history.filter(history_date__lte=at)
        .order_by()
        .values("id")
        .annotate(last=Max("history_id"))
        .values("last")
    )
    retired = set(
        Policy.history.filter(history_id__in=newest, status=PolicyStatus.RETIRED).values_list(
            "id", flat=True
        )
    )
    retired |= set(
        Policy.objects.filter(status=PolicyStatus.RETIRED, created_at__lte=at)
        .exclude(pk__in=Policy.history.values("id"))
        .values_list("pk", flat=True)
    )
    return retired


def build_inventory(at: datetime, models: QuerySet | None = None) -> Inventory:
    """The inventory of `models` (registered models; every one when None) as the record
    states it at `at` (see the module docstring). No access check: callers authorise (the
    API and pages through `inventory_at`, the reports through their own rule)."""
    models = RegisteredModel.objects.all() if models is None else models
    model_rows = _models_at(models, at)
    versions = list(
        ModelVersion.objects.filter(model_id__in=list(model_rows), created_at__lte=at)
        .order_by("created_at", "id")
        .values_list("pk", "model_id", "version", "created_at")
    )
    version_ids = [row[0] for row in versions]
    # The state at `at`: the last transition at or before it.
    states = {
        version_id: (to_state, timestamp)
        for version_id, to_state, timestamp in _latest(
            StateTransition.objects.filter(version_id__in=version_ids, timestamp__lte=at),
            partition=["version_id"],
            order=[F("timestamp").desc(), F("id").desc()],
        ).values_list("version_id", "to_state", "timestamp")
    }
    approvals: dict[int, list[ApprovalAt]] = defaultdict(list)
    for row in (
        Approval.objects.filter(version_id__in=version_ids, created_at__lte=at)
        .order_by("created_at", "id")
        .values_list(
            "version_id",
            "pk",
            "stage",
            "environment",
            "cycle",
            "decision",
            "user__username",
            "role",
            "created_at",
        )
    ):
        approvals[row[0]].append(ApprovalAt(*row[1:]))
    retired = _retired_policies_at(at)
    evaluations: dict[int, list[EvaluationAt]] = defaultdict(list)
    for row in (
        _latest(
            PolicyEvaluation.objects.filter(
                version_id__in=version_ids, evaluated_at__lte=at
            ).exclude(policy_id__in=sorted(retired)),
            partition=["version_id", "policy_id", "environment"],
            order=[F("evaluated_at").desc(), F("id").desc()],
        )
        .order_by("policy__policy_id", "environment")
        .values_list(
            "version_id",
            "pk",
            "policy__policy_id",
            "policy_revision",
            "environment",
            "enforcement",
            "trigger",
            "passed",
            "excepted",
            "evaluated_at",
        )
    ):
        evaluations[row[0]].append(EvaluationAt(*row[1:]))
    exceptions: dict[int, list[ExceptionAt]] = defaultdict(list)
    in_force = list(
        PolicyException.objects.filter(version_id__in=version_ids, activated_at__lte=at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=at))
        .order_by("policy__policy_id", "id")
        .values_list(
            "version_id",
            "pk",
            "policy__policy_id",
            "requested_by__username",
            "activated_at",
            "expires_at",
        )
    )
    exception_approvals: dict[int, list[ExceptionApprovalAt]] = defaultdict(list)
    for exception_id, role, username, created in (
        ExceptionApproval.objects.filter(
            exception_id__in=[row[1] for row in in_force], created_at__lte=at
        )
        .order_by("created_at", "id")
        .values_list("exception_id", "role", "user__username", "created_at")
    ):
        exception_approvals[exception_id].append(ExceptionApprovalAt(role, username, created))
    for version_id, pk, policy_id, requested_by, activated, expires in in_force:
        exceptions[version_id].append(
            ExceptionAt(pk, policy_id, requested_by, activated, expires, exception_approvals[pk])
        )
    by_model: dict[int, list[VersionAt]] = defaultdict(list)
    for pk, model_id, label, created in versions:
        state, since = states.get(pk, (VersionState.DRAFT, created))
        by_model[model_id].append(
            VersionAt(
                id=pk,
                version=label,
                state=state,
                since=since,
                approvals=approvals[pk],
                policy_evaluations=evaluations[pk],
                active_exceptions=exceptions[pk],
            )
        )
    owners = _usernames(owner_id for _n, _t, owner_id in model_rows.values())
    inventory = [
        ModelAt(
            id=pk,
            name=name,
            risk_tier=tier,
            owner=owners.get(owner_id, ""),
            versions=by_model[pk],
        )
        for pk, (name, tier, owner_id) in model_rows.items()
    ]
    inventory.sort(key=lambda m: (m.name.lower(), m.id))
    head = (
        AuditEvent.objects.filter(timestamp__lte=at)
        .order_by("-seq")
        .values_list("seq", "hash", "timestamp")
        .first()
    )
    return Inventory(at=at, models=inventory, audit_head=AuditHead(*head) if head else None)


@domain_action(Action.READ_COMPLIANCE)
def inventory_at(at: datetime, *, actor) -> Inventory:
    """The inventory at `at` of the models `actor` may see (every person holding a role may
    ask; a Model Owner sees their own models, the oversight roles and SRE every model)."""
    authorize(actor, Action.READ_COMPLIANCE)
    return build_inventory(at, RegisteredModel.objects.visible_to(actor))
