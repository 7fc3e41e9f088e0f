"""In-app notifications and their email copies (sent by the background worker)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django_q.tasks import async_task

from governance.models import Notification


def users_with_role(role: str, *, exclude_ids: Iterable[int] = ()):
    return (
        get_user_model()
        .objects.filter(groups__name=role, is_active=True)
        .exclude(pk__in=list(exclude_ids))
        .distinct()
    )


def notify(users, *, kind: str, message: str, version=None) -> list[Notification]:
    """Create an in-app notification for each user and queue its email after commit."""
    url = reverse("version-detail", args=[version.pk]) if version is not None else ""
    recipients = {user.pk: user for user in users if user is not None}
    created = Notification.objects.bulk_create(
        Notification(user=user, kind=kind, message=message, url=url, version=version)
        for user in recipients.values()
    )
    emails = [user.email for user in recipients.values() if user.email]
    if emails:
        transaction.on_commit(
            lambda: async_task(
                "governance.notifications.send_notification_email",
                emails,
                message,
                url,
                task_name=f"email: {message[:60]}",
            )
        )
    return created


def send_notification_email(emails: list[str], message: str, url: str) -> int:
    """Runs in the worker: one plain email per notification, to each recipient."""
    body = f"{message}\n\n{settings.SITE_URL.rstrip('/')}{url}\n" if url else f"{message}\n"
    sent = 0
    for address in emails:
        sent += send_mail(f"[Model Registry] {message}", body, None, [address])
    return sent
