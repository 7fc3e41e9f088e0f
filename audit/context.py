"""The request's context (who, from where), carried in a context variable.

Middleware sets it for every request so that domain functions can write complete audit events
without each view passing IP addresses around; background jobs run with no context and are
recorded as the system.
"""

from __future__ import annotations

import contextvars
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    session_id: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


def current() -> RequestContext | None:
    return _current.get()


@contextmanager
def bound(context: RequestContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def session_fingerprint(session_key: str | None) -> str:
    """A stable, non-reversible id for a session: the raw key would let a log reader hijack it."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]
