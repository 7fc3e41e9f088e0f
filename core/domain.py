"""The wrapper every domain action runs in: one transaction, and refusals on the record.

A refused attempt must leave an audit event even though the action's own transaction is rolled
back, so the refusal is recorded after the atomic block has exited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from django.db import transaction

from audit.choices import EventType
from audit.services import record_event
from core.errors import Forbidden, InvalidState

P = ParamSpec("P")
R = TypeVar("R")


def record_refusal(actor, action: str, error: Forbidden | InvalidState) -> None:
    details = {"reason": error.detail, "status": error.status_code}
    if isinstance(error, InvalidState):
        details["state"] = error.state
    record_event(
        EventType.ACCESS_DENIED,
        error.action or action,
        user=actor,
        model_id=error.model_id,
        version_id=error.version_id,
        details=details,
    )


def domain_action(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated service atomically; audit a Forbidden or InvalidState it raises.

    The service must take the acting user as the keyword argument `actor`.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                with transaction.atomic():
                    return fn(*args, **kwargs)
            except (Forbidden, InvalidState) as error:
                record_refusal(kwargs.get("actor"), action, error)
                raise

        return wrapper

    return decorate
