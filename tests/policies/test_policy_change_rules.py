"""policies.changes.relaxations: which edits of a policy relax it (plain domain rule, no
database)."""

from __future__ import annotations

import copy

import pytest

from policies.changes import relaxations, under_change_control
from policies.documents import to_fields

BASE = {
    "policyId": "scan",
    "name": "Security scan",
    "description": "",
    "severity": "HIGH",
    "type": None,
    "status": "ACTIVE",
    "enforcement": "ENFORCE",
    "scope": {"riskTiers": ["MEDIUM", "HIGH"], "environments": ["staging", "production"]},
    "rules": [
        {"condition": "artifact.securityScan.status == 'PASSED'", "message": "scan must pass"},
        {"condition": "size(artifacts) > 0", "message": "needs an artifact"},
    ],
    "exceptions": {"allowExceptions": True, "requireApproval": True, "maxDuration": "7d"},
}


def changed(**edits) -> list[str]:
    after = copy.deepcopy(BASE)
    for key, value in edits.items():
        if key in ("scope", "exceptions"):
            after[key] = {**after[key], **value}
        else:
            after[key] = value
    return relaxations(to_fields(BASE), to_fields(after))


@pytest.mark.parametrize(
    ("edits", "finding"),
    [
        ({"status": "RETIRED"}, "status ACTIVE -> RETIRED"),
        ({"status": "DRAFT"}, "status ACTIVE -> DRAFT"),
        ({"enforcement": "WARN"}, "enforcement lowered ENFORCE -> WARN"),
        ({"enforcement": "DRY_RUN"}, "enforcement lowered ENFORCE -> DRY_RUN"),
        ({"severity": "MEDIUM"}, "severity lowered HIGH -> MEDIUM"),
        ({"scope": {"riskTiers": ["HIGH"]}}, "risk tier(s) MEDIUM removed"),
        ({"scope": {"environments": ["production"]}}, "environment(s) staging removed"),
        ({"rules": BASE["rules"][:1]}, "rule 1 removed or its condition changed"),
        (
            {
                "rules": [
                    BASE["rules"][0],
                    # Stricter in fact, but not proven so: counted as relaxing.
                    {"condition": "size(artifacts) > 1", "message": "needs an artifact"},
                ]
            },
            "rule 1 removed or its condition changed",
        ),
        ({"exceptions": {"requireApproval": False}}, "no longer require approval"),
        ({"exceptions": {"maxDuration": "30d"}}, "maxDuration 7d -> 30d"),
        ({"exceptions": {"maxDuration": None}}, "maxDuration 7d -> no limit"),
    ],
)
def test_relaxing_edits_are_found_and_named(edits, finding):
    found = changed(**edits)
    assert any(finding in line for line in found), found


@pytest.mark.parametrize(
    "edits",
    [
        {},
        {"name": "Renamed", "description": "Reworded", "type": "SECURITY"},
        {"severity": "CRITICAL"},
        {"scope": {"riskTiers": ["LOW", "MEDIUM", "HIGH"]}},
        {"rules": [*BASE["rules"], {"condition": "true", "message": "extra rule"}]},
        {"rules": list(reversed(BASE["rules"]))},  # reordered
        {"rules": [{**r, "message": r["message"] + "!"} for r in BASE["rules"]]},
        {"exceptions": {"maxDuration": "2d"}},
        {"exceptions": {"allowExceptions": False}},
    ],
)
def test_tightening_and_rewording_relax_nothing(edits):
    assert changed(**edits) == []


def test_allowing_exceptions_is_relaxing_and_a_duplicate_rule_removed_is_found():
    closed = {**copy.deepcopy(BASE), "exceptions": {"allowExceptions": False}}
    opened = copy.deepcopy(BASE)
    assert "exceptions allowed where they were not" in relaxations(
        to_fields(closed), to_fields(opened)
    )
    twice = {**copy.deepcopy(BASE), "rules": [BASE["rules"][0], BASE["rules"][0]]}
    once = {**copy.deepcopy(BASE), "rules": [BASE["rules"][0]]}
    assert relaxations(to_fields(twice), to_fields(once)) == [
        "rule 1 removed or its condition changed (was: artifact.securityScan.status == 'PASSED'); "
        "a changed condition is not proven stricter"
    ]


def test_several_findings_are_all_told():
    found = changed(status="RETIRED", enforcement="WARN", scope={"riskTiers": ["HIGH"]})
    assert len(found) == 3


def test_only_active_enforce_policies_are_under_change_control():
    assert under_change_control(to_fields(BASE))
    for edits in ({"status": "DRAFT"}, {"enforcement": "WARN"}, {"status": "RETIRED"}):
        assert not under_change_control(to_fields({**BASE, **edits}))
