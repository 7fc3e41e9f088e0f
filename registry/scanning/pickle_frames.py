"""Frame a pickle file opcode by opcode on a symbolic stack: nothing is built, imported or called.

What modelscan alone gets wrong, and the framing lets the registry fix:

- ``joblib.dump`` writes each numeric array's bytes straight into the pickle stream, right
  after the BUILD opcode of its ``NumpyArrayWrapper``, and ``joblib.load`` reads them with
  ``frombuffer`` and goes on unpickling. pickletools (so modelscan) cannot frame those bytes,
  stops there and never sees the rest, not even the globals before them. The framing learns each
  wrapper's shape and dtype (sized by numpy itself, as joblib sizes it) and alignment, so the
  exact byte range joblib reads as data, and the registry cuts those ranges out.
- modelscan reads a file of several pickles (legacy PyTorch: five) with one memo for all, so a
  later pickle's BINGET resolves to an earlier pickle's strings. Each framed pickle (and each
  joblib object array, a nested pickle with its own memo) is handed over as its own file.
- modelscan takes a memoized value for the previous opcode's argument and guesses STACK_GLOBAL
  operands from the preceding opcodes (its issue #85). The framing resolves globals on its real
  stack: literal names are returned for the denylist, a computed name is marked, and a BUILD on
  a global (setting attributes on a library object) is recorded.
- literals over 1 MiB (a 200 MB in-band array) are recorded so the copy modelscan reads can
  empty them instead of pickletools reading them into memory.
"""

from __future__ import annotations

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
_WRAPPER_KEYS = frozenset(
    {"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"}
)
# Longer tuples are kept as opaque: shapes, dtype arguments and dtype states are short.
_MAX_TUPLE = 64
_MAX_KEPT_STRING = 512


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
    opcodes: int = 0
    globals: set[tuple[str, str]] = field(default_factory=set)
    # Globals whose attributes a BUILD sets: an object pickled by value is built from a call,
    # never from a global; setting attributes on a module's function is how a pickle smuggles
    # strings past scanners (modelscan issue #85) or rewires a library.
    mutated: set[tuple[str, str]] = field(default_factory=set)
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
        if depth >= _MAX_DEPTH:
            raise FramingError("nested pickles deeper than joblib writes")
        state = _Walk(self, FramedPickle(start), depth)
        read = self.handle.read
        opcodes = 0
        while True:
            code = read(1)
            opcode = _OPCODES.get(code)
            if opcode is None:
                where = self.handle.tell() - len(code)
                if not code:
                    raise FramingError(f"the stream ends at byte {where} before STOP")
                raise FramingError(f"unknown opcode {code!r} at byte {where}")
            opcodes += 1
            try:
                arg = None if opcode.arg is None else self._argument(opcode, state.framed)
                if opcode.name == "STOP":
                    state.framed.end = self.handle.tell()
                    state.framed.opcodes = opcodes
                    return state.framed
                _STEPS[opcode.name](state, arg)
            except FramingError:
                raise
            except (IndexError, KeyError, TypeError, ValueError) as error:
                where = self.handle.tell()
                raise FramingError(f"{opcode.name} before byte {where}: {error!r}") from None

    def _argument(self, opcode: pickletools.OpcodeInfo, framed: FramedPickle) -> object:
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

    def skip_array(self, wrapper: _Call, depth: int, framed: FramedPickle) -> None:
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
        if not isinstance(shape, tuple) or not all(_natural(d) for d in shape):
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


@dataclass
class _Walk:
    """The symbolic unpickler's state for one pickle.

    Only what reading a joblib wrapper needs is kept, so memory stays bounded on a pickle of
    millions of objects: list items are dropped, dicts keep only the wrapper's keys, long
    tuples become opaque.
    """

    framer: _Framer
    framed: FramedPickle
    depth: int
    stack: list = field(default_factory=list)
    marks: list[int] = field(default_factory=list)
    memo: dict = field(default_factory=dict)

    def pop_mark(self) -> list:
        start = self.marks.pop()
        items = self.stack[start:]
        del self.stack[start:]
        return items

    def add_global(self, module: object, attribute: object) -> None:
        if isinstance(module, str) and isinstance(attribute, str):
            self.framed.globals.add((module, attribute))
            self.stack.append(_Global(module, attribute))
        else:
            self.framed.globals.add(COMPUTED)
            self.stack.append(_Opaque())


def _pop(walk: _Walk, _arg: object) -> None:
    if walk.stack and (not walk.marks or walk.marks[-1] < len(walk.stack)):
        walk.stack.pop()
    else:
        walk.pop_mark()


