"""Policy exceptions: the guide's request form, approvals by the model's risk tier, rejection,
revocation, expiry and review reminders. Each write is a domain action (one transaction, the
POLICY_EXCEPTION audit event, the notifications; a refusal audited after the rollback).

Approvals by the tier of the version's model, read at every step like the promotion routing:
LOW an MRC; MEDIUM an MRC and a Security Architect; HIGH those two and an Executive. Each
approval is by a different person, never the requester, the model's owner or the version's
submitter (403, "separation of duties"). A policy whose document says `requireApproval: false`
needs none: its exceptions are ACTIVE as soon as they are requested.

ACTIVE once all approvals are in, until `expires_at` (activation + `durationDays`); an ACTIVE
exception makes its policy's failure on the version pass as excepted (policies.gate). The
scheduled `expire_exceptions` ends it as EXPIRED and re-checks the version at once, so the
failure is back as an open violation and the owner and MRC are alerted.

A request names the guide's reason (ExceptionReason) and a remediation plan with its due date.
An ACTIVE exception is reviewed periodically: the first review is due one interval after
activation, each next one an interval after the last review, the interval by the model's
current tier (policies.choices.EXCEPTION_REVIEW_INTERVAL_DAYS). A review is recorded by a person
of one of the exception's approver roles (not its requester, the model's owner or the version's
submitter), with notes and the remediation's status and percentage. The scheduled
`escalate_overdue_reviews` tells the approvers of every exception whose review is overdue, once
per due date.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from datetime import timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.choices import EventType
from audit.services import SYSTEM_USER, record_event
from core.access import authorize, is_allowed
from core.choices import Action, Role
from core.domain import domain_action
from core.errors import Forbidden, Invalid, InvalidState
from core.roles import roles_of
from governance import separation
from governance.choices import NotificationKind
from governance.notifications import Alert, notify, notify_many, users_with_role
from policies import monitoring
from policies.choices import (
    EXCEPTION_REVIEW_INTERVAL_DAYS,
    ExceptionAuditAction,
    ExceptionReason,
    ExceptionStatus,
    MonitoringTrigger,
    PolicyStatus,
    RemediationStatus,
)
from policies.durations import MAX_DAYS, parse_duration
from policies.models import ExceptionApproval, ExceptionReview, Policy, PolicyException
from registry.choices import VersionState
from registry.models import ModelVersion

OPEN_STATUSES = (ExceptionStatus.REQUESTED, ExceptionStatus.ACTIVE)
REMINDER_WINDOW = timedelta(hours=48)


def _case(exception: PolicyException) -> separation.Case:
    """The exception's decision as the rules see it (its approvals read through `.all()`, so a
    prefetch serves a list)."""
    approvals = [(a.user_id, a.role) for a in exception.approvals.all()]
    return separation.exception_case(exception, approvals)


def required_roles(exception: PolicyException) -> tuple[str, ...]:
    """The approvals the exception needs now, by its model's current tier."""
    return separation.exception_roles(
        exception.version.model.risk_tier, require_approval=exception.policy.require_approval
    )


def approved_roles(exception: PolicyException) -> set[str]:
    return set(_case(exception).given)


def remaining_roles(exception: PolicyException) -> tuple[str, ...]:
    return separation.remaining_roles(_case(exception))


def max_days(policy: Policy) -> int:
    """The longest exception the policy allows, in whole days (`maxDuration` 48h is 2 days)."""
    if not policy.max_duration:
        return MAX_DAYS
    return math.floor(parse_duration(policy.max_duration) / timedelta(days=1))


def exception_url(exception: PolicyException) -> str:
    return reverse("exception-detail", args=[exception.pk])


def _label(exception: PolicyException) -> str:
    version = exception.version
    policy = exception.policy.policy_id
    return f"{version.model.name} {version.version}: exception #{exception.pk} to {policy}"


def _audit(action: str, exception: PolicyException, actor, **details) -> None:
    record_event(
        EventType.POLICY_EXCEPTION,
        action,
        user=actor or SYSTEM_USER,
        model_id=exception.version.model_id,
        version_id=exception.version_id,
        details={
            "exception": exception.pk,
            "policyId": exception.policy.policy_id,
            "status": exception.status,
            **details,
        },
    )


