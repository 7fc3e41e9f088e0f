"""Signed checkpoints of the audit chain: what is signed, and checking a signature.

A checkpoint says "event #seq of the chain has hash headHash", signed with the registry's
Ed25519 key (audit/signing.py) over this canonical JSON document (sorted keys, no spaces,
ASCII):

    {"format": "model-registry-audit-checkpoint/1", "headHash", "keyId", "number",
     "prevSignature", "seq", "signedAt", "trigger"}

`number` counts checkpoints from 1 and `prevSignature` is the signature of checkpoint
number - 1 ("" for the first), so the checkpoints are a chain of their own, as AWS CloudTrail's
digest files are: one removed, reordered or altered breaks the next one's link.

Everything here is pure (no database): the offline bundle verifier uses it as is. Checkpoints
are made and checked against the stored chain in audit/services.py.
"""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit import signing
from audit.models import AuditCheckpoint, canonical_timestamp

FORMAT = "model-registry-audit-checkpoint/1"
SIGNED_KEYS = ("headHash", "keyId", "number", "prevSignature", "seq", "signedAt", "trigger")


def payload(document: dict) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    signed = {"format": FORMAT, **{key: document[key] for key in SIGNED_KEYS}}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def document(checkpoint: AuditCheckpoint) -> dict:
    """A checkpoint as the API, the bundles and the reports show it."""
    return {
        "format": FORMAT,
        "algorithm": signing.ALGORITHM,
        "number": checkpoint.number,
        "seq": checkpoint.seq,
        "headHash": checkpoint.head_hash,
        "signedAt": canonical_timestamp(checkpoint.signed_at),
        "keyId": checkpoint.key_id,
        "trigger": checkpoint.trigger,
        "prevSignature": checkpoint.prev_signature,
        "signature": checkpoint.signature,
    }


def signature_problem(
    doc: dict, key: Ed25519PublicKey, predecessors: dict[str, Ed25519PublicKey] | None = None
) -> str:
    """Why `doc` is not a checkpoint signed by `key`, or by a retired key `key` vouches for
    (`predecessors`, from signing.endorsed_predecessors; "" when it is)."""
    try:
        message = payload(doc)
    except (KeyError, TypeError, ValueError) as exc:
        return f"not a checkpoint document ({exc})"
    if doc.get("format", FORMAT) != FORMAT:
        return f"unknown checkpoint format {str(doc.get('format'))[:60]!r}"
    expected = signing.key_id(key)
    if doc["keyId"] != expected:
        retired = (predecessors or {}).get(doc["keyId"])
        if retired is None:
            return (
                f"signed with key {str(doc['keyId'])[:16]}…, not the registry's signing key "
                f"{expected[:16]}… nor a retired key it vouches for"
            )
        key = retired
    if not signing.signature_valid(key, message, doc.get("signature", "")):
        return "its signature does not verify: the checkpoint was altered or forged"
    return ""


def chain_problems(checkpoints: list[AuditCheckpoint], key: Ed25519PublicKey | None):
    """Yield (checkpoint, problem) for the first checkpoint that is not signed by `key` or does
    not follow its predecessor; nothing when every one is sound. `checkpoints` by number."""
    previous: AuditCheckpoint | None = None
    predecessors = signing.endorsed_predecessors(key) if key is not None else {}
    # Each key's age: 0 the current key, 1 the one it replaced, ... A checkpoint never uses an
    # older key than the one before it, so a retired (perhaps leaked) key cannot add
    # checkpoints after its successor took over.
    age = {signing.key_id(key): 0} if key is not None else {}
    age.update({key_id: n for n, key_id in enumerate(predecessors, start=1)})
    for checkpoint in checkpoints:
        if key is None:
            yield checkpoint, "no signing key to check it with"
            return
        problem = signature_problem(document(checkpoint), key, predecessors)
        if not problem:
            expected_number = previous.number + 1 if previous else 1
            if checkpoint.number != expected_number:
                problem = (
                    f"checkpoint #{expected_number} is missing (the next is "
                    f"#{checkpoint.number}): checkpoints removed"
                )
            elif checkpoint.prev_signature != (previous.signature if previous else ""):
                problem = "it does not follow the previous checkpoint's signature"
            elif previous is not None and checkpoint.seq < previous.seq:
                problem = f"it signs event #{checkpoint.seq}, before its predecessor's"
            elif previous is not None and age[checkpoint.key_id] > age[previous.key_id]:
                problem = (
                    f"it is signed with the retired key {checkpoint.key_id[:16]}… after its "
                    f"successor {previous.key_id[:16]}… took over"
                )
        if problem:
            yield checkpoint, problem
            return
        previous = checkpoint
