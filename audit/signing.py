"""The Ed25519 key that signs audit checkpoints.

The private key lives in a file outside the database (settings.AUDIT_SIGNING_KEY_FILE, PEM
PKCS8, mode 0600): someone who can rewrite the audit tables (a database superuser, a restored
backup) cannot make a new valid signature without it. `make run` creates the file when it is
missing (`manage.py audit_signing_key --create-if-missing`); nothing else creates it, so a
missing key is a clear error where a signature is needed, never a silently unsigned record.

The key id is the SHA-256 of the raw 32-byte public key, hex: what the checkpoints name, what
the reports print and what an auditor compares with the public key they were given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from core.errors import DomainError

ALGORITHM = "Ed25519"
SETTING = "AUDIT_SIGNING_KEY_FILE"
CREATE_HINT = "create it with `python manage.py audit_signing_key --create-if-missing`"


class SigningKeyUnavailable(DomainError):
    """The server cannot sign or check checkpoints: its key file is missing or unusable (503)."""

    status_code = 503


def key_path() -> Path:
    return Path(settings.AUDIT_SIGNING_KEY_FILE)


@lru_cache(maxsize=16)
def _load_private(path: str, mtime_ns: int, size: int) -> Ed25519PrivateKey:
    # Keyed on the file's identity so that a replaced key file is read again.
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"it holds a {type(key).__name__}, not an Ed25519 key")
    return key


def private_key() -> Ed25519PrivateKey:
    path = key_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SigningKeyUnavailable(
            f"the audit signing key {path} does not exist (setting {SETTING}); {CREATE_HINT}"
        ) from None
    except OSError as exc:
        raise SigningKeyUnavailable(
            f"the audit signing key {path} (setting {SETTING}) cannot be read: {exc}"
        ) from exc
    try:
        return _load_private(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyUnavailable(
            f"the audit signing key {path} (setting {SETTING}) is not an unencrypted Ed25519 "
            f"private key in PEM PKCS8: {exc}"
        ) from exc


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM: a public key, or a private key (its public half)."""
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        private = serialization.load_pem_private_key(data, password=None)
        key = private.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"a {type(key).__name__}, not an Ed25519 public key")
    return key


def sign(payload: bytes) -> str:
    return base64.b64encode(private_key().sign(payload)).decode()


def signature_valid(key: Ed25519PublicKey, payload: bytes, signature: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), payload)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def create_key_file(path: Path) -> bool:
    """Write a new key to `path` (mode 0600) unless a file is there; True when it wrote one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        # O_EXCL: two starts at once never overwrite each other's key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return True


# --------------------------------------------------------------------------------------------
# Rotation. A new key takes over from the old one by signing the old one's public key: the
# endorsement `<new key id>.predecessor.json` in AUDIT_RETIRED_KEYS_DIR. Checkpoints signed with
# a retired key verify because the current key vouches for it (and it for its own predecessor,
# and so on); a key file dropped into that folder without an endorsement by a trusted key is
# never trusted, so writing the folder is no way to forge old checkpoints.

ENDORSEMENT_FORMAT = "model-registry-key-endorsement/1"
MAX_GENERATIONS = 1000


def retired_dir() -> Path:
    configured = getattr(settings, "AUDIT_RETIRED_KEYS_DIR", None)
    return Path(configured) if configured else key_path().parent / "audit-retired-keys"


def _endorsement_payload(successor_id: str, predecessor: Ed25519PublicKey) -> bytes:
    document = {
        "format": ENDORSEMENT_FORMAT,
        "successorKeyId": successor_id,
        "predecessorKeyId": key_id(predecessor),
        "predecessorPublicKey": public_pem(predecessor),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def endorsement_path(successor_id: str) -> Path:
    return retired_dir() / f"{successor_id}.predecessor.json"


def endorsed_predecessors(key: Ed25519PublicKey) -> dict[str, Ed25519PublicKey]:
    """The retired keys `key` vouches for, through each generation's endorsement, by key id.
    An endorsement that does not verify ends the line there: what it names is not trusted."""
    found: dict[str, Ed25519PublicKey] = {}
    current = key
    for _ in range(MAX_GENERATIONS):
        path = endorsement_path(key_id(current))
        try:
            document = json.loads(path.read_text())
            predecessor = load_public_pem(document["predecessorPublicKey"].encode())
        except FileNotFoundError:
            break
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            break
        payload = _endorsement_payload(key_id(current), predecessor)
        predecessor_id = key_id(predecessor)
        if (
            document.get("successorKeyId") != key_id(current)
            or document.get("predecessorKeyId") != predecessor_id
            or not signature_valid(current, payload, document.get("signature", ""))
            or predecessor_id in found
            or predecessor_id == key_id(key)
        ):
            break
        found[predecessor_id] = predecessor
        current = predecessor
    return found


def rotate_key_file() -> tuple[Ed25519PublicKey, Ed25519PublicKey]:
    """Replace the signing key with a new one that endorses the old; (old, new) public keys.
    The endorsement is written before the key file is swapped (atomically, by rename), so at
    no moment is the old key's work unvouched for."""
    old = private_key()
    new = Ed25519PrivateKey.generate()
    new_id = key_id(new.public_key())
    folder = retired_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    signature = base64.b64encode(new.sign(_endorsement_payload(new_id, old.public_key()))).decode()
    endorsement = {
        "format": ENDORSEMENT_FORMAT,
        "successorKeyId": new_id,
        "predecessorKeyId": key_id(old.public_key()),
        "predecessorPublicKey": public_pem(old.public_key()),
        "signature": signature,
    }
    endorsement_path(new_id).write_text(json.dumps(endorsement, indent=2) + "\n")
    path = key_path()
    staged = path.with_name(f".{path.name}.{new_id[:16]}.new")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            new.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    os.replace(staged, path)
    return old.public_key(), new.public_key()
