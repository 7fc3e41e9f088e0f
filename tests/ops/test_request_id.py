"""The request id: returned on every answer, written on every audit event the request causes
and on its log lines, and carried into the worker jobs it queues."""

from __future__ import annotations

import logging
import re

import pytest
from django_q.tasks import async_task

from audit.context import RequestContext, bound
from audit.models import AuditEvent
from audit.services import verify_chain
from core.logs import RequestIdFilter

pytestmark = pytest.mark.django_db


def test_every_answer_carries_a_request_id_and_a_given_plain_one_is_kept(client):
    made = client.get("/login/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/login/")["X-Request-ID"] != made
    kept = client.get("/login/", HTTP_X_REQUEST_ID="lb-7f3a-2026-0001")
    assert kept["X-Request-ID"] == "lb-7f3a-2026-0001"


@pytest.mark.parametrize(
    "smuggled",
    [
        "short",
        "x" * 65,
        "id with spaces 123",
        "id\r\nSet-Cookie:x=1",
        "ünïcode-1234",
        "trailing-newline-1\n",
    ],
)
def test_a_request_id_that_is_not_a_plain_token_is_replaced(client, smuggled):
    answered = client.get("/login/", HTTP_X_REQUEST_ID=smuggled)["X-Request-ID"]
    assert answered != smuggled and re.fullmatch(r"[0-9a-f]{32}", answered)


def test_the_audit_events_of_a_request_carry_its_id_and_the_chain_still_verifies(api, owner):
    client = api(owner)
    response = client.post(
        "/api/v1/models/",
        {"name": "request-id-model", "riskTier": "HIGH"},
        format="json",
        HTTP_X_REQUEST_ID="req-0000-1111-2222",
    )
    assert response.status_code == 201
    assert response["X-Request-ID"] == "req-0000-1111-2222"
    event = AuditEvent.objects.get(action="REGISTER_MODEL", model_id=response.json()["id"])
    assert event.request_id == "req-0000-1111-2222"
    assert event.document()["requestId"] == "req-0000-1111-2222"
    assert verify_chain().valid


def test_the_request_log_line_names_method_path_status_user_and_id(client, owner, caplog):
    client.force_login(owner)
    with caplog.at_level(logging.INFO, logger="registry.request"):
        client.get("/", HTTP_X_REQUEST_ID="req-log-line-0001")
    (line,) = [r for r in caplog.records if r.name == "registry.request"]
    assert (line.method, line.path, line.status, line.user, line.request_id) == (
        "GET",
        "/",
        200,
        owner.username,
        "req-log-line-0001",
    )
    assert line.duration_ms >= 0


def test_every_log_record_written_during_a_request_or_job_gets_its_id():
    record = logging.LogRecord("registry.x", logging.INFO, __file__, 1, "m", None, None)
    with bound(RequestContext(request_id="req-filter-0001")):
        RequestIdFilter().filter(record)
    assert record.request_id == "req-filter-0001"
    outside = logging.LogRecord("registry.x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdFilter().filter(outside)
    assert outside.request_id == ""


def test_a_job_queued_during_a_request_runs_with_that_requests_id_as_the_system():
    with bound(RequestContext(request_id="req-queues-a-job-01", ip_address="10.0.0.5")):
        async_task("audit.services.record_event", "MODEL_REGISTRY", "JOB_PROBE", sync=True)
    event = AuditEvent.objects.get(action="JOB_PROBE")
    assert event.request_id == "req-queues-a-job-01"
    # Nobody is behind a job: its events are the system's, with no client address.
    assert (event.user_id, event.ip_address) == ("system", None)


def test_a_job_with_no_request_behind_it_gets_an_id_of_its_own():
    async_task("audit.services.record_event", "MODEL_REGISTRY", "JOB_PROBE", sync=True)
    event = AuditEvent.objects.get(action="JOB_PROBE")
    assert re.fullmatch(r"job-[0-9a-f]{32}", event.request_id)
    assert event.user_id == "system"
