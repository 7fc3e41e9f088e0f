"""The pickle family (pickle, joblib, PyTorch, NumPy, Keras H5, zips of them) through modelscan.

modelscan picks its scanner by file extension, and the registry stores files by content hash
with no extension, so each file is presented to it in a temporary folder under a name whose
extension matches the format sniffed from the content (a symlink where nothing is cut). The
choice is the registry's, not the uploader's:

- a pickle stream (plain, joblib, legacy PyTorch) is framed first (pickle_frames): each of its
  pickles becomes its own ``.pkl`` (modelscan's ``.pt`` scanner reads only the first of legacy
  PyTorch's five pickles, and one memo across pickles misreads names), joblib's raw array bytes
  are cut out, literals over 1 MiB are emptied, and the globals the framing resolved are
  checked against the same denylist as a second opinion;
- .npy and .npz are read by the registry (numpy_files: modelscan 0.8.8's NumPy scanner fails on
  numpy 2) and only an object array's pickle goes to modelscan;
- PyTorch zips, Keras H5 and other zips are handed over as they are.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePath

from modelscan.modelscan import ModelScan

from . import sniff
from .numpy_files import NpyError, read_header
from .pickle_frames import COMPUTED, FramedPickle, FramingError, frame_pickles
from .report import CRITICAL, LOW, MEDIUM, SEVERITIES, Finding
from .rules import modelscan_settings

logger = logging.getLogger(__name__)

SUFFIXES = {
    sniff.PICKLE: ".pkl",
    sniff.PYTORCH: ".pt",
    sniff.NUMPY: ".npy",
    sniff.NPZ: ".npz",
    sniff.KERAS_H5: ".h5",
    sniff.ZIP: ".zip",
}

# Entries of a torch.save zip that torch reads as raw bytes (tensor storages, version
# strings), never unpickles: modelscan has no scanner for them and skips them.
# modelscan lists every opcode of a pickle in memory (about 120 bytes each, ~1 s a million);
# a pickle with more opcodes is checked through the imports the framing resolved.
MODELSCAN_MAX_OPCODES = 1_000_000
# A pickle the framing rejects is handed to modelscan as it is only up to this size.
MALFORMED_SCAN_LIMIT = 64 << 20

# Zip entries that a loader may unpickle: modelscan's pickle and PyTorch extensions.
ARCHIVE_PICKLE_SUFFIXES = frozenset(
    {".pkl", ".pickle", ".joblib", ".dill", ".dat", ".data", ".pt", ".pth", ".bin", ".ckpt"}
)

_TORCH_RAW_ENTRY = re.compile(
    r"(^|/)(data/\d+|version|byteorder|\.data/version|\.data/serialization_id"
    r"|\.format_version|\.storage_alignment)$"
)


def scan_pickle_family(path: Path, format: str) -> tuple[list[Finding], bool]:
    """(findings, whether anything was scanned) for a file of a pickle-family format."""
    settings = modelscan_settings()
    if format == sniff.PICKLE:
        return _scan_pickle(path, "The file", settings)
    if format == sniff.NUMPY:
        return _scan_npy(path, settings)
    if format == sniff.NPZ:
        return _scan_npz(path, settings)
    with _folder() as folder:
        presented = folder / f"artifact{SUFFIXES[format]}"
        os.symlink(os.path.abspath(path), presented)
        findings, scanned, scanned_sources = _modelscan(folder, {presented.name: "The file"})
    if format == sniff.PYTORCH and not any(
        _entry(source, folder).endswith("data.pkl") for source in scanned_sources
    ):
        scanned = False  # the archive's pickle is what torch.load unpickles: it must be scanned
    if format in (sniff.PYTORCH, sniff.ZIP):
        findings += _archive_pickle_findings(path, settings)
    return findings, scanned


def _archive_pickle_findings(path: Path, settings: dict) -> list[Finding]:
    """The registry's pickle path (framing, one pickle per file) on each pickle in a zip.

    modelscan scans a zip's ``.pkl`` entries with pickletools alone and a ``.bin`` or ``.pt``
    entry only up to its first pickle; each such entry that is a pickle stream is scanned
    again the way a pickle file is, so a torch archive's data.pkl gets the same rules.
    """
    findings: list[Finding] = []
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as workdir:
        for member in archive.infolist():
            if PurePath(member.filename).suffix.lower() not in ARCHIVE_PICKLE_SUFFIXES:
                continue
            extracted = Path(workdir, "entry")
            with archive.open(member) as stream, extracted.open("wb") as out:
                shutil.copyfileobj(stream, out)
            if sniff.PICKLE in sniff.sniff_candidates(extracted):
                label = f"Archive entry {member.filename!r}"
                findings += _scan_pickle(extracted, label, settings)[0]
    return findings


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    # modelscan reads a folder: the file, or for a pickle each of its framed pickles.
    with tempfile.TemporaryDirectory(prefix="registry-scan-") as workdir:
        folder = Path(workdir) / "artifact"
        folder.mkdir()
        yield folder


def _scan_pickle(path: Path, label: str, settings: dict) -> tuple[list[Finding], bool]:
    with _folder() as folder:
        labels, findings = _present_pickle(path, folder, settings, label)
        scan_findings, scanned, _ = _modelscan(folder, labels)
    return findings + scan_findings, scanned


def _modelscan(folder: Path, labels: dict[str, str]) -> tuple[list[Finding], bool, list[str]]:
    """Run modelscan on the folder: (findings, whether it scanned anything, what it scanned)."""
    scan = ModelScan(settings=modelscan_settings())
    scan.scan(str(folder))
    findings = _issue_findings(scan, folder, labels)
    findings += _error_findings(scan, folder, labels)
    skipped, h5_measured = _skipped_findings(scan, folder)
    findings += skipped
    return findings, bool(scan.scanned) or h5_measured, list(scan.scanned)


def _scan_npy(path: Path, settings: dict) -> tuple[list[Finding], bool]:
    with path.open("rb") as handle:
        try:
            header = read_header(handle)
        except NpyError as error:
            return [_npy_invalid("The file", error)], True
        if not header.dtype.hasobject:
            return [], True  # numbers only: numpy reads them with frombuffer, never unpickles
        return _scan_object_array(handle, "The file's object array", settings)


def _scan_npz(path: Path, settings: dict) -> tuple[list[Finding], bool]:
    findings: list[Finding] = []
    scanned = True
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            label = f"Archive entry {member.filename!r}"
            with archive.open(member) as stream:
                try:
                    header = read_header(stream)
                except NpyError as error:
                    findings.append(_npy_invalid(label, error))
                    continue
                if header.dtype.hasobject:
                    member_findings, member_scanned = _scan_object_array(stream, label, settings)
                    findings += member_findings
                    scanned = scanned and member_scanned
    return findings, scanned


def _scan_object_array(stream, label: str, settings: dict) -> tuple[list[Finding], bool]:
    """The pickle numpy.load(allow_pickle=True) would unpickle: the rest of the stream."""
    with tempfile.TemporaryDirectory(prefix="registry-npy-") as workdir:
        payload = Path(workdir, "payload")
        with payload.open("wb") as out:
            shutil.copyfileobj(stream, out)
        return _scan_pickle(payload, label, settings)


def _npy_invalid(label: str, error: Exception) -> Finding:
    return Finding(CRITICAL, "NUMPY_INVALID", f"{label} has no valid .npy header: {error}.")


def _present_pickle(
    path: Path, folder: Path, settings: dict, label: str
) -> tuple[dict[str, str], list[Finding]]:
    """Write each framed pickle of the file, without joblib's raw array bytes, into ``folder``.

    Returns the label of each written file (for messages) and the framing's own findings.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        try:
            framing = frame_pickles(handle, size)
        except FramingError as error:
            if size > MALFORMED_SCAN_LIMIT:
                # Not handed to modelscan whole: its opcode list would take ~120 bytes an opcode.
                finding = Finding(
                    CRITICAL,
                    "PICKLE_UNPARSABLE",
                    f"{label} does not unpickle cleanly ({error}) and is too large to scan as is.",
                )
                return {}, [finding]
            # modelscan still scans the file as it is; where it cannot frame it either, that
            # is its own (CRITICAL) parse error. An unpickler stops where the framing did.
            os.symlink(os.path.abspath(path), folder / "pickle-1.pkl")
            finding = Finding(
                MEDIUM,
                "PICKLE_MALFORMED",
                f"{label} does not unpickle cleanly ({error}); it was scanned as is.",
            )
            return {"pickle-1.pkl": label}, [finding]
        labels: dict[str, str] = {}
        findings: list[Finding] = []
        several = len(framing.pickles) > 1
        whole = label
        for number, framed in enumerate(framing.pickles, start=1):
            label = f"Pickle {number} of {_lower(whole)}" if several else whole
            name = f"pickle-{number}.pkl"
            labels[name] = label
            whole_file = not several and framed.start == 0 and framed.end == size
            findings += _write_for_modelscan(handle, path, framed, folder / name, label, whole_file)
            findings += _framed_findings(framed, label, settings)
            for inner_number, inner in enumerate(framed.nested, start=1):
                inner_label = f"Object array {inner_number} of {_lower(label)}"
                inner_name = f"pickle-{number}-object-array-{inner_number}.pkl"
                labels[inner_name] = inner_label
                findings += _write_for_modelscan(
                    handle, path, inner, folder / inner_name, inner_label, whole_file=False
                )
                findings += _framed_findings(inner, inner_label, settings)
        if framing.tail_error is not None:
            findings.append(
                Finding(
                    LOW,
                    "PICKLE_TRAILING_DATA",
                    f"{size - framing.tail} bytes after pickle {len(framing.pickles)} of "
                    f"{_lower(whole)} are not "
                    f"pickle opcodes ({framing.tail_error}); a pickle loader stops before "
                    "them (legacy PyTorch keeps tensor storage there), so they were not scanned.",
                )
            )
    return labels, findings


