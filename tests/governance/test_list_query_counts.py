"""Every list endpoint and list page not covered by tests/registry/test_query_counts.py runs a
constant number of SQL queries with 2 rows and with 40, for a Model Owner (who owns every model
here: the django-guardian object permission path) and for a reader of everything (MRC; the
Auditor for reports, which an owner may not read). The rows are spread over many models and
versions, so a per-row lookup of a model, an owner or a user shows as a growing count.
"""

from __future__ import annotations

import pytest

from audit.services import record_event
from core.choices import Role
from governance.choices import Environment
from governance.dashboard import RECENT
from registry.choices import VersionState
from registry.models import ModelVersion
from tests.factories import (
    ApprovalFactory,
    ArtifactFactory,
    EvaluationRunFactory,
    ModelVersionFactory,
    NotificationFactory,
    PolicyEvaluationFactory,
    PolicyExceptionFactory,
    PolicyFactory,
    RegisteredModelFactory,
    ReportFactory,
    RiskTierChangeRequestFactory,
    StateTransitionFactory,
    UserFactory,
    ViolationFactory,
)
from tests.querycounts import MANY, Upto, assert_constant_queries, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def readers(make_user, owner):
    return {
        "owner": owner,
        "mrc": make_user(Role.MRC, username="mira"),
        "auditor": make_user(Role.AUDITOR, username="audrey"),
    }


@pytest.fixture
def target(owner):
    """The version (and its model) that nested lists and the version page are about."""
    return ModelVersionFactory(model=RegisteredModelFactory(owner=owner, name="target"))


def _new_version(owner, i: int, **kwargs) -> ModelVersion:
    model = RegisteredModelFactory(owner=owner, name=f"m-{i:03}")
    return ModelVersionFactory(model=model, version=f"1.{i}", **kwargs)


def _in_review(owner, i: int) -> ModelVersion:
    """A version waiting for the MRC, submitted by its owner, with a decision at staging."""
    version = _new_version(owner, i, submitted_by=owner)
    ModelVersion.objects.filter(pk=version.pk).update(state=VersionState.MRC_REVIEW)
    ApprovalFactory(
        version=version, stage=VersionState.SECURITY_REVIEW, role=Role.SECURITY_ARCHITECT
    )
    return version


def _scanned_artifact(version: ModelVersion, i: int):
    """An artifact whose scan a Scanner of its own recorded: the page and the API name who."""
    scanner = UserFactory(username=f"scanner-{version.pk}-{i:03}", roles=[Role.SCANNER])
    return ArtifactFactory(version=version, scan_source="SCANNER", scanned_by=scanner)


def _growers(owner, reader, target):
    """name -> (API url or page url, make row i, rows shown with n rows or None)."""
    v = target.pk
    return {
        "api policies": (
            "/api/v1/policies/?pageSize=50",
            lambda i: PolicyFactory(policy_id=f"p-{i:03}"),
        ),
        "api violations": (
            "/api/v1/violations/?pageSize=50",
            lambda i: ViolationFactory(version=_new_version(owner, i)),
        ),
        "api reports": ("/api/v1/reports/?pageSize=50", lambda i: ReportFactory()),
        "api versions with scanned artifacts": (
            "/api/v1/versions/?pageSize=50",
            lambda i: _scanned_artifact(_new_version(owner, i), i),
        ),
        "api version artifacts": (
            f"/api/v1/versions/{v}/artifacts/?pageSize=50",
            lambda i: _scanned_artifact(target, i),
        ),
        "api notifications": (
            "/api/v1/notifications/?pageSize=50",
            lambda i: NotificationFactory(user=reader, version=_new_version(owner, i)),
        ),
        "api transitions": (
            f"/api/v1/versions/{v}/transitions/?pageSize=50",
            lambda i: StateTransitionFactory(version=target),
        ),
        "api policy evaluations": (
            f"/api/v1/versions/{v}/policy-evaluations/?pageSize=50",
            lambda i: PolicyEvaluationFactory(version=target, policy=PolicyFactory()),
        ),
        "api risk tier changes": (
            f"/api/v1/models/{target.model_id}/risk-tier-changes/",
            lambda i: RiskTierChangeRequestFactory(model=target.model, status="REJECTED"),
        ),
        "api approval dashboard": ("/api/v1/approval-dashboard/", lambda i: _in_review(owner, i)),
        "page approvals": ("/approvals/", lambda i: _in_review(owner, i)),
        "page exceptions": (
            "/exceptions/",
            lambda i: PolicyExceptionFactory(version=_new_version(owner, i)),
        ),
        "page compliance": (
            "/compliance/",
            lambda i: ViolationFactory(version=_new_version(owner, i)),
        ),
        "page policies": ("/policies/", lambda i: PolicyFactory(policy_id=f"p-{i:03}")),
        "page audit": (
            "/audit/",
            lambda i: record_event("MODEL_REGISTRY", "UPDATE_MODEL", user=owner, model_id=i),
        ),
        "page reports": ("/reports/", lambda i: ReportFactory()),
        "page version": (f"/versions/{v}/", lambda i: _grow_version_page(target, i)),
        "page notifications": (
            "/notifications/",
            lambda i: NotificationFactory(user=reader, version=_new_version(owner, i)),
        ),
        "page evaluation history": (
            f"/versions/{v}/evaluations/",
            lambda i: EvaluationRunFactory(version=target),
        ),
    }


