"""Checking an evidence bundle.

Two questions, answered apart: is the bundle intact (`valid`: every check below passed), and
is it the registry's (`authentic`: something the checker trusts vouches for it, not only the
bundle itself). A bundle re-signed with a key of its forger's own, or rewritten as an older
format that carried no signature, is intact by its own account and still not authentic; only
a trusted public key (--public-key) or the registry's own records (the database) make it so.

Offline (the file alone): every file in the zip against manifest.json (a changed byte, a
missing or an extra file fails, naming the file), the zip's own structure (entries as the
registry writes them), each audit excerpt event against its own hash and its predecessor, and
the signed checkpoint (audit-checkpoint.json): its Ed25519 signature, with the public key given
as trusted (--public-key) or else the one the bundle carries (then only self-consistency is
shown: anyone can sign with a key of their own), the manifest's head against it, and the
excerpt against it (no event past the signed head; the event at the signed seq, when the
excerpt holds it, has exactly the signed hash).

With the registry's database at hand, also: each excerpt event against the stored chain (seq,
hash, prevHash), the manifest's auditChainHead against the chain, the excerpt's completeness,
and the export's own audit event, which names the SHA-256 of the manifest and of the zip file:
so a changed byte anywhere in the file, even in the zip's container, fails.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import DatabaseError

from audit import checkpoints, signing
from audit.evidence import (
    AUDIT_EXCERPT,
    CHECKPOINT_FILE,
    EXPORT_ACTION,
    LEGACY_FORMAT,
    MANIFEST,
    excerpt_queryset,
    sha256_hex,
)
from audit.models import (
    GENESIS_HASH,
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    chain_hash,
    event_content,
)
from registry.models import ModelVersion

HEX = set("0123456789abcdef")
MAX_BUNDLE_BYTES = 2 * 1024**3


@dataclass
class BundleVerdict:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_checked: int = 0
    events_checked: int = 0
    database_checked: bool = False
    sha256: str = ""
    # What vouches for the bundle beyond its own content: the trusted public key, the
    # registry's stored checkpoint and key, the export recorded in the audit trail.
    authenticated_by: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Intact: no check found a problem."""
        return not self.problems

    @property
    def authentic(self) -> bool:
        """Intact, and vouched for by a key or a record the checker trusts."""
        return self.valid and bool(self.authenticated_by)


def _is_sha256(value) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


def _read_bytes(source) -> bytes:
    if hasattr(source, "read"):
        return source.read(MAX_BUNDLE_BYTES)
    with open(source, "rb") as handle:
        return handle.read(MAX_BUNDLE_BYTES)


