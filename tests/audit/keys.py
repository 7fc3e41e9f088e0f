"""Audit signing keys for the tests: every test gets its own key file in its tmp_path (the
top-level conftest points settings.AUDIT_SIGNING_KEY_FILE at it), so that a test that removes
or replaces the key touches nobody else's. Generating a key is cheap, but the PEM is made once
per process and copied."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_NAME = "audit-signing-key.pem"


def new_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@lru_cache(maxsize=1)
def _test_key_pem() -> bytes:
    return new_key_pem()


def write_test_signing_key(directory: Path) -> Path:
    path = directory / KEY_NAME
    path.write_bytes(_test_key_pem())
    os.chmod(path, 0o600)
    return path
