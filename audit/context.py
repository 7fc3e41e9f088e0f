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
    # The request's id (X-Request-ID) or, in the worker, the id of the request that queued the
    # job: the audit events and the JSON log lines it wrote carry it.
    request_id: str = ""
    # True in a worker job: nobody is behind the request, its events are the system's.
    job: bool = False


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


def current() -> RequestContext | None:
    return _current.get()


def bind(context: RequestContext) -> contextvars.Token:
    """Bind without a with-block (the worker's execute signals open and close a job apart)."""
    return _current.set(context)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def bound(context: RequestContext) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def request_id() -> str:
    """The id of the request (or worker job) running now, "" outside both."""
    context = _current.get()
    return context.request_id if context is not None else ""


def session_fingerprint(session_key: str | None) -> str:
    """A stable, non-reversible id for a session: the raw key would let a log reader hijack it."""
    if not session_key:
        return ""
    return hashlib.sha256(session_key.encode()).hexdigest()[:32]
