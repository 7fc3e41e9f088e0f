"""Reading policies and their results (every role may read policies)."""

from __future__ import annotations

from django.utils import timezone

from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from policies.choices import EvaluationTrigger, PolicyChangeStatus, PolicyStatus
from policies.models import (
    ExceptionReview,
    Policy,
    PolicyChange,
    PolicyEvaluation,
    PolicyException,
    Violation,
)
from registry.models import ModelVersion


@domain_action(Action.READ_POLICIES)
def readable_policies(*, actor):
    authorize(actor, Action.READ_POLICIES)
    return Policy.objects.all()


def latest_evaluations(version: ModelVersion) -> list[PolicyEvaluation]:
    """The latest evaluation of every policy (per environment) on the version. A RETIRED
    policy judges nothing any more, so its last result is not a current one and is left out;
    every result stays on record (the evidence bundle's evaluations.json, the admin)."""
    seen, latest = set(), []
    for evaluation in (
        version.policy_evaluations.exclude(policy__status=PolicyStatus.RETIRED)
        .select_related("policy")
        .order_by("-evaluated_at", "-id")
    ):
        key = (evaluation.policy_id, evaluation.environment)
        if key not in seen:
            seen.add(key)
            latest.append(evaluation)
    return latest


def exception_checks(exception: PolicyException, *, user):
    """The monitoring checks of the excepted (policy, version) pair while the exception was in
    force, newest first (none before it was activated)."""
    if exception.activated_at is None:
        return PolicyEvaluation.objects.none()
    return (
        PolicyEvaluation.objects.visible_to(user)
        .filter(
            version=exception.version_id,
            policy=exception.policy_id,
            trigger=EvaluationTrigger.MONITOR,
            evaluated_at__gte=exception.activated_at,
            evaluated_at__lte=exception.window_end or timezone.now(),
        )
        .order_by("-evaluated_at", "-id")
    )


def exception_violations(exception: PolicyException, *, user):
    """The violations of the excepted (policy, version) pair, newest first."""
    return (
        Violation.objects.visible_to(user)
        .filter(version=exception.version_id, policy=exception.policy_id)
        .order_by("-first_seen")
    )


def overdue_exception_reviews(*, user, now=None):
    """The ACTIVE exceptions `user` may see whose periodic review is past due, the most overdue
    first (for a dashboard's list and count)."""
    now = now or timezone.now()
    return (
        PolicyException.objects.visible_to(user)
        .in_force(now)
        .filter(next_review_due__lt=now)
        .select_related("policy", "version__model")
        .order_by("next_review_due", "id")
    )


def overdue_exception_review_count(*, user, now=None) -> int:
    """How many exceptions `user` may see have an overdue review (one query)."""
    return overdue_exception_reviews(user=user, now=now).count()


def exception_reviews(exception: PolicyException):
    """The exception's periodic reviews, oldest first, with their reviewers."""
    return ExceptionReview.objects.filter(exception=exception).select_related("reviewer")


@domain_action(Action.READ_POLICIES)
def readable_policy_changes(*, actor):
    """Proposed changes of policies: read by whoever reads policies (a change's document names
    no model; its dry-run impact is limited to what the reader may see)."""
    authorize(actor, Action.READ_POLICIES)
    return PolicyChange.objects.select_related("policy", "proposed_by", "decided_by")


def pending_policy_changes(policy: Policy):
    return policy.changes.filter(status=PolicyChangeStatus.PROPOSED).select_related("proposed_by")
