"""Which reviews each risk tier passes through, as data (the guide's defaults).

Per tier: the review stages on the way to staging, in order, and the roles whose approvals
production review needs (each from a different person). The workflow reads the model's tier
at every step, so a tier change re-routes versions under review from their next step on.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.choices import Role
from registry.choices import RiskTier, VersionState


@dataclass(frozen=True)
class Route:
    staging: tuple[str, ...]
    production: tuple[str, ...]


ROUTES: dict[str, Route] = {
    RiskTier.LOW: Route(staging=(), production=()),
    RiskTier.MEDIUM: Route(staging=(Role.MRC,), production=(Role.MRC,)),
    RiskTier.HIGH: Route(
        staging=(Role.MRC, Role.SECURITY_ARCHITECT),
        production=(Role.MRC, Role.SECURITY_ARCHITECT),
    ),
}

# The staging review stages in their fixed order, and the role each one needs.
STAGE_ROLE: dict[str, str] = {
    VersionState.MRC_REVIEW: Role.MRC,
    VersionState.SECURITY_REVIEW: Role.SECURITY_ARCHITECT,
}
STAGING_STAGES = tuple(STAGE_ROLE)
REVIEW_STATES = (*STAGING_STAGES, VersionState.PRODUCTION_REVIEW)


def next_staging_state(tier: str, after: str | None = None) -> str:
    """The state after submission (`after` None) or after approving stage `after`."""
    wanted = {stage for stage, role in STAGE_ROLE.items() if role in ROUTES[tier].staging}
    start = 0 if after is None else STAGING_STAGES.index(after) + 1
    for stage in STAGING_STAGES[start:]:
        if stage in wanted:
            return stage
    return VersionState.APPROVED_STAGING


def production_roles(tier: str) -> tuple[str, ...]:
    return ROUTES[tier].production


def staging_roles(tier: str) -> tuple[str, ...]:
    """The roles whose approvals the way to staging passes through, in stage order."""
    return ROUTES[tier].staging


def next_production_state(tier: str) -> str:
    return (
        VersionState.PRODUCTION_REVIEW
        if ROUTES[tier].production
        else VersionState.APPROVED_PRODUCTION
    )


def route_table() -> list[dict]:
    """The routing for display: per tier, the staging stages and production approvals."""
    return [
        {
            "riskTier": tier,
            "staging": [stage for stage, role in STAGE_ROLE.items() if role in ROUTES[tier].staging]
            or ["automatic approval"],
            "production": list(ROUTES[tier].production) or ["automatic approval"],
        }
        for tier in RiskTier.values
    ]
