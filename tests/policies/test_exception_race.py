"""Two MRC approvals racing on one LOW-tier exception: one approval, one activation, the other
409 (PostgreSQL row locks)."""

import datetime
import threading

import pytest
from django.db import connections

from core.choices import Role
from core.errors import InvalidState
from policies import waivers
from policies.models import ExceptionApproval, Policy, PolicyException
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_approvals_racing_activate_once():
    owner = UserFactory(username="exc_race_owner", roles=[Role.MODEL_OWNER])
    reviewers = [UserFactory(username=f"exc_race_mrc{i}", roles=[Role.MRC]) for i in range(2)]
    model = RegisteredModelFactory(owner=owner, risk_tier="LOW")
    version = ModelVersionFactory(model=model, state="STAGING", review_cycle=1)
    policy = Policy.objects.create(
        policy_id="race-policy",
        name="race",
        severity="LOW",
        risk_tiers=["LOW"],
        environments=["staging"],
        rules=[{"condition": "size(artifacts) > 0", "message": "an artifact"}],
        allow_exceptions=True,
        max_duration="7d",
    )
    exception = waivers.request_exception(
        actor=owner,
        policy=policy,
        version=version,
        justification="j",
        risk_assessment="r",
        mitigation="m",
        duration_days=2,
        monitoring_plan="p",
        reason="TECHNICAL_LIMITATION",
        remediation_plan="fix it",
        remediation_due_date=datetime.date(2099, 1, 1),
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(user):
        try:
            seen = PolicyException.objects.select_related("policy", "version__model").get(
                pk=exception.pk
            )
            barrier.wait()
            waivers.approve_exception(seen, actor=user)
            outcomes.append("ok")
        except InvalidState as error:
            outcomes.append(f"409 {error.state}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["409 ACTIVE", "ok"]
    assert ExceptionApproval.objects.filter(exception=exception).count() == 1
    exception.refresh_from_db()
    assert exception.status == "ACTIVE"
