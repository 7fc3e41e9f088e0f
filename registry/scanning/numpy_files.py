"""The header of a .npy file (also each member of a .npz): shape, dtype, where the data starts.

modelscan 0.8.8's NumPy scanner calls ``numpy.lib.format._check_version``, which numpy 2
removed, so it fails on every .npy. The registry reads the header itself (a Python literal,
parsed with ``ast.literal_eval``, which evaluates no code) and hands an object array's pickle,
the part after the header that ``numpy.load(allow_pickle=True)`` unpickles, to the pickle rules.
"""

from __future__ import annotations

import ast
import struct
from dataclasses import dataclass
from math import prod
from typing import BinaryIO

import numpy
from numpy.lib.format import descr_to_dtype

MAGIC = b"\x93NUMPY"
# numpy itself refuses headers over 10 000 bytes unless told otherwise; structured dtypes with
# many fields need more, a header beyond this is no real array's.
MAX_HEADER = 1 << 20


class NpyError(ValueError):
    """Not a .npy header numpy would read."""


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    dtype: numpy.dtype
    data_offset: int

    @property
    def data_length(self) -> int:
        return prod(self.shape) * self.dtype.itemsize


def read_header(handle: BinaryIO) -> NpyHeader:
    """Read the header from the stream's start; the stream is left at the data."""
    prefix = handle.read(len(MAGIC) + 2)
    if len(prefix) < len(MAGIC) + 2 or not prefix.startswith(MAGIC):
        raise NpyError("no .npy magic")
    major = prefix[len(MAGIC)]
    if major == 1:
        width, encoding = 2, "latin1"
    elif major in (2, 3):
        width, encoding = 4, "latin1" if major == 2 else "utf8"
    else:
        raise NpyError(f".npy format version {major} is unknown")
    raw = handle.read(width)
    if len(raw) < width:
        raise NpyError("truncated header length")
    (length,) = struct.unpack("<H" if width == 2 else "<I", raw)
    if length > MAX_HEADER:
        raise NpyError(f"a {length}-byte header")
    text = handle.read(length)
    if len(text) < length:
        raise NpyError("truncated header")
    try:
        header = ast.literal_eval(text.decode(encoding))
    except (SyntaxError, ValueError, UnicodeDecodeError, MemoryError, RecursionError) as error:
        raise NpyError(f"the header is not a literal: {error}") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise NpyError("the header lacks descr, fortran_order or shape")
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise NpyError(f"the shape {shape!r}")
    try:
        dtype = descr_to_dtype(header["descr"])
    except (TypeError, ValueError) as error:
        raise NpyError(f"the dtype {header['descr']!r}: {error}") from None
    return NpyHeader(shape=shape, dtype=dtype, data_offset=len(prefix) + width + length)
