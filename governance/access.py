"""Who may do what: the contract's table, written once. Every way in (API, pages, admin) asks here.

A rule names the roles that may act, whether the action writes (auditors never write), and
whether the actor must own the model (an object permission held through django-guardian,
granted to the owner when the model is registered).
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.choices import READ_ALL_ROLES, Action, Role
from governance.errors import Forbidden
from governance.roles import roles_of

OWNER_PERMISSION = "registry.change_registeredmodel"


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    writes: bool = True
    owner_only: bool = False


def _rule(*roles: str, writes: bool = True, owner_only: bool = False) -> Rule:
    return Rule(roles=frozenset(roles), writes=writes, owner_only=owner_only)


RULES: dict[str, Rule] = {
    Action.REGISTER_MODEL: _rule(Role.MODEL_OWNER),
    Action.CHANGE_MODEL: _rule(Role.MODEL_OWNER, owner_only=True),
    Action.ADD_VERSION: _rule(Role.MODEL_OWNER, owner_only=True),
    Action.CHANGE_VERSION: _rule(Role.MODEL_OWNER, owner_only=True),
    Action.ADD_ARTIFACT: _rule(Role.MODEL_OWNER, owner_only=True),
    Action.CHANGE_ARTIFACT: _rule(Role.MODEL_OWNER, owner_only=True),
    Action.VIEW_AUDIT: _rule(*READ_ALL_ROLES, writes=False),
    Action.EXPORT_AUDIT: _rule(*READ_ALL_ROLES, writes=False),
}


def refusal(user, action: str, *, model=None) -> str | None:
    """Why `user` may not perform `action` (on `model`), or None when allowed."""
    rule = RULES[action]
    label = Action(action).label
    if user is None or not user.is_authenticated:
        return f"you must be logged in to {label}"
    held = roles_of(user)
    if rule.writes and Role.AUDITOR in held:
        return f"auditors never write: an Auditor may not {label}"
    if not held & rule.roles:
        needed = " or ".join(sorted(rule.roles))
        return f"to {label} you need the role {needed}"
    if rule.owner_only and (model is None or not user.has_perm(OWNER_PERMISSION, model)):
        return f"only the model's owner may {label}"
    return None


def is_allowed(user, action: str, *, model=None) -> bool:
    return refusal(user, action, model=model) is None


def authorize(user, action: str, *, model=None, version_id: int | None = None) -> None:
    reason = refusal(user, action, model=model)
    if reason is not None:
        raise Forbidden(reason).about(
            action=action, model_id=getattr(model, "pk", None), version_id=version_id
        )
