"""Who may run and read evaluations: the rules of core.access (RUN_EVALUATION is a
Model Owner on their own models and MRC on any, for independent validation, their runs
showing `requestedBy`; READ_EVALUATIONS the oversight roles, and the owner for their own), with
the helpers the evaluation views and pages use. MRC may also relax a threshold
(evaluations.uploads.thresholds_source)."""

from __future__ import annotations

from core.access import authorize, refusal
from core.choices import Action
from core.visibility import Reach, reach

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
    """Whether `user` reads evaluations of at least some models (lists filter the rest): the
    READ_EVALUATIONS rule reaches some models for them."""
    return reach(user, READ_EVALUATIONS) is not Reach.NONE


def authorize_run(user, version) -> None:
    authorize(user, RUN_EVALUATION, model=version.model, version_id=version.pk)


def authorize_read(user, version=None) -> None:
    """Refuse reading evaluations of `version` (or, without one, any evaluations)."""
    if version is not None:
        authorize(user, READ_EVALUATIONS, model=version.model, version_id=version.pk)
    elif not may_read_any(user):
        authorize(user, READ_EVALUATIONS)  # refuses, with the rule's reason
