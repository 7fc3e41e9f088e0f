"""GET /api/v1/audit-events/: filters, pagination, read-only methods and who may read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from audit.choices import AuditAction, EventType
from audit.models import AuditEvent
from audit.services import record_event, verify_chain
from core.choices import Role

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
READERS = [Role.MRC, Role.SECURITY_ARCHITECT, Role.AUDITOR, Role.EXECUTIVE]
NON_READERS = [Role.MODEL_OWNER, Role.SRE]
API_KEYS = {
    "id",
    "seq",
    "timestamp",
    "eventType",
    "userId",
    "modelId",
    "versionId",
    "action",
    "details",
    "ipAddress",
    "userAgent",
    "sessionId",
    "requestId",
    "prevHash",
    "hash",
}

# (event type, action, user, model, version), one hour apart from T0 on.
TRAIL = [
    (EventType.AUTHENTICATION, AuditAction.LOGIN, "alice", None, None),
    (EventType.MODEL_REGISTRY, AuditAction.REGISTER_MODEL, "alice", 1, None),
    (EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION, "alice", 1, 10),
    (EventType.MODEL_REGISTRY, AuditAction.CREATE_VERSION, "bob", 2, 20),
    (EventType.MODEL_REGISTRY, AuditAction.ADD_ARTIFACT, "bob", 1, 10),
    (EventType.ACCESS_DENIED, AuditAction.CREATE_VERSION, "carol", 2, None),
    (EventType.AUTHENTICATION, AuditAction.LOGOUT, "alice", None, None),
]


@pytest.fixture
def trail(db, monkeypatch) -> list[AuditEvent]:
    """Seven events at 10:00, 11:00, ... 16:00 UTC on 2025-03-01."""
    events = []
    with monkeypatch.context() as patch:
        for hour, (event_type, action, user, model_id, version_id) in enumerate(TRAIL):
            moment = T0 + timedelta(hours=hour)
            patch.setattr("audit.services.timezone.now", lambda moment=moment: moment)
            events.append(
                record_event(
                    event_type,
                    action,
                    user=user,
                    model_id=model_id,
                    version_id=version_id,
                    details={"hour": hour},
                )
            )
    return events


@pytest.fixture
def client_for(users):
    def make(role) -> APIClient:
        client = APIClient()
        client.force_authenticate(user=users[role])
        return client

    return make


@pytest.fixture
def auditor(client_for) -> APIClient:
    return client_for(Role.AUDITOR)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [result["id"] for result in response.json()["results"]]


def trail_ids(trail, *indexes: int) -> list[int]:
    return [trail[index].id for index in indexes]


def test_the_list_is_every_event_in_chain_order_in_the_api_shape(trail, auditor):
    response = auditor.get("/api/v1/audit-events/")
    assert ids(response) == [e.id for e in trail]
    first = response.json()["results"][2]
    assert set(first) == API_KEYS
    assert first == {
        "id": trail[2].id,
        "seq": 3,
        "timestamp": "2025-03-01T12:00:00.000000+00:00",
        "eventType": "MODEL_REGISTRY",
        "userId": "alice",
        "modelId": 1,
        "versionId": 10,
        "action": "CREATE_VERSION",
        "details": {"hour": 2},
        "ipAddress": None,
        "userAgent": "",
        "sessionId": "",
        "requestId": "",
        "prevHash": trail[1].hash,
        "hash": trail[2].hash,
    }


def test_one_event_by_id(trail, auditor):
    response = auditor.get(f"/api/v1/audit-events/{trail[4].id}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["action"], body["userId"]) == (trail[4].id, "ADD_ARTIFACT", "bob")
    assert body["hash"] == trail[4].hash
    assert auditor.get("/api/v1/audit-events/999999/").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"modelId": 1}, [1, 2, 4]),
        ({"modelId": 2}, [3, 5]),
        ({"modelId": 3}, []),
        ({"versionId": 10}, [2, 4]),
        ({"versionId": 20}, [3]),
        ({"eventType": "AUTHENTICATION"}, [0, 6]),
        ({"eventType": "ACCESS_DENIED"}, [5]),
        ({"eventType": "REPORT"}, []),
        ({"userId": "bob"}, [3, 4]),
        ({"userId": "ali"}, []),
        ({"action": "CREATE_VERSION"}, [2, 3, 5]),
        ({"since": "2025-03-01T12:00:00Z"}, [2, 3, 4, 5, 6]),
        ({"since": "2025-03-01T12:00:00.000001Z"}, [3, 4, 5, 6]),
        ({"until": "2025-03-01T12:00:00Z"}, [0, 1, 2]),
        ({"since": "2025-03-01T11:30:00+00:00", "until": "2025-03-01T14:30:00Z"}, [2, 3, 4]),
        ({"since": "2025-03-01T14:00:00+02:00"}, [2, 3, 4, 5, 6]),
        ({"until": "2025-03-01T07:00:00-05:00"}, [0, 1, 2]),
        ({"since": "2025-03-02T00:00:00Z"}, []),
        ({"modelId": 1, "userId": "bob"}, [4]),
        ({"modelId": 1, "eventType": "AUTHENTICATION"}, []),
        ({"eventType": "MODEL_REGISTRY", "since": "2025-03-01T12:30:00Z"}, [3, 4]),
    ],
)
def test_filters_narrow_the_list(trail, auditor, query, expected):
    response = auditor.get("/api/v1/audit-events/", query)
    assert ids(response) == trail_ids(trail, *expected)
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "garbage"}, "since"),
        ({"until": "2025-13-45T00:00:00Z"}, "until"),
        ({"since": "yesterday"}, "since"),
        ({"eventType": "NOPE"}, "eventType"),
        ({"eventType": "authentication"}, "eventType"),
        ({"modelId": "abc"}, "modelId"),
        ({"versionId": "ten"}, "versionId"),
        ({"userId": "u" * 151}, "userId"),
    ],
)
def test_bad_filter_values_are_400_naming_the_filter(trail, auditor, query, field):
    response = auditor.get("/api/v1/audit-events/", query)
    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert "results" not in body


def test_pagination_shape_and_links(trail, auditor):
    first = auditor.get("/api/v1/audit-events/", {"pageSize": 3})
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == len(TRAIL)
    assert body["previous"] is None
    assert ids(first) == trail_ids(trail, 0, 1, 2)
    assert parse_qs(urlparse(body["next"]).query) == {"page": ["2"], "pageSize": ["3"]}

    second = auditor.get(body["next"])
    assert ids(second) == trail_ids(trail, 3, 4, 5)
    assert second.json()["previous"] is not None

    last = auditor.get(second.json()["next"])
    assert ids(last) == trail_ids(trail, 6)
    assert last.json()["next"] is None
    assert last.json()["count"] == len(TRAIL)

    assert auditor.get("/api/v1/audit-events/", {"pageSize": 3, "page": 4}).status_code == 404


def test_pagination_keeps_the_filters_in_its_links(trail, auditor):
    body = auditor.get(
        "/api/v1/audit-events/", {"eventType": "MODEL_REGISTRY", "pageSize": 2}
    ).json()
    assert body["count"] == 4
    assert [r["id"] for r in body["results"]] == trail_ids(trail, 1, 2)
    assert parse_qs(urlparse(body["next"]).query)["eventType"] == ["MODEL_REGISTRY"]
    follow = auditor.get(body["next"])
    assert ids(follow) == trail_ids(trail, 3, 4)
    assert follow.json()["next"] is None


def test_default_and_maximum_page_sizes(db, auditor):
    for n in range(60):
        record_event(EventType.REPORT, "GENERATE", details={"n": n})
    default = auditor.get("/api/v1/audit-events/").json()
    assert (default["count"], len(default["results"])) == (60, 50)
    capped = auditor.get("/api/v1/audit-events/", {"pageSize": 10_000}).json()
    assert len(capped["results"]) == 60
    assert capped["next"] is None


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("on_item", [False, True], ids=["list", "item"])
def test_no_method_changes_the_trail(trail, auditor, method, on_item):
    url = f"/api/v1/audit-events/{trail[2].id}/" if on_item else "/api/v1/audit-events/"
    response = getattr(auditor, method)(url, {"userId": "mallory", "details": {}}, format="json")
    assert response.status_code == 405
    assert method.upper() not in response["Allow"]
    assert "GET" in response["Allow"]
    assert AuditEvent.objects.count() == len(TRAIL)
    assert AuditEvent.objects.get(pk=trail[2].pk).user_id == "alice"
    assert verify_chain().valid


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_no_method_but_get_on_verify(trail, auditor, method):
    assert getattr(auditor, method)("/api/v1/audit-events/verify/").status_code == 405
    assert AuditEvent.objects.count() == len(TRAIL)


@pytest.mark.parametrize("role", READERS)
def test_oversight_roles_read_the_trail_and_verify_it(trail, client_for, role):
    client = client_for(role)
    assert ids(client.get("/api/v1/audit-events/")) == [e.id for e in trail]
    assert client.get(f"/api/v1/audit-events/{trail[0].id}/").status_code == 200
    verdict = client.get("/api/v1/audit-events/verify/")
    assert verdict.status_code == 200
    assert verdict.json()["valid"] is True
    assert verdict.json()["count"] == len(TRAIL)


@pytest.mark.parametrize("role", NON_READERS)
def test_owner_and_sre_are_refused_everywhere_and_each_refusal_is_audited(
    trail, users, client_for, role
):
    client = client_for(role)
    for url in (
        "/api/v1/audit-events/",
        f"/api/v1/audit-events/{trail[0].id}/",
        "/api/v1/audit-events/verify/",
        "/api/v1/audit-events/?eventType=AUTHENTICATION",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "results" not in response.json()
    refusals = AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED).exclude(
        pk__in=[e.pk for e in trail]
    )
    assert refusals.count() == 4
    assert set(refusals.values_list("action", "user_id")) == {("VIEW_AUDIT", users[role].username)}
    assert {r.details["status"] for r in refusals} == {403}


@pytest.mark.parametrize(
    "url", ["/api/v1/audit-events/", "/api/v1/audit-events/1/", "/api/v1/audit-events/verify/"]
)
def test_anonymous_is_401(trail, url):
    response = APIClient().get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert AuditEvent.objects.count() == len(TRAIL)


def test_a_token_authenticated_auditor_reads_the_trail(trail, users):
    token = Token.objects.create(user=users[Role.AUDITOR])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert ids(client.get("/api/v1/audit-events/", {"userId": "carol"})) == trail_ids(trail, 5)
