"""Exports of the audit trail page (/audit/export.csv and .jsonl): exact, safe, audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.context import session_fingerprint
from audit.exports import COLUMNS
from audit.models import AuditEvent
from audit.services import record_event, verify_chain
from core.choices import Role

pytestmark = pytest.mark.django_db

IP = "198.51.100.77"
UA = "export-tests/1.0"
T0 = datetime(2025, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def trail(db, monkeypatch) -> list[AuditEvent]:
    rows = [
        (EventType.AUTHENTICATION, AuditAction.LOGIN, "alice", None, None),
        (EventType.MODEL_REGISTRY, AuditAction.REGISTER_MODEL, "alice", 1, None),
        (EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION, "bob", 1, 11),
        (EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION, "bob", 2, 21),
        (EventType.ACCESS_DENIED, AuditAction.CREATE_VERSION, "carol", 2, None),
        (EventType.AUTHENTICATION, AuditAction.LOGOUT, "alice", None, None),
    ]
    events = []
    with monkeypatch.context() as patch:
        for hour, (event_type, action, user, model_id, version_id) in enumerate(rows):
            moment = T0 + timedelta(hours=hour)
            patch.setattr("audit.services.timezone.now", lambda moment=moment: moment)
            events.append(
                record_event(
                    event_type,
                    action,
                    user=user,
                    model_id=model_id,
                    version_id=version_id,
                    details={"hour": hour, "note": 'a,b "quoted"\nline'},
                )
            )
    return events


@pytest.fixture
def auditor_client(users) -> Client:
    client = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=UA)
    client.force_login(users[Role.AUDITOR])
    return client


def body_of(response) -> str:
    assert response.status_code == 200, getattr(response, "content", b"")[:500]
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    text = body_of(response)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert reader.fieldnames == COLUMNS
    return list(reader)


def jsonl_docs(response) -> list[dict]:
    text = body_of(response)
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def ids_where(**filters) -> list[int]:
    return list(AuditEvent.objects.filter(**filters).order_by("seq").values_list("id", flat=True))


FILTERS = [
    ({"eventType": "MODEL_REGISTRY"}, {"event_type": "MODEL_REGISTRY"}),
    ({"eventType": "AUTHENTICATION"}, {"event_type": "AUTHENTICATION"}),
    ({"modelId": "1"}, {"model_id": 1}),
    ({"versionId": "21"}, {"version_id": 21}),
    ({"userId": "bob"}, {"user_id": "bob"}),
    ({"action": "CREATE_VERSION"}, {"action": "CREATE_VERSION"}),
    (
        {"since": "2025-04-01T09:00:00Z", "until": "2025-04-01T11:00:00Z"},
        {"timestamp__gte": T0 + timedelta(hours=1), "timestamp__lte": T0 + timedelta(hours=3)},
    ),
    (
        {"userId": "alice", "eventType": "AUTHENTICATION"},
        {"user_id": "alice", "event_type": "AUTHENTICATION"},
    ),
]


@pytest.mark.parametrize(("query", "orm"), FILTERS)
def test_csv_export_is_exactly_the_filtered_set(trail, auditor_client, query, orm):
    expected = ids_where(**orm)
    assert expected  # each filter matches something
    response = auditor_client.get("/audit/export.csv", query)
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    rows = csv_rows(response)
    assert [int(row["id"]) for row in rows] == expected
    by_id = {e.id: e for e in AuditEvent.objects.filter(id__in=expected)}
    for row in rows:
        event = by_id[int(row["id"])]
        document = event.document()
        assert row["hash"] == event.hash
        assert row["prevHash"] == event.prev_hash
        assert row["timestamp"] == document["timestamp"]
        assert row["userId"] == event.user_id
        assert row["eventType"] == event.event_type
        assert row["modelId"] == ("" if event.model_id is None else str(event.model_id))
        assert json.loads(row["details"]) == event.details


@pytest.mark.parametrize(("query", "orm"), FILTERS)
def test_jsonl_export_is_exactly_the_filtered_set(trail, auditor_client, query, orm):
    expected = ids_where(**orm)
    response = auditor_client.get("/audit/export.jsonl", query)
    assert response["Content-Type"].startswith("application/jsonl")
    assert response["Content-Disposition"] == 'attachment; filename="audit-events.jsonl"'
    documents = jsonl_docs(response)
    assert [d["id"] for d in documents] == expected
    stored = {e.id: e.document() for e in AuditEvent.objects.filter(id__in=expected)}
    assert documents == [stored[i] for i in expected]
    for document in documents:
        assert set(document) == set(COLUMNS)


def test_an_export_matching_nothing_is_just_the_header(trail, auditor_client):
    response = auditor_client.get("/audit/export.csv", {"userId": "nobody"})
    assert body_of(response).splitlines() == [",".join(COLUMNS)]
    assert body_of(auditor_client.get("/audit/export.jsonl", {"userId": "nobody"})) == ""


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_the_export_is_itself_audited(trail, auditor_client, fmt):
    expected = ids_where(event_type="MODEL_REGISTRY")
    body_of(auditor_client.get(f"/audit/export.{fmt}", {"eventType": "MODEL_REGISTRY"}))
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.event_type, event.action) == (EventType.AUDIT_ACCESS, AuditAction.EXPORT_AUDIT)
    assert event.user_id == "auditor"
    assert event.details == {
        "format": fmt,
        "filters": {"eventType": "MODEL_REGISTRY"},
        "count": len(expected),
    }
    assert (event.ip_address, event.user_agent) == (IP, UA)
    assert event.session_id == session_fingerprint(auditor_client.session.session_key)
    assert verify_chain().valid


def test_the_export_contains_exactly_the_events_it_reports_having_exported(trail, auditor_client):
    """The audited count and the file must describe the same set of events.

    Unfiltered, the export is evaluated lazily after its own EXPORT_AUDIT event was written, so
    the file carries one event more than the count the audit trail says was exported.
    """
    before = ids_where()
    rows = csv_rows(auditor_client.get("/audit/export.csv"))
    export = AuditEvent.objects.get(action=AuditAction.EXPORT_AUDIT)
    assert export.details["count"] == len(rows)
    assert [int(row["id"]) for row in rows] == before


@pytest.mark.parametrize(
    "query",
    [{"eventType": "NOPE"}, {"since": "garbage"}, {"modelId": "abc"}, {"until": "2025-13-45"}],
)
def test_an_invalid_filter_does_not_export_the_whole_trail(trail, auditor_client, query):
    """The API answers these with 400; the page export must not silently drop the filter."""
    total = AuditEvent.objects.count()
    response = auditor_client.get("/audit/export.csv", query)
    if response.status_code == 200:
        exported = len(csv_rows(response))
        pytest.fail(f"the bad filter {query} was dropped: exported {exported} of {total} events")
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()


@pytest.mark.parametrize(
    "dangerous",
    ['=HYPERLINK("http://evil.example/","x")', "+1+1", "-2+3", "@SUM(1+1)", "=cmd|' /C calc'!A0"],
)
def test_csv_neutralises_formula_like_values_in_every_text_column(db, auditor_client, dangerous):
    record_event(EventType.REPORT, dangerous, user=dangerous, details=dangerous)
    # details is normally an object (its JSON starts with "{"); a bare string is possible too.
    rows = csv_rows(auditor_client.get("/audit/export.csv", {"eventType": "REPORT"}))
    [row] = rows
    for column in ("userId", "action", "details"):
        assert row[column] == "'" + dangerous, column
    # JSON lines are data, not a spreadsheet: values are kept exactly.
    [document] = jsonl_docs(auditor_client.get("/audit/export.jsonl", {"eventType": "REPORT"}))
    assert (document["userId"], document["action"], document["details"]) == (dangerous,) * 3


def test_csv_neutralises_a_formula_in_the_user_agent(users, model, auditor_client):
    dangerous = '=HYPERLINK("http://evil.example/")'
    client = APIClient(REMOTE_ADDR=IP, HTTP_USER_AGENT=dangerous)
    client.force_authenticate(user=users[Role.MRC])
    assert client.patch(f"/api/v1/models/{model.pk}/", {"description": "x"}).status_code == 403
    rows = csv_rows(auditor_client.get("/audit/export.csv", {"eventType": "ACCESS_DENIED"}))
    assert [row["userAgent"] for row in rows] == ["'" + dangerous]
    assert [row["userId"] for row in rows] == ["mrc"]


@pytest.mark.parametrize("prefix", ["\t", "\r"], ids=["tab", "carriage-return"])
def test_csv_neutralises_values_starting_with_tab_or_carriage_return(db, auditor_client, prefix):
    """OWASP's CSV-injection list also names leading TAB (0x09) and CR (0x0D)."""
    value = prefix + "=1+1"
    record_event(EventType.REPORT, "GENERATE", user=value)
    [row] = csv_rows(auditor_client.get("/audit/export.csv", {"eventType": "REPORT"}))
    assert row["userId"] == "'" + value


