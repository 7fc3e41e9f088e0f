"""Auditors' export of the audit trail: filtered JSON lines and CSV, streamed in constant
memory (the peak for 20,000 events is that of 2,000), through the pages, the admin and
`GET /api/v1/audit-events/export/`; every export is itself an audit event."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc

import pytest
from django.db import transaction
from django.utils import timezone

from audit.exports import csv_lines, jsonl_lines
from audit.models import AuditChainHead, AuditEvent, chain_hash, event_content
from core.choices import Role

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit-events/export/"


def append_events(count: int, *, start: int = 0) -> None:
    """Append `count` chained events in bulk, as record_event would one by one."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        seq, prev = head.seq, head.hash
        events = []
        now = timezone.now()
        for i in range(start, start + count):
            seq += 1
            fields = {
                "seq": seq,
                "timestamp": now,
                "event_type": "MODEL_REGISTRY" if i % 2 else "MODEL_PROMOTION",
                "user_id": f"user{i % 7}",
                "model_id": i % 50,
                "version_id": i % 200,
                "action": "UPDATE_VERSION" if i % 2 else "SUBMIT",
                "details": {"n": i, "comments": "x" * 200, "nested": {"a": [1, 2, 3]}},
                "ip_address": "198.51.100.7",
                "user_agent": "memory-test/1.0",
                "session_id": "s" * 16,
            }
            event = AuditEvent(**fields, prev_hash=prev)
            event.hash = chain_hash(prev, event_content(**fields))
            prev = event.hash
            events.append(event)
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        AuditChainHead.objects.filter(pk=1).update(seq=seq, hash=prev)


def peak_bytes(lines) -> tuple[int, int]:
    """Consume the stream as a response would (writing and forgetting each chunk)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    written = 0
    for chunk in lines:
        written += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, written


def test_memory_stays_flat_from_2000_to_20000_events():
    """The export holds at most two chunks of 2,000 rows (the one being written and the one
    being fetched), however many events there are: JSON lines and CSV alike."""
    streams = {"jsonl": jsonl_lines, "csv": csv_lines}
    peaks: dict[tuple[str, int], int] = {}
    written: dict[tuple[str, int], int] = {}
    total = 0
    for size in (2_000, 20_000):
        append_events(size - total, start=total)
        total = size
        for name, stream in streams.items():
            peaks[name, size], written[name, size] = peak_bytes(stream(AuditEvent.objects.all()))
    for name in streams:
        assert written[name, 20_000] > 9 * written[name, 2_000]  # ten times the data ...
        # ... and a peak of at most two chunks (2,000 events are one).
        assert peaks[name, 20_000] < peaks[name, 2_000] * 2.2 + 512 * 1024, (name, peaks)
        # ... and well below the size of the export itself: it is never held whole.
        assert peaks[name, 20_000] < written[name, 20_000] / 2, (name, peaks, written)


@pytest.fixture
def trail():
    append_events(300)


def body(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def test_api_export_jsonl_is_filtered_and_audited(api, users, trail):
    response = api(users[Role.AUDITOR]).get(URL, {"versionId": 7, "eventType": "MODEL_REGISTRY"})
    assert response["Content-Type"] == "application/jsonl"
    lines = [json.loads(line) for line in body(response).splitlines()]
    expected = AuditEvent.objects.filter(version_id=7, event_type="MODEL_REGISTRY").order_by("seq")
    assert [line["seq"] for line in lines] == list(expected.values_list("seq", flat=True))
    assert lines and all(line["versionId"] == 7 for line in lines)
    assert {"seq", "prevHash", "hash", "eventType", "details"} <= set(lines[0])
    export = AuditEvent.objects.order_by("-seq").first()
    assert (export.event_type, export.action) == ("AUDIT_ACCESS", "EXPORT_AUDIT")
    assert export.details["count"] == len(lines)
    assert export.details["filters"] == {"versionId": "7", "eventType": "MODEL_REGISTRY"}
    assert export.details["format"] == "jsonl"


def test_api_export_csv(api, users, trail):
    response = api(users[Role.MRC]).get(URL, {"format": "csv", "userId": "user3"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(body(response), newline="")))
    assert len(rows) == AuditEvent.objects.filter(user_id="user3").count() > 0
    assert all(row["userId"] == "user3" for row in rows)
    assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "xml"}, "format"),
        ({"versionId": "abc"}, "versionId"),
        ({"since": "yesterday"}, "since"),
        ({"eventType": "NOPE"}, "eventType"),
    ],
)
def test_api_export_refuses_bad_filters(api, users, trail, query, field):
    response = api(users[Role.AUDITOR]).get(URL, query)
    assert response.status_code == 400
    assert field in response.json()


def test_api_export_needs_a_reading_role(api, users, trail):
    assert api(users[Role.MODEL_OWNER]).get(URL).status_code == 403
    assert api(users[Role.SRE]).get(URL, {"format": "csv"}).status_code == 403
    assert api().get(URL).status_code == 401
    # The export route is not taken for an event id.
    some = AuditEvent.objects.order_by("seq").first()
    detail = api(users[Role.AUDITOR]).get(f"/api/v1/audit-events/{some.pk}/")
    assert detail.status_code == 200 and detail.json()["seq"] == some.seq
