"""Who may run and read evaluations: the rules of governance.access (RUN_EVALUATION is a
Model Owner on their own models; READ_EVALUATIONS the oversight roles, and the owner for their
own), with the helpers the evaluation views and pages use."""

from __future__ import annotations

from governance.access import refusal
from governance.choices import READ_ALL_ROLES, Action, Role
from governance.errors import Forbidden
from governance.roles import roles_of

RUN_EVALUATION = Action.RUN_EVALUATION
READ_EVALUATIONS = Action.READ_EVALUATIONS


def run_refusal(user, model) -> str | None:
    """Why `user` may not run evaluations on `model`, or None."""
    return refusal(user, Action.RUN_EVALUATION, model=model)


def read_refusal(user, model) -> str | None:
    """Why `user` may not read the evaluations of `model`, or None."""
    return refusal(user, Action.READ_EVALUATIONS, model=model)


def may_run(user, model) -> bool:
    return run_refusal(user, model) is None


def may_read(user, model) -> bool:
    return read_refusal(user, model) is None


def may_read_any(user) -> bool:
    """Whether `user` reads evaluations of at least some models (lists filter the rest)."""
    return bool(roles_of(user) & (READ_ALL_ROLES | {Role.MODEL_OWNER}))


def authorize_run(user, version) -> None:
    reason = run_refusal(user, version.model)
    if reason is not None:
        raise Forbidden(reason).about(
            action=RUN_EVALUATION, model_id=version.model_id, version_id=version.pk
        )


def authorize_read(user, version=None) -> None:
    """Refuse reading evaluations of `version` (or, without one, any evaluations)."""
    if version is None:
        if user is not None and user.is_authenticated and may_read_any(user):
            return
        reason = read_refusal(user, None)
        model_id = version_id = None
    else:
        reason = read_refusal(user, version.model)
        model_id, version_id = version.model_id, version.pk
    if reason is not None:
        raise Forbidden(reason).about(
            action=READ_EVALUATIONS, model_id=model_id, version_id=version_id
        )
