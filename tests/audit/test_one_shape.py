"""One shape per object (issue 11): the API, the audit exports and the evidence bundle write
the same document for the same object, so a reader never meets two spellings of one fact."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from audit.api.serializers import AuditEventOutput
from audit.models import EVENT_DOCUMENT_FIELDS, AuditEvent, chain_hash
from core.choices import Role
from tests.audit.test_evidence_bundle import download, members, walked  # noqa: F401

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_an_audit_event_has_one_shape_in_the_api_the_exports_and_the_bundle(users, walked):  # noqa: F811
    auditor = api(users[Role.AUDITOR])
    files = members(download(users[Role.AUDITOR], walked))
    in_bundle = {
        e["seq"]: e for e in map(json.loads, files["audit-trail.jsonl"].decode().splitlines())
    }
    exported = {
        e["seq"]: e
        for e in map(
            json.loads,
            b"".join(
                auditor.get("/api/v1/audit-events/export/?format=jsonl").streaming_content
            ).splitlines(),
        )
    }
    listed = {
        e["seq"]: e
        for e in auditor.get(f"/api/v1/audit-events/?versionId={walked.pk}&pageSize=200").json()[
            "results"
        ]
    }
    assert listed and set(listed) <= set(exported)
    for seq, event in listed.items():
        assert list(event) == EVENT_DOCUMENT_FIELDS
        assert event == exported[seq]
        if seq in in_bundle:
            assert event == in_bundle[seq]
        # The API's document is what the hash covers: anyone can recompute it.
        # (requestId is hashed when it is not empty: older events keep their hashes.)
        content = {k: v for k, v in event.items() if k not in ("id", "prevHash", "hash")}
        if not content["requestId"]:
            del content["requestId"]
        assert chain_hash(event["prevHash"], content) == event["hash"]
    assert list(AuditEventOutput().fields) == EVENT_DOCUMENT_FIELDS
    assert list(AuditEvent.objects.first().document()) == EVENT_DOCUMENT_FIELDS


def test_the_bundle_documents_are_the_api_documents(users, walked):  # noqa: F811
    reader = api(users[Role.AUDITOR])
    files = members(download(users[Role.AUDITOR], walked))
    version = json.loads(files["version.json"])
    assert version["model"] == reader.get(f"/api/v1/models/{walked.model_id}/").json()
    shown = reader.get(f"/api/v1/versions/{walked.pk}/").json()
    # The bundle's version is the API's, plus three facts of the review record.
    assert {k: v for k, v in version["version"].items() if k in shown} == shown
    assert set(version["version"]) - set(shown) == {
        "submittedBy",
        "productionRequestedBy",
        "reviewCycle",
    }
    transitions = reader.get(f"/api/v1/versions/{walked.pk}/transitions/").json()
    assert json.loads(files["transitions.json"]) == transitions["results"]
    policy_rows = json.loads(files["policy-evidence/evaluations.json"])
    api_rows = {
        row["id"]: row
        for row in reader.get(
            f"/api/v1/versions/{walked.pk}/policy-evaluations/?pageSize=200"
        ).json()["results"]
    }
    # The API lists the latest evaluation per policy and environment; the bundle every one.
    latest = [row for row in policy_rows if row["latest"]]
    assert latest and {row["id"] for row in latest} == set(api_rows)
    for row in latest:
        extra = {"policyDocument", "blocks", "latest"}
        assert {k: v for k, v in row.items() if k not in extra} == api_rows[row["id"]]
