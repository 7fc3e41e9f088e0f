"""Two approvals racing on one version: exactly one transition, the other 409 (PostgreSQL)."""

import threading

import pytest
from django.db import connections

from core.choices import Role
from core.errors import InvalidState
from governance import promotion
from governance.models import StateTransition
from registry.models import ModelVersion
from tests.factories import ModelVersionFactory, RegisteredModelFactory, UserFactory
from tests.governance.checklists import ticked_kwargs


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_mrc_approvals_racing_make_one_transition():
    owner = UserFactory(username="race_owner", roles=[Role.MODEL_OWNER])
    reviewers = [UserFactory(username=f"race_mrc{i}", roles=[Role.MRC]) for i in range(2)]
    model = RegisteredModelFactory(owner=owner, risk_tier="MEDIUM")
    version = ModelVersionFactory(model=model, state="MRC_REVIEW", review_cycle=1)
    barrier = threading.Barrier(2)
    outcomes = []

    def decide(user):
        try:
            seen = ModelVersion.objects.select_related("model").get(pk=version.pk)
            barrier.wait()
            result = promotion.approve_version(
                seen, actor=user, comments="race", **ticked_kwargs(Role.MRC)
            )
            outcomes.append(("ok", result.version.state))
        except InvalidState as error:
            outcomes.append(("409", error.state))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [("409", "APPROVED_STAGING"), ("ok", "APPROVED_STAGING")]
    assert StateTransition.objects.filter(version=version).count() == 1
    version.refresh_from_db()
    assert version.state == "APPROVED_STAGING"
