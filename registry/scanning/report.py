"""What a scan returns: findings and the report that sums them up."""

from __future__ import annotations

from dataclasses import dataclass

LOW = "LOW"
MEDIUM = "MEDIUM"
HIGH = "HIGH"
CRITICAL = "CRITICAL"
SEVERITIES = (LOW, MEDIUM, HIGH, CRITICAL)

PASSED = "PASSED"
FAILED = "FAILED"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def as_dict(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message}


def _order(finding: Finding) -> tuple:
    # Most severe first, then by code and message: modelscan hands its globals back from a
    # set, and a stored report must not change from one scan of the same file to the next.
    return (-SEVERITIES.index(finding.severity), finding.code, finding.message)


@dataclass(frozen=True)
class ScanReport:
    """The outcome of scanning one file.

    ``status`` is FAILED exactly when a finding is CRITICAL. ``scanned`` says whether any rule
    measured the content at all; a file nothing could measure always carries a CRITICAL
    UNSCANNABLE finding, so it is never PASSED.
    """

    status: str
    scanner: str
    findings: list[Finding]
    format: str | None
    scanned: bool = True
    rules_version: str = ""

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "scanner": self.scanner,
            "format": self.format,
            "scanned": self.scanned,
            "rules_version": self.rules_version,
            "findings": [finding.as_dict() for finding in self.findings],
        }


def make_report(
    findings: list[Finding],
    *,
    scanner: str,
    format: str | None,
    scanned: bool,
    rules_version: str,
) -> ScanReport:
    unique = sorted(set(findings), key=_order)
    failed = any(finding.severity == CRITICAL for finding in unique)
    return ScanReport(
        status=FAILED if failed else PASSED,
        scanner=scanner,
        findings=unique,
        format=format,
        scanned=scanned,
        rules_version=rules_version,
    )
