"""The audit trail in the Django admin: read-only, and its export is the filtered changelist."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client

from audit.choices import AuditAction, EventType
from audit.exports import COLUMNS
from audit.models import AuditEvent
from audit.services import record_event, verify_chain
from core.choices import Role

pytestmark = pytest.mark.django_db

ADMIN = "/admin/audit/auditevent/"


@pytest.fixture
def trail(db) -> list[AuditEvent]:
    return [
        record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="alice"),
        record_event(EventType.MODEL_REGISTRY, AuditAction.REGISTER_MODEL, user="bob", model_id=4),
        record_event(EventType.AUTHENTICATION, AuditAction.LOGIN_FAILED, details={"username": "x"}),
        record_event(
            EventType.MODEL_REGISTRY,
            AuditAction.CREATE_VERSION,
            user="bob",
            model_id=4,
            version_id=9,
            details={"note": "<script>alert(1)</script>"},
        ),
        record_event(EventType.AUTHENTICATION, AuditAction.LOGOUT, user="alice"),
    ]


@pytest.fixture
def staff_auditor(users) -> Client:
    auditor = users[Role.AUDITOR]
    assert auditor.is_staff
    client = Client()
    client.force_login(auditor)  # itself an AUTHENTICATION/LOGIN event
    return client


def streamed(response) -> str:
    assert response.status_code == 200, response
    return b"".join(response.streaming_content).decode()


def ids_where(**filters) -> list[int]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("id", flat=True))


def test_admin_csv_export_is_just_the_filtered_changelist(trail, staff_auditor):
    expected = ids_where(event_type=EventType.AUTHENTICATION)
    assert len(expected) == 4  # three from the trail and the auditor's own login
    response = staff_auditor.get(f"{ADMIN}export.csv?event_type__exact=AUTHENTICATION")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(streamed(response), newline="")))
    assert [int(row["id"]) for row in rows] == expected
    assert {row["eventType"] for row in rows} == {"AUTHENTICATION"}

    export = AuditEvent.objects.order_by("-seq").first()
    assert (export.event_type, export.action) == (EventType.AUDIT_ACCESS, AuditAction.EXPORT_AUDIT)
    assert export.user_id == "auditor"
    assert export.details == {
        "format": "csv",
        "filters": {"event_type__exact": "AUTHENTICATION"},
        "count": len(expected),
    }
    assert verify_chain().valid


@pytest.mark.parametrize(
    ("query", "orm"),
    [
        ("event_type__exact=MODEL_REGISTRY", {"event_type": "MODEL_REGISTRY"}),
        ("action__exact=LOGIN", {"action": "LOGIN"}),
        ("q=bob", {"user_id": "bob"}),
        ("q=9", {"version_id": 9}),
        (
            "event_type__exact=AUTHENTICATION&q=alice",
            {"event_type": "AUTHENTICATION", "user_id": "alice"},
        ),
        ("event_type__exact=REPORT", {"event_type": "REPORT"}),
    ],
)
def test_admin_jsonl_export_follows_filters_and_search(trail, staff_auditor, query, orm):
    expected = ids_where(**orm)
    text = streamed(staff_auditor.get(f"{ADMIN}export.jsonl?{query}"))
    assert [json.loads(line)["id"] for line in text.splitlines()] == expected


def test_admin_changelist_loads_and_links_the_filtered_exports(trail, staff_auditor):
    response = staff_auditor.get(f"{ADMIN}?event_type__exact=MODEL_REGISTRY")
    assert response.status_code == 200
    listed = [event.id for event in response.context["cl"].result_list]
    assert listed == list(reversed(ids_where(event_type="MODEL_REGISTRY")))
    content = response.content.decode()
    assert f"{ADMIN}export.csv?event_type__exact=MODEL_REGISTRY" in content
    assert f"{ADMIN}export.jsonl?event_type__exact=MODEL_REGISTRY" in content
    assert f'href="{ADMIN}add/"' not in content


def test_admin_change_page_is_read_only(trail, staff_auditor):
    event = trail[3]
    response = staff_auditor.get(f"{ADMIN}{event.id}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="_save"' not in content
    assert 'name="_continue"' not in content
    assert "deletelink" not in content
    assert f"{ADMIN}{event.id}/delete/" not in content
    assert response.context["has_change_permission"] is False
    assert response.context["has_delete_permission"] is False
    # details are shown pretty-printed, and escaped.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content


def test_admin_cannot_add_change_or_delete_an_event(trail, staff_auditor):
    event = trail[1]
    assert staff_auditor.get(f"{ADMIN}add/").status_code == 403
    assert staff_auditor.post(f"{ADMIN}add/", {"user_id": "x"}).status_code == 403
    assert (
        staff_auditor.post(
            f"{ADMIN}{event.id}/change/", {"user_id": "mallory", "action": "X"}
        ).status_code
        == 403
    )
    assert staff_auditor.get(f"{ADMIN}{event.id}/delete/").status_code == 403
    assert staff_auditor.post(f"{ADMIN}{event.id}/delete/", {"post": "yes"}).status_code == 403
    response = staff_auditor.post(
        ADMIN, {"action": "delete_selected", "_selected_action": [e.id for e in trail]}
    )
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.filter(id__in=[e.id for e in trail]).count() == len(trail)
    assert AuditEvent.objects.get(pk=event.pk).user_id == "bob"
    assert verify_chain().valid


def test_admin_export_needs_a_staff_account(trail, users):
    client = Client()
    client.force_login(users[Role.SRE])
    assert not users[Role.SRE].is_staff
    response = client.get(f"{ADMIN}export.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()


def test_admin_csv_export_header_is_the_documented_columns(trail, staff_auditor):
    text = streamed(staff_auditor.get(f"{ADMIN}export.csv?event_type__exact=REPORT"))
    assert text.splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize("query", ["bogus=1", "timestamp__gte=not-a-date"])
def test_admin_export_with_a_bad_lookup_is_refused_like_the_changelist(trail, users, query):
    """The changelist answers a bad lookup with a redirect to ?e=1; its export must not 500."""
    client = Client(raise_request_exception=False)
    client.force_login(users[Role.AUDITOR])
    assert client.get(f"{ADMIN}?{query}").status_code == 302
    response = client.get(f"{ADMIN}export.csv?{query}")
    assert response.status_code in (302, 400), response.status_code
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()
