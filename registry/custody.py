"""Custody of artifact bytes: received, hashed by the registry, stored content-addressed and
never changed, read back for download, scanning and execution.

The bytes arrive streamed to a temporary file by the upload handler (registry/uploads.py),
which hashes them as they come in, so a 1 GiB upload is read once and never held in memory.
They are stored under their own SHA-256 (`sha256/ab/<digest>`) through Django's storage API in
the storage named "artifacts" (registry/storage.py): the same bytes uploaded twice are stored
once, and new bytes are a new name, so nothing held is ever overwritten.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, storages

from core.errors import Invalid, TooLarge
from registry.execution import ModelLoadError, read_signature
from registry.scanning import sniff_format

CHUNK = 1024 * 1024
STORAGE_ALIAS = "artifacts"

# What a file's name says it is, and the formats (as the scanner detects them) that bear it out.
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".onnx": frozenset({"onnx"}),
    ".pkl": frozenset({"pickle"}),
    ".pickle": frozenset({"pickle"}),
    ".joblib": frozenset({"pickle"}),
    ".pt": frozenset({"pytorch", "pickle"}),
    ".pth": frozenset({"pytorch", "pickle"}),
    ".npy": frozenset({"numpy"}),
    ".npz": frozenset({"npz"}),
    ".h5": frozenset({"keras-h5"}),
    ".hdf5": frozenset({"keras-h5"}),
    ".keras": frozenset({"zip", "keras-h5"}),
    ".safetensors": frozenset({"safetensors"}),
}


def artifact_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def max_bytes() -> int:
    return settings.ARTIFACT_MAX_BYTES


def too_large(size: int) -> TooLarge:
    return TooLarge(
        f"the file is {size} bytes, over the limit of {max_bytes()} bytes "
        "(ARTIFACT_MAX_BYTES): nothing was stored",
        field="file",
    )


def storage_name_for(sha256: str) -> str:
    return f"sha256/{sha256[:2]}/{sha256}"


@dataclass(frozen=True)
class Received:
    """An uploaded file on local disk, with what the registry measured of it."""

    path: str
    filename: str
    sha256: str
    size: int
    # The upload's own temporary file, which a file-system storage moves into place rather
    # than copying (None when the bytes were copied here to be hashed).
    temporary: object = None


@contextmanager
def received(upload) -> Iterator[Received]:
    """The upload as a local file with its digest and size. A file the hashing upload handler
    received carries both; any other (an in-memory upload, a file from a command) is copied to
    a temporary file and hashed on the way, in chunks. The temporary copy is removed after."""
    filename = os.path.basename(str(getattr(upload, "name", "") or "")) or "artifact"
    digest = getattr(upload, "sha256", None)
    if digest and hasattr(upload, "temporary_file_path"):
        yield Received(upload.temporary_file_path(), filename, digest, upload.size, upload)
        return
    hasher, size = hashlib.sha256(), 0
    with tempfile.NamedTemporaryFile(prefix="artifact-", delete=False) as copy:
        try:
            if hasattr(upload, "seek"):
                upload.seek(0)
            chunks = (
                upload.chunks(CHUNK)
                if hasattr(upload, "chunks")
                else iter(lambda: upload.read(CHUNK), b"")
            )
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes():
                    raise too_large(size)
                hasher.update(chunk)
                copy.write(chunk)
            copy.flush()
        except BaseException:
            os.unlink(copy.name)
            raise
    try:
        yield Received(copy.name, filename, hasher.hexdigest(), size)
    finally:
        os.unlink(copy.name)


@dataclass(frozen=True)
class Inspected:
    format: str | None
    signature: dict | None


def inspect(received_file: Received) -> Inspected:
    """What the bytes are, checked against what their name claims: a file that is not
    what it says, or an ONNX model that does not load, is refused before anything is stored."""
    fmt = sniff_format(received_file.path)
    extension = os.path.splitext(received_file.filename)[1].lower()
    expected = EXTENSION_FORMATS.get(extension)
    if expected is not None and fmt not in expected:
        shown = fmt or "not a format the registry recognises"
        raise Invalid(
            f"{received_file.filename} is named like {extension[1:]} but its content is {shown}",
            field="file",
        )
    if received_file.size == 0:
        raise Invalid("the file is empty", field="file")
    signature = None
    if fmt == "onnx":
        try:
            signature = read_signature(received_file.path)
        except ModelLoadError as error:
            raise Invalid(f"not a loadable ONNX model: {error}", field="file") from None
    return Inspected(format=fmt or "", signature=signature)


def store(received_file: Received) -> tuple[str, bool]:
    """Put the bytes in the artifact storage under their digest; (name, newly stored). Bytes
    already held under that digest are not written again."""
    storage = artifact_storage()
    name = storage_name_for(received_file.sha256)
    if storage.exists(name):
        return name, False
    if received_file.temporary is not None:
        # A TemporaryUploadedFile: FileSystemStorage renames it into place (no second copy);
        # other storages stream it.
        saved = storage.save(name, received_file.temporary)
    else:
        with open(received_file.path, "rb") as handle:
            saved = storage.save(name, File(handle, name=os.path.basename(name)))
    if saved != name:
        # Another upload of the same bytes got there first; its file is the same bytes.
        storage.delete(saved)
        return name, False
    return name, True


def discard(name: str) -> None:
    """Remove bytes stored for an artifact whose record was never written."""
    artifact_storage().delete(name)


def open_held(artifact):
    """The held bytes, as a binary file to stream (download)."""
    return artifact_storage().open(artifact.storage_name, "rb")


@contextmanager
def local_path(artifact) -> Iterator[str]:
    """A path on local disk to the held bytes, for the scanner and the model runner: the stored
    file itself on a file-system storage, else a temporary copy streamed from the storage."""
    storage = artifact_storage()
    try:
        path = storage.path(artifact.storage_name)
    except NotImplementedError:  # not a file-system storage
        path = None
    if path is not None:
        yield path
        return
    # Opened before the copy is made, so bytes missing from a remote storage leave no file.
    with (
        storage.open(artifact.storage_name, "rb") as source,
        tempfile.NamedTemporaryFile(prefix="held-", delete=False) as copy,
    ):
        try:
            shutil.copyfileobj(source, copy, CHUNK)
        except BaseException:
            os.unlink(copy.name)
            raise
    try:
        yield copy.name
    finally:
        os.unlink(copy.name)


def read_verified(artifact) -> bytes:
    """The held bytes, whole (a model to run), checked against the recorded SHA-256 so that a
    run's `artifactSha256` is the digest of the bytes it really ran."""
    with open_held(artifact) as handle:
        content = handle.read()
    digest = hashlib.sha256(content).hexdigest()
    if digest != artifact.sha256:
        raise Invalid(
            f"the stored bytes of artifact {artifact.pk} no longer match its SHA-256 "
            f"({digest} is not {artifact.sha256}): custody is broken, nothing was run",
            field="artifact",
        )
    return content