def _write_for_modelscan(
    handle, path: Path, framed: FramedPickle, target: Path, label: str, whole_file: bool
) -> list[Finding]:
    """Put one framed pickle where modelscan reads it: the file itself when nothing is cut
    (no copy), a copy with the cuts applied, or for a huge pickle the imports it names."""
    if framed.opcodes > MODELSCAN_MAX_OPCODES:
        target.write_bytes(_manifest(framed.globals))
        return [
            Finding(
                LOW,
                "PICKLE_IMPORTS_ONLY",
                f"{label} has {framed.opcodes} opcodes; modelscan checked the globals the "
                "registry's framing resolved, not the opcodes themselves.",
            )
        ]
    if whole_file and not framed.cuts:
        os.symlink(os.path.abspath(path), target)
    else:
        _copy_without(handle, framed, target)
    return []


def _manifest(names: set[tuple[str, str]]) -> bytes:
    """A protocol 4 pickle naming each global once (string, string, STACK_GLOBAL, POP)."""
    body = bytearray(b"\x80\x04")
    for module, attribute in sorted(names - {COMPUTED}):
        for text in (module, attribute):
            encoded = text.encode("utf-8", "surrogatepass")
            body += b"X" + struct.pack("<I", len(encoded)) + encoded
        body += b"\x93" + b"0"
    return bytes(body + b"N.")


