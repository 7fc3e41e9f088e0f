"""Who may do what: the contract's table, written once. Every way in (API, pages, admin) asks here.

A rule names the roles that may act on any model, the roles that may act only on models they
own (the model's `owner`: read from the row already loaded, so a check costs no query; the
django-guardian object permissions granted to the owner at registration serve the admin), and
whether the action writes (auditors never write). Separation of duties, which
depends on the version's history rather than on roles, is in governance/separation.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.choices import PEOPLE_ROLES, READ_ALL_ROLES, Action, Role
from core.errors import Forbidden
from core.roles import roles_of

OWNER_PERMISSION = "registry.change_registeredmodel"


class _System:
    """The registry itself acting on a schedule (or from the command line, where nobody has
    logged in): an explicit actor, so that "called by the system" is a decision `authorize`
    makes (`SYSTEM_ACTIONS`) rather than a skipped check, and the audit trail names it
    ("system", through `get_username`). It holds no role and owns nothing."""

    is_authenticated = True
    is_active = True
    is_superuser = False
    is_staff = False
    pk = None

    def get_username(self) -> str:
        return "system"

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


@dataclass(frozen=True)
class Rule:
    any_model: frozenset[str] = frozenset()
    own_model: frozenset[str] = frozenset()
    writes: bool = True


def _rule(*, any_model=(), own_model=(), writes: bool = True) -> Rule:
    return Rule(any_model=frozenset(any_model), own_model=frozenset(own_model), writes=writes)


OWNER = (Role.MODEL_OWNER,)

RULES: dict[str, Rule] = {
    Action.REGISTER_MODEL: _rule(any_model=OWNER),
    Action.CHANGE_MODEL: _rule(own_model=OWNER),
    Action.ADD_VERSION: _rule(own_model=OWNER),
    Action.CHANGE_VERSION: _rule(own_model=OWNER),
    Action.ADD_ARTIFACT: _rule(own_model=OWNER),
    Action.CHANGE_ARTIFACT: _rule(own_model=OWNER),
    # A scan result is never self-attested: only the registry (SYSTEM), a Security Architect or
    # an outside scanner records one, in any state of the version.
    Action.RECORD_SCAN: _rule(any_model=(Role.SECURITY_ARCHITECT, Role.SCANNER)),
    # Whoever may read the version may fetch the bytes the registry holds (audited).
    Action.DOWNLOAD_ARTIFACT: _rule(
        any_model=(*READ_ALL_ROLES, Role.SRE, Role.SCANNER), own_model=OWNER, writes=False
    ),
    Action.SUBMIT_VERSION: _rule(own_model=OWNER),
    Action.REQUEST_PRODUCTION: _rule(own_model=OWNER),
    Action.RETIRE_VERSION: _rule(any_model=(Role.MRC,), own_model=OWNER),
    Action.REVIEW_VERSION: _rule(any_model=(Role.MRC, Role.SECURITY_ARCHITECT)),
    Action.DEPLOY_VERSION: _rule(any_model=(Role.SRE,)),
    # MRC re-tiers any model (the risk team's own review); an owner asks for their own.
    Action.REQUEST_TIER_CHANGE: _rule(any_model=(Role.MRC,), own_model=OWNER),
    Action.DECIDE_TIER_CHANGE: _rule(any_model=(Role.MRC, Role.SECURITY_ARCHITECT)),
    Action.READ_POLICIES: _rule(any_model=PEOPLE_ROLES, writes=False),
    # MRC runs evaluations on any version: independent validation (SR 11-7's effective
    # challenge); their runs count like the owner's and name who asked.
    Action.RUN_EVALUATION: _rule(any_model=(Role.MRC,), own_model=OWNER),
    Action.READ_EVALUATIONS: _rule(any_model=READ_ALL_ROLES, own_model=OWNER, writes=False),
    Action.WRITE_POLICY: _rule(any_model=(Role.SECURITY_ARCHITECT,)),
    Action.VIEW_AUDIT: _rule(any_model=READ_ALL_ROLES, writes=False),
    Action.EXPORT_AUDIT: _rule(any_model=READ_ALL_ROLES, writes=False),
    # Generating a report adds nothing to the registry, so auditors may (the contract says so).
    Action.GENERATE_REPORT: _rule(any_model=(Role.MRC, Role.AUDITOR), writes=False),
    Action.READ_REPORTS: _rule(any_model=READ_ALL_ROLES, writes=False),
    Action.EXPORT_EVIDENCE: _rule(any_model=READ_ALL_ROLES, own_model=OWNER, writes=False),
    Action.REQUEST_EXCEPTION: _rule(own_model=OWNER),
    Action.DECIDE_EXCEPTION: _rule(any_model=(Role.MRC, Role.SECURITY_ARCHITECT, Role.EXECUTIVE)),
    Action.REVOKE_EXCEPTION: _rule(any_model=(Role.MRC,)),
    Action.READ_COMPLIANCE: _rule(any_model=PEOPLE_ROLES, writes=False),
    Action.MANAGE_WEBHOOKS: _rule(any_model=(Role.MRC,)),
}

# What the system may do: only what a schedule, the worker or a command performs (the monthly,
# quarterly and annual reports; the registry's own scans of the artifacts it holds). Anything
# else asked of SYSTEM is refused like anyone's refused attempt.
SYSTEM_ACTIONS: frozenset[str] = frozenset({Action.GENERATE_REPORT, Action.RECORD_SCAN})


def superuser_reads(user, rule: Rule) -> bool:
    """V9, decided once: a superuser READS everything (guardian already shows them every model,
    so refusing them a read the pages would show anyway protects nothing), but WRITES only what
    their roles allow: a superuser with no role changes nothing through the domain, and every
    governance decision is taken by someone holding the role the contract names."""
    return bool(getattr(user, "is_superuser", False)) and not rule.writes


def owns(user, model) -> bool:
    # The owner column, not guardian's object permission: the same answer (the permission is
    # granted to the owner and to nobody else) without the two permission queries per request,
    # and it follows an owner changed in the admin. A superuser owns only what they own.
    return model is not None and user.pk is not None and model.owner_id == user.pk


def refusal(user, action: str, *, model=None) -> str | None:
    """Why `user` may not perform `action` (on `model`), or None when allowed."""
    rule = RULES[action]
    label = Action(action).label
    if user is SYSTEM:
        return None if action in SYSTEM_ACTIONS else f"the system may not {label}"
    if user is None or not user.is_authenticated:
        return f"you must be logged in to {label}"
    held = roles_of(user)
    if rule.writes and Role.AUDITOR in held:
        return f"auditors never write: an Auditor may not {label}"
    if superuser_reads(user, rule):
        return None
    if held & rule.any_model:
        return None
    if held & rule.own_model:
        if owns(user, model):
            return None
        return f"only the model's owner may {label}"
    needed = sorted(rule.any_model | rule.own_model)
    suffix = " (on a model you own)" if rule.own_model and not rule.any_model else ""
    return f"to {label} you need the role {' or '.join(needed)}{suffix}"


def is_allowed(user, action: str, *, model=None) -> bool:
    return refusal(user, action, model=model) is None


def authorize(user, action: str, *, model=None, version_id: int | None = None) -> None:
    reason = refusal(user, action, model=model)
    if reason is not None:
        raise Forbidden(reason).about(
            action=action, model_id=getattr(model, "pk", None), version_id=version_id
        )
