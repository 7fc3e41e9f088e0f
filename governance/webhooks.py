"""Outgoing webhooks: alerts POSTed as signed JSON to the receivers admins configure.

An event (`governance.choices.WebhookEvent`) becomes one `WebhookDelivery` row per active
webhook subscribed to it, in the transaction that raised it; the worker (django-q2) delivers it
once that transaction commits. A failed attempt (connection error, timeout, any status but
2xx, redirects included) is retried with exponential back-off — 30 s, 1 min, 2 min, ... capped
at one hour — by the schedule that runs `deliver_due` every minute, up to
`WEBHOOK_MAX_ATTEMPTS` attempts (8), after which the delivery is FAILED. Every attempt is kept
in the delivery's log (time, status code, error, duration).

What a receiver gets, a POST with the body

    {"id": "<event uuid>", "event": "violation.opened", "createdAt": "<ISO 8601>", "data": {...}}

and the headers

    Content-Type: application/json
    X-Registry-Event: violation.opened
    X-Registry-Delivery: <delivery id>            (the same on every retry)
    X-Registry-Timestamp: <unix seconds of this attempt>
    X-Registry-Signature: sha256=<hex HMAC-SHA256 under the webhook's secret of
                           "<timestamp>." followed by the raw body bytes>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares it in
constant time, and refuses timestamps older than a few minutes (a replayed request carries an
old timestamp, and changing it breaks the signature). `verify_signature` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from audit.choices import EventType
from audit.services import record_event
from core.access import authorize, is_allowed
from core.choices import Action
from core.domain import domain_action
from core.errors import Invalid
from governance.choices import DeliveryStatus, WebhookEvent
from governance.models import Webhook, WebhookDelivery

SIGNATURE_HEADER = "X-Registry-Signature"
TIMESTAMP_HEADER = "X-Registry-Timestamp"
EVENT_HEADER = "X-Registry-Event"
DELIVERY_HEADER = "X-Registry-Delivery"
USER_AGENT = "ModelRegistry-Webhooks/1"
DELIVER_TASK = "governance.webhooks.deliver_batch"
MAX_ERROR = 500


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 8))


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2 x base, 4 x base, ... capped."""
    base = float(_setting("WEBHOOK_BACKOFF_SECONDS", 30))
    cap = float(_setting("WEBHOOK_BACKOFF_MAX_SECONDS", 3600))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), cap))


# ---- signing -------------------------------------------------------------------------------


def signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 under `secret` of `<timestamp>.` followed by the body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    header: str,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except (TypeError, ValueError):
        return False
    return age <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), header)


# ---- raising events ------------------------------------------------------------------------


def subscribers(event: str) -> list[Webhook]:
    """Active webhooks subscribed to `event` (few rows: the JSON list is checked in Python)."""
    return [hook for hook in Webhook.objects.filter(active=True) if event in (hook.events or [])]


def _body(event: str, data: dict[str, Any], event_id: uuid.UUID) -> str:
    document = {
        "id": str(event_id),
        "event": event,
        "createdAt": timezone.now().isoformat(),
        "data": data,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)


def emit_many(
    event: str, items: Iterable[dict[str, Any]], *, hooks: list[Webhook] | None = None
) -> list[WebhookDelivery]:
    """Raise `event` once per item: a delivery per subscribed webhook (`hooks`, looked up when
    not given), in bulk, delivered by the worker after the caller's transaction commits
    (nothing is sent if it rolls back)."""
    hooks = subscribers(event) if hooks is None else hooks
    if not hooks:
        return []
    now = timezone.now()
    deliveries = []
    for data in items:
        event_id = uuid.uuid4()
        body = _body(event, data, event_id)
        deliveries.extend(
            WebhookDelivery(
                webhook=hook, event=event, event_id=event_id, body=body, next_attempt_at=now
            )
            for hook in hooks
        )
    created = WebhookDelivery.objects.bulk_create(deliveries, batch_size=500)
    ids = [d.pk for d in created if d.pk is not None]
    if not ids:  # backends that do not return ids from bulk inserts: the schedule delivers
        return created
    transaction.on_commit(
        lambda: async_task(DELIVER_TASK, ids, task_name=f"webhooks: {event} x{len(ids)}")
    )
    return created


def emit(event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    return emit_many(event, [data])


# ---- delivering ----------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow (it would drop the POST body): a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(1024)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _claim(delivery_id: int, now) -> bool:
    """Take the delivery for one attempt, so a retry run and a queued task never both send it:
    its next attempt moves past the longest an attempt can take."""
    lease = now + timedelta(seconds=float(_setting("WEBHOOK_TIMEOUT_SECONDS", 10)) + 60)
    return bool(
        WebhookDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=lease)
    )