def _concerned(exception: PolicyException) -> list:
    return [exception.version.model.owner, exception.requested_by]


def _locked(exception: PolicyException, *, allowed: tuple[str, ...], what: str):
    locked = (
        PolicyException.objects.select_related("policy", "version__model__owner", "requested_by")
        .select_for_update(of=("self",))
        .get(pk=exception.pk)
    )
    if locked.status not in allowed:
        raise InvalidState(
            f"cannot {what} an exception that is {locked.status}; possible only when "
            f"{' or '.join(allowed)}",
            state=locked.status,
        ).about(model_id=locked.version.model_id, version_id=locked.version_id)
    return locked


# ---- requesting ----------------------------------------------------------------------------


def requestable_policies(version: ModelVersion):
    """The policies an exception may be asked to for `version`: ACTIVE, allowing exceptions,
    scoped to its model's tier. The request page offers exactly these; `_check_request`
    refuses the rest with the reason."""
    tier = version.model.risk_tier
    ids = [
        p.pk for p in Policy.objects.active().filter(allow_exceptions=True) if tier in p.risk_tiers
    ]
    return Policy.objects.filter(pk__in=ids).order_by("policy_id")


def _check_request(policy: Policy, version: ModelVersion, duration_days: int) -> None:
    tier = version.model.risk_tier
    if policy.status != PolicyStatus.ACTIVE:
        raise Invalid(
            f"policy {policy.policy_id} is {policy.status}: exceptions are granted to ACTIVE "
            "policies only (a DRAFT judges nothing, a RETIRED no longer applies)",
            field="policy",
        )
    if tier not in policy.risk_tiers:
        raise Invalid(
            f"policy {policy.policy_id} does not apply to {tier} risk models", field="policy"
        )
    if not policy.allow_exceptions:
        raise Invalid(f"policy {policy.policy_id} allows no exceptions", field="policy")
    try:
        longest = max_days(policy)
    except ValueError as error:
        raise Invalid(
            f"policy {policy.policy_id} has an unreadable maxDuration: {error}", field="policy"
        ) from error
    if duration_days > longest:
        raise Invalid(
            f"policy {policy.policy_id} allows exceptions of at most {policy.max_duration} "
            f"({longest} day{'s' if longest != 1 else ''}); {duration_days} days asked",
            field="durationDays",
        )
    if duration_days < 1:
        raise Invalid("an exception lasts at least one day", field="durationDays")


@domain_action(Action.REQUEST_EXCEPTION)
def request_exception(
    *,
    actor,
    policy: Policy,
    version: ModelVersion,
    justification: str,
    risk_assessment: str,
    mitigation: str,
    duration_days: int,
    monitoring_plan: str,
    reason: str = "",
    remediation_plan: str = "",
    remediation_due_date: datetime.date | None = None,
) -> PolicyException:
    """The owner of the version's model asks for an exception to one policy, saying why (the
    guide's reason) and how and by when the failure will be remediated.

    The API and the pages require the reason and the remediation plan with its date (their
    input shapes); the defaults only keep the programmatic callers that predate them (the demo
    data, older tests) working until they pass them too. Whatever is given is checked here."""
    authorize(actor, Action.REQUEST_EXCEPTION, model=version.model, version_id=version.pk)
    # The version's row lock serialises two requests for the same pair.
    version = (
        ModelVersion.objects.select_related("model__owner")
        .select_for_update(of=("self",))
        .get(pk=version.pk)
    )
    if version.state == VersionState.RETIRED:
        raise InvalidState("a RETIRED version needs no exception", state=version.state).about(
            model_id=version.model_id, version_id=version.pk
        )
    for name, text in (
        ("justification", justification),
        ("riskAssessment", risk_assessment),
        ("mitigation", mitigation),
        ("monitoringPlan", monitoring_plan),
    ):
        if not text.strip():
            raise Invalid("this part of the request form is required", field=name)
    if reason and reason not in ExceptionReason.values:
        raise Invalid(
            f"the reason must be one of {', '.join(ExceptionReason.values)}", field="reason"
        )
    if remediation_due_date is not None and not remediation_plan.strip():
        raise Invalid("a remediation due date needs its plan", field="remediationPlan")
    if remediation_due_date is not None and remediation_due_date < timezone.localdate():
        raise Invalid(
            f"the remediation due date {remediation_due_date.isoformat()} is in the past",
            field="remediationDueDate",
        )
    _check_request(policy, version, duration_days)
    open_one = PolicyException.objects.filter(
        policy=policy, version=version, status__in=OPEN_STATUSES
    ).first()
    if open_one is not None:
        raise InvalidState(
            f"exception #{open_one.pk} to {policy.policy_id} for this version is already "
            f"{open_one.status}",
            state=open_one.status,
        ).about(model_id=version.model_id, version_id=version.pk)
    exception = PolicyException.objects.create(
        policy=policy,
        version=version,
        justification=justification,
        risk_assessment=risk_assessment,
        mitigation=mitigation,
        duration_days=duration_days,
        monitoring_plan=monitoring_plan,
        reason=reason,
        remediation_plan=remediation_plan,
        remediation_due_date=remediation_due_date,
        requested_by=actor,
    )
    needed = required_roles(exception)
    _audit(
        "REQUEST",
        exception,
        actor,
        durationDays=duration_days,
        justification=justification,
        riskAssessment=risk_assessment,
        mitigation=mitigation,
        monitoringPlan=monitoring_plan,
        reason=reason,
        remediationPlan=remediation_plan,
        remediationDueDate=remediation_due_date.isoformat() if remediation_due_date else None,
        requiredRoles=list(needed),
    )
    if not needed:
        _activate(exception, actor, reason="the policy does not require approval")
        return exception
    _ask(exception, needed)
    return exception


