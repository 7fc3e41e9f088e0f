"""The audit trail, readable (issue 17): model and version names instead of #4 / #6 (in a
constant number of queries), details pretty-printed behind <details>, filters by model name,
action and person, and the routine LOGIN events kept out of the home pages' "Recent activity"
while they stay in the trail."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from audit.services import record_event
from core.choices import Role
from tests.factories import ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


def events_about(version, n: int, *, user, action="UPDATE_VERSION"):
    for i in range(n):
        record_event(
            EventType.MODEL_REGISTRY,
            action,
            user=user,
            model_id=version.model_id,
            version_id=version.pk,
            details={"field": "description", "step": i, "note": "ünïcode kept as written"},
        )


def trail(client, query: str = "") -> str:
    response = client.get(f"/audit/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_names_instead_of_numbers_in_constant_queries(client, users):
    owner, auditor = users[Role.MODEL_OWNER], users[Role.AUDITOR]
    fraud = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, name="fraud-detector"), version="1.1.0"
    )
    events_about(fraud, 1, user=owner)
    client.force_login(auditor)
    trail(client)  # warm: the session, the reader's roles
    with CaptureQueriesContext(connection) as one:
        html = trail(client)
    assert f'<a href="/models/{fraud.model_id}/">fraud-detector</a>' in html
    assert f'<a href="/versions/{fraud.pk}/">fraud-detector 1.1.0</a>' in html
    assert f">#{fraud.pk}<" not in html

    churn = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, name="churn-predictor"), version="3.1.0"
    )
    events_about(churn, 20, user=owner)
    with CaptureQueriesContext(connection) as many:
        html = trail(client)
    assert "churn-predictor 3.1.0" in html and "fraud-detector 1.1.0" in html
    assert len(many) == len(one), [q["sql"] for q in many]


def test_details_are_pretty_printed_and_expandable(client, users):
    owner = users[Role.MODEL_OWNER]
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner))
    events_about(version, 1, user=owner)
    client.force_login(users[Role.MRC])
    html = trail(client, "?action=UPDATE_VERSION")
    assert "<details><summary>field: description · note: ünïcode kept as written" in html
    # indented JSON, one key a line, inside the <details>
    assert '<pre class="doc-json">{\n  &quot;field&quot;: &quot;description&quot;,\n' in html


def test_filters_by_model_name_action_and_person(client, users, make_user):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    other_owner = make_user(Role.MODEL_OWNER, username="oscar")
    fraud = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, name="fraud-detector"))
    churn = ModelVersionFactory(
        model=RegisteredModelFactory(owner=other_owner, name="churn-predictor")
    )
    events_about(fraud, 2, user=owner)
    events_about(churn, 3, user=other_owner, action="ADD_ARTIFACT")
    client.force_login(mrc)

    def shown(query):
        html = trail(client, query)
        return html.count("fraud-detector</a>"), html.count("churn-predictor</a>")

    assert shown("?modelName=FRAUD") == (2, 0)  # any case, part of the name
    assert shown("?modelName=predictor") == (0, 3)
    assert shown("?action=ADD_ARTIFACT") == (0, 3)
    assert shown("?userId=oscar") == (0, 3)
    assert shown(f"?userId={owner.username}&modelName=churn") == (0, 0)
    html = trail(client)
    # the filters come first by what people look for, with suggestions to pick from
    assert html.index('name="modelName"') < html.index('name="eventType"')
    assert '<datalist id="audit-model-names">' in html
    assert '<option value="churn-predictor">' in html
    assert '<option value="oscar">' in html
    assert '<option value="ADD_ARTIFACT">' in html
    # The exports take the same filters as the page.
    exported = client.get("/audit/export.jsonl?modelName=fraud")
    lines = b"".join(exported.streaming_content).decode().strip().splitlines()
    assert len(lines) == 2


def test_home_recent_activity_leaves_out_logins_the_trail_keeps_them(client, users):
    owner, auditor = users[Role.MODEL_OWNER], users[Role.AUDITOR]
    version = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, name="fraud-detector"), version="1.1.0"
    )
    events_about(version, 1, user=owner)
    for _ in range(15):  # more logins than the card holds
        record_event(EventType.AUTHENTICATION, AuditAction.LOGIN, user=owner)
    record_event(EventType.AUTHENTICATION, AuditAction.LOGIN_FAILED, user=None)
    client.force_login(auditor)
    home = client.get("/").content.decode()
    activity = home[home.index('id="recent-activity"') :]
    assert "fraud-detector 1.1.0" in activity
    assert ">LOGIN<" not in activity
    assert ">LOGIN_FAILED<" in activity  # a refused login is no routine event
    assert ">LOGIN<" in trail(client, "?action=LOGIN")
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN).count() >= 15


def test_admin_event_list_names_and_searches_by_model_name(client, users):
    owner, auditor = users[Role.MODEL_OWNER], users[Role.AUDITOR]
    fraud = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, name="fraud-detector"), version="1.1.0"
    )
    churn = ModelVersionFactory(
        model=RegisteredModelFactory(owner=owner, name="churn-predictor"), version="3.1.0"
    )
    events_about(fraud, 1, user=owner)
    client.force_login(auditor)
    url = "/admin/audit/auditevent/"
    assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as one:
        html = client.get(url).content.decode()
    assert "fraud-detector 1.1.0</a>" in html
    assert '<details class="audit-details"><summary>' in html
    assert "css/admin.css" in html
    events_about(churn, 20, user=owner)
    with CaptureQueriesContext(connection) as many:
        html = client.get(url).content.decode()
    assert len(many) == len(one)
    found = client.get(url, {"q": "churn"}).content.decode()
    assert "churn-predictor 3.1.0</a>" in found
    assert "fraud-detector 1.1.0</a>" not in found