def _lower(label: str) -> str:
    return label[0].lower() + label[1:]


def _copy_without(handle, framed: FramedPickle, target: Path) -> None:
    """Copy the pickle's bytes with its cuts applied."""
    with target.open("wb") as out:
        position = framed.start
        for start, end, replacement in [*framed.cuts, (framed.end, framed.end, b"")]:
            handle.seek(position)
            _copy_exactly(handle, out, start - position)
            out.write(replacement)
            position = end


def _copy_exactly(source, target, length: int) -> None:
    while length > 0:
        chunk = source.read(min(length, 1 << 20))
        if not chunk:
            return
        target.write(chunk)
        length -= len(chunk)


def _framed_findings(framed: FramedPickle, label: str, settings: dict) -> list[Finding]:
    findings = _framed_global_findings(framed.globals, label, settings)
    findings += [
        Finding(
            CRITICAL,
            "PICKLE_GLOBAL_MUTATION",
            f"{label} sets attributes on {module}.{attribute} while unpickling; no pickled "
            "object is built that way, it rewrites library state.",
        )
        for module, attribute in framed.mutated
    ]
    return findings


def _framed_global_findings(
    names: set[tuple[str, str]], label: str, settings: dict
) -> list[Finding]:
    """The denylist applied to the globals the framing resolved, matched as modelscan matches."""
    findings = []
    for module, attribute in names:
        if (module, attribute) == COMPUTED:
            findings.append(_computed_global(label, "computed"))
            continue
        severity = denylisted(module, attribute, settings["unsafe_globals"])
        if severity is not None:
            findings.append(_dangerous_global(severity, label, module, attribute))
    return findings


def denylisted(module: str, attribute: str, unsafe: dict) -> str | None:
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        rule = unsafe[severity].get(module)
        if rule is not None and (rule == "*" or any(part in attribute for part in rule)):
            return severity
    return None


