"""NUL (and lone surrogates) never reach the database: PostgreSQL refuses them in text and jsonb.

record_event replaces them in every string it stores (the hash is computed over what is
stored, so the chain stays valid); the exports refuse a NUL in a query parameter with a 400
naming it. Not marked `postgres`: these run on SQLite and on PostgreSQL alike (on PostgreSQL
the old code answered 500).
"""

from __future__ import annotations

import pytest
from django.test import Client

from audit.choices import AuditAction, EventType
from audit.context import RequestContext, bound
from audit.models import AuditEvent
from audit.services import REPLACEMENT, record_event, verify_chain
from core.choices import Role

pytestmark = pytest.mark.django_db


def test_record_event_replaces_nul_and_lone_surrogates_everywhere_and_stays_verifiable():
    context = RequestContext(ip_address="192.0.2.1", user_agent="agent\x00/1", session_id="s\x00")
    with bound(context):
        event = record_event(
            EventType.AUDIT_ACCESS,
            "EXPORT\x00",
            user="ann\x00",
            details={
                "q": "a\x00b",
                "key\x00": "lone \ud800 surrogate",
                "nested": {"list": ["x\x00", 1, None, {"deep\x00": "\x00"}]},
            },
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    r = REPLACEMENT
    assert stored.details == {
        "q": f"a{r}b",
        f"key{r}": f"lone {r} surrogate",
        "nested": {"list": [f"x{r}", 1, None, {f"deep{r}": r}]},
    }
    assert (stored.user_id, stored.action) == (f"ann{r}", f"EXPORT{r}")
    assert (stored.user_agent, stored.session_id) == (f"agent{r}/1", f"s{r}")
    # What was returned is what is stored, and the hash covers exactly that.
    assert event.details == stored.details
    assert stored.hash == event.hash
    verdict = verify_chain()
    assert (verdict.valid, verdict.count) == (True, 1)


def test_ordinary_text_is_stored_unchanged():
    details = {"text": "tab\tnew line\n émoji 🙂 \u2028", "n": 3}
    event = record_event(EventType.MODEL_REGISTRY, AuditAction.UPDATE_MODEL, details=details)
    assert AuditEvent.objects.get(pk=event.pk).details == details


@pytest.fixture
def auditor(users) -> Client:
    client = Client()
    client.force_login(users[Role.AUDITOR])
    return client


def exports_on_record() -> int:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT_AUDIT).count()


@pytest.mark.parametrize(
    "path",
    [
        "/audit/export.csv?q=%00",
        "/audit/export.jsonl?q=%00",
        "/audit/export.csv?userId=al%00ice",
        "/audit/export.jsonl?eventType=AUTHENTICATION&action=%00LOGIN",
        "/audit/export.csv?%00=1",
        "/admin/audit/auditevent/?q=%00",
        "/admin/audit/auditevent/export.csv?q=%00",
        "/admin/audit/auditevent/export.jsonl?user_id=%00",
    ],
)
def test_an_export_with_a_nul_in_a_parameter_is_a_400_and_exports_nothing(auditor, path):
    """The request guard (core/request_guard.py) refuses a NUL anywhere in a query string
    before a view runs; the exports, which record their parameters, rely on it."""
    record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="alice")
    before = exports_on_record()
    response = auditor.get(path)
    assert response.status_code == 400
    assert not getattr(response, "streaming", False)
    assert exports_on_record() == before
    assert verify_chain().valid


def test_the_api_list_refuses_a_nul_in_a_filter(api, users):
    record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user="alice")
    response = api(users[Role.AUDITOR]).get("/api/v1/audit-events/?userId=al%00ice")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
