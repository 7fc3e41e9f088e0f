"""Frame a pickle file opcode by opcode on a symbolic stack: nothing is built, imported or called.

Two things modelscan gets wrong are fixed with it:

- ``joblib.dump`` writes each numeric array's bytes straight into the pickle stream, right
  after the BUILD opcode of its ``NumpyArrayWrapper``, and ``joblib.load`` reads them with
  ``frombuffer`` and goes on unpickling. pickletools (so modelscan) cannot frame those bytes,
  stops there and never sees the rest, not even the globals before them. The framing learns each
  wrapper's shape, dtype and alignment, so the exact byte range joblib reads as data, and the
  registry cuts those ranges out before modelscan scans the opcodes.
- modelscan reads a file of several pickles (legacy PyTorch: five) with one memo for all, so a
  later pickle's BINGET resolves to an earlier pickle's strings. Each framed pickle (and each
  joblib object array, a nested pickle with its own memo) is handed over as its own file.

The globals the framing resolves on its real stack are returned too, as a second opinion
next to modelscan's (which guesses STACK_GLOBAL operands from the preceding opcodes).
"""

from __future__ import annotations

import contextlib
import io
import pickletools
import struct
from dataclasses import dataclass, field
from math import prod

import numpy

# The classes whose BUILD joblib.numpy_pickle.NumpyUnpickler follows with raw array bytes.
_WRAPPER_MODULES = ("joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle")
_WRAPPER_NAME = "NumpyArrayWrapper"
# Arguments longer than this are skipped with a seek instead of read: their value is never
# needed, and a 200 MB BYTEARRAY8 must not be copied into memory a second time.
_INLINE_LIMIT = 1 << 20
# A joblib object array holds a nested pickle, read with the plain Unpickler (so no wrapper is
# followed inside it): nesting is one level deep; deeper is malformed.
_MAX_DEPTH = 2
_NUMPY_ITEM_REFCOUNT = 0x01  # numpy dtype flag: the dtype holds Python objects


class FramingError(ValueError):
    """The stream is not a pickle the registry can frame."""


@dataclass(frozen=True)
class _Global:
    module: str
    name: str


@dataclass(eq=False)
class _Call:
    func: object
    args: object
    state: object = None


class _Opaque:
    """A value the framing does not need (persistent ids, buffers, huge literals, sets)."""


_OPAQUE = _Opaque()

_LENGTH_PREFIXED = {
    pickletools.TAKEN_FROM_ARGUMENT4: ("<i", 4),
    pickletools.TAKEN_FROM_ARGUMENT4U: ("<I", 4),
    pickletools.TAKEN_FROM_ARGUMENT8U: ("<Q", 8),
}
_LITERALS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    "STRING", "BINSTRING", "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8",
    "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
}  # fmt: skip
_CONSTANTS = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


# A global whose module or name is not a literal string: computed while unpickling.
COMPUTED = ("<computed>", "<computed>")


@dataclass
class FramedPickle:
    """One pickle: its [start, end) bytes, the globals it names, and what to cut out of it
    before modelscan reads it: joblib raw array data, nested object-array pickles (themselves
    FramedPickles, scanned apart) and the bytes of literals over 1 MiB, whose length prefix
    becomes 0 (a 200 MB BYTEARRAY8 is data; pickletools would read it all into memory)."""

    start: int
    end: int = 0
    globals: set[tuple[str, str]] = field(default_factory=set)
    raw: list[tuple[int, int]] = field(default_factory=list)
    nested: list[FramedPickle] = field(default_factory=list)
    literals: list[tuple[int, int, bytes]] = field(default_factory=list)

    @property
    def cuts(self) -> list[tuple[int, int, bytes]]:
        """(start, end, replacement) for each cut, in file order."""
        removed = [(start, end, b"") for start, end in self.raw]
        removed += [(inner.start, inner.end, b"") for inner in self.nested]
        return sorted(removed + self.literals)


@dataclass(frozen=True)
class Framing:
    pickles: list[FramedPickle]
    # Where framing stopped: the file size when every byte belongs to a pickle.
    tail: int
    tail_error: str | None


def frame_pickles(handle: io.BufferedIOBase, size: int) -> Framing:
    """Frame the consecutive pickles from offset 0; FramingError if not even the first frames."""
    framer = _Framer(handle, size)
    pickles: list[FramedPickle] = []
    position = 0
    while position < size:
        handle.seek(position)
        try:
            framed = framer.walk(position, depth=0)
        except FramingError as error:
            if not pickles:
                raise
            return Framing(pickles, tail=position, tail_error=str(error))
        pickles.append(framed)
        position = framed.end
    return Framing(pickles, tail=position, tail_error=None)


