"""The registry's security scanner for uploaded model artifacts (pure domain, no Django).

``scan_file(path, filename=...)`` sniffs the format by content and scans without loading:
the pickle family through modelscan (with the registry's denylist and joblib framing), ONNX
through the onnx checker and the registry's ONNX rules, safetensors by its header. See
docs/scanning.md.
"""

from .report import CRITICAL, FAILED, HIGH, LOW, MEDIUM, PASSED, SEVERITIES, Finding, ScanReport
from .rules import REGISTRY_RULES, RULES_VERSION
from .scan import scan_file
from .sniff import sniff_format

__all__ = [
    "CRITICAL",
    "FAILED",
    "HIGH",
    "LOW",
    "MEDIUM",
    "PASSED",
    "REGISTRY_RULES",
    "RULES_VERSION",
    "SEVERITIES",
    "Finding",
    "ScanReport",
    "scan_file",
    "sniff_format",
]