def _dangerous_global(severity: str, label: str, module: str, attribute: str) -> Finding:
    return Finding(
        severity,
        "PICKLE_DANGEROUS_GLOBAL",
        f"{label} imports {module}.{attribute}; unpickling it can call that callable.",
    )


def _computed_global(label: str, shown: str) -> Finding:
    return Finding(
        CRITICAL,
        "PICKLE_DANGEROUS_GLOBAL",
        f"{label} imports a global whose name is computed while unpickling ({shown}); "
        "that can reach any callable.",
    )


def _split(source: object, folder: Path) -> tuple[str, str]:
    """(file name in the folder, archive entry or "") of a modelscan source, such as
    ".../artifact/artifact.pt:archive/data.pkl"."""
    text, prefix = str(source), f"{folder}{os.sep}"
    relative = text[len(prefix) :] if text.startswith(prefix) else text
    name, _, entry = relative.partition(":")
    return name, entry


def _entry(source: object, folder: Path) -> str:
    return _split(source, folder)[1]


def _where(source: object, folder: Path, labels: dict[str, str]) -> str:
    name, entry = _split(source, folder)
    if entry:
        return f"Archive entry {entry!r}"
    return labels.get(name, "The file")


def _issue_findings(scan: ModelScan, folder: Path, labels: dict[str, str]) -> list[Finding]:
    findings = []
    for issue in scan.issues.all_issues:
        details = issue.details
        severity = issue.severity.name if issue.severity.name in SEVERITIES else CRITICAL
        where = _where(details.source, folder, labels)
        if details.module == "Keras" and details.operator == "Lambda":
            findings.append(
                Finding(
                    severity,
                    "KERAS_LAMBDA_LAYER",
                    f"{where} has a Keras Lambda layer: Python bytecode that Keras runs "
                    "when it loads the model.",
                )
            )
        elif "unknown" in (details.module, details.operator):
            findings.append(_computed_global(where, f"{details.module}.{details.operator}"))
        else:
            findings.append(_dangerous_global(severity, where, details.module, details.operator))
    return findings


def _error_findings(scan: ModelScan, folder: Path, labels: dict[str, str]) -> list[Finding]:
    findings = []
    for error in scan.errors:
        source = getattr(error, "model", None)
        source = source.get_source() if source is not None else getattr(error, "path", "")
        where = _where(source, folder, labels)
        text = " ".join(error.message.split())[:300]
        if error.name() == "PICKLE_GENOPS":
            code, sentence = "PICKLE_UNPARSABLE", f"{where} is not a pickle modelscan can read"
        else:
            code, sentence = "SCAN_ERROR", f"{where} could not be scanned ({error.name()})"
        # What a scanner started on and could not finish is unmeasured: fail closed.
        findings.append(Finding(CRITICAL, code, f"{sentence}: {text}"))
    return findings


def _skipped_findings(scan: ModelScan, folder: Path) -> tuple[list[Finding], bool]:
    findings = []
    raw_entries = 0
    h5_measured = False
    for skipped in scan.skipped:
        entry = _entry(skipped.source, folder)
        category = skipped.category.name
        if category == "MODEL_CONFIG" and not entry:
            # The HDF5 file was opened and has no model_config: weights only, no layer to rebuild.
            # (Inside a zip, as in a Keras v3 archive, the config lives elsewhere: a skip.)
            h5_measured = True
            findings.append(
                Finding(
                    LOW,
                    "H5_NO_MODEL_CONFIG",
                    "The HDF5 file has no Keras model_config: it holds weights only.",
                )
            )
        elif not entry:
            continue  # the file itself: what was measured decides, see scan_pickle_family
        elif category == "SCAN_NOT_SUPPORTED" and _TORCH_RAW_ENTRY.search(entry):
            raw_entries += 1
        else:
            findings.append(
                Finding(
                    MEDIUM,
                    "SCAN_SKIPPED",
                    f"Archive entry {entry!r} was not scanned ({category}: {skipped.message}).",
                )
            )
    if raw_entries:
        findings.append(
            Finding(
                LOW,
                "ARCHIVE_RAW_ENTRIES",
                f"{raw_entries} archive entries are raw tensor storage or version records, "
                "read as bytes and never unpickled; they were not scanned.",
            )
        )
    return findings, h5_measured
