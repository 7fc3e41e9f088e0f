"""Reports through the API, the pages, the admin and the worker: who may request and read
them, strict kind/period validation, generation in django-q2, storage with SHA-256, generator
version and parameters, schedules, and an audit event for each step."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule

from audit import checkpoints, signing
from audit.models import AuditCheckpoint, AuditEvent, Report
from audit.reports import services
from audit.reports.periods import PeriodError, last_complete_period, parse_period
from core.choices import Role

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def sync_worker(settings, monkeypatch):
    """django-q2 runs the task in the calling process (Q_CLUSTER["sync"])."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    monkeypatch.setattr(Conf, "SYNC", True)


def last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-seq").first()


# ---- periods ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "period", "start", "end"),
    [
        ("MONTHLY_COMPLIANCE", "2026-10", (2026, 10, 1), (2026, 11, 1)),
        ("MONTHLY_COMPLIANCE", "2025-12", (2025, 12, 1), (2026, 1, 1)),
        ("QUARTERLY_RISK", "2026-Q3", (2026, 7, 1), (2026, 10, 1)),
        ("QUARTERLY_RISK", "2025-Q4", (2025, 10, 1), (2026, 1, 1)),
        ("ANNUAL_AUDIT", "2025", (2025, 1, 1), (2026, 1, 1)),
    ],
)
def test_periods(kind, period, start, end):
    parsed = parse_period(kind, period, now=NOW)
    assert parsed.start == datetime(*start, tzinfo=UTC)
    assert parsed.end == datetime(*end, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "period", "message"),
    [
        ("MONTHLY_COMPLIANCE", "2026-Q3", "YYYY-MM"),
        ("MONTHLY_COMPLIANCE", "2026", "YYYY-MM"),
        ("MONTHLY_COMPLIANCE", "2026-13", "01 to 12"),
        ("MONTHLY_COMPLIANCE", "2026-00", "01 to 12"),
        ("MONTHLY_COMPLIANCE", "2026-1", "YYYY-MM"),
        ("QUARTERLY_RISK", "2026-10", "YYYY-Qn"),
        ("QUARTERLY_RISK", "2026-Q5", "Q1 to Q4"),
        ("QUARTERLY_RISK", "2026-q3", "YYYY-Qn"),
        ("ANNUAL_AUDIT", "2026-10", "YYYY"),
        ("ANNUAL_AUDIT", "1999", "between"),
        ("ANNUAL_AUDIT", "2027", "not started"),
        ("MONTHLY_COMPLIANCE", "2026-12", "not started"),
        ("MONTHLY_COMPLIANCE", " 2026-10", "YYYY-MM"),
    ],
)
def test_period_refusals_name_the_problem(kind, period, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(kind, period, now=NOW)


def test_last_complete_periods():
    assert last_complete_period("MONTHLY_COMPLIANCE", NOW).label == "2026-10"
    assert last_complete_period("QUARTERLY_RISK", NOW).label == "2026-Q3"
    assert last_complete_period("ANNUAL_AUDIT", NOW).label == "2025"
    january = datetime(2027, 1, 1, 2, tzinfo=UTC)
    assert last_complete_period("MONTHLY_COMPLIANCE", january).label == "2026-12"
    assert last_complete_period("QUARTERLY_RISK", january).label == "2026-Q4"


# ---- the API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MRC, Role.AUDITOR])
def test_mrc_and_auditors_request_reports(api, users, role, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(users[role]).post(
            URL, {"kind": "MONTHLY_COMPLIANCE", "period": "2026-10"}, format="json"
        )
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "QUEUED" and body["kind"] == "MONTHLY_COMPLIANCE"
    assert body["period"] == "2026-10" and body["requestedBy"] == users[role].username
    for key in (
        "id",
        "sha256",
        "downloadUrl",
        "generatorVersion",
        "parameters",
        "createdAt",
        "finishedAt",
        "error",
    ):
        assert key in body
    assert body["downloadUrl"] is None
    assert len(callbacks) == 1  # the worker is asked only once the request is committed
    event = last_event("REQUEST_REPORT")
    assert event.user_id == users[role].username and event.details["reportId"] == body["id"]


@pytest.mark.parametrize(
    "role", [Role.SECURITY_ARCHITECT, Role.EXECUTIVE, Role.SRE, Role.MODEL_OWNER]
)
def test_other_roles_may_not_request(api, users, role):
    response = api(users[role]).post(URL, {"kind": "ANNUAL_AUDIT", "period": "2025"}, format="json")
    assert response.status_code == 403
    assert "generate reports" in response.json()["detail"]
    assert not Report.objects.exists()
    assert last_event("GENERATE_REPORT").event_type == "ACCESS_DENIED"


def test_anonymous_gets_401(api):
    assert (
        api().post(URL, {"kind": "ANNUAL_AUDIT", "period": "2025"}, format="json").status_code
        == 401
    )
    assert api().get(URL).status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "WEEKLY", "period": "2026-10"}, "kind"),
        ({"kind": "MONTHLY_COMPLIANCE", "period": "2026-Q3"}, "period"),
        ({"kind": "QUARTERLY_RISK", "period": "2026"}, "period"),
        ({"kind": "ANNUAL_AUDIT", "period": "2026-10"}, "period"),
        ({"kind": "ANNUAL_AUDIT", "period": 2025}, "period"),
        ({"kind": "ANNUAL_AUDIT"}, "period"),
        ({"period": "2025"}, "kind"),
        ({"kind": "ANNUAL_AUDIT", "period": "2025", "format": "pdf"}, "format"),
        ({"kind": "ANNUAL_AUDIT", "period": "9" * 10_000}, "period"),
        ({"kind": ["ANNUAL_AUDIT"], "period": "2025"}, "kind"),
        ({"kind": "MONTHLY_COMPLIANCE", "period": "2999-01"}, "period"),
    ],
)
def test_invalid_requests_are_400_naming_the_field(api, users, body, field):
    response = api(users[Role.MRC]).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Report.objects.exists()