def _ask(exception: PolicyException, roles: tuple[str, ...]) -> None:
    excluded = _excluded_ids(exception)
    notify_many(
        Alert(
            users_with_role(role, exclude_ids=excluded),
            NotificationKind.EXCEPTION_REQUESTED,
            f"{_label(exception)} awaits your decision (as {role})",
            version=exception.version,
            url=exception_url(exception),
            details={"exception": exception.pk, "policyId": exception.policy.policy_id},
        )
        for role in roles
    )


def _excluded_ids(exception: PolicyException) -> set[int]:
    version = exception.version
    ids = {exception.requested_by_id, version.model.owner_id, version.submitted_by_id}
    ids.discard(None)
    return ids


# ---- deciding ------------------------------------------------------------------------------


def _deciding_role(exception: PolicyException, actor, *, action: str, approving: bool) -> str:
    """The role in which `actor` decides now; separation of duties is told first here (an
    exception's deciders are told who may never decide before which role is missing)."""
    case = _case(exception)
    separation.check_case(case, actor, action=action, version=exception.version)
    role = separation.role_for(case, roles_of(actor), approving=approving)
    if role is None:
        needed = separation.open_roles(case, approving=approving)
        raise Forbidden(
            f"this {exception.version.model.risk_tier} risk exception now needs "
            f"{'an approval' if approving else 'a decision'} by {' or '.join(needed) or 'nobody'}"
        ).about(model_id=exception.version.model_id, version_id=exception.version_id)
    return role


def _authorize(actor, action: str, exception: PolicyException) -> None:
    """The access rule for a decision on `exception`, on its version's model."""
    authorize(actor, action, model=exception.version.model, version_id=exception.version_id)


@domain_action(Action.DECIDE_EXCEPTION)
def approve_exception(exception: PolicyException, *, actor, comments: str = "") -> PolicyException:
    _authorize(actor, Action.DECIDE_EXCEPTION, exception)
    exception = _locked(exception, allowed=(ExceptionStatus.REQUESTED,), what="approve")
    role = _deciding_role(exception, actor, action=Action.DECIDE_EXCEPTION, approving=True)
    ExceptionApproval.objects.create(exception=exception, role=role, user=actor, comments=comments)
    remaining = remaining_roles(exception)
    _audit(
        "APPROVE",
        exception,
        actor,
        role=role,
        approver=actor.get_username(),
        comments=comments,
        awaiting=list(remaining),
    )
    if not remaining:
        _activate(exception, actor, reason="all approvals are in")
    return exception


