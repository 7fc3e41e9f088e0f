"""No write outside a domain function (issue 11, point 3): retrying webhook deliveries, issuing
API tokens, marking notifications read and requesting reports from the command line go through
their domain functions; the system is an explicit actor; a superuser reads everything and
writes only what their roles allow."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token

from audit.models import AuditEvent, Report, ReportKind, ReportStatus
from audit.reports import services as report_services
from core.access import SYSTEM, authorize, is_allowed, refusal
from core.choices import Action, Role
from core.errors import Forbidden
from governance import webhooks
from governance.choices import DeliveryStatus, WebhookEvent
from governance.models import Notification, Webhook, WebhookDelivery
from governance.notifications import mark_read
from governance.users import issue_token
from tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"


def delivery(status=DeliveryStatus.FAILED, **fields) -> WebhookDelivery:
    # An inactive webhook: an attempt fails at once, without the network.
    hook = Webhook.objects.create(
        name="SIEM",
        url="http://127.0.0.1:9/x",
        secret="s",
        events=[WebhookEvent.SECURITY_ISSUE],
        active=False,
    )
    return WebhookDelivery.objects.create(
        webhook=hook,
        event=WebhookEvent.SECURITY_ISSUE,
        event_id=uuid.uuid4(),
        body="{}",
        status=status,
        attempts=8,
        **fields,
    )


def superuser(make_user, *roles):
    return make_user(*roles, username="root", is_superuser=True, is_staff=True)


# ---- webhook retries ---------------------------------------------------------------------


def test_retrying_a_failed_delivery_is_audited(users):
    failed = delivery()
    made_due = webhooks.retry_deliveries([failed.pk], actor=users[Role.MRC])
    assert made_due == [failed.pk]
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.PENDING
    event = AuditEvent.objects.get(action="RETRY_WEBHOOK_DELIVERIES")
    assert event.user_id == users[Role.MRC].username
    assert event.details["previouslyFailed"] == [failed.pk]


def test_a_refused_retry_changes_nothing_and_is_audited(users):
    failed = delivery()
    with pytest.raises(Forbidden):
        webhooks.retry_deliveries([failed.pk], actor=users[Role.SRE])
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED
    assert AuditEvent.objects.filter(
        event_type="ACCESS_DENIED", action=Action.MANAGE_WEBHOOKS, user_id=users[Role.SRE].username
    ).exists()


def test_the_admin_action_shows_a_refusal_and_leaves_the_delivery_failed(client, make_user):
    failed = delivery()
    root = superuser(make_user)  # sees the deliveries, holds no role: may not retry them
    client.force_login(root)
    response = client.post(
        "/admin/governance/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "Not retried" in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED
    assert AuditEvent.objects.filter(event_type="ACCESS_DENIED", user_id="root").exists()


def test_the_admin_action_retries_for_an_mrc_member(client, users):
    failed = delivery()
    mrc = users[Role.MRC]
    client.force_login(mrc)
    response = client.post(
        "/admin/governance/webhookdelivery/",
        {"action": "retry_now", "_selected_action": [failed.pk]},
        follow=True,
    )
    assert "Retried" in response.content.decode()
    failed.refresh_from_db()
    assert failed.attempts == 9  # attempted once more (and failed: the webhook is inactive)
    assert AuditEvent.objects.filter(action="RETRY_WEBHOOK_DELIVERIES").count() == 1


def test_a_superuser_without_the_role_may_not_save_a_webhook(make_user):
    root = superuser(make_user)
    with pytest.raises(Forbidden):
        webhooks.save_webhook(
            Webhook(),
            actor=root,
            fields={"name": "x", "url": "https://example.com/h", "secret": "s", "events": []},
        )
    assert not Webhook.objects.exists()
    assert webhooks.may_view(root) and not webhooks.may_manage(root)


# ---- superusers (V9) -----------------------------------------------------------------------


def test_a_superuser_reads_everything_and_writes_only_what_their_roles_allow(make_user, users):
    root = superuser(make_user)
    assert is_allowed(root, Action.VIEW_AUDIT)
    assert is_allowed(root, Action.READ_REPORTS)
    # Generating a report is no write by the contract's rule (auditors may): a superuser may.
    assert is_allowed(root, Action.GENERATE_REPORT)
    assert not is_allowed(root, Action.WRITE_POLICY)
    assert not is_allowed(root, Action.MANAGE_WEBHOOKS)
    mrc_root = make_user(Role.MRC, username="mrc-root", is_superuser=True)
    assert is_allowed(mrc_root, Action.MANAGE_WEBHOOKS)


# ---- the system as an actor ------------------------------------------------------------------


def test_the_system_may_only_do_what_a_schedule_does():
    assert refusal(SYSTEM, Action.GENERATE_REPORT) is None
    for action in (Action.MANAGE_WEBHOOKS, Action.WRITE_POLICY, Action.DEPLOY_VERSION):
        with pytest.raises(Forbidden):
            authorize(SYSTEM, action)


def test_nobody_skips_the_check_by_passing_no_actor():
    with pytest.raises(Forbidden):
        report_services.request_report(ReportKind.MONTHLY_COMPLIANCE, "2026-10", actor=None)
    assert not Report.objects.exists()


def test_a_scheduled_report_is_requested_by_the_system(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        report_services.generate_scheduled_report(ReportKind.MONTHLY_COMPLIANCE)
    report = Report.objects.get()
    assert report.requested_by is None
    event = AuditEvent.objects.get(action=report_services.REQUEST_ACTION)
    assert event.user_id == "system"
    assert event.details["reportId"] == report.pk


# ---- the generate_report command ---------------------------------------------------------


def test_the_command_requests_its_report_and_joins_one_queued(monkeypatch, users):
    generated = []
    monkeypatch.setattr(
        "audit.management.commands.generate_report.generate_report",
        lambda pk: (
            generated.append(pk) or Report.objects.filter(pk=pk).update(status=ReportStatus.DONE)
        ),
    )
    queued = report_services.request_report(
        ReportKind.MONTHLY_COMPLIANCE, "2026-10", actor=users[Role.MRC]
    )
    call_command("generate_report", ReportKind.MONTHLY_COMPLIANCE, "2026-10")
    assert generated == [queued.pk]  # the queued one, not a second report
    assert Report.objects.count() == 1
    requests = AuditEvent.objects.filter(action=report_services.REQUEST_ACTION).order_by("seq")
    assert [e.user_id for e in requests] == [users[Role.MRC].username, "system"]
    assert requests.last().details["joinedQueued"] is True


# ---- tokens and notifications ---------------------------------------------------------------


def test_issuing_a_token_is_a_domain_function_and_audited(make_user):
    person = make_user(Role.SRE, username="sam")
    token = issue_token(person)
    assert issue_token(person).key == token.key
    assert Token.objects.filter(user=person).count() == 1
    assert AuditEvent.objects.filter(action="TOKEN_ISSUED", user_id="sam").count() == 2


def test_the_token_view_calls_issue_token(client, make_user, monkeypatch):
    person = make_user(Role.SRE, username="sam")
    person.set_password(PASSWORD)
    person.save()
    called = []
    import governance.api.views as token_views

    real = token_views.issue_token
    monkeypatch.setattr(token_views, "issue_token", lambda user: called.append(user) or real(user))
    response = client.post(
        "/api/v1/auth/token/",
        {"username": "sam", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert called == [person]


def test_mark_read_marks_only_the_users_own(make_user):
    me, other = make_user(username="me"), make_user(username="other")
    mine = NotificationFactory.create_batch(2, user=me)
    theirs = NotificationFactory(user=other)
    assert mark_read(me, ids=[mine[0].pk, theirs.pk]) == 1
    assert mark_read(me) == 1
    assert mark_read(me) == 0
    assert not Notification.objects.filter(user=me, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert not AuditEvent.objects.exists()  # a read receipt is no governance state change


@pytest.mark.parametrize("where", ["page", "api-one", "api-all"])
def test_the_views_mark_read_through_the_domain_function(client, make_user, monkeypatch, where):
    me = make_user(username="me")
    note = NotificationFactory(user=me)
    calls = []
    import governance.api.workflow_views as api_views
    import governance.views as page_views

    for module in (page_views, api_views):
        real = module.mark_read
        monkeypatch.setattr(
            module,
            "mark_read",
            lambda user, ids=None, real=real: calls.append(ids) or real(user, ids),
        )
    client.force_login(me)
    url = {
        "page": "/notifications/",
        "api-one": f"/api/v1/notifications/{note.pk}/read/",
        "api-all": "/api/v1/notifications/read-all/",
    }[where]
    client.post(url)
    assert len(calls) == 1
    note.refresh_from_db()
    assert note.read_at is not None
    assert note.read_at <= timezone.now()


def test_creating_a_user_from_the_command_line_is_by_the_system():
    call_command("create_user", "newcomer", "--role", Role.SRE, stdout=io.StringIO())
    event = AuditEvent.objects.get(action="CREATE_USER")
    assert event.user_id == "system"
