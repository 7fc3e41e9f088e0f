"""The Inventory page (/inventory/): the date-time picker, a table per model, visibility, bad
input and a constant number of queries."""

from __future__ import annotations

import pytest
from django.test import Client

from core.choices import Role
from tests.factories import (
    ApprovalFactory,
    ExceptionApprovalFactory,
    ModelVersionFactory,
    PolicyEvaluationFactory,
    PolicyExceptionFactory,
    PolicyFactory,
    RegisteredModelFactory,
    StateTransitionFactory,
)
from tests.governance.test_inventory_point_in_time import (  # noqa: F401 (fixtures)
    clock,
    history,
)
from tests.querycounts import Upto, assert_constant_queries

pytestmark = pytest.mark.django_db

URL = "/inventory/"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_inventory_at_the_picked_instant(history):  # noqa: F811
    client = page_client(history["users"][Role.MRC])
    # The picker's value has no offset: the page reads it as UTC.
    response = client.get(URL, {"at": "2026-03-31T23:59:59"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Inventory at 2026-03-31 23:59:59 UTC" in text
    assert 'type="datetime-local"' in text
    assert 'value="2026-03-31T23:59:59"' in text
    assert "credit-scorer" in text and "late-model" not in text
    assert '<span class="tier tier-MEDIUM">MEDIUM</span>' in text
    assert '<span class="state state-PRODUCTION">PRODUCTION</span>' in text
    assert '<span class="state state-DRAFT">DRAFT</span>' in text
    assert "APPROVED PRODUCTION_REVIEW (production, cycle" in text
    assert "mrc as MRC" in text
    assert f'href="/exceptions/{history["exception"].pk}/"' in text
    assert "security_architect (Security Architect)" in text
    assert "/api/v1/inventory/?at=2026-03-31T23%3A59%3A59%2B00%3A00" in text
    inventory = response.context["inventory"]
    assert [m.name for m in inventory.models] == ["credit-scorer"]
    # Without `at`: now, with the model registered in May and the tier changed in April.
    now = client.get(URL).content.decode()
    assert "late-model" in now and '<span class="tier tier-HIGH">HIGH</span>' in now


@pytest.mark.parametrize(
    ("value", "says"),
    [("31/03/2026", "not an ISO 8601"), ("2999-01-01T00:00:00", "future")],
)
def test_a_bad_instant_is_a_400_page_naming_at(history, value, says):  # noqa: F811
    response = page_client(history["users"][Role.MRC]).get(URL, {"at": value})
    assert response.status_code == 400
    text = response.content.decode()
    assert 'role="alert">at: ' in text and says in text
    assert 'aria-invalid="true"' in text
    assert "credit-scorer" not in text


def test_visibility_and_refusal_on_the_page(history, make_user):  # noqa: F811
    other = make_user(Role.MODEL_OWNER, username="other-owner")
    RegisteredModelFactory(owner=other, name="other-model")
    text = page_client(other).get(URL).content.decode()
    assert "other-model" in text and "credit-scorer" not in text
    refused = page_client(history["users"][Role.SCANNER]).get(URL)
    assert refused.status_code == 403
    assert Client().get(URL).status_code == 302  # to the login page


def test_the_page_costs_the_same_queries_for_few_and_many_models(users):
    owner, mrc = users[Role.MODEL_OWNER], users[Role.MRC]
    policy = PolicyFactory(policy_id="scan-required")

    def make_one(n: int) -> None:
        model = RegisteredModelFactory(owner=owner, name=f"page-{n:03d}")
        version = ModelVersionFactory(model=model)
        StateTransitionFactory(version=version)
        ApprovalFactory(version=version, user=mrc)
        PolicyEvaluationFactory(version=version, policy=policy)
        exception = PolicyExceptionFactory(version=version, policy=policy)
        ExceptionApprovalFactory(exception=exception, user=mrc)

    client = page_client(users[Role.AUDITOR])
    assert_constant_queries(client, URL, Upto(make_one), rows=lambda n: None, ceiling=30)
    assert len(client.get(URL).context["inventory"].models) == 40