def _activate(exception: PolicyException, actor, *, reason: str) -> None:
    now = timezone.now()
    exception.status = ExceptionStatus.ACTIVE
    exception.activated_at = exception.decided_at = now
    exception.expires_at = now + timedelta(days=exception.duration_days)
    exception.next_review_due = now + review_interval(exception)
    exception.save(
        update_fields=["status", "activated_at", "decided_at", "expires_at", "next_review_due"]
    )
    _audit(
        "ACTIVATE",
        exception,
        actor,
        reason=reason,
        activatedAt=now.isoformat(),
        expiresAt=exception.expires_at.isoformat(),
        nextReviewDue=exception.next_review_due.isoformat(),
    )
    notify(
        _concerned(exception),
        kind=NotificationKind.EXCEPTION_DECIDED,
        message=f"{_label(exception)} is ACTIVE until "
        f"{exception.expires_at:%Y-%m-%d %H:%M} UTC ({reason})",
        version=exception.version,
        url=exception_url(exception),
    )
    # Its open violations are excepted from now on: re-check the version.
    monitoring.queue_sweep(version_ids=[exception.version_id], trigger=MonitoringTrigger.EXCEPTION)


@domain_action(Action.DECIDE_EXCEPTION)
def reject_exception(exception: PolicyException, *, actor, comments: str = "") -> PolicyException:
    _authorize(actor, Action.DECIDE_EXCEPTION, exception)
    exception = _locked(exception, allowed=(ExceptionStatus.REQUESTED,), what="reject")
    role = _deciding_role(exception, actor, action=Action.DECIDE_EXCEPTION, approving=False)
    now = timezone.now()
    exception.status = ExceptionStatus.REJECTED
    exception.decided_at = exception.ended_at = now
    exception.ended_by = actor
    exception.end_comments = comments
    exception.save(update_fields=["status", "decided_at", "ended_at", "ended_by", "end_comments"])
    _audit("REJECT", exception, actor, role=role, comments=comments)
    notify(
        _concerned(exception),
        kind=NotificationKind.EXCEPTION_DECIDED,
        message=f"{_label(exception)} was rejected ({role}: {comments or 'no comment'})",
        version=exception.version,
        url=exception_url(exception),
    )
    return exception


@domain_action(Action.REVOKE_EXCEPTION)
def revoke_exception(exception: PolicyException, *, actor, comments: str = "") -> PolicyException:
    """MRC withdraws an exception at any time, requested or active."""
    _authorize(actor, Action.REVOKE_EXCEPTION, exception)
    exception = _locked(exception, allowed=OPEN_STATUSES, what="revoke")
    was = exception.status
    exception.status = ExceptionStatus.REVOKED
    exception.ended_at = timezone.now()
    exception.ended_by = actor
    exception.end_comments = comments
    exception.save(update_fields=["status", "ended_at", "ended_by", "end_comments"])
    _audit("REVOKE", exception, actor, previousStatus=was, comments=comments)
    notify(
        _concerned(exception),
        kind=NotificationKind.EXCEPTION_DECIDED,
        message=f"{_label(exception)} was revoked by {actor.get_username()}"
        f"{f': {comments}' if comments else ''}",
        version=exception.version,
        url=exception_url(exception),
    )
    if was == ExceptionStatus.ACTIVE:
        monitoring.queue_sweep(
            version_ids=[exception.version_id], trigger=MonitoringTrigger.EXCEPTION
        )
    return exception


POLICY_RETIRED = "policy retired"


def end_for_retired_policy(policy: Policy, *, actor=None) -> list[int]:
    """The policy was just RETIRED: nothing is left to except, so each of its REQUESTED and
    ACTIVE exceptions ends REVOKED with the reason "policy retired" (ended by whoever retired
    the policy; empty for the system), each with its POLICY_EXCEPTION / REVOKE audit event, and
    the people concerned are told. Runs inside the retirement's transaction (policies.services)
    and under its authority: retiring the policy is what ends them. Returns the ids ended."""
    now = timezone.now()
    ended: list[PolicyException] = []
    open_ones = (
        PolicyException.objects.select_related("policy", "version__model__owner", "requested_by")
        .select_for_update(of=("self",))
        .filter(policy=policy, status__in=OPEN_STATUSES)
        .order_by("id")
    )
    for exception in open_ones:
        was = exception.status
        exception.status = ExceptionStatus.REVOKED
        exception.ended_at = now
        exception.ended_by = actor
        exception.end_comments = POLICY_RETIRED
        exception.save(update_fields=["status", "ended_at", "ended_by", "end_comments"])
        _audit(
            "REVOKE",
            exception,
            actor,
            previousStatus=was,
            reason=POLICY_RETIRED,
            comments=POLICY_RETIRED,
        )
        ended.append(exception)
    notify_many(
        Alert(
            _concerned(exception),
            NotificationKind.EXCEPTION_DECIDED,
            f"{_label(exception)} ended: the policy was retired",
            version=exception.version,
            url=exception_url(exception),
            details={"exception": exception.pk, "policyId": policy.policy_id},
        )
        for exception in ended
    )
    return [e.pk for e in ended]


