"""A HIGH version's whole path through the pages (the forms post to the same domain functions)."""

import pytest

from core.choices import Role
from core.roles import roles_of
from governance.choices import REVIEW_CHECKLISTS
from tests.factories import ArtifactFactory, ModelVersionFactory, RegisteredModelFactory

pytestmark = pytest.mark.django_db


def test_high_tier_walks_every_gate_through_the_pages(client, users, make_user):
    owner = users[Role.MODEL_OWNER]
    mrc2 = make_user(Role.MRC, username="mrc_two")
    model = RegisteredModelFactory(owner=owner, risk_tier="HIGH")
    version = ModelVersionFactory(model=model)
    ArtifactFactory(version=version)
    steps = [
        (owner, "submit", "MRC_REVIEW"),
        (users[Role.MRC], "approve", "SECURITY_REVIEW"),
        (users[Role.SECURITY_ARCHITECT], "approve", "APPROVED_STAGING"),
        (users[Role.SRE], "deploy", "STAGING"),
        (owner, "request-production", "PRODUCTION_REVIEW"),
        (mrc2, "approve", "PRODUCTION_REVIEW"),
        (users[Role.SECURITY_ARCHITECT], "approve", "APPROVED_PRODUCTION"),
        (users[Role.SRE], "deploy", "PRODUCTION"),
    ]
    for person, action, expected in steps:
        client.force_login(person)
        page = client.get(f"/versions/{version.pk}/").content.decode()
        assert f"/versions/{version.pk}/do/{action}/" in page, (person.username, action)
        form = {"comments": f"{action} by {person}"}
        if action == "approve":  # the page shows the reviewer's checklist; all of it is ticked
            role = Role.MRC if Role.MRC in roles_of(person) else Role.SECURITY_ARCHITECT
            checklist = REVIEW_CHECKLISTS[role]
            assert checklist.title in page
            form.update(dict.fromkeys(checklist.items, "on"))
        response = client.post(f"/versions/{version.pk}/do/{action}/", form, follow=True)
        assert response.status_code == 200
        version.refresh_from_db()
        assert version.state == expected, (person.username, action, response.content[:300])
    client.force_login(users[Role.AUDITOR])
    timeline = client.get(f"/versions/{version.pk}/").content.decode()
    assert "DEPLOY_PRODUCTION" in timeline
    assert f"/versions/{version.pk}/do/" not in timeline  # auditors get no buttons


def test_refused_page_action_is_a_message_not_a_change(client, users):
    owner = users[Role.MODEL_OWNER]
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=owner, risk_tier="MEDIUM"))
    client.force_login(users[Role.SRE])
    response = client.post(f"/versions/{version.pk}/do/submit/", {"comments": ""}, follow=True)
    assert "Refused:" in response.content.decode()
    version.refresh_from_db()
    assert version.state == "DRAFT"
