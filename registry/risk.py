"""Deciding a model's risk tier from the guide's six-factor assessment."""

from __future__ import annotations

from dataclasses import dataclass

from registry.choices import RISK_FACTORS, RiskTier

_ORDER = {RiskTier.LOW: 0, RiskTier.MEDIUM: 1, RiskTier.HIGH: 2}


@dataclass(frozen=True)
class TierDecision:
    tier: str
    reason: str


def derive_tier(assessment: dict[str, str]) -> TierDecision:
    """The default rule: the tier is the highest level of any factor.

    `assessment` must hold all six factors with a valid level (validated by the caller).
    """
    highest = max((assessment[f] for f in RISK_FACTORS), key=lambda level: _ORDER[level])
    drivers = [RISK_FACTORS[f] for f in RISK_FACTORS if assessment[f] == highest]
    factor_word = "factor" if len(drivers) == 1 else "factors"
    reason = (
        f"{highest}: the highest level of any risk factor ({factor_word} at {highest}: "
        f"{', '.join(drivers)})"
    )
    return TierDecision(tier=highest, reason=reason)


def stated_tier(tier: str) -> TierDecision:
    return TierDecision(tier=tier, reason=f"{tier}: stated by the owner without an assessment")


def validate_assessment(assessment: object) -> dict[str, str]:
    """Return the assessment with exactly the six factors, or raise ValueError naming the fault."""
    if not isinstance(assessment, dict):
        raise ValueError("must be an object with the six risk factors")
    unknown = sorted(set(assessment) - set(RISK_FACTORS))
    if unknown:
        raise ValueError(
            f"unknown factor(s) {', '.join(unknown)}; the factors are {', '.join(RISK_FACTORS)}"
        )
    missing = [f for f in RISK_FACTORS if f not in assessment]
    if missing:
        raise ValueError(f"missing factor(s): {', '.join(missing)}")
    for factor in RISK_FACTORS:
        if assessment[factor] not in RiskTier.values:
            raise ValueError(f"{factor} must be one of LOW, MEDIUM, HIGH")
    return {factor: assessment[factor] for factor in RISK_FACTORS}
