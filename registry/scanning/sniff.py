"""Which format a file holds, decided by its content (magic bytes), never by its name.

Nothing here unpickles, imports or runs anything from the file: pickles are only framed
opcode by opcode with pickletools, zips are read from their central directory, ONNX is
parsed as a protobuf message.
"""

from __future__ import annotations

import io
import json
import os
import pickletools
import struct
import zipfile
from pathlib import Path

PICKLE = "pickle"
PYTORCH = "pytorch"
NUMPY = "numpy"
NPZ = "npz"
KERAS_H5 = "keras-h5"
ONNX = "onnx"
ZIP = "zip"
SAFETENSORS = "safetensors"

NUMPY_MAGIC = b"\x93NUMPY"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# HDF5 allows a user block before the superblock: the signature may sit at 512, 1024, 2048…
_HDF5_OFFSETS = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
# safetensors headers are JSON of a few KiB; the reference implementation caps them at 100 MB.
SAFETENSORS_MAX_HEADER = 100_000_000
# A protocol 0/1 pickle has no PROTO opcode; it counts as one only if its first pickle
# frames to STOP within this many bytes.
_PROTOCOL_0_PROBE = 1 << 20


def sniff_format(path: str | os.PathLike) -> str | None:
    """The format of the file at ``path`` by content, or None when no known format fits."""
    return sniff_cheap(path) or (ONNX if parses_as_onnx(path) else None)


def sniff_cheap(path: str | os.PathLike) -> str | None:
    """The first of ``sniff_candidates``: the format the content shows first, or None."""
    candidates = sniff_candidates(path)
    return candidates[0] if candidates else None


def sniff_candidates(path: str | os.PathLike) -> list[str]:
    """Every format the content is valid as, the one shown at offset 0 first; ONNX excluded
    (it has no magic, only a full parse tells).

    A real artifact matches one format. A polyglot matches several, and each loader reads its
    own: h5py finds an HDF5 superblock at byte 512 of a pickle that pickle.load reads from byte
    0, so every reading must be scanned, not only the first.
    """
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(16)
        if head.startswith(ZIP_MAGICS):
            return [_sniff_zip(path)]
        if head.startswith(NUMPY_MAGIC):
            return [NUMPY]
        found = []
        if head.startswith(HDF5_MAGIC):
            found.append(KERAS_H5)
        if _has_pickle_proto(head):
            found.append(PICKLE)
        size = os.fstat(handle.fileno()).st_size
        if _looks_like_safetensors(handle, head, size):
            found.append(SAFETENSORS)
        if KERAS_H5 not in found and _has_hdf5_signature(handle):
            found.append(KERAS_H5)
        if PICKLE not in found and _frames_as_protocol_0_pickle(handle, head):
            found.append(PICKLE)
    return found


def parses_as_onnx(path: str | os.PathLike) -> bool:
    from .onnx_rules import load_model_proto

    return load_model_proto(path) is not None


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return ZIP
    # torch.save writes <root>/data.pkl (the pickle) next to <root>/data/<n> (storages).
    if any(name == "data.pkl" or name.endswith("/data.pkl") for name in names):
        return PYTORCH
    if names and all(name.endswith(".npy") for name in names):
        return NPZ
    return ZIP


def _has_hdf5_signature(handle: io.BufferedReader) -> bool:
    for offset in _HDF5_OFFSETS:
        handle.seek(offset)
        if handle.read(len(HDF5_MAGIC)) == HDF5_MAGIC:
            return True
    return False


def _looks_like_safetensors(handle: io.BufferedReader, head: bytes, size: int) -> bool:
    if len(head) < 9:
        return False
    (header_length,) = struct.unpack("<Q", head[:8])
    if not 2 <= header_length <= min(SAFETENSORS_MAX_HEADER, size - 8):
        return False
    if head[8:9] != b"{":
        return False
    handle.seek(8)
    try:
        header = json.loads(handle.read(header_length))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(header, dict)


def _has_pickle_proto(head: bytes) -> bool:
    # Protocol 2 and later start with PROTO <2..5>.
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def _frames_as_protocol_0_pickle(handle: io.BufferedReader, head: bytes) -> bool:
    # Protocol 0/1: no magic, so the first pickle must frame cleanly up to its STOP.
    if not head or head[0:1] not in _PROTOCOL_0_OPENERS:
        return False
    handle.seek(0)
    probe = io.BytesIO(handle.read(_PROTOCOL_0_PROBE))
    try:
        for opcode, _arg, _pos in pickletools.genops(probe):
            if opcode.name == "STOP":
                return True
    except ValueError:
        return False
    return False


# The opcodes a protocol 0/1 pickler writes first: MARK, empty containers, a GLOBAL, a constant.
_PROTOCOL_0_OPENERS = {bytes([c]) for c in b"(]})cNIFLSVKJMGTUX"}
