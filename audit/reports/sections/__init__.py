"""What the report sections share: the limits and the labels every section uses."""

from __future__ import annotations

from datetime import timedelta

from audit.reports.portfolio import COMPLIANT, NON_COMPLIANT, NOT_EVALUATED
from governance.routing import REVIEW_STATES
from registry.choices import VersionState

TIER_COLORS = {"LOW": "#009E73", "MEDIUM": "#E69F00", "HIGH": "#D55E00"}
STATUS_LABEL = {
    COMPLIANT: "Compliant",
    NON_COMPLIANT: "Non-compliant",
    NOT_EVALUATED: "Not evaluated",
}
STALE_REVIEW = timedelta(days=7)
DETAIL_LIMIT = 300
DEPLOYED = (VersionState.STAGING, VersionState.PRODUCTION)
IN_REVIEW = (*REVIEW_STATES, VersionState.SUBMITTED)