def available_actions(exception: PolicyException, user) -> list[str]:
    """The decisions `user` could make on the exception now (for showing buttons)."""
    actions = []
    model = exception.version.model
    if exception.status == ExceptionStatus.REQUESTED and is_allowed(
        user, Action.DECIDE_EXCEPTION, model=model
    ):
        for name, approving in (("approve", True), ("reject", False)):
            try:
                _deciding_role(exception, user, action=name, approving=approving)
            except Forbidden:
                continue
            actions.append(name)
    if exception.status in OPEN_STATUSES and is_allowed(user, Action.REVOKE_EXCEPTION, model=model):
        actions.append("revoke")
    return actions


def awaiting_decision(user) -> list[PolicyException]:
    """REQUESTED exceptions `user` could approve now (for an approvals dashboard)."""
    if not is_allowed(user, Action.DECIDE_EXCEPTION):
        return []
    candidates = (
        PolicyException.objects.visible_to(user)
        .filter(status=ExceptionStatus.REQUESTED)
        .select_related("policy", "version__model__owner", "requested_by")
        .prefetch_related("approvals")
        .order_by("created_at", "id")
    )
    return [e for e in candidates if "approve" in available_actions(e, user)]


DECISIONS = {
    "approve": approve_exception,
    "reject": reject_exception,
    "revoke": revoke_exception,
}


# ---- periodic reviews -----------------------------------------------------------------------


def review_interval(exception: PolicyException) -> timedelta:
    """The time between reviews, by the exception's model's current risk tier."""
    return timedelta(days=EXCEPTION_REVIEW_INTERVAL_DAYS[exception.version.model.risk_tier])


def reviewer_roles(exception: PolicyException) -> tuple[str, ...]:
    """The approver roles of the exception by its model's tier (also when its policy asks for no
    approval: someone of those roles still watches it)."""
    return separation.exception_roles(exception.version.model.risk_tier, require_approval=True)


def _review_case(exception: PolicyException) -> separation.Case:
    """Who may review: the exception's approver roles, with its decision's bars (requester,
    owner, submitter); a person may review it again at the next due date."""
    case = separation.exception_case(exception, [])
    return dataclasses.replace(case, needed=reviewer_roles(exception), deciders=frozenset())


def _reviewing_role(exception: PolicyException, actor) -> str:
    case = _review_case(exception)
    separation.check_case(case, actor, action=Action.DECIDE_EXCEPTION, version=exception.version)
    role = separation.role_for(case, roles_of(actor), approving=False)
    if role is None:
        raise Forbidden(
            f"a review of this {exception.version.model.risk_tier} risk exception is recorded by "
            f"{' or '.join(case.needed)}"
        ).about(model_id=exception.version.model_id, version_id=exception.version_id)
    return role


def review_is_overdue(exception: PolicyException, now=None) -> bool:
    return (
        exception.status == ExceptionStatus.ACTIVE
        and exception.next_review_due is not None
        and exception.next_review_due < (now or timezone.now())
    )


def _check_progress(status: str, progress: int) -> None:
    if status not in RemediationStatus.values:
        raise Invalid(
            f"the remediation status must be one of {', '.join(RemediationStatus.values)}",
            field="remediationStatus",
        )
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise Invalid("a percentage from 0 to 100", field="remediationProgress")
    if (status == RemediationStatus.COMPLETE) != (progress == 100):
        raise Invalid(
            "a remediation is COMPLETE exactly when its progress is 100%",
            field="remediationProgress",
        )
    if status == RemediationStatus.NOT_STARTED and progress != 0:
        raise Invalid("a remediation NOT_STARTED is at 0%", field="remediationProgress")


