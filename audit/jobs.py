"""The request id carried into worker jobs: a job queued while a request runs records that
request's id (its audit events and log lines join the request's); a job with no request behind
it (a schedule) gets an id of its own. Hooked on django-q2's enqueue and execute signals, so
every async_task is covered without each caller passing the id."""

from __future__ import annotations

import contextvars
import threading

from django.dispatch import receiver
from django_q.signals import post_execute_in_worker, pre_enqueue, pre_execute

from audit import context as request_context

TASK_KEY = "request_id"
# Per thread: a job run synchronously (async_task(sync=True)) binds and unbinds in the caller's
# thread, and two such threads must never pop each other's token.
_local = threading.local()


def _stack() -> list[contextvars.Token]:
    if not hasattr(_local, "tokens"):
        _local.tokens = []
    return _local.tokens


@receiver(pre_enqueue)
def carry_request_id(sender, task, **kwargs):
    rid = request_context.request_id()
    if rid:
        task[TASK_KEY] = rid


@receiver(pre_execute)
def bind_job_context(sender, func, task, **kwargs):
    rid = task.get(TASK_KEY) or f"job-{task.get('id', '')}"[:64]
    _stack().append(request_context.bind(request_context.RequestContext(request_id=rid, job=True)))


@receiver(post_execute_in_worker)
def unbind_job_context(sender, func, task, **kwargs):
    stack = _stack()
    if stack:
        request_context.unbind(stack.pop())
