"""Change control of the policies themselves: which edits relax a policy, and who may decide.

An edit of an ACTIVE ENFORCE policy that relaxes it does not take effect at once: it becomes a
PolicyChange that a second person (another Security Architect, or an MRC member; never the
proposer) approves or rejects (policies.services). Everything else (a tightening, an edit that
only renames or rewords, any edit of a DRAFT, RETIRED, WARN or DRY_RUN policy) takes effect at
once, as before.

`relaxations` decides "relaxing" from the policy's field values before and after (the
`policies.documents.to_fields` shape), with no query. What counts:

- status ACTIVE to anything else (DRAFT or RETIRED: the policy stops judging);
- enforcement lowered (ENFORCE > WARN > DRY_RUN);
- severity lowered (its violations rank lower in alerts and reports);
- scope narrowed: a risk tier or an environment removed;
- a rule removed, or its condition changed. A changed condition counts as relaxing: proving that
  one CEL expression is at least as strict as another is not decidable in general, so only an
  unchanged condition is known not to relax (a rule's message may change freely, and rules may
  be reordered or added);
- exceptions made easier: allowed where they were not, no longer requiring approval, or a longer
  (or no) maximum duration.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from core.access import SYSTEM
from core.choices import Role
from core.errors import Forbidden
from core.roles import roles_of
from governance import separation
from policies.choices import (
    ENFORCEMENT_RANK,
    SEVERITY_RANK,
    Enforcement,
    PolicyChangeAction,
    PolicyStatus,
)
from policies.documents import to_fields
from policies.durations import parse_duration
from policies.impact import impact
from policies.models import Policy

# Who decides a proposed change: one person of either role (N = 1 of these).
DECIDER_ROLES: tuple[str, ...] = (Role.SECURITY_ARCHITECT, Role.MRC)
DECISION_LABEL = "approve or reject a policy change"


def under_change_control(fields: dict) -> bool:
    """Whether edits of a policy with these field values are change-controlled."""
    return fields["status"] == PolicyStatus.ACTIVE and fields["enforcement"] == Enforcement.ENFORCE


def _longest(max_duration: str) -> timedelta | None:
    """The maximum duration as a length (None: no limit); an unreadable one counts as no limit,
    the loosest reading, so a change from it is never taken for a relaxation by mistake."""
    if not max_duration:
        return None
    try:
        return parse_duration(max_duration)
    except ValueError:
        return None


def relaxations(before: dict, after: dict) -> list[str]:
    """Why the change from field values `before` to `after` relaxes the policy, one sentence per
    finding; empty when it relaxes nothing (a tightening, or an edit of words only)."""
    found: list[str] = []
    if before["status"] == PolicyStatus.ACTIVE and after["status"] != PolicyStatus.ACTIVE:
        found.append(f"status {before['status']} -> {after['status']}: the policy stops judging")
    if ENFORCEMENT_RANK[after["enforcement"]] < ENFORCEMENT_RANK[before["enforcement"]]:
        found.append(f"enforcement lowered {before['enforcement']} -> {after['enforcement']}")
    if SEVERITY_RANK[after["severity"]] < SEVERITY_RANK[before["severity"]]:
        found.append(f"severity lowered {before['severity']} -> {after['severity']}")
    for name, label in (("risk_tiers", "risk tier"), ("environments", "environment")):
        removed = sorted(set(before[name]) - set(after[name]))
        if removed:
            found.append(f"scope narrowed: {label}(s) {', '.join(removed)} removed")
    kept = Counter(rule["condition"] for rule in after["rules"])
    for index, rule in enumerate(before["rules"]):
        if kept[rule["condition"]] > 0:
            kept[rule["condition"]] -= 1
        else:
            found.append(
                f"rule {index} removed or its condition changed (was: {rule['condition']}); "
                "a changed condition is not proven stricter"
            )
    if after["allow_exceptions"] and not before["allow_exceptions"]:
        found.append("exceptions allowed where they were not")
    if before["allow_exceptions"] or after["allow_exceptions"]:
        if before["require_approval"] and not after["require_approval"]:
            found.append("exceptions no longer require approval")
        was, now = _longest(before["max_duration"]), _longest(after["max_duration"])
        if was is not None and (now is None or now > was):
            found.append(
                f"exceptions may last longer: maxDuration {before['max_duration']} -> "
                f"{after['max_duration'] or 'no limit'}"
            )
    return found


def field_changes(before: dict, after: dict) -> dict:
    """The fields whose values differ, as {name: {"from", "to"}} (the audit event's shape)."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in after.items()
        if before.get(name) != value
    }


