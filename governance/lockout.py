"""Brute-force lockout glue around django-axes.

axes counts failed logins wherever `django.contrib.auth.authenticate(request=...)` runs (the
login page, the admin login, `POST /api/v1/auth/token/`) and refuses every attempt, right
password or not, for the cool-off once a username or an address has failed
`AXES_FAILURE_LIMIT` times (settings, "Brute force"). This module gives the refusal its answer
(429 with Retry-After: a page here, JSON in the token view) and puts each lockout in the audit
trail. Each failed attempt is audited as LOGIN_FAILED by audit/signals.py already.
"""

from __future__ import annotations

import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit, get_lockout_parameters
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum
from django.dispatch import receiver
from django.shortcuts import render
from rest_framework.exceptions import Throttled

from audit.choices import AuditAction, EventType
from audit.services import record_event

USERNAME_MAX = 150
LOCKED_OUT_MESSAGE = (
    "too many failed login attempts: login is locked for this account or address; "
    "try again later or ask an administrator to unlock it"
)


def attempted_username(request, credentials=None) -> str | None:
    """AXES_USERNAME_CALLABLE: the username axes counts, as typed but cut to the longest a user
    can have. Django's login form does not enforce that length, and axes stores the name in a
    255-character column: an overlong name would be a database error (a 500 on PostgreSQL)."""
    if credentials:
        value = credentials.get(settings.AXES_USERNAME_FORM_FIELD)
    else:
        value = getattr(request, "data", request.POST).get(settings.AXES_USERNAME_FORM_FIELD)
    if value is None:
        return None
    return str(value).replace("\x00", "")[:USERNAME_MAX]


def retry_after_seconds(request) -> int:
    """How long the client must wait: a refused attempt starts the cool-off again
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so it is the whole cool-off from now."""
    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds()) if cool_off else 0


def is_locked_out(request) -> bool:
    """Whether axes refused (or has just locked) the login attempt made with this request."""
    return bool(getattr(request, "axes_locked_out", False))


class LockedOut(Throttled):
    """The token endpoint's answer to a locked-out attempt: 429, Retry-After, a JSON detail."""

    default_code = "locked_out"

    def __init__(self, request):
        super().__init__(wait=retry_after_seconds(request), detail=LOCKED_OUT_MESSAGE)


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the page answer (login page and admin login) to a locked-out
    attempt, instead of the login form saying the password was wrong."""
    seconds = retry_after_seconds(request)
    response = render(
        request,
        "registration/locked_out.html",
        {"minutes": math.ceil(seconds / 60)},
        status=429,
    )
    response["Retry-After"] = str(seconds)
    return response


def _failures_by_parameter(request, credentials) -> dict[str, int]:
    """Failures counted now for each lockout parameter ("username", "ip_address", or a
    combination), so the audit says whether the account or the address tripped the limit."""
    handler = AxesProxyHandler.get_implementation()
    if not hasattr(handler, "get_user_attempts"):
        return {}
    parameters = get_lockout_parameters(request, credentials)
    attempts = handler.get_user_attempts(request, credentials)
    return {
        "+".join([parameter] if isinstance(parameter, str) else parameter): (
            queryset.aggregate(n=Sum("failures_since_start"))["n"] or 0
        )
        for parameter, queryset in zip(parameters, attempts, strict=True)
    }


@receiver(user_locked_out)
def audit_lockout(sender, request, username, ip_address, **kwargs):
    """One LOGIN_LOCKED_OUT event each time axes locks or keeps refusing: the attempt that
    reaches the limit (`refusedWhileLocked` false) and each later one refused unchecked (true).
    The address, user agent and session come from the request context like every event."""
    credentials = getattr(request, "axes_credentials", None)
    limit = get_failure_limit(request, credentials)
    failures = getattr(request, "axes_failures_since_start", None) or 0
    by_parameter = _failures_by_parameter(request, credentials)
    record_event(
        EventType.AUTHENTICATION,
        AuditAction.LOGIN_LOCKED_OUT,
        user=None,
        details={
            "username": str(username or "")[:USERNAME_MAX],
            "failures": failures,
            "failureLimit": limit,
            "lockedBy": sorted(name for name, count in by_parameter.items() if count >= limit),
            "refusedWhileLocked": failures > limit,
            "cooloffSeconds": retry_after_seconds(request),
            "path": request.path[:200],
        },
    )