def _tuple_of(count: int):
    def step(walk: _Walk, _arg: object) -> None:
        if len(walk.stack) < count:
            raise IndexError("stack underflow")
        items = tuple(walk.stack[-count:])
        del walk.stack[-count:]
        walk.stack.append(items)

    return step


def _tuple(walk: _Walk, _arg: object) -> None:
    items = walk.pop_mark()
    walk.stack.append(tuple(items) if len(items) <= _MAX_TUPLE else _Opaque())


def _append(walk: _Walk, _arg: object) -> None:
    walk.stack.pop()  # list items are not kept
    _require_target(walk)


def _appends(walk: _Walk, _arg: object) -> None:
    walk.pop_mark()
    _require_target(walk)


def _require_target(walk: _Walk) -> None:
    # The unpickler fails here too: items need a container under them.
    if not walk.stack:
        raise IndexError("no container under the items")


def _dict(walk: _Walk, _arg: object) -> None:
    items = walk.pop_mark()
    result: dict = {}
    for key, value in zip(items[::2], items[1::2], strict=True):
        _set_item(result, key, value)
    walk.stack.append(result)


def _setitem(walk: _Walk, _arg: object) -> None:
    value, key = walk.stack.pop(), walk.stack.pop()
    _set_item(walk.stack[-1], key, value)


def _setitems(walk: _Walk, _arg: object) -> None:
    items = walk.pop_mark()
    target = walk.stack[-1]
    for key, value in zip(items[::2], items[1::2], strict=True):
        _set_item(target, key, value)


def _global(walk: _Walk, arg: str) -> None:
    module, _, attribute = arg.partition(" ")
    walk.add_global(module, attribute)


def _stack_global(walk: _Walk, _arg: object) -> None:
    attribute, module = walk.stack.pop(), walk.stack.pop()
    walk.add_global(module, attribute)


def _inst(walk: _Walk, arg: str) -> None:
    module, _, attribute = arg.partition(" ")
    args = tuple(walk.pop_mark())
    walk.add_global(module, attribute)
    walk.stack.append(_Call(walk.stack.pop(), args))


def _obj(walk: _Walk, _arg: object) -> None:
    items = walk.pop_mark()
    walk.stack.append(_Call(items[0], tuple(items[1:])))


def _reduce(walk: _Walk, _arg: object) -> None:
    args = walk.stack.pop()
    walk.stack.append(_Call(walk.stack.pop(), args))


def _newobj_ex(walk: _Walk, _arg: object) -> None:
    walk.stack.pop()  # keyword arguments
    _reduce(walk, None)


def _build(walk: _Walk, _arg: object) -> None:
    state = walk.stack.pop()
    target = walk.stack[-1]
    if isinstance(target, _Call):
        target.state = state
        if walk.depth == 0 and _is_array_wrapper(target):
            walk.framer.skip_array(target, walk.depth, walk.framed)
    elif isinstance(target, _Global):
        walk.framed.mutated.add((target.module, target.name))


def _put(walk: _Walk, arg: int) -> None:
    walk.memo[arg] = _memo_value(walk.stack[-1])


def _memoize(walk: _Walk, _arg: object) -> None:
    walk.memo[len(walk.memo)] = _memo_value(walk.stack[-1])


def _memo_value(value: object) -> object:
    """What the memo keeps: strings (global names, state keys), globals, calls, dicts, short
    tuples of such. A pickle memoizes every row of a table; floats and long text are not
    needed to frame it and would hold the whole table in memory."""
    kind = type(value)
    if kind is str:
        return value if len(value) <= _MAX_KEPT_STRING else _OPAQUE
    if kind is tuple:
        if len(value) <= _MAX_TUPLE and all(type(item) in _KEPT_IN_TUPLES for item in value):
            return value
        return _OPAQUE
    return value if kind in _KEPT else _OPAQUE


_KEPT = frozenset({int, bool, type(None), _Global, _Call, dict, list, _Opaque})
_KEPT_IN_TUPLES = _KEPT | {str, tuple}


def _get(walk: _Walk, arg: int) -> None:
    walk.stack.append(walk.memo[arg])


def _push(value_of):
    def step(walk: _Walk, arg: object) -> None:
        walk.stack.append(value_of(arg))

    return step


def _nothing(_walk: _Walk, _arg: object) -> None:
    return None


def _binpersid(walk: _Walk, _arg: object) -> None:
    walk.stack.pop()
    walk.stack.append(_Opaque())


def _additems(walk: _Walk, _arg: object) -> None:
    walk.pop_mark()
    _require_target(walk)


