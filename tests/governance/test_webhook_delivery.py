"""Outgoing webhooks against a real receiver on loopback: signed JSON arrives, a failing receiver
is retried with exponential back-off until it answers (or the attempts run out), and every
attempt is in the delivery log."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from django_q.conf import Conf

from core.choices import Role
from governance import webhooks
from governance.choices import NotificationKind, WebhookEvent
from governance.models import Webhook, WebhookDelivery
from governance.notifications import notify

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests"


class Receiver:
    """An HTTP server on 127.0.0.1 (ephemeral port) answering the queued status codes (then
    200) and keeping every request it got."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/registry"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sync_worker(settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def hook(url, events=(WebhookEvent.SECURITY_ISSUE,), **fields) -> Webhook:
    return Webhook.objects.create(
        name="SIEM", url=url, secret=SECRET, events=list(events), **fields
    )


def test_a_signed_event_arrives_at_the_receiver(
    users, sync_worker, django_capture_on_commit_callbacks
):
    with Receiver() as receiver:
        hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            notify(
                [users[Role.SECURITY_ARCHITECT]],
                kind=NotificationKind.SECURITY_ISSUE,
                message="Security issue: fraud-detector 1.0.0",
                details={"artifact": {"name": "model.onnx"}},
            )
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    headers = got["headers"]
    assert got["path"] == "/hooks/registry"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Registry-Event"] == "security.issue"
    assert headers["X-Registry-Signature"].startswith("sha256=")
    assert webhooks.verify_signature(
        SECRET,
        timestamp=headers["X-Registry-Timestamp"],
        body=got["body"],
        header=headers["X-Registry-Signature"],
    )
    # a tampered body, another secret or an old timestamp do not verify
    assert not webhooks.verify_signature(
        SECRET,
        timestamp=headers["X-Registry-Timestamp"],
        body=got["body"] + b" ",
        header=headers["X-Registry-Signature"],
    )
    assert not webhooks.verify_signature(
        "other",
        timestamp=headers["X-Registry-Timestamp"],
        body=got["body"],
        header=headers["X-Registry-Signature"],
    )
    assert not webhooks.verify_signature(
        SECRET,
        timestamp=headers["X-Registry-Timestamp"],
        body=got["body"],
        header=headers["X-Registry-Signature"],
        now=int(headers["X-Registry-Timestamp"]) + 3600,
    )
    payload = json.loads(got["body"])
    assert payload["event"] == "security.issue"
    assert payload["data"]["message"] == "Security issue: fraud-detector 1.0.0"
    assert payload["data"]["artifact"] == {"name": "model.onnx"}
    delivery = WebhookDelivery.objects.get()
    assert str(delivery.pk) == headers["X-Registry-Delivery"]
    assert str(delivery.event_id) == payload["id"]
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("DELIVERED", 1, 200)
    assert delivery.log[0]["statusCode"] == 200


def test_a_failing_receiver_is_retried_with_back_off(
    users, sync_worker, django_capture_on_commit_callbacks
):
    with Receiver(statuses=[500, 503]) as receiver:
        hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.emit(WebhookEvent.SECURITY_ISSUE, {"message": "retry me"})
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
            "PENDING",
            1,
            500,
        )
        first_wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=25) < first_wait <= timedelta(seconds=30)
        # not due yet: nothing is sent
        assert webhooks.deliver_due()["delivered"] == 0
        assert len(receiver.requests) == 1

        webhooks.deliver_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (
            2,
            503,
            "HTTP 503",
        )
        second_wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=55) < second_wait <= timedelta(seconds=60)  # doubled

        assert webhooks.deliver_due(now=delivery.next_attempt_at)["delivered"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("DELIVERED", 3)
    assert [entry["statusCode"] for entry in delivery.log] == [500, 503, 200]
    # every retry sent the same body, signed afresh
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1 and len(receiver.requests) == 3
    for got in receiver.requests:
        assert webhooks.verify_signature(
            SECRET,
            timestamp=got["headers"]["X-Registry-Timestamp"],
            body=got["body"],
            header=got["headers"]["X-Registry-Signature"],
        )


def test_attempts_run_out_and_redirects_or_dead_receivers_fail(
    users, settings, sync_worker, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with Receiver(statuses=[302, 500, 500]) as receiver:
        hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.emit(WebhookEvent.SECURITY_ISSUE, {"message": "doomed"})
        delivery = WebhookDelivery.objects.get()
        assert (delivery.last_status_code, delivery.status) == (302, "PENDING")
        webhooks.deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("FAILED", 2, None)
    assert len(receiver.requests) == 2  # the redirect was not followed

    # nobody listening on the port: a connection error is a failed attempt with its reason
    Webhook.objects.update(active=False)
    dead = hook(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.emit(WebhookEvent.SECURITY_ISSUE, {"message": "nobody home"})
    attempt = WebhookDelivery.objects.get(webhook=dead)
    assert attempt.status == "PENDING"
    assert attempt.last_status_code is None
    assert "Error" in attempt.last_error


def test_only_active_subscribed_webhooks_get_events(users):
    security = hook("http://127.0.0.1:9/a")
    hook("http://127.0.0.1:9/b", active=False)
    violations = hook("http://127.0.0.1:9/c", events=[WebhookEvent.VIOLATION_OPENED])
    webhooks.emit(WebhookEvent.SECURITY_ISSUE, {"message": "x"})
    webhooks.emit_many(WebhookEvent.VIOLATION_OPENED, [{"n": 1}, {"n": 2}])
    webhooks.emit(WebhookEvent.EXCEPTION_EXPIRED, {"message": "nobody listens"})
    assert sorted(WebhookDelivery.objects.values_list("webhook_id", "event")) == sorted(
        [
            (security.pk, "security.issue"),
            (violations.pk, "violation.opened"),
            (violations.pk, "violation.opened"),
        ]
    )
