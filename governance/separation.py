"""Separation of duties: the contract's rules that depend on who did what to the version.

- the model's owner and the version's submitter never approve (or reject) that version;
- one person gives at most one decision on a version's way to an environment;
- only an SRE deploys, and never a version that person submitted or asked production for;
- nobody approves their own request of any kind.
Each refusal is a Forbidden whose detail starts with "separation of duties".
"""

from __future__ import annotations

from core.errors import Forbidden


def _refuse(detail: str, version=None, action: str | None = None, model_id=None) -> Forbidden:
    return Forbidden(f"separation of duties: {detail}").about(
        action=action,
        model_id=model_id or (version.model_id if version is not None else None),
        version_id=version.pk if version is not None else None,
    )


def check_reviewer(version, actor, *, action: str, already_decided: bool) -> None:
    if version.model.owner_id == actor.pk:
        raise _refuse("the model's owner may not review its versions", version, action)
    if version.submitted_by_id == actor.pk:
        raise _refuse("the person who submitted a version may not review it", version, action)
    if version.production_requested_by_id == actor.pk:
        raise _refuse("nobody may approve their own request for production", version, action)
    if already_decided:
        raise _refuse(
            "one person gives at most one approval on a version's way to an environment; "
            "you have already decided on this version",
            version,
            action,
        )


def check_deployer(version, actor, *, action: str) -> None:
    if actor.pk in (version.submitted_by_id, version.production_requested_by_id):
        raise _refuse("an SRE never deploys a version they submitted", version, action)


def check_request_decider(request, actor, *, action: str, owner_id: int) -> None:
    if request.requested_by_id == actor.pk:
        raise _refuse("nobody approves their own request", action=action, model_id=request.model_id)
    if owner_id == actor.pk:
        raise _refuse(
            "the model's owner may not decide on its requests",
            action=action,
            model_id=request.model_id,
        )