@pytest.mark.parametrize("payload", ["[]", "null", '"x"', "{", "1e999"])
def test_malformed_bodies_are_400(api, users, payload):
    response = api(users[Role.AUDITOR]).post(URL, payload, content_type="application/json")
    assert response.status_code == 400


def test_requests_join_an_identical_queued_report(api, users):
    first = api(users[Role.MRC]).post(
        URL, {"kind": "ANNUAL_AUDIT", "period": "2025"}, format="json"
    )
    second = api(users[Role.AUDITOR]).post(
        URL, {"kind": "ANNUAL_AUDIT", "period": "2025"}, format="json"
    )
    assert first.json()["id"] == second.json()["id"]
    assert Report.objects.count() == 1
    assert last_event("REQUEST_REPORT").details["joinedQueued"] is True


def test_generated_in_the_worker_stored_and_downloadable(
    api, users, sync_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api(users[Role.AUDITOR]).post(
            URL, {"kind": "QUARTERLY_RISK", "period": "2026-Q3"}, format="json"
        )
    assert created.status_code == 202
    report_id = created.json()["id"]
    body = api(users[Role.EXECUTIVE]).get(f"{URL}{report_id}/").json()
    assert body["status"] == "DONE", body["error"]
    assert body["finishedAt"] and len(body["sha256"]) == 64
    assert body["generatorVersion"].startswith("model-registry-reports/")
    assert "WeasyPrint" in body["generatorVersion"]
    parameters = body["parameters"]
    assert parameters["kind"] == "QUARTERLY_RISK" and parameters["period"] == "2026-Q3"
    assert parameters["periodStart"].startswith("2026-07-01")
    assert parameters["periodEnd"].startswith("2026-10-01")
    assert "auditChainHead" in parameters
    assert body["downloadUrl"].endswith(f"/api/v1/reports/{report_id}/download/")

    for role in (Role.MRC, Role.AUDITOR, Role.EXECUTIVE, Role.SECURITY_ARCHITECT):
        response = api(users[role]).get(body["downloadUrl"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        content = b"".join(response.streaming_content)
        assert content.startswith(b"%PDF-")
        assert hashlib.sha256(content).hexdigest() == body["sha256"]
    assert api(users[Role.SRE]).get(body["downloadUrl"]).status_code == 403
    assert api(users[Role.MODEL_OWNER]).get(f"{URL}{report_id}/").status_code == 403

    generated = last_event("GENERATE_REPORT")
    assert generated.event_type == "REPORT" and generated.user_id == "system"
    assert generated.details["sha256"] == body["sha256"]
    assert generated.details["requestedBy"] == users[Role.AUDITOR].username
    assert last_event("DOWNLOAD_REPORT").details["reportId"] == report_id


def test_list_and_not_yet_done(api, users):
    api(users[Role.MRC]).post(URL, {"kind": "ANNUAL_AUDIT", "period": "2025"}, format="json")
    listing = api(users[Role.SECURITY_ARCHITECT]).get(URL).json()
    assert listing["count"] == 1 and listing["results"][0]["status"] == "QUEUED"
    report_id = listing["results"][0]["id"]
    assert api(users[Role.MRC]).get(URL, {"kind": "ANNUAL_AUDIT"}).json()["count"] == 1
    assert api(users[Role.MRC]).get(URL, {"status": "DONE"}).json()["count"] == 0
    assert api(users[Role.MRC]).get(URL, {"kind": "WEEKLY"}).status_code == 400
    response = api(users[Role.AUDITOR]).get(f"{URL}{report_id}/download/")
    assert response.status_code == 409
    assert response.json()["state"] == "QUEUED"
    assert api(users[Role.AUDITOR]).get(f"{URL}999999/download/").status_code == 404
    assert api(users[Role.AUDITOR]).get(f"{URL}999999/").status_code == 404
    assert api(users[Role.MRC]).delete(f"{URL}{report_id}/").status_code == 405
    assert api(users[Role.MRC]).patch(f"{URL}{report_id}/", {}, format="json").status_code == 405


def test_a_failed_generation_is_stored_and_audited(users, monkeypatch):
    report = services.request_report("ANNUAL_AUDIT", "2025", actor=users[Role.MRC])

    def explode(*args, **kwargs):
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(services, "render_pdf", explode)
    assert services.generate_report(report.pk) == "ERROR"
    report.refresh_from_db()
    assert report.status == "ERROR" and "renderer exploded" in report.error
    assert report.finished_at is not None and not report.file
    failed = last_event("GENERATE_REPORT_FAILED")
    assert failed.details["reportId"] == report.pk and "exploded" in failed.details["error"]
    # A retry of the task generates it once the cause is gone.
    monkeypatch.undo()
    assert services.generate_report(report.pk) == "DONE"
    assert services.generate_report(report.pk) == "nothing to do"


# ---- the signed checkpoint on the cover ------------------------------------------------------


def cover_text(report: Report) -> str:
    from pypdf import PdfReader

    with report.file.open("rb") as handle:
        first_page = PdfReader(io.BytesIO(handle.read())).pages[0].extract_text()
    return "".join(first_page.split())  # long hex values wrap anywhere


def test_a_report_signs_the_head_it_states_and_shows_the_checkpoint_on_its_cover(users, settings):
    report = services.request_report("ANNUAL_AUDIT", "2025", actor=users[Role.MRC])
    assert services.generate_report(report.pk) == "DONE"
    report.refresh_from_db()
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.trigger == "REPORT"
    carried = report.parameters["auditCheckpoint"]
    assert carried["checkpoint"] == checkpoints.document(checkpoint)
    key = signing.load_public_pem(settings.AUDIT_SIGNING_KEY_FILE.read_bytes())
    assert carried["keyId"] == signing.key_id(key)
    assert signing.load_public_pem(carried["publicKey"].encode()) == key
    # The head the cover names is the verified one, which the checkpoint signs.
    assert (report.parameters["auditChainHeadSeq"], report.parameters["auditChainHead"]) == (
        checkpoint.seq,
        checkpoint.head_hash,
    )
    assert report.parameters["auditChainValid"] is True
    cover = cover_text(report)
    assert "Signedcheckpoint" in cover
    assert f"#{checkpoint.number}:event#{checkpoint.seq},{checkpoint.head_hash}" in cover
    assert checkpoint.key_id in cover
    assert "keyfingerprint" in cover


def test_without_the_signing_key_a_report_fails_naming_the_setting(users, settings, tmp_path):
    settings.AUDIT_SIGNING_KEY_FILE = tmp_path / "absent.pem"
    report = services.request_report("ANNUAL_AUDIT", "2025", actor=users[Role.MRC])
    assert services.generate_report(report.pk) == "ERROR"
    report.refresh_from_db()
    assert "AUDIT_SIGNING_KEY_FILE" in report.error
    assert not report.file
    assert "AUDIT_SIGNING_KEY_FILE" in last_event("GENERATE_REPORT_FAILED").details["error"]


# ---- schedules -------------------------------------------------------------------------------


def test_schedules_are_created_once():
    call_command("setup_report_schedules", stdout=io.StringIO())
    schedules = {s.name: s for s in Schedule.objects.filter(name__startswith="reports: ")}
    assert set(schedules) == {
        "reports: monthly compliance",
        "reports: quarterly risk",
        "reports: annual audit",
    }
    monthly = schedules["reports: monthly compliance"]
    assert monthly.func == "audit.tasks.generate_scheduled_report"
    assert monthly.schedule_type == Schedule.MONTHLY and monthly.repeats == -1
    assert monthly.args == "'MONTHLY_COMPLIANCE'"
    assert monthly.next_run.day == 1 and monthly.next_run.hour == 2
    assert schedules["reports: quarterly risk"].next_run.month in (1, 4, 7, 10)
    assert schedules["reports: annual audit"].next_run.month == 1
    before = {s.name: s.next_run for s in schedules.values()}
    call_command("setup_report_schedules", stdout=io.StringIO())
    after = Schedule.objects.filter(name__startswith="reports: ")
    assert after.count() == 3
    assert {s.name: s.next_run for s in after} == before


def test_scheduled_generation_reports_the_last_complete_period_once(
    sync_worker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.generate_scheduled_report("MONTHLY_COMPLIANCE")
    report = Report.objects.get()
    assert "queued" in message
    assert report.trigger == "SCHEDULE" and report.requested_by is None
    assert report.status == "DONE"
    assert report.period == last_complete_period("MONTHLY_COMPLIANCE", timezone.now()).label
    assert "already generated" in services.generate_scheduled_report("MONTHLY_COMPLIANCE")
    assert Report.objects.count() == 1
    assert last_event("REQUEST_REPORT").user_id == "system"


# ---- pages and admin -------------------------------------------------------------------------


def test_reports_page_lists_requests_and_downloads(
    users, sync_worker, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(users[Role.MRC])
    page = client.get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="report-request"' in html and 'href="/reports/"' in html  # the form and the nav
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reports/", {"kind": "MONTHLY_COMPLIANCE", "period": "2026-10"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.status == "DONE"
    html = client.get("/reports/").content.decode()
    assert f"/reports/{report.pk}/download/" in html and "DONE" in html
    download = client.get(f"/reports/{report.pk}/download/")
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == report.sha256

    bad = client.post("/reports/", {"kind": "QUARTERLY_RISK", "period": "2026-10"})
    assert bad.status_code == 200 and "YYYY-Qn" in bad.content.decode()


def test_reports_page_for_readers_and_others(users):
    executive = Client()
    executive.force_login(users[Role.EXECUTIVE])
    html = executive.get("/reports/").content.decode()
    assert 'id="report-request"' not in html  # reads, may not generate
    assert (
        executive.post("/reports/", {"kind": "ANNUAL_AUDIT", "period": "2025"}).status_code == 403
    )
    sre = Client()
    sre.force_login(users[Role.SRE])
    assert sre.get("/reports/").status_code == 403
    assert 'href="/reports/"' not in sre.get("/").content.decode()


def test_admin_lists_reports_with_their_pdf(users):
    report = services.request_report("ANNUAL_AUDIT", "2025", actor=users[Role.MRC])
    services.generate_report(report.pk)
    client = Client()
    client.force_login(users[Role.AUDITOR])
    changelist = client.get("/admin/audit/report/")
    assert changelist.status_code == 200
    assert f"/admin/audit/report/{report.pk}/download/" in changelist.content.decode()
    assert client.get(f"/admin/audit/report/{report.pk}/change/").status_code == 200
    download = client.get(f"/admin/audit/report/{report.pk}/download/")
    assert download.status_code == 200
    assert client.get("/admin/audit/report/add/").status_code == 403