def attempt(delivery_id: int, *, now=None) -> bool | None:
    """Make one delivery attempt if it is due; True delivered, False failed, None not due."""
    now = now or timezone.now()
    if not _claim(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").get(pk=delivery_id)
    hook = delivery.webhook
    body = delivery.body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.pk),
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(hook.secret, timestamp, body),
    }
    started = time.perf_counter()
    status_code, error = None, ""
    if not hook.active:
        error = "the webhook was deactivated"
    else:
        try:
            status_code = _post(
                hook.url, body, headers, float(_setting("WEBHOOK_TIMEOUT_SECONDS", 10))
            )
        except Exception as exc:  # any failure to connect or read is a failed attempt
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
    delivered = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not delivered:
        error = f"HTTP {status_code}"
    finished = timezone.now()
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.log = [
        *delivery.log,
        {
            "attempt": delivery.attempts,
            "at": finished.isoformat(),
            "statusCode": status_code,
            "error": error,
            "ms": round((time.perf_counter() - started) * 1000),
        },
    ]
    if delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
            DeliveryStatus.DELIVERED,
            finished,
            None,
        )
    elif delivery.attempts >= max_attempts() or not hook.active:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = finished + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "log",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivered


def deliver_batch(delivery_ids: list[int], *, now=None) -> dict[str, int]:
    """Worker task: attempt these deliveries in order. After a failure to one webhook, the rest
    of its deliveries wait for the retry schedule (a down receiver costs one timeout a run)."""
    counts = {"delivered": 0, "failed": 0, "skipped": 0}
    broken: set[int] = set()
    rows = WebhookDelivery.objects.filter(pk__in=delivery_ids).order_by("created_at", "id")
    for delivery_id, webhook_id in rows.values_list("pk", "webhook_id"):
        if webhook_id in broken:
            counts["skipped"] += 1
            continue
        outcome = attempt(delivery_id, now=now)
        if outcome is None:
            counts["skipped"] += 1
        elif outcome:
            counts["delivered"] += 1
        else:
            counts["failed"] += 1
            broken.add(webhook_id)
    return counts


def deliver_due(*, now=None, limit: int = 500) -> dict[str, int]:
    """Scheduled every minute: every PENDING delivery whose next attempt is due (retries, and
    first attempts whose task was lost)."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    return deliver_batch(due, now=now)


# ---- configuring (the admin calls these) ---------------------------------------------------


def may_manage(user) -> bool:
    """MRC members (the rule in core.access; a superuser writes only what their roles allow)."""
    return is_allowed(user, Action.MANAGE_WEBHOOKS)


def may_view(user) -> bool:
    """Managers, and superusers: they read everything (core.access.superuser_reads)."""
    return may_manage(user) or bool(getattr(user, "is_superuser", False))


def check_fields(fields: dict[str, Any]) -> None:
    """Refuse (Invalid) a URL that is not http(s), unknown events or an empty secret."""
    url = fields.get("url", "")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid("a webhook URL must be http:// or https:// with a host", field="url")
    events = fields.get("events") or []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise Invalid("events must be a list of event names", field="events")
    unknown = sorted(set(events) - set(WebhookEvent.values))
    if unknown:
        raise Invalid(
            f"unknown event(s) {', '.join(unknown)}; events are {', '.join(WebhookEvent.values)}",
            field="events",
        )
    if not str(fields.get("secret", "x")).strip():
        raise Invalid("a webhook needs a secret to sign its payloads", field="secret")


@domain_action(Action.MANAGE_WEBHOOKS)
def save_webhook(webhook: Webhook, *, actor, fields: dict[str, Any]) -> Webhook:
    """Create (webhook without pk) or change a webhook; audited, the secret never written down."""
    authorize(actor, Action.MANAGE_WEBHOOKS)
    check_fields({"url": webhook.url, "events": webhook.events, **fields})
    creating = webhook.pk is None
    before = {} if creating else {f: getattr(webhook, f) for f in fields}
    for name, value in fields.items():
        setattr(webhook, name, value)
    if creating:
        webhook.created_by = actor
    webhook.save()
    changes = {
        name: ("(changed)" if name == "secret" else {"from": before.get(name), "to": value})
        for name, value in fields.items()
        if creating or before.get(name) != value
    }
    record_event(
        EventType.USER_ADMIN,
        "CREATE_WEBHOOK" if creating else "UPDATE_WEBHOOK",
        user=actor,
        details={"webhook": webhook.pk, "name": webhook.name, "changes": changes},
    )
    return webhook


@domain_action(Action.MANAGE_WEBHOOKS)
def retry_deliveries(delivery_ids: Iterable[int], *, actor, now=None) -> list[int]:
    """Make these deliveries due now: the PENDING and FAILED ones among them become PENDING
    with their next attempt now; a FAILED one keeps its count, so it gets one more attempt
    before it is FAILED again (not a fresh round). Audited, one
    event naming them; a refused attempt is audited too. Returns the ids made due."""
    authorize(actor, Action.MANAGE_WEBHOOKS)
    rows = WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).exclude(
        status=DeliveryStatus.DELIVERED
    )
    statuses = dict(rows.values_list("pk", "status"))
    ids = sorted(statuses)
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now or timezone.now()
    )
    record_event(
        EventType.USER_ADMIN,
        "RETRY_WEBHOOK_DELIVERIES",
        user=actor,
        details={
            "deliveries": ids,
            "previouslyFailed": [pk for pk in ids if statuses[pk] == DeliveryStatus.FAILED],
        },
    )
    return ids


def retry_now(delivery_ids: Iterable[int], *, actor) -> dict[str, int]:
    """The admin's "retry now": make them due (audited, above), then attempt them here. The
    attempts run after the retry's transaction: a POST sent cannot be rolled back."""
    return deliver_batch(retry_deliveries(delivery_ids, actor=actor))