def _frozenset(walk: _Walk, _arg: object) -> None:
    walk.pop_mark()
    walk.stack.append(_Opaque())


_STEPS = {
    **dict.fromkeys(_LITERALS, _push(lambda arg: arg)),
    **{name: _push(lambda _arg, value=value: value) for name, value in _CONSTANTS.items()},
    **dict.fromkeys(("PROTO", "FRAME", "READONLY_BUFFER"), _nothing),
    **dict.fromkeys(("PERSID", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER"), _push(lambda _a: _Opaque())),
    "MARK": lambda walk, _arg: walk.marks.append(len(walk.stack)),
    "POP": _pop,
    "POP_MARK": lambda walk, _arg: walk.pop_mark(),
    "DUP": lambda walk, _arg: walk.stack.append(walk.stack[-1]),
    "PUT": _put,
    "BINPUT": _put,
    "LONG_BINPUT": _put,
    "MEMOIZE": _memoize,
    "GET": _get,
    "BINGET": _get,
    "LONG_BINGET": _get,
    "EMPTY_TUPLE": _push(lambda _a: ()),
    "TUPLE1": _tuple_of(1),
    "TUPLE2": _tuple_of(2),
    "TUPLE3": _tuple_of(3),
    "TUPLE": _tuple,
    "EMPTY_LIST": _push(lambda _a: []),
    "LIST": lambda walk, _arg: (walk.pop_mark(), walk.stack.append([])),
    "APPEND": _append,
    "APPENDS": _appends,
    "EMPTY_DICT": _push(lambda _a: {}),
    "DICT": _dict,
    "SETITEM": _setitem,
    "SETITEMS": _setitems,
    "EMPTY_SET": _push(lambda _a: _Opaque()),
    "ADDITEMS": _additems,
    "FROZENSET": _frozenset,
    "GLOBAL": _global,
    "STACK_GLOBAL": _stack_global,
    "INST": _inst,
    "OBJ": _obj,
    "REDUCE": _reduce,
    "NEWOBJ": _reduce,
    "NEWOBJ_EX": _newobj_ex,
    "BUILD": _build,
    "BINPERSID": _binpersid,
}
_OPCODES = {op.code.encode("latin-1"): op for op in pickletools.opcodes}
_UNFRAMED = {op.name for op in pickletools.opcodes} - set(_STEPS) - {"STOP"}
assert not _UNFRAMED, f"opcodes without a framing step: {_UNFRAMED}"


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
        # Parsing a type string such as "f8" or "V16" builds no Python object and runs no code;
        # copy=True, as the pickle's own call does, so the state below lands on a fresh
        # descriptor, never on numpy's shared builtin one.
        parsed = numpy.dtype(dtype.args[0], False, True)
    except TypeError as error:
        raise FramingError(f"dtype {dtype.args[0]!r}: {error}") from None
    state = dtype.state
    if state is not None:
        # numpy's dtype state: (version, byteorder, subarray, names, fields, elsize, alignment,
        # flags[, metadata]). Which of elsize and flags numpy applies depends on the type (a
        # V16 takes both, an f8 neither), and joblib sizes the array bytes by the result: any
        # difference would shift the framing against joblib's reading. So numpy itself applies
        # the state, with the parts that hold objects (subarray, fields, metadata) left out:
        # they do not change the size or the objects flag, which come from elsize and flags.
        if not (isinstance(state, tuple) and len(state) in (8, 9)):
            raise FramingError(f"a dtype state the registry cannot read: {state!r}")
        version, byteorder, _, _, _, elsize, alignment, flags = state[:8]
        if not (
            all(_plain_int(v) for v in (version, elsize, alignment, flags))
            and isinstance(byteorder, str)
        ):
            raise FramingError(f"a dtype state the registry cannot read: {state!r}")
        plain = (version, byteorder, None, None, None, elsize, alignment, flags)
        if len(state) == 9:
            # Datetimes keep their unit there (its size is always 8): numpy's own metadata for
            # the parsed type stands in; for other types it is None.
            own = parsed.__reduce__()[2]
            plain += (own[8] if parsed.kind in "Mm" and len(own) == 9 else None,)
        try:
            parsed.__setstate__(plain)
        except (TypeError, ValueError) as error:
            raise FramingError(f"dtype state {state!r}: {error}") from None
    return parsed.itemsize, parsed.hasobject


def _plain_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _set_item(target: object, key: object, value: object) -> None:
    # Only the keys of a joblib wrapper's state are kept: a vocabulary of millions of entries
    # must not be rebuilt in memory to be framed.
    if isinstance(target, dict) and isinstance(key, str) and key in _WRAPPER_KEYS:
        target[key] = value


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