def _read_members(archive: zipfile.ZipFile, verdict: BundleVerdict) -> dict[str, bytes]:
    names = [info.filename for info in archive.infolist()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        verdict.problems.append(f"the zip holds several files named {', '.join(duplicates)}")
    members = {}
    for info in archive.infolist():
        try:
            members[info.filename] = archive.read(info)
        except Exception as exc:  # a corrupt entry raises many kinds of error: each is a finding
            verdict.problems.append(f"{info.filename}: cannot be read from the zip ({exc})")
    return members


def _check_structure(archive: zipfile.ZipFile, exported_at, verdict: BundleVerdict) -> None:
    """Entries exactly as the registry writes them: deflated, no extras or comments, stamped
    with the export time. (A changed container byte is caught for sure by the export's
    recorded SHA-256 when the database is at hand.)"""
    expected_stamp = None
    try:
        moment = datetime.fromisoformat(exported_at).astimezone(UTC)
        expected_stamp = (*moment.timetuple()[:5], moment.second - moment.second % 2)
    except (TypeError, ValueError):
        verdict.problems.append("manifest.json: exportedAt is not an ISO 8601 timestamp")
    if archive.comment:
        verdict.problems.append("the zip carries a comment the registry never writes")
    for info in archive.infolist():
        odd = []
        if info.compress_type != zipfile.ZIP_DEFLATED:
            odd.append("compression")
        if info.extra:
            odd.append("extra field")
        if info.comment:
            odd.append("comment")
        if expected_stamp is not None and tuple(info.date_time) != expected_stamp:
            odd.append("timestamp")
        if info.external_attr != 0o644 << 16:
            odd.append("attributes")
        if odd:
            verdict.problems.append(
                f"{info.filename}: zip entry altered ({', '.join(odd)} not as exported)"
            )


def _excerpt_events(data: bytes, verdict: BundleVerdict) -> list[dict]:
    """Parse the excerpt and check each event's hash against its own content (offline)."""
    events = []
    try:
        text = data.decode()
    except UnicodeDecodeError:
        verdict.problems.append(f"{AUDIT_EXCERPT}: not UTF-8 text")
        return events
    previous_seq, previous_hash = 0, None
    for number, line in enumerate(text.splitlines(), start=1):
        where = f"{AUDIT_EXCERPT} line {number}"
        try:
            event = json.loads(line)
            content = event_content(
                seq=event["seq"],
                timestamp=datetime.fromisoformat(event["timestamp"]),
                event_type=event["eventType"],
                user_id=event["userId"],
                model_id=event["modelId"],
                version_id=event["versionId"],
                action=event["action"],
                details=event["details"],
                ip_address=event["ipAddress"],
                user_agent=event["userAgent"],
                session_id=event["sessionId"],
                request_id=event.get("requestId", ""),
            )
            prev_hash, own_hash = event["prevHash"], event["hash"]
            if chain_hash(prev_hash, content) != own_hash:
                verdict.problems.append(
                    f"{where} (event #{event['seq']}): its content does not match its hash"
                )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            verdict.problems.append(f"{where}: not an audit event ({exc})")
            continue
        if not isinstance(event["seq"], int) or event["seq"] <= previous_seq:
            verdict.problems.append(f"{where}: events out of order")
            continue
        if event["seq"] == previous_seq + 1 and event["prevHash"] != previous_hash:
            # Two neighbours of the chain are both in the excerpt: they must link.
            verdict.problems.append(
                f"{where} (event #{event['seq']}): does not follow event #{previous_seq} "
                "of the excerpt"
            )
        previous_seq, previous_hash = event["seq"], event["hash"]
        events.append(event)
    verdict.events_checked = len(events)
    return events


def _check_against_database(
    manifest: dict, manifest_sha: str, events: list[dict], verdict: BundleVerdict
) -> None:
    try:
        AuditChainHead.objects.filter(pk=1).exists()
    except DatabaseError as exc:
        verdict.notes.append(f"database not reachable, chain not checked ({exc})".splitlines()[0])
        return
    verdict.database_checked = True
    stored = {
        row[0]: row
        for row in AuditEvent.objects.filter(seq__in=[e["seq"] for e in events]).values_list(
            "seq", "hash", "prev_hash"
        )
    }
    for event in events:
        row = stored.get(event["seq"])
        if row is None:
            verdict.problems.append(f"event #{event['seq']} of the excerpt is not in the chain")
        elif (row[1], row[2]) != (event["hash"], event["prevHash"]):
            verdict.problems.append(
                f"event #{event['seq']} of the excerpt differs from the stored chain"
            )
    head, head_seq = manifest.get("auditChainHead"), manifest.get("auditChainHeadSeq")
    if not (head == GENESIS_HASH and head_seq == 0) and not (
        isinstance(head, str)
        and isinstance(head_seq, int)
        and AuditEvent.objects.filter(hash=head, seq=head_seq).exists()
    ):
        verdict.problems.append(
            f"manifest.json: auditChainHead {str(head)[:16]}… (#{head_seq}) is not a hash of "
            "the chain"
        )
    version_info = manifest.get("version")
    version_id = version_info.get("id") if isinstance(version_info, dict) else None
    if isinstance(version_id, int) and isinstance(head_seq, int):
        version = ModelVersion.objects.filter(pk=version_id).first()
        if version is not None:
            present = {e["seq"] for e in events}
            missing = [
                seq
                for seq in excerpt_queryset(version, head_seq).values_list("seq", flat=True)
                if seq not in present
            ]
            if missing:
                shown = ", ".join(f"#{s}" for s in missing[:10])
                verdict.problems.append(
                    f"{AUDIT_EXCERPT} lacks {len(missing)} event(s) of this version recorded "
                    f"before the head: {shown}"
                )
    export = (
        AuditEvent.objects.filter(action=EXPORT_ACTION, details__manifestSha256=manifest_sha)
        .order_by("seq")
        .first()
    )
    if export is None:
        verdict.problems.append(
            "manifest.json: no export of this manifest is recorded in the audit trail"
        )
        return
    verdict.notes.append(
        f"export recorded as audit event #{export.seq} by {export.user_id} "
        f"at {export.timestamp:%Y-%m-%d %H:%M:%S} UTC"
    )
    recorded = (export.details or {}).get("bundleSha256")
    if recorded and recorded != verdict.sha256:
        verdict.problems.append(
            f"the zip file is not the one exported: its SHA-256 {verdict.sha256[:16]}… differs "
            f"from the recorded {recorded[:16]}… (a byte of the zip changed)"
        )
    elif recorded:
        verdict.authenticated_by.append(
            f"the audit trail records the export of this exact file (event #{export.seq})"
        )


def _load_checkpoint(data: bytes, verdict: BundleVerdict) -> tuple[dict, Ed25519PublicKey] | None:
    try:
        carried = json.loads(data)
        document = carried["checkpoint"]
        carried_key = signing.load_public_pem(carried["publicKey"].encode())
        if not isinstance(document, dict):
            raise TypeError("checkpoint is not an object")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        verdict.problems.append(f"{CHECKPOINT_FILE}: not a signed checkpoint ({exc})")
        return None
    if carried.get("keyId") != signing.key_id(carried_key):
        verdict.problems.append(f"{CHECKPOINT_FILE}: keyId is not the id of the key it carries")
    return document, carried_key


def _check_checkpoint(
    members: dict[str, bytes],
    manifest: dict,
    events: list[dict],
    verdict: BundleVerdict,
    trusted_key: Ed25519PublicKey | None,
) -> dict | None:
    """The signed checkpoint: its signature, and the manifest and excerpt against it."""
    if CHECKPOINT_FILE not in members:
        if manifest.get("format") == LEGACY_FORMAT:
            # A bundle of the first format carries no signature: only the registry's record
            # of the export (the database) can vouch for it, never the file alone.
            verdict.notes.append(
                "the bundle is of the first format, which carried no signed checkpoint: only "
                "the registry's record of the export can authenticate it"
            )
        else:
            verdict.problems.append(f"{CHECKPOINT_FILE} is missing: no signed checkpoint")
        return None
    loaded = _load_checkpoint(members[CHECKPOINT_FILE], verdict)
    if loaded is None:
        return None
    document, carried_key = loaded
    key = trusted_key or carried_key
    # A bundle made before a rotation is signed by a key the trusted key vouches for.
    predecessors = signing.endorsed_predecessors(trusted_key) if trusted_key is not None else {}
    problem = checkpoints.signature_problem(document, key, predecessors)
    if problem:
        verdict.problems.append(f"{CHECKPOINT_FILE}: {problem}")
        return None
    seq, head_hash = document["seq"], document["headHash"]
    where = f"checkpoint #{document['number']} (event #{seq}, signed {document['signedAt']})"
    if trusted_key is None:
        verdict.notes.append(
            f"{where} verifies with the public key the bundle carries (key id "
            f"{signing.key_id(carried_key)}), which anyone could have made; give --public-key "
            "to check that it is the registry's key"
        )
    else:
        verdict.authenticated_by.append(
            f"{where} is signed by the trusted key {signing.key_id(key)[:16]}…"
        )
    if (manifest.get("auditChainHeadSeq"), manifest.get("auditChainHead")) != (seq, head_hash):
        verdict.problems.append(
            f"manifest.json: the audit chain head it names is not the one {where} signs"
        )
    for event in events:
        if event["seq"] > seq:
            verdict.problems.append(
                f"{AUDIT_EXCERPT}: event #{event['seq']} is past the head {where} signs"
            )
        elif event["seq"] == seq and event["hash"] != head_hash:
            verdict.problems.append(
                f"{AUDIT_EXCERPT}: event #{seq} does not have the hash {where} signs"
            )
    return document


def _check_checkpoint_against_database(document: dict, verdict: BundleVerdict) -> None:
    try:
        registry_key = signing.public_key()
    except signing.SigningKeyUnavailable as exc:
        verdict.notes.append(f"the registry's signing key was not compared ({exc.detail})")
    else:
        problem = checkpoints.signature_problem(
            document, registry_key, signing.endorsed_predecessors(registry_key)
        )
        if problem:
            verdict.problems.append(f"{CHECKPOINT_FILE}, against the registry's key: {problem}")
        else:
            verdict.authenticated_by.append(
                f"checkpoint #{document.get('number')} is signed by the registry's own key"
            )
    stored = AuditCheckpoint.objects.filter(number=document.get("number")).first()
    if stored is None or checkpoints.document(stored)["signature"] != document.get("signature"):
        verdict.problems.append(
            f"{CHECKPOINT_FILE}: checkpoint #{document.get('number')} is not the registry's "
            "stored checkpoint of that number"
        )


def verify_bundle(
    source, *, use_database: bool = True, public_key: Ed25519PublicKey | None = None
) -> BundleVerdict:
    """Check the bundle at `source` (a path or a binary file object); `public_key` is the
    registry's public key as the checker received it (trusted), if they have it."""
    verdict = BundleVerdict()
    try:
        raw = _read_bytes(source)
    except OSError as exc:
        verdict.problems.append(f"cannot read the bundle ({exc})")
        return verdict
    verdict.sha256 = sha256_hex(raw)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except Exception as exc:  # not a zip, truncated, or a damaged directory
        verdict.problems.append(f"not a readable zip file ({exc})")
        return verdict
    with archive:
        members = _read_members(archive, verdict)
        if MANIFEST not in members:
            verdict.problems.append("manifest.json is missing (or cannot be read)")
            return verdict
        raw_manifest = members.pop(MANIFEST)
        try:
            manifest = json.loads(raw_manifest)
            listed = manifest["files"]
            if not isinstance(listed, dict):
                raise TypeError("files is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            verdict.problems.append(f"manifest.json is not a valid manifest ({exc})")
            return verdict
        _check_structure(archive, manifest.get("exportedAt"), verdict)
    for key in ("exportedBy", "exportedAt", "auditChainHead"):
        if key not in manifest:
            verdict.problems.append(f"manifest.json lacks {key}")
    if not _is_sha256(manifest.get("auditChainHead")):
        verdict.problems.append("manifest.json: auditChainHead is not a SHA-256 hex digest")
    for name in sorted(set(listed) - set(members)):
        verdict.problems.append(f"{name}: listed in the manifest but missing from the bundle")
    for name in sorted(set(members) - set(listed)):
        verdict.problems.append(f"{name}: in the bundle but not listed in the manifest")
    for name in sorted(set(listed) & set(members)):
        verdict.files_checked += 1
        if sha256_hex(members[name]) != listed[name]:
            verdict.problems.append(f"{name}: its SHA-256 does not match the manifest (changed)")
    events = _excerpt_events(members[AUDIT_EXCERPT], verdict) if AUDIT_EXCERPT in members else []
    signed = _check_checkpoint(members, manifest, events, verdict, public_key)
    if use_database:
        _check_against_database(manifest, sha256_hex(raw_manifest), events, verdict)
        if signed is not None and verdict.database_checked:
            _check_checkpoint_against_database(signed, verdict)
    else:
        verdict.notes.append(
            "offline: files checked against the manifest, the excerpt against its own hashes "
            "and the signed checkpoint; the stored chain, the export record and the zip's own "
            "digest were not checked"
        )
    return verdict