def _grow_version_page(version: ModelVersion, i: int) -> None:
    """Everything the version page shows a list of: artifacts, history, evaluations, runs,
    exceptions and approvals."""
    _scanned_artifact(version, i)
    StateTransitionFactory(version=version)
    policy = PolicyFactory()
    PolicyEvaluationFactory(version=version, policy=policy, environment=Environment.STAGING)
    PolicyExceptionFactory(version=version, policy=policy)
    EvaluationRunFactory(version=version)


# Rows each list shows with n rows in the database; None where the answer is not one list
# (dashboards) or the list is not the page's `page` (the version page).
PAGE_ROWS = {
    "page exceptions": lambda n: min(n, 50),
    "page compliance": lambda n: min(n, 50),
    "page policies": lambda n: min(n, 50),
    "page reports": lambda n: min(n, 25),
    "page evaluation history": lambda n: min(n, 25),
}
# The audit trail also shows the events the set-up itself records.
NO_ROWS = {
    "api approval dashboard",
    "page approvals",
    "page version",
    "page audit",
    "page notifications",  # its list is `items`, not a page
}

CASES = [
    (name, reader)
    for name in (
        "api policies",
        "api violations",
        "api reports",
        "api notifications",
        "api transitions",
        "api policy evaluations",
        "api risk tier changes",
        "api approval dashboard",
        "page approvals",
        "page exceptions",
        "page compliance",
        "page policies",
        "page audit",
        "page reports",
        "page version",
        "page notifications",
        "page evaluation history",
    )
    for reader in ("owner", "mrc")
]


def _reader_for(name: str, reader: str) -> str:
    # Reports and the audit trail are not for a Model Owner: read them as an Auditor instead.
    if reader == "owner" and name in {"api reports", "page reports", "page audit"}:
        return "auditor"
    return reader


@pytest.mark.parametrize(("name", "reader"), CASES, ids=[f"{n}|{r}" for n, r in CASES])
def test_list_runs_a_constant_number_of_queries(client, readers, owner, target, name, reader):
    user = readers[_reader_for(name, reader)]
    url, make_one = _growers(owner, user, target)[name]
    if name.startswith("api"):
        http = token_client(user)
    else:
        client.force_login(user)
        http = client
    rows = (lambda n: None) if name in NO_ROWS else PAGE_ROWS.get(name, lambda n: n)
    assert_constant_queries(http, url, Upto(make_one), rows=rows)


@pytest.mark.parametrize("reader", ["owner", "mrc"])
def test_the_dashboard_counted_above_does_list_the_rows(readers, owner, reader):
    """The dashboards' counts are only worth something if the 40 versions are in the answer:
    pending for the MRC, the owner's own requests (the RECENT newest) for the owner."""
    grow = Upto(lambda i: _in_review(owner, i))
    grow(MANY)
    body = token_client(readers[reader]).get("/api/v1/approval-dashboard/").json()
    listed = body["pending"] if reader == "mrc" else body["myRequests"]
    assert len(listed) == (MANY if reader == "mrc" else min(MANY, RECENT))
