"""Alerts: in-app notifications, their email copies (sent by the background worker) and, for
the kinds the guide names as alerts, an outgoing webhook event (governance/webhooks.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from governance import webhooks
from governance.choices import NotificationKind, WebhookEvent
from governance.models import Notification

# Notification kinds that are also webhook events. Policy violations are raised by the
# monitoring sweep itself, one event per violation with its details (policies/monitoring.py).
WEBHOOK_EVENTS = {
    NotificationKind.REVIEW_REQUESTED: WebhookEvent.APPROVAL_REQUESTED,
    NotificationKind.EXCEPTION_REQUESTED: WebhookEvent.APPROVAL_REQUESTED,
    NotificationKind.EVALUATION_FAILED: WebhookEvent.EVALUATION_FAILED,
    NotificationKind.SECURITY_ISSUE: WebhookEvent.SECURITY_ISSUE,
    NotificationKind.EXCEPTION_EXPIRING: WebhookEvent.EXCEPTION_EXPIRING,
    NotificationKind.EXCEPTION_EXPIRED: WebhookEvent.EXCEPTION_EXPIRED,
}


def users_with_role(role: str, *, exclude_ids: Iterable[int] = ()):
    return (
        get_user_model()
        .objects.filter(groups__name=role, is_active=True)
        .exclude(pk__in=list(exclude_ids))
        .distinct()
    )


def absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url else ""


def version_document(version) -> dict[str, Any]:
    """A version as webhook payloads describe it."""
    model = version.model
    return {
        "id": version.pk,
        "version": version.version,
        "state": version.state,
        "model": {
            "id": model.pk,
            "name": model.name,
            "riskTier": model.risk_tier,
            "owner": model.owner.username,
        },
    }


@dataclass
class Alert:
    """One notification to a group of people (for `notify_many`)."""

    users: Iterable
    kind: str
    message: str
    version: Any = None
    url: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _url(alert: Alert) -> str:
    if alert.url is not None:
        return alert.url
    return reverse("version-detail", args=[alert.version.pk]) if alert.version is not None else ""


def notify_many(alerts: Iterable[Alert], *, emit: bool = True) -> list[Notification]:
    """Many notifications in one insert, their emails in one worker task, and a webhook event
    per alert whose kind is one (unless `emit` is False). Each alert reaches each of its
    users once."""
    rows, emails, events = [], [], {}
    for alert in alerts:
        url = _url(alert)
        recipients = {user.pk: user for user in alert.users if user is not None}
        rows.extend(
            Notification(
                user=user, kind=alert.kind, message=alert.message, url=url, version=alert.version
            )
            for user in recipients.values()
        )
        addresses = [user.email for user in recipients.values() if user.email]
        if addresses:
            emails.append((addresses, alert.message, url))
        event = WEBHOOK_EVENTS.get(alert.kind)
        if emit and event is not None:
            events.setdefault(event, []).append((alert, url))
    created = Notification.objects.bulk_create(rows, batch_size=500)
    if emails:
        transaction.on_commit(
            lambda: async_task(
                "governance.notifications.send_notification_emails",
                emails,
                task_name=f"email: {emails[0][1][:50]} ({len(emails)})",
            )
        )
    for event, raised in events.items():
        hooks = webhooks.subscribers(event)
        if hooks:  # payloads are built only when someone listens
            webhooks.emit_many(event, (_payload(a, url) for a, url in raised), hooks=hooks)
    return created


def _payload(alert: Alert, url: str) -> dict[str, Any]:
    data = {"kind": alert.kind, "message": alert.message, "url": absolute(url)}
    if alert.version is not None:
        data["version"] = version_document(alert.version)
    return {**data, **alert.details}


def notify(
    users,
    *,
    kind: str,
    message: str,
    version=None,
    url: str | None = None,
    details: dict[str, Any] | None = None,
    emit: bool = True,
) -> list[Notification]:
    """Create an in-app notification for each user and queue its email after commit; for an
    alert kind (WEBHOOK_EVENTS) raise its webhook event too, whoever the recipients are.
    `url` defaults to the version's page; `details` are added to the webhook payload."""
    return notify_many(
        [Alert(users, kind, message, version=version, url=url, details=details or {})],
        emit=emit,
    )


def send_notification_emails(batch: list[tuple[list[str], str, str]]) -> int:
    """Runs in the worker: one plain email per notification, to each recipient."""
    return sum(send_notification_email(emails, message, url) for emails, message, url in batch)


def send_notification_email(emails: list[str], message: str, url: str) -> int:
    """Runs in the worker: one plain email per notification, to each recipient."""
    body = f"{message}\n\n{absolute(url)}\n" if url else f"{message}\n"
    sent = 0
    for address in emails:
        sent += send_mail(f"[Model Registry] {message}", body, None, [address])
    return sent


def mark_read(user, ids: Iterable[int] | None = None) -> int:
    """Mark `user`'s unread notifications read: those with these ids, or all of them (ids
    None). Only the user's own: an id of someone else's notification is left alone. Returns
    how many were marked.

    Not audited, deliberately: a read receipt changes no governance state (no model, version,
    policy, role or decision), only the recipient's own inbox, and the audit trail records who
    did what to the registry, not who opened their notifications."""
    mine = Notification.objects.visible_to(user).unread()
    if ids is not None:
        mine = mine.filter(pk__in=list(ids))
    return mine.update(read_at=timezone.now())