# ---- who decides -----------------------------------------------------------------------------


def decision_case(change) -> separation.Case:
    """The decision on a proposed change as the separation rules see it: one approval or
    rejection by a Security Architect or an MRC member, never by the proposer."""
    return separation.Case(
        needed=DECIDER_ROLES,
        barred=((change.proposed_by_id, "nobody decides on their own proposed policy change"),),
        once="one person decides a policy change once",
    )


def decider_refusal(actor) -> str | None:
    """Why `actor` may not decide policy changes at all (by role), or None. The access rule of
    the decision: a person holding the Security Architect or MRC role, never an auditor (who
    never writes) and never the system."""
    if actor is SYSTEM:
        return f"the system may not {DECISION_LABEL}"
    if actor is None or not actor.is_authenticated:
        return f"you must be logged in to {DECISION_LABEL}"
    held = roles_of(actor)
    if Role.AUDITOR in held:
        return f"auditors never write: an Auditor may not {DECISION_LABEL}"
    if not held & set(DECIDER_ROLES):
        return f"to {DECISION_LABEL} you need the role {' or '.join(sorted(DECIDER_ROLES))}"
    return None


def deciding_role(change, actor) -> str:
    """The role in which `actor` decides `change`, or Forbidden saying why they may not."""
    reason = decider_refusal(actor)
    if reason is not None:
        raise Forbidden(reason).about(action=PolicyChangeAction.DECIDE)
    case = decision_case(change)
    separation.check_case(case, actor, action=PolicyChangeAction.DECIDE)
    role = separation.role_for(case, roles_of(actor), approving=False)
    if role is None:  # decider_refusal required one of the roles; kept for a changed rule
        raise Forbidden(f"to {DECISION_LABEL} you need the role MRC or Security Architect")
    return role


def may_decide(change, actor) -> bool:
    try:
        deciding_role(change, actor)
    except Forbidden:
        return False
    return True


# ---- what the approver sees --------------------------------------------------------------------


def change_impact(change, *, actor) -> dict:
    """The dry run of a proposed change, for its approver: every version `actor` may see in the
    scope of the policy now or as proposed, whether it passes each (evaluated now, nothing
    stored), and whether its failure blocks a promotion (an ACTIVE ENFORCE policy in scope) now
    and under the proposal. `unblocked` counts the versions the change would let through."""
    before, after = to_fields(change.base_document), to_fields(change.document)
    now_rows = {row["version"]: row for row in impact(Policy(**before), actor=actor)}
    then_rows = {row["version"]: row for row in impact(Policy(**after), actor=actor)}
    rows = []
    for version_id in sorted(
        now_rows.keys() | then_rows.keys(),
        key=lambda pk: (
            (now_rows.get(pk) or then_rows[pk])["modelName"],
            (now_rows.get(pk) or then_rows[pk])["versionLabel"],
        ),
    ):
        now, then = now_rows.get(version_id), then_rows.get(version_id)
        row = now or then
        blocked_now = now is not None and under_change_control(before) and not now["passed"]
        blocked_then = then is not None and under_change_control(after) and not then["passed"]
        rows.append(
            {
                "version": version_id,
                "model": row["model"],
                "modelName": row["modelName"],
                "versionLabel": row["versionLabel"],
                "state": row["state"],
                "inScopeNow": now is not None,
                "inScopeProposed": then is not None,
                "passesNow": None if now is None else now["passed"],
                "passesProposed": None if then is None else then["passed"],
                "blockedNow": blocked_now,
                "blockedProposed": blocked_then,
            }
        )
    return {
        "versions": rows,
        "blockedNow": sum(1 for r in rows if r["blockedNow"]),
        "blockedProposed": sum(1 for r in rows if r["blockedProposed"]),
        "unblocked": sum(1 for r in rows if r["blockedNow"] and not r["blockedProposed"]),
    }