@domain_action(Action.DECIDE_EXCEPTION)
def record_review(
    exception: PolicyException,
    *,
    actor,
    notes: str,
    remediation_status: str,
    remediation_progress: int,
) -> ExceptionReview:
    """A periodic review of an ACTIVE exception: the reviewer's notes and where the remediation
    stands; the next review falls due one interval (by the model's current tier) from now."""
    _authorize(actor, Action.DECIDE_EXCEPTION, exception)
    exception = _locked(exception, allowed=(ExceptionStatus.ACTIVE,), what="review")
    role = _reviewing_role(exception, actor)
    if not notes.strip():
        raise Invalid("the review's notes are required", field="notes")
    _check_progress(remediation_status, remediation_progress)
    now = timezone.now()
    due = exception.next_review_due
    exception.next_review_due = now + review_interval(exception)
    exception.save(update_fields=["next_review_due"])
    review = ExceptionReview.objects.create(
        exception=exception,
        reviewer=actor,
        role=role,
        notes=notes,
        remediation_status=remediation_status,
        remediation_progress=remediation_progress,
        due_at=due,
        late=due is not None and due < now,
        next_review_due=exception.next_review_due,
    )
    _audit(
        ExceptionAuditAction.REVIEW,
        exception,
        actor,
        review=review.pk,
        role=role,
        notes=notes,
        remediationStatus=remediation_status,
        remediationProgress=remediation_progress,
        dueAt=due.isoformat() if due else None,
        late=review.late,
        nextReviewDue=exception.next_review_due.isoformat(),
    )
    notify(
        _concerned(exception),
        kind=NotificationKind.EXCEPTION_REVIEW,
        message=f"{_label(exception)} reviewed by {actor.get_username()}: remediation "
        f"{remediation_status} ({remediation_progress}%); next review by "
        f"{exception.next_review_due:%Y-%m-%d}",
        version=exception.version,
        url=exception_url(exception),
        emit=False,
    )
    return review


def may_review(exception: PolicyException, user) -> bool:
    """Whether `user` could record a review of the exception now (for showing the form)."""
    if exception.status != ExceptionStatus.ACTIVE or not is_allowed(
        user, Action.DECIDE_EXCEPTION, model=exception.version.model
    ):
        return False
    try:
        _reviewing_role(exception, user)
    except Forbidden:
        return False
    return True


def overdue_reviews(*, now=None):
    """ACTIVE, in-force exceptions whose periodic review is past due (every one: the scheduled
    escalation's set; readers' lists go through `visible_to`)."""
    now = now or timezone.now()
    return PolicyException.objects.in_force(now).filter(next_review_due__lt=now)


def escalate_overdue_reviews(*, now=None) -> list[int]:
    """Scheduled: for every exception whose review is overdue and not yet escalated for this
    due date, tell the people of its approver roles (not those barred from deciding it), the
    owner and the requester; audited (REVIEW_OVERDUE). Returns the ids escalated."""
    now = now or timezone.now()
    escalated: list[PolicyException] = []
    with transaction.atomic():
        due = (
            overdue_reviews(now=now)
            .select_related("policy", "version__model__owner", "requested_by")
            .select_for_update(of=("self",))
            .order_by("next_review_due", "id")
        )
        for exception in due:
            if (
                exception.review_escalated_at is not None
                and exception.review_escalated_at >= exception.next_review_due
            ):
                continue  # already escalated for this due date
            exception.review_escalated_at = now
            exception.save(update_fields=["review_escalated_at"])
            _audit(
                ExceptionAuditAction.REVIEW_OVERDUE,
                exception,
                None,
                nextReviewDue=exception.next_review_due.isoformat(),
                escalatedTo=list(reviewer_roles(exception)),
            )
            escalated.append(exception)
        notify_many(
            Alert(
                [
                    *(
                        user
                        for role in reviewer_roles(exception)
                        for user in users_with_role(role, exclude_ids=_excluded_ids(exception))
                    ),
                    *_concerned(exception),
                ],
                NotificationKind.EXCEPTION_REVIEW,
                f"{_label(exception)}: its periodic review was due on "
                f"{exception.next_review_due:%Y-%m-%d %H:%M} UTC and is OVERDUE "
                f"(reviewed by {' or '.join(reviewer_roles(exception))})",
                version=exception.version,
                url=exception_url(exception),
                details={"exception": exception.pk, "policyId": exception.policy.policy_id},
            )
            for exception in escalated
        )
    return [e.pk for e in escalated]


