"""Risk tier change requests: the tier changes only once the request is approved.

The model's owner asks for their own models; MRC may ask for any model (re-tiering by the
risk team). An MRC approval is always needed; a change to or from HIGH also needs a Security
Architect, each from a different person, never the requester or the model's owner (so an MRC
member's request is decided by another MRC member; governance/separation.py). Versions under
review follow the new tier from their next step on (routing reads the tier at every step);
approved versions whose approvals do not satisfy the new tier go back to review
(promotion.reopen_reviews).
"""

from __future__ import annotations

from django.utils import timezone

from audit.choices import EventType
from audit.services import record_event
from core.access import authorize
from core.choices import Action
from core.domain import domain_action
from core.errors import Forbidden, Invalid, InvalidState
from core.roles import roles_of
from governance import promotion, separation
from governance.choices import Decision, NotificationKind, TierChangeStatus
from governance.models import RiskTierChangeRequest, TierChangeDecision
from governance.notifications import notify, users_with_role
from registry.models import RegisteredModel


def required_roles(request: RiskTierChangeRequest) -> tuple[str, ...]:
    return separation.tier_change_roles(request.touches_high)


def _case(request: RiskTierChangeRequest) -> separation.Case:
    decisions = request.decisions.values_list("user_id", "role", "decision")
    return separation.tier_change_case(request, decisions)


def _locked(request: RiskTierChangeRequest) -> RiskTierChangeRequest:
    locked = (
        RiskTierChangeRequest.objects.select_related("model")
        .select_for_update(of=("self",))
        .get(pk=request.pk)
    )
    if locked.status != TierChangeStatus.REQUESTED:
        raise InvalidState(
            f"the request is {locked.status}; only a REQUESTED one can be decided",
            state=locked.status,
        ).about(model_id=locked.model_id)
    return locked


@domain_action(Action.REQUEST_TIER_CHANGE)
def request_tier_change(
    model: RegisteredModel, *, actor, requested_tier: str, justification: str
) -> RiskTierChangeRequest:
    authorize(actor, Action.REQUEST_TIER_CHANGE, model=model)
    model = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if requested_tier == model.risk_tier:
        raise Invalid(f"the model is already {model.risk_tier}", field="requestedTier")
    if not justification.strip():
        raise Invalid("explain why the tier should change", field="justification")
    open_request = model.tier_change_requests.filter(status=TierChangeStatus.REQUESTED).first()
    if open_request is not None:
        raise InvalidState(
            f"request #{open_request.pk} for this model is still open; decide it first",
            state=TierChangeStatus.REQUESTED,
        ).about(model_id=model.pk)
    request = RiskTierChangeRequest.objects.create(
        model=model,
        from_tier=model.risk_tier,
        requested_tier=requested_tier,
        justification=justification,
        requested_by=actor,
    )
    record_event(
        EventType.RISK_TIER_CHANGE,
        "REQUEST",
        user=actor,
        model_id=model.pk,
        details={
            "request": request.pk,
            "fromTier": request.from_tier,
            "requestedTier": requested_tier,
            "justification": justification,
        },
    )
    for role in required_roles(request):
        notify(
            users_with_role(role, exclude_ids=[actor.pk, model.owner_id]),
            kind=NotificationKind.TIER_CHANGE,
            message=f"{model.name}: risk tier change {request.from_tier} → {requested_tier} "
            f"awaits your decision (as {role})",
        )
    return request


def _decide(request, actor, *, decision: str, comments: str) -> tuple[TierChangeDecision, str]:
    case = _case(request)
    approving = decision == Decision.APPROVED
    role = separation.role_for(case, roles_of(actor), approving=approving)
    if role is None:
        needed = separation.open_roles(case, approving=approving)
        raise Forbidden(f"this request now needs a decision by {' or '.join(needed)}").about(
            model_id=request.model_id
        )
    separation.check_case(case, actor, action=Action.DECIDE_TIER_CHANGE, model_id=request.model_id)
    made = TierChangeDecision.objects.create(
        request=request, decision=decision, user=actor, role=role, comments=comments
    )
    return made, role


@domain_action(Action.DECIDE_TIER_CHANGE)
def approve_tier_change(
    request: RiskTierChangeRequest, *, actor, comments: str = ""
) -> RiskTierChangeRequest:
    authorize(actor, Action.DECIDE_TIER_CHANGE, model=request.model)
    request = _locked(request)
    _, role = _decide(request, actor, decision=Decision.APPROVED, comments=comments)
    complete = not separation.remaining_roles(_case(request))
    record_event(
        EventType.RISK_TIER_CHANGE,
        "APPROVE",
        user=actor,
        model_id=request.model_id,
        details={"request": request.pk, "role": role, "comments": comments, "complete": complete},
    )
    if complete:
        _apply(request, actor)
    return request


def _apply(request: RiskTierChangeRequest, actor) -> None:
    model = RegisteredModel.objects.select_for_update().get(pk=request.model_id)
    request.status = TierChangeStatus.APPROVED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    previous = model.risk_tier
    model.risk_tier = request.requested_tier
    model.risk_tier_reason = (
        f"{request.requested_tier}: changed from {previous} by approved request #{request.pk}"
    )
    model.save(update_fields=["risk_tier", "risk_tier_reason", "updated_at"])
    record_event(
        EventType.RISK_TIER_CHANGE,
        "APPLY",
        user=actor,
        model_id=model.pk,
        details={"request": request.pk, "fromTier": previous, "toTier": model.risk_tier},
    )
    promotion.reopen_reviews(model, previous_tier=previous, request_id=request.pk)
    notify(
        [model.owner, request.requested_by],
        kind=NotificationKind.TIER_CHANGE,
        message=f"{model.name} is now {model.risk_tier} risk (request #{request.pk} approved)",
    )


@domain_action(Action.DECIDE_TIER_CHANGE)
def reject_tier_change(
    request: RiskTierChangeRequest, *, actor, comments: str = ""
) -> RiskTierChangeRequest:
    authorize(actor, Action.DECIDE_TIER_CHANGE, model=request.model)
    request = _locked(request)
    _, role = _decide(request, actor, decision=Decision.REJECTED, comments=comments)
    request.status = TierChangeStatus.REJECTED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    record_event(
        EventType.RISK_TIER_CHANGE,
        "REJECT",
        user=actor,
        model_id=request.model_id,
        details={"request": request.pk, "role": role, "comments": comments},
    )
    notify(
        [request.model.owner, request.requested_by],
        kind=NotificationKind.TIER_CHANGE,
        message=f"{request.model.name}: risk tier change request #{request.pk} was rejected",
    )
    return request
