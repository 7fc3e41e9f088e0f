"""scan_file: sniff the content, run the rules that cover its format, sum up a report."""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePath

from . import sniff
from .onnx_rules import scan_onnx
from .pickles import scan_pickle_family
from .report import CRITICAL, HIGH, Finding, ScanReport, make_report
from .rules import MODELSCAN_VERSION, ONNX_VERSION, REGISTRY_RULES, RULES_VERSION
from .safetensors_rules import safetensors_findings

logger = logging.getLogger(__name__)

MODELSCAN_SCANNER = f"modelscan {MODELSCAN_VERSION} + registry pickle rules {REGISTRY_RULES}"
ONNX_SCANNER = f"onnx {ONNX_VERSION} checker + registry ONNX rules {REGISTRY_RULES}"
SAFETENSORS_SCANNER = f"registry safetensors rules {REGISTRY_RULES}"
NO_SCANNER = f"registry rules {REGISTRY_RULES}"

# Names whose loaders unpickle the file: content no format matched is still handed to the
# pickle scanner under such a name, so it fails on its own parse error rather than passing.
PICKLE_NAMES = frozenset({".pkl", ".pickle", ".joblib", ".dill", ".pt", ".pth", ".bin", ".ckpt"})


def scan_file(path: str | os.PathLike, *, filename: str) -> ScanReport:
    """Scan the file at ``path``; ``filename`` is the uploader's name, used only as a hint
    when the content matches no format. Never unpickles and never imports from the file."""
    path = Path(path)
    try:
        return _scan(path, filename)
    except Exception as error:  # a scanner bug must fail closed, not crash the worker
        logger.exception("scanning %s (%s) failed", path, filename)
        finding = Finding(
            CRITICAL,
            "SCAN_ERROR",
            f"The scan stopped on an error ({type(error).__name__}); the file is unmeasured.",
        )
        return _report([finding], NO_SCANNER, None, scanned=False)


def _scan(path: Path, filename: str) -> ScanReport:
    suffix = PurePath(filename).suffix.lower()
    candidates = sniff.sniff_candidates(path)
    if candidates:
        return _scan_as(path, candidates)
    onnx_findings = scan_onnx(path)
    if onnx_findings is not None:
        return _report(onnx_findings, ONNX_SCANNER, sniff.ONNX, scanned=True)
    if suffix == ".onnx":
        finding = Finding(
            CRITICAL,
            "ONNX_INVALID",
            f"{filename!r} is named as ONNX but does not parse as an ONNX ModelProto.",
        )
        return _report([finding], ONNX_SCANNER, None, scanned=True)
    if suffix in PICKLE_NAMES:
        findings, scanned = scan_pickle_family(path, sniff.PICKLE)
        return _report(findings, MODELSCAN_SCANNER, None, scanned)
    return _report([], NO_SCANNER, None, scanned=False)


def _scan_as(path: Path, formats: list[str]) -> ScanReport:
    """Scan every reading of the content; the first format is the one reported."""
    findings: list[Finding] = []
    scanners: list[str] = []
    scanned = True
    for format in formats:
        if format == sniff.SAFETENSORS:
            findings += safetensors_findings(path)
            scanner = SAFETENSORS_SCANNER
        else:
            format_findings, format_scanned = scan_pickle_family(path, format)
            findings += format_findings
            scanned = scanned and format_scanned
            scanner = MODELSCAN_SCANNER
        if scanner not in scanners:
            scanners.append(scanner)
    if len(formats) > 1:
        findings.append(
            Finding(
                HIGH,
                "POLYGLOT",
                f"The content is valid as {' and '.join(formats)}; a loader of each reads "
                "different bytes, so each reading was scanned.",
            )
        )
    return _report(findings, "; ".join(scanners), formats[0], scanned)


def _report(findings: list[Finding], scanner: str, format: str | None, scanned: bool) -> ScanReport:
    if not scanned:
        # Fail closed: a file no rule could measure is never PASSED.
        findings = [
            *findings,
            Finding(
                CRITICAL,
                "UNSCANNABLE",
                "No scanner rule covers this content"
                + (f" (detected format {format!r})" if format else " (no known model format)")
                + "; nothing was measured, so the file is not trusted.",
            ),
        ]
    return make_report(
        findings, scanner=scanner, format=format, scanned=scanned, rules_version=RULES_VERSION
    )
