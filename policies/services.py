"""Writing policies: create, replace, patch and load from files, each audited.

The API, pages and admin go through the authorised functions (Security Architects only).
`load_documents` is the operator's path from the shell (`manage.py load_policies`), like
`create_user`: whoever runs it already controls the server; it is audited as the system.
Every change of an existing policy, from any of them, goes through `_replace`, so retiring a
policy has the same consequences whichever way it is done (`_status_changed`).

Change control (policies.changes): `replace_policy` on an ACTIVE ENFORCE policy that would relax
it stores a PolicyChange (PROPOSED) instead and returns that; `approve_policy_change` by a
second person applies it through `_replace`, `reject_policy_change` ends it. Whatever change
takes effect on a policy supersedes the proposals still waiting on it (they were made against
a document that no longer is). `load_documents`, the operator's path, applies at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from audit.choices import EventType
from audit.services import record_event
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import Invalid, InvalidState
from governance.choices import NotificationKind
from governance.notifications import Alert, notify, notify_many, users_with_role
from policies import changes as change_control
from policies import monitoring
from policies.choices import (
    MonitoringTrigger,
    PolicyChangeAction,
    PolicyChangeStatus,
    PolicyStatus,
)
from policies.documents import to_document, to_fields
from policies.models import Policy, PolicyChange
from policies.monitoring import policy_changed
from policies.waivers import end_for_retired_policy


def _record(action: str, policy: Policy, actor, changes: dict | None = None) -> None:
    record_event(
        EventType.POLICY_CHANGE,
        action,
        user=actor or "system",
        details={"policyId": policy.policy_id, "status": policy.status, "changes": changes or {}},
    )


def _create(document: dict, actor) -> Policy:
    fields = to_fields(document)
    if Policy.objects.filter(policy_id=fields["policy_id"]).exists():
        raise Invalid(f"policy {fields['policy_id']!r} already exists", field="policyId")
    policy = Policy.objects.create(created_by=actor, **fields)
    _record("CREATE_POLICY", policy, actor)
    policy_changed(policy)
    return policy


def _current_fields(policy: Policy) -> dict:
    return to_fields(to_document(policy))


def _replace(policy: Policy, document: dict, actor, *, applying: PolicyChange | None = None):
    fields = to_fields(document)
    if fields["policy_id"] != policy.policy_id:
        raise Invalid("policyId cannot change; create a new policy instead", field="policyId")
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    changes = change_control.field_changes(_current_fields(policy), fields)
    if changes:
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        _record("UPDATE_POLICY", policy, actor, changes)
        _supersede_waiting(policy, actor, applied=applying)
        if "status" in changes:
            _status_changed(policy, changes["status"]["from"], actor)
        policy_changed(policy)
    return policy


def _supersede_waiting(policy: Policy, actor, *, applied: PolicyChange | None) -> None:
    """A change took effect: the proposals still waiting on the policy were made against a
    document that no longer is; they end SUPERSEDED (audited), to be proposed again if still
    wanted."""
    waiting = PolicyChange.objects.select_for_update().filter(
        policy=policy, status=PolicyChangeStatus.PROPOSED
    )
    if applied is not None:
        waiting = waiting.exclude(pk=applied.pk)
    for change in waiting:
        change.status = PolicyChangeStatus.SUPERSEDED
        change.decided_at = timezone.now()
        change.save(update_fields=["status", "decided_at"])
        _record_change(PolicyChangeAction.SUPERSEDE, change, actor, reason="the policy changed")


def _status_changed(policy: Policy, was: str, actor) -> None:
    """What leaving ACTIVE means, in the same transaction as the change (so no reader sees a
    retired policy still excepted or still violated): a policy no longer ACTIVE judges nothing,
    so its open violations are resolved at once (the monitoring sweep of that one policy does
    only that, whatever the fleet's size); a RETIRED one also ends its open exceptions."""
    if was == PolicyStatus.ACTIVE and policy.status != PolicyStatus.ACTIVE:
        monitoring.sweep(policy=policy, trigger=MonitoringTrigger.POLICY_CHANGE)
    if policy.status == PolicyStatus.RETIRED:
        end_for_retired_policy(policy, actor=actor)


@domain_action(Action.WRITE_POLICY)
def create_policy(*, actor, document: dict) -> Policy:
    authorize(actor, Action.WRITE_POLICY)
    return _create(document, actor)


@domain_action(Action.WRITE_POLICY)
def replace_policy(policy: Policy, *, actor, document: dict) -> Policy | PolicyChange:
    """PUT (and PATCH, merged by the caller): the document's fields become the policy's, at
    once, and the policy is returned; unless the policy is ACTIVE ENFORCE and the document
    relaxes it (policies.changes.relaxations): then nothing changes yet and the PROPOSED
    PolicyChange a second person must decide is returned."""
    authorize(actor, Action.WRITE_POLICY)
    locked = Policy.objects.select_for_update().get(pk=policy.pk)
    before = _current_fields(locked)
    after = to_fields(document)
    if after["policy_id"] != locked.policy_id:
        raise Invalid("policyId cannot change; create a new policy instead", field="policyId")
    if change_control.under_change_control(before):
        found = change_control.relaxations(before, after)
        if found:
            return _propose(locked, document, actor, before=before, after=after, found=found)
    return _replace(locked, document, actor)


def change_url(change: PolicyChange) -> str:
    return reverse("policy-change-detail", args=[change.pk])


def _record_change(action: str, change: PolicyChange, actor, **details) -> None:
    record_event(
        EventType.POLICY_CHANGE,
        action,
        user=actor or "system",
        details={
            "policyId": change.policy.policy_id,
            "policyChange": change.pk,
            "changeStatus": change.status,
            "proposedBy": change.proposed_by.get_username(),
            **details,
        },
    )


def _propose(policy: Policy, document: dict, actor, *, before, after, found) -> PolicyChange:
    waiting = PolicyChange.objects.filter(policy=policy, status=PolicyChangeStatus.PROPOSED).first()
    if waiting is not None:
        raise InvalidState(
            f"policy change #{waiting.pk} of {policy.policy_id} awaits a decision; it must be "
            "approved or rejected before another relaxing change is proposed",
            state=waiting.status,
        ).about(action=PolicyChangeAction.PROPOSE)
    change = PolicyChange.objects.create(
        policy=policy,
        proposed_by=actor,
        base_document=to_document(policy),
        document=to_document(Policy(**after)),
        changes=change_control.field_changes(before, after),
        relaxations=found,
    )
    _record_change(
        PolicyChangeAction.PROPOSE,
        change,
        actor,
        changes=change.changes,
        relaxations=found,
    )
    notify_many(
        (
            Alert(
                users_with_role(role, exclude_ids=[actor.pk]),
                NotificationKind.REVIEW_REQUESTED,
                f"Policy change #{change.pk} of {policy.policy_id} relaxes an enforced policy "
                f"and awaits your decision (as {role}): {'; '.join(found)}",
                url=change_url(change),
            )
            for role in change_control.DECIDER_ROLES
        ),
        # Not the versions' webhook APPROVAL_REQUESTED: a policy change is about no version.
        emit=False,
    )
    return change


def _locked_change(change: PolicyChange, *, what: str) -> PolicyChange:
    locked = (
        PolicyChange.objects.select_related("policy", "proposed_by")
        .select_for_update(of=("self",))
        .get(pk=change.pk)
    )
    if locked.status != PolicyChangeStatus.PROPOSED:
        raise InvalidState(
            f"cannot {what} policy change #{locked.pk}: it is {locked.status}, possible only "
            "when PROPOSED",
            state=locked.status,
        ).about(action=PolicyChangeAction.DECIDE)
    return locked


@domain_action(PolicyChangeAction.DECIDE)
def approve_policy_change(change: PolicyChange, *, actor, comments: str = "") -> PolicyChange:
    """A second person approves: the proposed document becomes the policy's (with every
    consequence of `_replace`: a retirement ends the policy's exceptions, a sweep follows)."""
    role = change_control.deciding_role(change, actor)
    change = _locked_change(change, what="approve")
    policy = Policy.objects.select_for_update().get(pk=change.policy_id)
    if to_document(policy) != change.base_document:
        raise InvalidState(
            f"policy {policy.policy_id} changed since change #{change.pk} was proposed; "
            "reject it and propose the change again",
            state=change.status,
        ).about(action=PolicyChangeAction.DECIDE)
    change.status = PolicyChangeStatus.APPROVED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_role = role
    change.comments = comments
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_role", "comments"])
    _record_change(
        PolicyChangeAction.APPROVE,
        change,
        actor,
        role=role,
        approver=actor.get_username(),
        comments=comments,
        relaxations=change.relaxations,
    )
    _replace(policy, change.document, actor, applying=change)
    _tell_proposer(change, "approved and in effect")
    return change


@domain_action(PolicyChangeAction.DECIDE)
def reject_policy_change(change: PolicyChange, *, actor, comments: str = "") -> PolicyChange:
    role = change_control.deciding_role(change, actor)
    change = _locked_change(change, what="reject")
    change.status = PolicyChangeStatus.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_role = role
    change.comments = comments
    change.save(update_fields=["status", "decided_by", "decided_at", "decision_role", "comments"])
    _record_change(PolicyChangeAction.REJECT, change, actor, role=role, comments=comments)
    _tell_proposer(change, f"rejected ({comments or 'no comment'})")
    return change


def _tell_proposer(change: PolicyChange, what: str) -> None:
    notify(
        [change.proposed_by],
        kind=NotificationKind.APPROVED
        if change.status == PolicyChangeStatus.APPROVED
        else NotificationKind.REJECTED,
        message=f"Policy change #{change.pk} of {change.policy.policy_id} was {what} by "
        f"{change.decided_by.get_username()}",
        url=change_url(change),
        emit=False,
    )


CHANGE_DECISIONS = {"approve": approve_policy_change, "reject": reject_policy_change}


def merged_document(policy: Policy, patch: dict) -> dict:
    """The policy's document with a PATCH's top-level keys (and scope/exceptions keys) applied."""
    document = to_document(policy)
    for key, value in patch.items():
        if key in ("scope", "exceptions") and isinstance(value, dict):
            document[key] = {**(document.get(key) or {}), **value}
        else:
            document[key] = value
    return document


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def load_documents(documents: list[dict]) -> LoadResult:
    """Create or update each validated document by policyId (idempotent); operator path."""
    result = LoadResult()
    with transaction.atomic():
        for document in documents:
            existing = Policy.objects.filter(policy_id=document["policyId"]).first()
            if existing is None:
                _create(document, None)
                result.created += 1
            elif to_document(existing) == to_document(Policy(**to_fields(document))):
                result.unchanged += 1
            else:
                _replace(existing, document, None)
                result.updated += 1
    return result
