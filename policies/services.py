"""Writing policies: create, replace, patch and load from files, each audited.

The API, pages and admin go through the authorised functions (Security Architects only).
`load_documents` is the operator's path from the shell (`manage.py load_policies`), like
`create_user`: whoever runs it already controls the server; it is audited as the system.
Every change of an existing policy, from any of them, goes through `_replace`, so retiring a
policy has the same consequences whichever way it is done (`_status_changed`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from audit.choices import EventType
from audit.services import record_event
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import Invalid
from policies import monitoring
from policies.choices import MonitoringTrigger, PolicyStatus
from policies.documents import to_document, to_fields
from policies.models import Policy
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


def _replace(policy: Policy, document: dict, actor) -> Policy:
    fields = to_fields(document)
    if fields["policy_id"] != policy.policy_id:
        raise Invalid("policyId cannot change; create a new policy instead", field="policyId")
    policy = Policy.objects.select_for_update().get(pk=policy.pk)
    changes = {
        name: {"from": getattr(policy, name), "to": value}
        for name, value in fields.items()
        if getattr(policy, name) != value
    }
    if changes:
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        _record("UPDATE_POLICY", policy, actor, changes)
        if "status" in changes:
            _status_changed(policy, changes["status"]["from"], actor)
        policy_changed(policy)
    return policy


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
def replace_policy(policy: Policy, *, actor, document: dict) -> Policy:
    """PUT (and PATCH, merged by the caller): the document's fields become the policy's."""
    authorize(actor, Action.WRITE_POLICY)
    return _replace(policy, document, actor)


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
