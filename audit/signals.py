"""Authentication events come from Django's auth signals: every login path sends them."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.choices import AuditAction, EventType
from audit.context import session_fingerprint
from audit.services import record_event

USERNAME_MAX = 150


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None) if request is not None else None
    record_event(
        EventType.AUTHENTICATION,
        AuditAction.LOGIN,
        user=user,
        session_id=session_fingerprint(session.session_key if session else None),
    )


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record_event(EventType.AUTHENTICATION, AuditAction.LOGOUT, user=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    attempted = str(credentials.get("username", ""))[:USERNAME_MAX]
    record_event(
        EventType.AUTHENTICATION,
        AuditAction.LOGIN_FAILED,
        user=None,
        details={"username": attempted},
    )