def test_csv_keeps_ordinary_values_untouched(db, auditor_client):
    record_event(EventType.REPORT, "GENERATE", user="plain.user", details={"x": "=not-leading"})
    [row] = csv_rows(auditor_client.get("/audit/export.csv", {"eventType": "REPORT"}))
    assert row["userId"] == "plain.user"
    assert row["action"] == "GENERATE"
    assert json.loads(row["details"]) == {"x": "=not-leading"}


@pytest.mark.parametrize("role", [Role.MRC, Role.SECURITY_ARCHITECT, Role.EXECUTIVE])
def test_every_oversight_role_may_export(trail, users, role):
    client = Client()
    client.force_login(users[role])
    documents = jsonl_docs(client.get("/audit/export.jsonl", {"userId": "carol"}))
    assert [d["id"] for d in documents] == ids_where(user_id="carol")
    export = AuditEvent.objects.get(action=AuditAction.EXPORT_AUDIT)
    assert export.user_id == users[role].username


@pytest.mark.parametrize("role", [Role.MODEL_OWNER, Role.SRE])
def test_owner_and_sre_may_not_export(trail, users, role):
    client = Client()
    client.force_login(users[role])
    for url in ("/audit/export.csv", "/audit/export.jsonl"):
        response = client.get(url)
        assert response.status_code == 403
        assert not response.streaming
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).exists()
    refusals = AuditEvent.objects.filter(
        event_type=EventType.ACCESS_DENIED, user_id=users[role].username
    )
    assert refusals.count() == 2


def test_anonymous_export_goes_to_the_login_page(trail):
    response = Client().get("/audit/export.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert AuditEvent.objects.count() == len(trail)


def test_the_trail_page_lists_the_filtered_events_newest_first(trail, auditor_client):
    response = auditor_client.get("/audit/", {"eventType": "MODEL_REGISTRY", "modelId": "1"})
    assert response.status_code == 200
    shown = [event.id for event in response.context["page"].object_list]
    assert shown == list(reversed(ids_where(event_type="MODEL_REGISTRY", model_id=1)))
    # The export links carry the same filters.
    assert b"/audit/export.csv?eventType=MODEL_REGISTRY&amp;modelId=1" in response.content
