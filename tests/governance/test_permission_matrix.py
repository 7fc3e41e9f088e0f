"""Every role against every registry and audit action: the contract's "Who may do what" table.

The table below is the test: one row per action, one column per persona, each cell the answer
the contract promises. A refused write (403) must also name the rule that refused it, leave an
ACCESS_DENIED audit event, and change nothing; a hidden object (404) or an anonymous call (401)
must change nothing either.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from audit.choices import EventType
from audit.models import AuditEvent
from audit.services import record_event
from core.choices import Role
from registry.models import Artifact, ModelVersion, RegisteredModel
from tests.factories import (
    PASSWORD,
    ArtifactFactory,
    ModelVersionFactory,
    RegisteredModelFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# ---- the matrix ----------------------------------------------------------------------------
#
# Personas (columns). The target of every action is model A (owned by `owner`), its DRAFT
# version and that version's artifact, except for "aud+own", whose target is a model of its own:
# holding Model Owner and the object permission of an owner must not let an Auditor write.
PERSONAS = (
    "owner",  # Model Owner, owner of the target model
    "other",  # Model Owner, owner of another model only
    "mrc",  # MRC
    "secarch",  # Security Architect
    "sre",  # SRE
    "auditor",  # Auditor
    "exec",  # Executive
    "norole",  # authenticated, no role at all
    "anon",  # not authenticated
    "aud+own",  # Auditor and Model Owner, owner of its own target model
    "mrc+own",  # MRC and Model Owner, not the owner of the target model
)

# Cells.
OK = "200"  # 200, and the answer is about the target
NEW = "201"  # 201, created
SEEN = "200 listed"  # 200 list that includes the target
MISS = "200 unlisted"  # 200 list that does not include the target
N401 = "401"  # not authenticated
N404 = "404"  # unknown or not visible to the caller
N405 = "405"  # the endpoint has no such method
ROLE = "403 role"  # 403, detail "... you need the role ..."
AUDR = "403 auditor"  # 403, detail "auditors never write ..."
OWNR = "403 owner"  # 403, detail "only the model's owner may ..."

# fmt: off
MATRIX: dict[str, tuple[str, ...]] = {
    #                      owner other mrc   secar sre   audit exec  norol anon  aud+o mrc+o
    "list models":        (SEEN, MISS, SEEN, SEEN, SEEN, SEEN, SEEN, MISS, N401, SEEN, SEEN),
    "get model":          (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK),
    "register model":     (NEW,  NEW,  ROLE, ROLE, ROLE, AUDR, ROLE, ROLE, N401, AUDR, NEW),
    "patch model":        (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR),
    "list versions":      (SEEN, MISS, SEEN, SEEN, SEEN, SEEN, SEEN, MISS, N401, SEEN, SEEN),
    "list model versions": (OK,  N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK),
    "get version":        (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK),
    "create version":     (NEW,  N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR),
    "patch version":      (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR),
    "list artifacts":     (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK),
    "get artifact":       (OK,   N404, OK,   OK,   OK,   OK,   OK,   N404, N401, OK,   OK),
    "add artifact":       (NEW,  N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR),
    "patch artifact":     (OK,   N404, ROLE, ROLE, ROLE, AUDR, ROLE, N404, N401, AUDR, OWNR),
    "list audit events":  (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK),
    "get audit event":    (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK),
    "verify audit chain": (ROLE, ROLE, OK,   OK,   ROLE, OK,   OK,   ROLE, N401, OK,   OK),
    "delete audit event": (N405, N405, N405, N405, N405, N405, N405, N405, N401, N405, N405),
    "me":                 (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   N401, OK,   OK),
    "obtain token":       (OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK,   OK),
}
# fmt: on

# The rule each refusal must name, and the action code its ACCESS_DENIED event must carry.
REFUSAL_DETAIL = {
    ROLE: "you need the role",
    AUDR: "auditors never write",
    OWNR: "only the model's owner may",
}
DENIED_ACTION = {
    "register model": "REGISTER_MODEL",
    "patch model": "UPDATE_MODEL",
    "create version": "CREATE_VERSION",
    "patch version": "UPDATE_VERSION",
    "add artifact": "ADD_ARTIFACT",
    "patch artifact": "UPDATE_ARTIFACT",
    "list audit events": "VIEW_AUDIT",
    "get audit event": "VIEW_AUDIT",
    "verify audit chain": "VIEW_AUDIT",
}

ROLES_OF = {
    "owner": [Role.MODEL_OWNER],
    "other": [Role.MODEL_OWNER],
    "mrc": [Role.MRC],
    "secarch": [Role.SECURITY_ARCHITECT],
    "sre": [Role.SRE],
    "auditor": [Role.AUDITOR],
    "exec": [Role.EXECUTIVE],
    "norole": [],
    "aud+own": [Role.AUDITOR, Role.MODEL_OWNER],
    "mrc+own": [Role.MRC, Role.MODEL_OWNER],
}


# ---- the world each cell runs in -----------------------------------------------------------


@dataclass
class Target:
    model: RegisteredModel
    version: ModelVersion
    artifact: Artifact


@dataclass
class World:
    people: dict
    targets: dict  # persona -> Target
    event: AuditEvent

    def target_of(self, persona: str) -> Target:
        return self.targets.get(persona, self.targets["owner"])


def _target(owner, name: str) -> Target:
    model = RegisteredModelFactory(owner=owner, name=name)
    version = ModelVersionFactory(model=model, version="1.0.0")
    artifact = ArtifactFactory(version=version)
    return Target(model, version, artifact)


@pytest.fixture
def world(db) -> World:
    people = {
        persona: UserFactory(username=persona.replace("+", "_"), roles=roles)
        for persona, roles in ROLES_OF.items()
    }
    targets = {
        "owner": _target(people["owner"], "model-a"),
        "aud+own": _target(people["aud+own"], "model-b"),
    }
    _target(people["other"], "model-c")  # so "other" sees a non-empty list of its own
    event = record_event(EventType.MODEL_REGISTRY, "REGISTER_MODEL", user="owner", model_id=1)
    return World(people=people, targets=targets, event=event)


def _client(api, world: World, persona: str):
    return api(None if persona == "anon" else world.people[persona])


# ---- what each action sends ----------------------------------------------------------------


def _request(client, action: str, world: World, persona: str):
    t = world.target_of(persona)
    m, v, a = t.model.pk, t.version.pk, t.artifact.pk
    requests = {
        "list models": ("get", "/api/v1/models/", None),
        "get model": ("get", f"/api/v1/models/{m}/", None),
        "register model": ("post", "/api/v1/models/", {"name": "new-model", "riskTier": "LOW"}),
        "patch model": ("patch", f"/api/v1/models/{m}/", {"description": "changed"}),
        "list versions": ("get", "/api/v1/versions/", None),
        "list model versions": ("get", f"/api/v1/models/{m}/versions/", None),
        "get version": ("get", f"/api/v1/versions/{v}/", None),
        "create version": ("post", f"/api/v1/models/{m}/versions/", {"version": "9.9.9"}),
        "patch version": ("patch", f"/api/v1/versions/{v}/", {"documentation": "changed"}),
        "list artifacts": ("get", f"/api/v1/versions/{v}/artifacts/", None),
        "get artifact": ("get", f"/api/v1/artifacts/{a}/", None),
        "add artifact": (
            "post",
            f"/api/v1/versions/{v}/artifacts/",
            {"name": "w.onnx", "type": "model", "uri": "s3://b/w.onnx", "sha256": "ab" * 32},
        ),
        "patch artifact": (
            "patch",
            f"/api/v1/artifacts/{a}/",
            {"securityScan": {"status": "FAILED", "scanner": "trivy", "findings": ["CVE-1"]}},
        ),
        "list audit events": ("get", "/api/v1/audit-events/", None),
        "get audit event": ("get", f"/api/v1/audit-events/{world.event.pk}/", None),
        "verify audit chain": ("get", "/api/v1/audit-events/verify/", None),
        "delete audit event": ("delete", f"/api/v1/audit-events/{world.event.pk}/", None),
        "me": ("get", "/api/v1/me/", None),
    }
    if action == "obtain token":
        username = "owner" if persona == "anon" else world.people[persona].username
        return client.post(
            "/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json"
        )
    method, path, body = requests[action]
    if body is None:
        return getattr(client, method)(path)
    return getattr(client, method)(path, body, format="json")


def _snapshot():
    """Everything a write could touch, so a refused one can be shown to have changed nothing."""
    return {
        "models": sorted(
            RegisteredModel.objects.values_list(
                "pk", "name", "description", "tags", "risk_tier", "owner_id", "updated_at"
            )
        ),
        "versions": sorted(
            ModelVersion.objects.values_list(
                "pk", "version", "state", "description", "documentation", "tags", "updated_at"
            )
        ),
        "artifacts": sorted(
            Artifact.objects.values_list(
                "pk", "name", "uri", "sha256", "scan_status", "scan_scanner", "updated_at"
            )
        ),
        "history": (
            RegisteredModel.history.count(),
            ModelVersion.history.count(),
            Artifact.history.count(),
        ),
    }


def _denials():
    return list(
        AuditEvent.objects.filter(event_type=EventType.ACCESS_DENIED)
        .order_by("seq")
        .values_list("user_id", "action", "details")
    )


def _result_ids(body) -> set[int]:
    results = body["results"] if isinstance(body, dict) else body
    return {item["id"] for item in results}


CASES = [(action, persona) for action in MATRIX for persona in PERSONAS]


def test_matrix_covers_every_persona_and_action():
    assert all(len(row) == len(PERSONAS) for row in MATRIX.values())
    assert set(DENIED_ACTION) == {
        action for action, row in MATRIX.items() if set(row) & set(REFUSAL_DETAIL)
    }


@pytest.mark.parametrize(("action", "persona"), CASES, ids=[f"{a}|{p}" for a, p in CASES])
def test_permission_matrix(api, world, action, persona):
    expected = MATRIX[action][PERSONAS.index(persona)]
    target = world.target_of(persona)
    before, denials_before = _snapshot(), _denials()

    response = _request(_client(api, world, persona), action, world, persona)

    status = int(expected.split()[0])
    assert response.status_code == status, (expected, response.content[:500])
    body = response.json()
    after, new_denials = _snapshot(), _denials()[len(denials_before) :]

    if expected in REFUSAL_DETAIL:
        assert REFUSAL_DETAIL[expected] in body["detail"], body
        username = world.people[persona].username
        assert [(u, a) for u, a, _ in new_denials] == [(username, DENIED_ACTION[action])]
        assert new_denials[0][2]["status"] == 403
        assert new_denials[0][2]["reason"] == body["detail"]
    if status >= 400:
        assert after == before, f"a refused {action} changed the registry"
        if expected not in REFUSAL_DETAIL:
            assert new_denials == [] or status == 404
        assert "detail" in body
        return

    # Allowed: the answer is about the target (or the list shows it, or hides it).
    if expected == SEEN:
        ids = _result_ids(body)
        wanted = {
            "list models": target.model.pk,
            "list versions": target.version.pk,
        }[action]
        assert wanted in ids
    elif expected == MISS:
        wanted = {"list models": target.model.pk, "list versions": target.version.pk}[action]
        assert wanted not in _result_ids(body)
    elif action in {"get model", "patch model"}:
        assert body["id"] == target.model.pk
    elif action in {"get version", "patch version"}:
        assert body["id"] == target.version.pk
    elif action in {"get artifact", "patch artifact"}:
        assert body["id"] == target.artifact.pk
    elif action in {"list model versions"}:
        assert _result_ids(body) == {target.version.pk}
    elif action == "list artifacts":
        assert _result_ids(body) == {target.artifact.pk}
    elif action == "list audit events":
        assert world.event.pk in _result_ids(body)
    elif action == "get audit event":
        assert body["id"] == world.event.pk
    elif action == "verify audit chain":
        assert body["valid"] is True
    elif action == "me":
        user = world.people[persona]
        assert body == {
            "username": user.username,
            "email": user.email,
            "roles": sorted(ROLES_OF[persona]),
        }
    elif action == "obtain token":
        assert len(body["token"]) == 40

    # Reads change nothing; writes change exactly what they say.
    if action.startswith(("list", "get", "verify", "me", "obtain")):
        assert after["models"] == before["models"]
        assert after["versions"] == before["versions"]
        assert after["artifacts"] == before["artifacts"]
    elif action == "register model":
        created = RegisteredModel.objects.get(name="new-model")
        assert created.owner == world.people[persona]
        assert body["owner"] == world.people[persona].username
    elif action == "patch model":
        target.model.refresh_from_db()
        assert target.model.description == "changed"
    elif action == "create version":
        assert target.model.versions.filter(version="9.9.9").exists()
    elif action == "patch version":
        target.version.refresh_from_db()
        assert target.version.documentation == "changed"
    elif action == "add artifact":
        assert target.version.artifacts.filter(name="w.onnx").exists()
    elif action == "patch artifact":
        target.artifact.refresh_from_db()
        assert target.artifact.scan_status == "FAILED"
    assert new_denials == []


def test_auditor_who_owns_a_model_still_reads_it_but_never_writes(api, world):
    """The two-role persona, spelled out: the owner permission is present and still refused."""
    user = world.people["aud+own"]
    model = world.targets["aud+own"].model
    assert user.has_perm("registry.change_registeredmodel", model)
    response = api(user).patch(f"/api/v1/models/{model.pk}/", {"tags": {"a": "b"}}, format="json")
    assert response.status_code == 403
    assert "auditors never write" in response.json()["detail"]
    model.refresh_from_db()
    assert model.tags == {}


def test_no_persona_is_a_superuser(world):
    # A superuser would bypass the object permissions the matrix is about.
    assert not get_user_model().objects.filter(is_superuser=True).exists()
