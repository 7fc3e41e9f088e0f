"""Creating people and giving them roles (used by `manage.py create_user` and the demo data),
and issuing their API tokens."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from audit.choices import AuditAction, EventType
from audit.services import record_event
from core.access import SYSTEM
from core.roles import set_roles


def create_or_update_user(
    username: str, *, password: str | None, email: str = "", roles: list[str], actor=SYSTEM
):
    """Create the user (or update an existing one) with exactly `roles`; audited. Its callers
    are the `create_user` command and the demo data, run by the system: nobody logs in there."""
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        if email:
            user.email = email
        if password:
            user.set_password(password)
        elif created:
            user.set_unusable_password()
        user.save()
        set_roles(user, roles)
        record_event(
            EventType.USER_ADMIN,
            AuditAction.CREATE_USER if created else AuditAction.UPDATE_USER,
            user=actor,
            details={"username": username, "roles": sorted(roles)},
        )
    return user, created


def issue_token(user) -> Token:
    """The API token of `user`, who has just proven who they are (username and password, the
    lockout checked by the caller); created on first use, the same key afterwards. Every issue
    is audited (AUTHENTICATION / TOKEN_ISSUED, by the user)."""
    with transaction.atomic():
        token, _ = Token.objects.get_or_create(user=user)
        record_event(EventType.AUTHENTICATION, AuditAction.TOKEN_ISSUED, user=user)
    return token
