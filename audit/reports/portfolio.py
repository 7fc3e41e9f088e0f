"""The registry as it stood at any moment of a period, loaded once per report.

A report of a past period must show that period, not today: a model's tier comes from its
history (django-simple-history), a version's state from its state transitions, and its policy
compliance from the latest evaluation of every policy that had judged it by then. Everything
is read in a constant number of set-based queries and answered in Python, so a report over a
thousand models stays fast.

Policy compliance of a version at a moment: the latest evaluation of each (policy,
environment) that judged it before that moment, counting only the policies ACTIVE at that
moment (a DRAFT or RETIRED policy judges nothing); DRY_RUN results are ignored. The version is
NON_COMPLIANT when one of them is an ENFORCE failure not covered by an exception, COMPLIANT
when it has results and none is, and NOT_EVALUATED when no policy has judged it yet. That is a
status per version, for the inventory; the compliance score is not computed here but by
policies.compliance.compliance_score, the one function the dashboard and the API use too.

A policy RETIRED at the end of the report's data is left out of every count (evaluations,
failures, compliance): the report says how many of its evaluations it left out.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model

from governance.choices import Decision
from governance.models import Approval, StateTransition
from governance.routing import REVIEW_STATES
from policies.choices import Enforcement, PolicyStatus
from policies.compliance import ComplianceScore, compliance_score
from policies.models import Policy, PolicyEvaluation
from registry.choices import RiskTier, VersionState
from registry.models import ModelVersion, RegisteredModel

COMPLIANT = "COMPLIANT"
NON_COMPLIANT = "NON_COMPLIANT"
NOT_EVALUATED = "NOT_EVALUATED"
TIERS = tuple(RiskTier.values)
TIER_ORDER = {RiskTier.HIGH: 0, RiskTier.MEDIUM: 1, RiskTier.LOW: 2}


@dataclass(frozen=True)
class ModelSnapshot:
    id: int
    name: str
    tier: str
    assessment: dict | None
    owner_id: int


@dataclass(frozen=True)
class Evaluation:
    id: int
    version_id: int
    policy_pk: int
    policy: str
    environment: str
    enforcement: str
    passed: bool
    excepted: bool
    at: datetime

    @property
    def enforced_failure(self) -> bool:
        return self.enforcement == Enforcement.ENFORCE and not self.passed and not self.excepted

    @property
    def warning(self) -> bool:
        return self.enforcement == Enforcement.WARN and not self.passed


@dataclass
class VersionCompliance:
    status: str = NOT_EVALUATED
    failing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    excepted: list[str] = field(default_factory=list)


class Portfolio:
    def __init__(self, until: datetime):
        self.until = until
        self._model_history: dict[int, list[tuple]] = defaultdict(list)
        rows = (
            RegisteredModel.history.filter(history_date__lt=until)
            .order_by("id", "history_date", "history_id")
            .values_list(
                "id",
                "history_date",
                "history_type",
                "name",
                "risk_tier",
                "risk_assessment",
                "owner_id",
            )
        )
        for row in rows.iterator(chunk_size=5000):
            self._model_history[row[0]].append(row[1:])
        # Models without history rows (created before history was kept): as they are now.
        for model in RegisteredModel.objects.filter(created_at__lt=until).exclude(
            pk__in=list(self._model_history)
        ):
            self._model_history[model.pk].append(
                (
                    model.created_at,
                    "+",
                    model.name,
                    model.risk_tier,
                    model.risk_assessment,
                    model.owner_id,
                )
            )

        self.versions: dict[int, tuple[int, str, datetime]] = {
            pk: (model_id, label, created)
            for pk, model_id, label, created in ModelVersion.objects.filter(
                created_at__lt=until
            ).values_list("pk", "model_id", "version", "created_at")
        }
        self._transitions: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        self.transitions: list[tuple] = []
        rows = (
            StateTransition.objects.filter(timestamp__lt=until)
            .order_by("version_id", "timestamp", "id")
            .values_list("version_id", "timestamp", "from_state", "to_state", "action", "user_id")
        )
        for row in rows.iterator(chunk_size=5000):
            self._transitions[row[0]].append((row[1], row[3]))
            self.transitions.append(row)

        policy_names = dict(Policy.objects.values_list("pk", "policy_id"))
        self.policy_severity = dict(Policy.objects.values_list("policy_id", "severity"))
        # Each policy's status over time, to count only what was ACTIVE at a moment and to
        # leave out the policies RETIRED by the end of the data.
        self._policy_status: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
        rows = (
            Policy.history.filter(history_date__lt=until)
            .order_by("id", "history_date", "history_id")
            .values_list("id", "history_date", "status")
        )
        for policy_pk, at, status in rows.iterator(chunk_size=5000):
            self._policy_status[policy_pk].append((at, status))
        # Policies without history rows: as they are now.
        for policy_pk, created, status in Policy.objects.filter(created_at__lt=until).values_list(
            "pk", "created_at", "status"
        ):
            if policy_pk not in self._policy_status:
                self._policy_status[policy_pk].append((created, status))
        self.retired_policies = {
            pk
            for pk in self._policy_status
            if self.policy_status_at(pk, until) == PolicyStatus.RETIRED
        }
        rows = (
            PolicyEvaluation.objects.filter(evaluated_at__lt=until)
            .exclude(enforcement=Enforcement.DRY_RUN)
            .order_by("evaluated_at", "id")
            .values_list(
                "id",
                "version_id",
                "policy_id",
                "environment",
                "enforcement",
                "passed",
                "excepted",
                "evaluated_at",
            )
        )
        evaluations = [
            Evaluation(
                id=r[0],
                version_id=r[1],
                policy_pk=r[2],
                policy=policy_names.get(r[2], str(r[2])),
                environment=r[3],
                enforcement=r[4],
                passed=r[5],
                excepted=r[6],
                at=r[7],
            )
            for r in rows.iterator(chunk_size=5000)
        ]
        self.evaluations = [e for e in evaluations if e.policy_pk not in self.retired_policies]
        left_out = [e for e in evaluations if e.policy_pk in self.retired_policies]
        # What was left out, so the report can say so rather than silently drop it.
        self.retired_left_out = {
            "policies": sorted({e.policy for e in left_out}),
            "evaluations": len(left_out),
        }
        self._evaluation_times = [e.at for e in self.evaluations]
        self._usernames: dict[int, str] = {}

    # ---- people ------------------------------------------------------------------------

    def username(self, user_id: int | None) -> str:
        if user_id is None:
            return "system"
        if user_id not in self._usernames:
            user_model = get_user_model()
            self._usernames.update(
                user_model.objects.filter(pk=user_id).values_list("pk", "username")
            )
        return self._usernames.get(user_id, f"user {user_id}")

    def load_usernames(self, ids) -> None:
        wanted = {i for i in ids if i is not None and i not in self._usernames}
        if wanted:
            self._usernames.update(
                get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username")
            )

    # ---- models and versions as of a moment -----------------------------------------------

    def models_at(self, moment: datetime) -> dict[int, ModelSnapshot]:
        snapshots = {}
        for model_id, history in self._model_history.items():
            latest = None
            for record in history:
                if record[0] >= moment:
                    break
                latest = record
            if latest is None or latest[1] == "-":
                continue
            snapshots[model_id] = ModelSnapshot(
                id=model_id,
                name=latest[2],
                tier=latest[3],
                assessment=latest[4],
                owner_id=latest[5],
            )
        return snapshots

    def tier_changes(self, start: datetime, end: datetime) -> list[dict]:
        """Effective tier changes recorded in the models' history within [start, end)."""
        changes = []
        for model_id, history in self._model_history.items():
            previous = None
            for record in history:
                if previous is not None and record[3] != previous[3] and start <= record[0] < end:
                    changes.append(
                        {
                            "model_id": model_id,
                            "name": record[2],
                            "from": previous[3],
                            "to": record[3],
                            "at": record[0],
                        }
                    )
                previous = record
        return sorted(changes, key=lambda c: c["at"])

    def state_at(self, version_id: int, moment: datetime) -> str | None:
        created = self.versions[version_id][2]
        if created >= moment:
            return None
        state = VersionState.DRAFT
        for timestamp, to_state in self._transitions.get(version_id, ()):
            if timestamp >= moment:
                break
            state = to_state
        return state

    def entered_at(self, version_id: int, state: str, moment: datetime) -> datetime | None:
        """When the version last entered `state` before `moment`."""
        for timestamp, to_state in reversed(self._transitions.get(version_id, [])):
            if timestamp < moment and to_state == state:
                return timestamp
        return None

    def versions_at(self, moment: datetime) -> dict[int, tuple[int, str, str]]:
        """version id -> (model id, label, state) for the versions that existed at `moment`."""
        result = {}
        for version_id, (model_id, label, _created) in self.versions.items():
            state = self.state_at(version_id, moment)
            if state is not None:
                result[version_id] = (model_id, label, state)
        return result

    # ---- policy compliance --------------------------------------------------------------

    def policy_status_at(self, policy_pk: int, moment: datetime) -> str | None:
        """The policy's status just before `moment` (None: no record of it before then)."""
        status = None
        for at, value in self._policy_status.get(policy_pk, ()):
            if at >= moment:
                break
            status = value
        return status

    def latest_evaluations_at(self, moment: datetime) -> dict[tuple, Evaluation]:
        latest: dict[tuple, Evaluation] = {}
        for evaluation in self.evaluations[: bisect_left(self._evaluation_times, moment)]:
            latest[(evaluation.version_id, evaluation.policy, evaluation.environment)] = evaluation
        return latest

    def compliance_at(self, moment: datetime, versions=None) -> dict[int, VersionCompliance]:
        """Per version existing (and not retired) at `moment`: its policy compliance."""
        versions = self.versions_at(moment) if versions is None else versions
        result = {
            vid: VersionCompliance()
            for vid, (_m, _l, state) in versions.items()
            if state != VersionState.RETIRED
        }
        # A policy DRAFT or RETIRED at `moment` judges nothing then. One with no record before
        # `moment` (its history starts later) did judge: its evaluations say so.
        inactive = {
            pk
            for pk in self._policy_status
            if self.policy_status_at(pk, moment) not in (None, PolicyStatus.ACTIVE)
        }
        for (version_id, policy, _env), evaluation in self.latest_evaluations_at(moment).items():
            entry = result.get(version_id)
            if entry is None or evaluation.policy_pk in inactive:
                continue
            if entry.status == NOT_EVALUATED:
                entry.status = COMPLIANT
            if evaluation.enforced_failure:
                entry.status = NON_COMPLIANT
                if policy not in entry.failing:
                    entry.failing.append(policy)
            elif evaluation.warning and policy not in entry.warnings:
                entry.warnings.append(policy)
            elif evaluation.excepted and not evaluation.passed and policy not in entry.excepted:
                entry.excepted.append(policy)
        return result

    def snapshot(self, moment: datetime, *, live: bool = False) -> dict:
        """Tier counts, version states, compliance and the compliance score at `moment` (for
        trends). `live`: `moment` is now (a report of the period still running), so the score
        is the one the dashboard shows at this moment; otherwise it is computed as of
        `moment`."""
        models = self.models_at(moment)
        versions = self.versions_at(moment)
        compliance = self.compliance_at(moment, versions)
        tiers = dict.fromkeys(TIERS, 0)
        for model in models.values():
            tiers[model.tier] = tiers.get(model.tier, 0) + 1
        figures: ComplianceScore = compliance_score(at=None if live else moment)
        return {
            "moment": moment,
            "models": models,
            "versions": versions,
            "compliance": compliance,
            "tiers": tiers,
            "compliance_score": figures,
            "score": figures.score,
            "pairs": figures.pairs,
            "complying_pairs": figures.complying,
            "score_by_tier": {tier: figures.tier_score(tier) for tier in TIERS},
            "evaluated": sum(e.status != NOT_EVALUATED for e in compliance.values()),
            "non_compliant": sum(e.status == NON_COMPLIANT for e in compliance.values()),
        }

    # ---- activity in a window ------------------------------------------------------------

    def evaluations_between(self, start: datetime, end: datetime) -> list[Evaluation]:
        lo = bisect_left(self._evaluation_times, start)
        hi = bisect_left(self._evaluation_times, end)
        return self.evaluations[lo:hi]

    def failures_between(self, start: datetime, end: datetime) -> list[dict]:
        """Every failed evaluation in [start, end) and what became of it by `self.until`."""
        latest = self.latest_evaluations_at(self.until)
        later_pass: dict[tuple, list[datetime]] = defaultdict(list)
        for evaluation in self.evaluations:
            if evaluation.passed:
                later_pass[
                    (evaluation.version_id, evaluation.policy, evaluation.environment)
                ].append(evaluation.at)
        failures = []
        for evaluation in self.evaluations_between(start, end):
            if evaluation.passed:
                continue
            key = (evaluation.version_id, evaluation.policy, evaluation.environment)
            now_latest = latest.get(key)
            state = self.state_at(evaluation.version_id, self.until)
            resolved_at = next((t for t in later_pass[key] if t > evaluation.at), None)
            if evaluation.excepted:
                resolution = "covered by an exception"
            elif resolved_at is not None:
                resolution = "resolved"
            elif state == VersionState.RETIRED:
                resolution = "version retired"
            elif now_latest is not None and now_latest.excepted:
                resolution = "covered by an exception"
            else:
                resolution = "open"
            failures.append(
                {"evaluation": evaluation, "resolution": resolution, "resolved_at": resolved_at}
            )
        return failures

    def transitions_between(self, start: datetime, end: datetime) -> list[tuple]:
        return [t for t in self.transitions if start <= t[1] < end]

    def stage_durations(self, start: datetime, end: datetime) -> dict[str, list[tuple]]:
        """Hours spent in each review stage by the stays that ended in [start, end):
        stage -> [(hours, outcome state)]."""

        durations: dict[str, list[tuple]] = defaultdict(list)
        previous = None
        for version_id, timestamp, _from, to_state, _action, _user in self.transitions:
            if (
                previous is not None
                and previous[0] == version_id
                and previous[2] in REVIEW_STATES
                and start <= timestamp < end
            ):
                hours = (timestamp - previous[1]).total_seconds() / 3600
                durations[previous[2]].append((hours, to_state))
            previous = (version_id, timestamp, to_state)
        return durations


def approvals_between(start: datetime, end: datetime):
    return list(
        Approval.objects.filter(created_at__gte=start, created_at__lt=end)
        .select_related("version__model", "user")
        .order_by("created_at", "id")
    )


def production_approvals_before(moment: datetime) -> dict[int, set[str]]:
    """version id -> roles that approved it for production before `moment`."""
    roles: dict[int, set[str]] = defaultdict(set)
    for version_id, role in Approval.objects.filter(
        environment="production", decision=Decision.APPROVED, created_at__lt=moment
    ).values_list("version_id", "role"):
        roles[version_id].add(role)
    return roles
