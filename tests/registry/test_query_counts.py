"""List endpoints run a constant number of SQL queries whatever the number of rows they show.

Each list is measured with 2 objects and with 40 (and, with 40, at two page sizes); the counts
must be equal and under a ceiling, so an N+1 regression or a creeping extra query shows. Each is
measured for a read-all role (global view permission) and for a Model Owner (the
django-guardian object permission path). API calls authenticate with a token, so every request
loads its user afresh, as in production (no role set cached on a shared user object).
"""

from __future__ import annotations

import pytest

from audit.services import record_event
from core.choices import Role
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory
from tests.querycounts import MANY, assert_constant_queries, count_queries, token_client

pytestmark = pytest.mark.django_db

API_CEILING = 10
PAGE_CEILING = 12
ARTIFACTS_PER_VERSION = 3


@pytest.fixture
def readers(make_user, owner):
    """Who reads, by label: a read-all role and the owner of every model in these tests."""
    return {
        "MRC": make_user(Role.MRC, username="mira"),
        "Auditor": make_user(Role.AUDITOR, username="audrey"),
        "Model Owner": owner,
    }


def _measure(client, url: str, expected_rows: int) -> int:
    return count_queries(client, url, expected_rows)


class Grower:
    """Adds objects of one kind, owned by `owner`, up to a total."""

    def __init__(self, kind: str, owner):
        self.kind, self.owner, self.count = kind, owner, 0
        self.parent = (
            RegisteredModelFactory(owner=owner, name="parent") if kind != "model" else None
        )

    def grow_to(self, total: int) -> None:
        while self.count < total:
            self.count += 1
            if self.kind == "model":
                model = RegisteredModelFactory(owner=self.owner, name=f"m-{self.count:03}")
                ModelVersionFactory(model=model)
            elif self.kind == "version":
                # A version per model (and several artifacts per version), so the list joins
                # many models, owners and creators.
                model = RegisteredModelFactory(owner=self.owner, name=f"m-{self.count:03}")
                version = ModelVersionFactory(model=model, version=f"1.{self.count}")
                for _ in range(ARTIFACTS_PER_VERSION):
                    ArtifactFactory(version=version)
            elif self.kind == "nested version":
                version = ModelVersionFactory(model=self.parent, version=f"2.{self.count}")
                for _ in range(ARTIFACTS_PER_VERSION):
                    ArtifactFactory(version=version)
            elif self.kind == "event":
                record_event(
                    "MODEL_REGISTRY",
                    "UPDATE_MODEL",
                    user=self.owner,
                    model_id=self.count,
                    details={"n": self.count},
                )


API_LISTS = {
    "models": ("model", "/api/v1/models/"),
    "versions": ("version", "/api/v1/versions/"),
    "model versions": ("nested version", "/api/v1/models/{parent}/versions/"),
    "audit events": ("event", "/api/v1/audit-events/"),
}
CASES = [
    (name, reader)
    for name in API_LISTS
    for reader in ("MRC", "Auditor", "Model Owner")
    if not (name == "audit events" and reader == "Model Owner")  # the owner may not read it
]


@pytest.mark.parametrize(("name", "reader"), CASES, ids=[f"{n}|{r}" for n, r in CASES])
def test_api_lists_run_a_constant_number_of_queries(readers, owner, name, reader):
    kind, url = API_LISTS[name]
    grower = Grower(kind, owner)
    if grower.parent is not None:
        url = url.format(parent=grower.parent.pk)
    client = token_client(readers[reader])

    assert_constant_queries(client, f"{url}?pageSize=50", grower.grow_to, ceiling=API_CEILING)
    # With MANY rows, a smaller page and the last page run the same count too.
    many = _measure(client, f"{url}?pageSize=50", MANY)
    small_page = _measure(client, f"{url}?pageSize=5", 5)
    last_page = _measure(client, f"{url}?pageSize=15&page=3", MANY - 30)
    assert many == small_page == last_page, (many, small_page, last_page)


def test_version_list_query_count_does_not_grow_with_artifacts(readers, owner):
    model = RegisteredModelFactory(owner=owner, name="artifact-heavy")
    versions = [ModelVersionFactory(model=model, version=f"3.{i}") for i in range(5)]
    client = token_client(readers["MRC"])
    for version in versions:
        ArtifactFactory(version=version)
    client.get("/api/v1/versions/")  # warm the process-wide caches
    one_each = _measure(client, "/api/v1/versions/", 5)
    for version in versions:
        for _ in range(9):
            ArtifactFactory(version=version)
    assert _measure(client, "/api/v1/versions/", 5) == one_each
    response = client.get("/api/v1/versions/")
    assert all(len(v["artifacts"]) == 10 for v in response.json()["results"])


@pytest.mark.parametrize("reader", ["MRC", "Auditor", "Model Owner"])
def test_the_models_page_runs_a_constant_number_of_queries(client, readers, owner, reader):
    grower = Grower("model", owner)
    client.force_login(readers[reader])

    # The page shows 25 a page: with MANY models, the first page shows 25.
    assert_constant_queries(
        client, "/models/", grower.grow_to, rows=lambda n: min(n, 25), ceiling=PAGE_CEILING
    )
    many = count_queries(client, "/models/", 25)
    second_page = count_queries(client, "/models/?page=2", MANY - 25)
    filtered = count_queries(client, "/models/?riskTier=MEDIUM&search=m-", 25)
    assert many == second_page == filtered, (many, second_page, filtered)


def test_owner_list_is_not_slower_for_a_user_with_many_object_permissions(make_user, owner):
    """Object permissions on other people's models must not add queries to an owner's list."""
    other = make_user(Role.MODEL_OWNER, username="other-owner")
    for i in range(30):
        RegisteredModelFactory(owner=other, name=f"theirs-{i:02}")
    for i in range(3):
        RegisteredModelFactory(owner=owner, name=f"mine-{i:02}")
    token_client(owner).get("/api/v1/models/")  # warm the process-wide caches
    mine = _measure(token_client(owner), "/api/v1/models/", 3)
    theirs = _measure(token_client(other), "/api/v1/models/", 30)
    assert mine == theirs