@dataclass
class _Framer:
    handle: io.BufferedIOBase
    size: int

    def walk(self, start: int, depth: int) -> FramedPickle:
        """Replay one pickle, from ``start`` (the handle's position) to its STOP."""
        framed = FramedPickle(start)
        if depth >= _MAX_DEPTH:
            raise FramingError("nested pickles deeper than joblib writes")
        stack: list = []
        marks: list[int] = []
        memo: dict = {}
        while True:
            position = self.handle.tell()
            code = self.handle.read(1)
            if not code:
                raise FramingError(f"the stream ends at byte {position} before STOP")
            opcode = pickletools.code2op.get(code.decode("latin-1"))
            if opcode is None:
                raise FramingError(f"unknown opcode {code!r} at byte {position}")
            try:
                arg = self._argument(opcode, framed)
                if opcode.name == "STOP":
                    framed.end = self.handle.tell()
                    return framed
                self._step(opcode.name, arg, stack, marks, memo, depth, framed)
            except FramingError:
                raise
            except (IndexError, KeyError, TypeError, ValueError) as error:
                raise FramingError(f"{opcode.name} at byte {position}: {error!r}") from None

    def _argument(self, opcode: pickletools.OpcodeInfo, framed: FramedPickle) -> object:
        if opcode.arg is None:
            return None
        prefix = _LENGTH_PREFIXED.get(opcode.arg.n)
        if prefix is None:
            return self._read(opcode)
        fmt, width = prefix
        raw = self.handle.read(width)
        if len(raw) < width:
            raise FramingError("truncated length")
        (length,) = struct.unpack(fmt, raw)
        if length < 0 or self.handle.tell() + length > self.size:
            raise FramingError(f"{opcode.name} claims {length} bytes past the end")
        if length > _INLINE_LIMIT:
            prefix_start = self.handle.tell() - width
            self.handle.seek(length, io.SEEK_CUR)
            framed.literals.append((prefix_start, self.handle.tell(), struct.pack(fmt, 0)))
            return _OPAQUE
        self.handle.seek(-width, io.SEEK_CUR)
        return self._read(opcode)

    def _read(self, opcode: pickletools.OpcodeInfo) -> object:
        try:
            return opcode.arg.reader(self.handle)
        except ValueError as error:
            raise FramingError(f"{opcode.name}: {error}") from None

    def _step(self, name, arg, stack, marks, memo, depth, framed: FramedPickle) -> None:
        def pop_mark() -> list:
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            return items

        if name in ("PROTO", "FRAME", "READONLY_BUFFER"):
            return
        if name in _LITERALS:
            stack.append(arg)
        elif name in _CONSTANTS:
            stack.append(_CONSTANTS[name])
        elif name == "MARK":
            marks.append(len(stack))
        elif name == "POP":
            if stack and (not marks or marks[-1] < len(stack)):
                stack.pop()
            else:
                pop_mark()
        elif name == "POP_MARK":
            pop_mark()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            stack.append(memo[arg])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            count = int(name[-1])
            if len(stack) < count:
                raise IndexError("stack underflow")
            items = tuple(stack[-count:])
            del stack[-count:]
            stack.append(items)
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "LIST":
            stack.append(pop_mark())
        elif name == "APPEND":
            value = stack.pop()
            if isinstance(stack[-1], list):
                stack[-1].append(value)
        elif name == "APPENDS":
            items = pop_mark()
            if isinstance(stack[-1], list):
                stack[-1].extend(items)
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "DICT":
            items = pop_mark()
            stack.append(_pairs_to_dict(items))
        elif name == "SETITEM":
            value, key = stack.pop(), stack.pop()
            _set_item(stack[-1], key, value)
        elif name == "SETITEMS":
            items = pop_mark()
            for key, value in zip(items[::2], items[1::2], strict=True):
                _set_item(stack[-1], key, value)
        elif name == "EMPTY_SET":
            stack.append(_Opaque())
        elif name == "ADDITEMS":
            pop_mark()
            if not stack:  # the set must be there, as the unpickler requires
                raise IndexError("ADDITEMS without a set")
        elif name == "FROZENSET":
            pop_mark()
            stack.append(_Opaque())
        elif name == "GLOBAL":
            module, _, attribute = arg.partition(" ")
            framed.globals.add((module, attribute))
            stack.append(_Global(module, attribute))
        elif name == "STACK_GLOBAL":
            attribute, module = stack.pop(), stack.pop()
            if isinstance(module, str) and isinstance(attribute, str):
                framed.globals.add((module, attribute))
                stack.append(_Global(module, attribute))
            else:
                framed.globals.add(COMPUTED)
                stack.append(_Opaque())
        elif name == "INST":
            module, _, attribute = arg.partition(" ")
            framed.globals.add((module, attribute))
            stack.append(_Call(_Global(module, attribute), tuple(pop_mark())))
        elif name == "OBJ":
            items = pop_mark()
            stack.append(_Call(items[0], tuple(items[1:])))
        elif name in ("REDUCE", "NEWOBJ"):
            args = stack.pop()
            stack.append(_Call(stack.pop(), args))
        elif name == "NEWOBJ_EX":
            stack.pop()  # keyword arguments
            args = stack.pop()
            stack.append(_Call(stack.pop(), args))
        elif name == "BUILD":
            state = stack.pop()
            target = stack[-1]
            if isinstance(target, _Call):
                target.state = state
                if depth == 0 and _is_array_wrapper(target):
                    self._skip_array(target, depth, framed)
        elif name in ("PERSID", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER"):
            stack.append(_Opaque())
        elif name == "BINPERSID":
            stack.pop()
            stack.append(_Opaque())
        else:
            raise FramingError(f"opcode {name} is not framed")

    def _skip_array(self, wrapper: _Call, depth: int, framed: FramedPickle) -> None:
        state = wrapper.state
        if not isinstance(state, dict):
            raise FramingError("a NumpyArrayWrapper without a state dict")
        itemsize, has_object = _dtype_layout(state.get("dtype"))
        if has_object:
            # joblib pickles object arrays as a nested pickle read by a fresh Unpickler; it
            # is scanned on its own, since modelscan would mix its memo with the outer one.
            framed.nested.append(self.walk(self.handle.tell(), depth + 1))
            return
        shape = state.get("shape")
        if not isinstance(shape, tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise FramingError(f"a NumpyArrayWrapper with shape {shape!r}")
        start = self.handle.tell()
        position = start
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self.handle.read(1)
            if not padding:
                raise FramingError("the stream ends inside array padding")
            position += 1 + padding[0]
        end = position + prod(shape) * itemsize
        if end > self.size:
            raise FramingError(f"array data of shape {shape} runs past the end of the file")
        self.handle.seek(end)
        framed.raw.append((start, end))


def _is_array_wrapper(call: _Call) -> bool:
    func = call.func
    if (
        isinstance(func, _Global)
        and func.name == "_reconstructor"
        and func.module in ("copyreg", "copy_reg")
    ):
        # Protocols 0 and 1 build instances through copyreg._reconstructor(cls, base, state).
        func = call.args[0] if isinstance(call.args, tuple) and call.args else None
    return (
        isinstance(func, _Global) and func.name == _WRAPPER_NAME and func.module in _WRAPPER_MODULES
    )


def _dtype_layout(dtype: object) -> tuple[int, bool]:
    """(itemsize, holds objects) of a pickled numpy dtype: dtype(descr, align, copy) + state."""
    if not (
        isinstance(dtype, _Call)
        and isinstance(dtype.func, _Global)
        and dtype.func.module.split(".")[0] == "numpy"
        and dtype.func.name == "dtype"
        and isinstance(dtype.args, tuple)
        and dtype.args
        and isinstance(dtype.args[0], str)
    ):
        raise FramingError(f"a NumpyArrayWrapper dtype the registry cannot read: {dtype!r}")
    try:
        # Parsing a type string such as "f8" or "V16" builds no Python object and runs no code.
        parsed = numpy.dtype(dtype.args[0])
    except TypeError as error:
        raise FramingError(f"dtype {dtype.args[0]!r}: {error}") from None
    itemsize, has_object = parsed.itemsize, parsed.hasobject
    state = dtype.state
    # numpy's dtype state: (version, byteorder, subarray, names, fields, elsize, alignment,
    # flags); elsize > 0 sizes flexible types (V, S, U), flags say whether objects are inside.
    if isinstance(state, tuple) and len(state) >= 8:
        elsize, flags = state[5], state[7]
        if isinstance(elsize, int) and elsize > 0:
            itemsize = elsize
        if isinstance(flags, int) and flags & _NUMPY_ITEM_REFCOUNT:
            has_object = True
    return itemsize, has_object


def _pairs_to_dict(items: list) -> dict:
    result: dict = {}
    for key, value in zip(items[::2], items[1::2], strict=True):
        _set_item(result, key, value)
    return result


def _set_item(target: object, key: object, value: object) -> None:
    if isinstance(target, dict):
        # An unhashable symbolic key: the framing never needs that entry.
        with contextlib.suppress(TypeError):
            target[key] = value