# ---- the scheduled jobs --------------------------------------------------------------------


def _mrc():
    return list(users_with_role(Role.MRC))


def expire_exceptions(*, now=None) -> list[int]:
    """Scheduled: every ACTIVE exception past its `expiresAt` becomes EXPIRED (audited, owner,
    requester and MRC alerted), and its versions are re-checked at once, so the failure it
    covered is an open violation again. Returns the ids expired."""
    now = now or timezone.now()
    expired: list[PolicyException] = []
    with transaction.atomic():
        due = (
            PolicyException.objects.select_related(
                "policy", "version__model__owner", "requested_by"
            )
            .select_for_update(of=("self",))
            .filter(status=ExceptionStatus.ACTIVE, expires_at__lte=now)
            .order_by("expires_at", "id")
        )
        mrc = _mrc()
        for exception in due:
            exception.status = ExceptionStatus.EXPIRED
            exception.ended_at = now
            exception.save(update_fields=["status", "ended_at"])
            _audit("EXPIRE", exception, None, expiresAt=exception.expires_at.isoformat())
            expired.append(exception)
        notify_many(
            _expiry_alert(
                exception,
                mrc,
                NotificationKind.EXCEPTION_EXPIRED,
                f"EXPIRED on {exception.expires_at:%Y-%m-%d %H:%M} UTC: the policy applies again",
            )
            for exception in expired
        )
        if expired:
            monitoring.sweep(
                versions=sorted({e.version_id for e in expired}),
                trigger=MonitoringTrigger.EXCEPTION,
                now=now,
            )
    return [e.pk for e in expired]


def _expiry_alert(exception: PolicyException, mrc, kind: str, what: str) -> Alert:
    """An alert about an exception's end, to the people concerned and the MRC team."""
    return Alert(
        [*_concerned(exception), *mrc],
        kind,
        f"{_label(exception)} {what}",
        version=exception.version,
        url=exception_url(exception),
        details={
            "exception": exception.pk,
            "policyId": exception.policy.policy_id,
            "expiresAt": exception.expires_at.isoformat(),
        },
    )


def remind_expiring_exceptions(*, now=None) -> list[int]:
    """Scheduled: a review reminder, once, for every ACTIVE exception that expires within 48
    hours, to MRC, the owner and the requester: renew it by a new request or remediate."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            PolicyException.objects.select_related(
                "policy", "version__model__owner", "requested_by"
            )
            .select_for_update(of=("self",))
            .filter(
                status=ExceptionStatus.ACTIVE,
                reminded_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=now + REMINDER_WINDOW,
            )
        )
        mrc = _mrc()
        for exception in due:
            exception.reminded_at = now
            exception.save(update_fields=["reminded_at"])
            _audit("REMIND", exception, None, expiresAt=exception.expires_at.isoformat())
        notify_many(
            _expiry_alert(
                exception,
                mrc,
                NotificationKind.EXCEPTION_EXPIRING,
                f"expires on {exception.expires_at:%Y-%m-%d %H:%M} UTC: "
                "review it — remediate, or request a new exception",
            )
            for exception in due
        )
    return [e.pk for e in due]


def review_digest(*, now=None) -> int:
    """Scheduled weekly: the MRC's periodic exception review — how many exceptions are active
    and how many requests wait, with a link to the list."""
    now = now or timezone.now()
    active = PolicyException.objects.in_force(now).count()
    waiting = PolicyException.objects.filter(status=ExceptionStatus.REQUESTED).count()
    if not active and not waiting:
        return 0
    notify(
        _mrc(),
        kind=NotificationKind.EXCEPTION_REVIEW,
        message=f"Exception review: {active} active policy exception(s), {waiting} request(s) "
        "awaiting decision",
        url=f"{reverse('exception-list')}?status=ACTIVE",
        emit=False,
    )
    return active + waiting
