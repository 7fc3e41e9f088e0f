"""Policy rule conditions: CEL expressions checked at save and evaluated for a version.

A rule's ``condition`` is a CEL (Common Expression Language) expression such as
``artifact.securityScan.status == 'PASSED'``. This module is independent of Django.

* :func:`compile_condition` checks a condition when a policy is saved and returns a
  :class:`CompiledCondition` (cached by source text), or raises :class:`ConditionError`
  with a message fit for a 400 response.
* :func:`prepare_context` turns the facts about one version into plain data, once.
* :func:`evaluate_condition` runs a compiled condition against that context and returns a
  :class:`ConditionOutcome`. It never raises: anything that goes wrong fails the rule
  with a message.

CEL is evaluated by the ``common-expression-language`` package (Python bindings of the
Rust ``cel`` crate). Nothing in a condition can reach Python: CEL has no statements, no
imports, no attribute access on host objects and no I/O; the only functions a condition
can call are CEL's built-ins (we register none of our own and set no variable resolver);
and the activation holds only plain data (dicts, lists, str, int, float, bool, None)
built by :func:`prepare_context`, never Python objects with methods. ``x.__class__`` in a
condition is just a lookup of the key ``"__class__"`` in a map.

Checks at save, in order (the first two before the text reaches the library):

1. length (:data:`MAX_LENGTH` characters);
2. our own linear tokenizer: nesting of brackets (:data:`MAX_NESTING`) and number of
   operators (:data:`MAX_OPERATORS`), which bounds the depth of the syntax tree. The Rust
   evaluator recurses over that tree and overflows the stack (killing the process) on
   deep trees: about 16,000 chained operators on an 8 MB stack, 2,000 on 1 MB, 500 on
   256 KB;
3. the library's parser (syntax errors, with their column);
4. our parser, on the same text, to walk the tree: names against the declared context
   (:mod:`policies.condition_context`), functions against CEL's built-ins, fields of
   fixed-shape objects, values compared with closed sets (``riskTier``, scan
   ``status``, ``environment``), comprehension limits (``map()`` refused, nesting of
   ``all``/``exists``/``exists_one``/``filter`` at most :data:`MAX_COMPREHENSION_NESTING`,
   literal lists and maps at most :data:`MAX_LITERAL_ITEMS` items);
5. types, by evaluating the condition and each operand of its ``&&``, ``||``, ``!`` and
   ``?:`` against typed samples in which every path the condition selects exists. A
   type error or a result that is not a bool is refused; a missing key or index, a
   division by zero or a failed conversion depends on data and is accepted.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import cel

from policies.condition_context import (
    ANY,
    OPTIONAL_ROOTS,
    ROOT_NAMES,
    ROOTS,
    Dynamic,
    ListOf,
    MapOf,
    OneOf,
    Path,
    Record,
    Scalar,
    Schema,
    sample_contexts,
)

__all__ = [
    "MAX_COMPREHENSION_NESTING",
    "MAX_CONTEXT_DEPTH",
    "MAX_LENGTH",
    "MAX_LITERAL_ITEMS",
    "MAX_NESTING",
    "MAX_OPERATORS",
    "CompiledCondition",
    "ConditionError",
    "ConditionOutcome",
    "PreparedContext",
    "compile_condition",
    "evaluate_condition",
    "prepare_context",
]

logger = logging.getLogger(__name__)

MAX_LENGTH = 4096
MAX_NESTING = 32
MAX_OPERATORS = 200
MAX_COMPREHENSION_NESTING = 2
MAX_LITERAL_ITEMS = 64
MAX_CONTEXT_DEPTH = 64

#: Functions a condition may call as ``f(x)`` (``has`` is a macro, checked apart).
GLOBAL_FUNCTIONS = frozenset(
    {"size", "int", "uint", "double", "string", "bytes", "dyn", "type", "timestamp", "duration"}
)
#: Functions a condition may call as ``x.f(...)``.
METHODS = frozenset(
    {
        "size",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfYear",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
    }
)
#: Comprehension macros, ``range.all(x, predicate)``; ``map`` is refused.
COMPREHENSIONS = frozenset({"all", "exists", "exists_one", "filter"})
#: Type names usable as values, as in ``type(x) == string``.
TYPE_NAMES = frozenset(
    {"int", "uint", "double", "string", "bytes", "bool", "list", "map", "null_type", "type"}
)

_NAMES_HELP = "a condition may use " + ", ".join(ROOT_NAMES)
_FUNCTIONS_HELP = (
    "a condition may call has, "
    + ", ".join(sorted(GLOBAL_FUNCTIONS))
    + " and the methods "
    + ", ".join(sorted(COMPREHENSIONS))
    + ", "
    + ", ".join(sorted(METHODS))
)


class ConditionError(ValueError):
    """A condition refused at save. ``str(error)`` is a message for the author.

    ``offset`` is the 0-based character offset in the condition the error is about,
    when there is one.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class ConditionOutcome:
    """The result of one condition for one version: ``error`` says why it did not pass
    when evaluation could not produce true or false (the engine's account, for the record:
    a type error, a missing key). ``missing`` is set when that was a name the version does
    not have, in words fit for its owner ("the version has no artifacts")."""

    passed: bool
    error: str | None = None
    # Derived from `error`, so outcomes that agree on passed and error are equal.
    missing: str | None = field(default=None, compare=False)


@dataclass(frozen=True, eq=False)
class CompiledCondition:
    """A checked condition, ready to evaluate. Obtain it from :func:`compile_condition`."""

    source: str
    #: The declared names the condition uses, e.g. ``frozenset({"artifact"})``.
    names: frozenset[str]
    _program: Any = field(repr=False)
    _tree: _Node = field(repr=False)
    #: The paths it selects, e.g. ``("version", "documentation", "limitations")`` (a key
    #: that is not a literal is :data:`policies.condition_context.ANY`): what a failed rule
    #: was looking for, so a page can say where to fix it.
    paths: frozenset[Path] = frozenset()


@dataclass(frozen=True, eq=False)
class PreparedContext:
    """The context of one version as plain data, converted once for many evaluations."""

    values: Mapping[str, Any]
    error: str | None = None
    _activation: Any = field(default=None, repr=False)


# ---------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # ident, op, int, uint, double, string, bytes, eof
    text: str
    start: int
    end: int


_OPERATOR_TOKENS = frozenset(
    {"==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "+", "-", "*", "/", "%", "?", "in"}
)
#: Tokens counted against MAX_OPERATORS: each adds a level to the syntax tree.
_COUNTED = _OPERATOR_TOKENS | {".", "["}
_TWO_CHAR = frozenset({"==", "!=", "<=", ">=", "&&", "||"})
_ONE_CHAR = frozenset("<>!+-*/%?:.,()[]{}")
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_STRING_START = re.compile(r"""([bB]?)([rR]?)('''|\"\"\"|'|")""")
_NUMBER = re.compile(
    r"""
    0[xX][0-9a-fA-F]+[uU]?
    | [0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?
    | [0-9]+[eE][+-]?[0-9]+
    | [0-9]+[uU]?
    """,
    re.VERBOSE,
)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _where(source: str, offset: int) -> str:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    if "\n" not in source:
        return f"column {column}"
    return f"line {line}, column {column}"


def _syntax_error(source: str, offset: int, text: str) -> ConditionError:
    return ConditionError(f"syntax error at {_where(source, offset)}: {text}", offset)


def _tokenize(source: str) -> list[_Token]:
    """Split a condition into tokens, linearly and without recursion."""
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c in " \t\n\r\f":
            i += 1
            continue
        if source.startswith("//", i):
            newline = source.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        string = _STRING_START.match(source, i)
        if string:
            quote = string.group(3)
            raw = bool(string.group(2))
            j = string.end()
            while True:
                if j >= n or (len(quote) == 1 and source[j] in "\r\n"):
                    raise _syntax_error(source, i, "unterminated string")
                if not raw and source[j] == "\\":
                    j += 2
                    continue
                if source.startswith(quote, j):
                    j += len(quote)
                    break
                j += 1
            kind = "bytes" if string.group(1) else "string"
            tokens.append(_Token(kind, source[i:j], i, j))
            i = j
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            match = _IDENT.match(source, i)
            assert match is not None
            text = match.group()
            tokens.append(_Token("op" if text == "in" else "ident", text, i, match.end()))
            i = match.end()
            continue
        if c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            match = _NUMBER.match(source, i)
            assert match is not None
            text = match.group()
            if text[-1] in "uU":
                kind = "uint"
            elif text[:2] in ("0x", "0X") or not any(ch in text for ch in ".eE"):
                kind = "int"
            else:
                kind = "double"
            tokens.append(_Token(kind, text, i, match.end()))
            i = match.end()
            continue
        if source[i : i + 2] in _TWO_CHAR:
            tokens.append(_Token("op", source[i : i + 2], i, i + 2))
            i += 2
            continue
        if c in _ONE_CHAR:
            tokens.append(_Token("op", c, i, i + 1))
            i += 1
            continue
        raise _syntax_error(source, i, f"unexpected character {c!r}")
    tokens.append(_Token("eof", "", n, n))
    return tokens


def _check_shape(tokens: list[_Token]) -> None:
    """Nesting and operator limits, on tokens, before the library sees the text."""
    depth = deepest = operators = 0
    for token in tokens:
        if token.kind != "op":
            continue
        if token.text in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif token.text in ")]}":
            depth = max(depth - 1, 0)
        if token.text in _COUNTED:
            operators += 1
    if deepest > MAX_NESTING:
        raise ConditionError(f"condition nests {deepest} levels deep; the limit is {MAX_NESTING}")
    if operators > MAX_OPERATORS:
        raise ConditionError(f"condition has {operators} operators; the limit is {MAX_OPERATORS}")


# ---------------------------------------------------------------------------
# Syntax tree (our own parser: the library does not expose its tree)
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    kind: str  # literal ident select index call unary binary ternary list map
    start: int
    end: int
    name: str = ""  # identifier, field, function, operator, or literal type
    value: Any = None  # literal value
    target: _Node | None = None  # operand of select/index/unary, receiver of a method
    args: tuple[_Node, ...] = ()


_BINARY_PRECEDENCE = {
    "||": 1,
    "&&": 2,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "==": 3,
    "!=": 3,
    "in": 3,
    "+": 4,
    "-": 4,
    "*": 5,
    "/": 5,
    "%": 5,
}


def _string_value(token: _Token) -> Any:
    """The value of a string literal (the library decodes escapes exactly as CEL does)."""
    text = token.text
    prefix = len(text) - len(text.lstrip("bBrR"))
    quote = 3 if text[prefix : prefix + 3] in ("'''", '"""') else 1
    body = text[prefix + quote : len(text) - quote]
    if "\\" not in body or "r" in text[:prefix].lower():
        return body
    try:
        return cel.evaluate(text)
    except Exception:
        return None


class _Parser:
    """Recursive descent over the tokens of a condition whose size is already bounded."""

    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def next(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind == "op" and token.text == text

    def error(self, text: str, token: _Token | None = None) -> ConditionError:
        token = token or self.peek()
        found = "the end" if token.kind == "eof" else repr(token.text)
        return _syntax_error(self.source, token.start, f"{text}, found {found}")

    def expect(self, text: str) -> _Token:
        if not self.at(text):
            raise self.error(f"expected {text!r}")
        return self.next()

    def parse(self) -> _Node:
        node = self.expr()
        if self.peek().kind != "eof":
            raise self.error("expected the end of the condition")
        return node

    def expr(self) -> _Node:
        pairs: list[tuple[_Node, _Node]] = []
        node = self.binary(1)
        while self.at("?"):
            self.next()
            then = self.binary(1)
            self.expect(":")
            pairs.append((node, then))
            node = self.binary(1)
        for condition, then in reversed(pairs):
            node = _Node("ternary", condition.start, node.end, "?:", args=(condition, then, node))
        return node

    def binary(self, lowest: int) -> _Node:
        left = self.unary()
        while True:
            token = self.peek()
            precedence = _BINARY_PRECEDENCE.get(token.text) if token.kind == "op" else None
            if precedence is None or precedence < lowest:
                return left
            self.next()
            right = self.binary(precedence + 1)
            left = _Node("binary", left.start, right.end, token.text, args=(left, right))

    def unary(self) -> _Node:
        operators: list[_Token] = []
        while self.at("!") or self.at("-"):
            operators.append(self.next())
        node = self.member()
        for token in reversed(operators):
            node = _Node("unary", token.start, node.end, token.text, target=node)
        return node

    def member(self) -> _Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.next()
                name = self.next()
                if name.kind != "ident":
                    raise self.error("expected a field name after '.'", name)
                if self.at("("):
                    args, end = self.arguments()
                    node = _Node("call", node.start, end, name.text, target=node, args=args)
                elif self.at("{"):
                    raise self.refuse_struct(name)
                else:
                    node = _Node("select", node.start, name.end, name.text, target=node)
            elif self.at("["):
                self.next()
                index = self.expr()
                close = self.expect("]")
                node = _Node("index", node.start, close.end, target=node, args=(index,))
            else:
                return node

    def refuse_struct(self, token: _Token) -> ConditionError:
        return ConditionError(
            "message construction (Name{...}) is not available in conditions", token.start
        )

    def arguments(self) -> tuple[tuple[_Node, ...], int]:
        self.expect("(")
        args: list[_Node] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.next()
                args.append(self.expr())
        close = self.expect(")")
        return tuple(args), close.end

    def primary(self) -> _Node:
        token = self.next()
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return _Node("literal", token.start, token.end, "bool", token.text == "true")
            if token.text == "null":
                return _Node("literal", token.start, token.end, "null", None)
            if self.at("("):
                args, end = self.arguments()
                return _Node("call", token.start, end, token.text, args=args)
            if self.at("{"):
                raise self.refuse_struct(token)
            return _Node("ident", token.start, token.end, token.text)
        if token.kind in ("int", "uint"):
            digits = token.text.rstrip("uU")
            value = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits)
            return _Node("literal", token.start, token.end, token.kind, value)
        if token.kind == "double":
            return _Node("literal", token.start, token.end, "double", float(token.text))
        if token.kind in ("string", "bytes"):
            value = _string_value(token) if token.kind == "string" else None
            return _Node("literal", token.start, token.end, token.kind, value)
        if token.kind == "op" and token.text == "(":
            inner = self.expr()
            close = self.expect(")")
            inner.start, inner.end = token.start, close.end
            return inner
        if token.kind == "op" and token.text == "[":
            items = self.items("]")
            close = self.expect("]")
            return _Node("list", token.start, close.end, args=tuple(items))
        if token.kind == "op" and token.text == "{":
            entries = self.items("}", pairs=True)
            close = self.expect("}")
            return _Node("map", token.start, close.end, args=tuple(entries))
        if token.kind == "op" and token.text == ".":
            raise ConditionError("names starting with '.' are not supported", token.start)
        raise self.error("expected a value", token)

    def items(self, close: str, pairs: bool = False) -> list[_Node]:
        items: list[_Node] = []
        while not self.at(close):
            items.append(self.expr())
            if pairs:
                self.expect(":")
                items.append(self.expr())
            if not self.at(","):
                break
            self.next()
        return items


# ---------------------------------------------------------------------------
# Checks on the tree
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Binding:
    """What a comprehension variable stands for: a path from a root, and its shape."""

    path: Path | None
    schema: Schema | None


_KEY = Scalar("string", "key")


def _literal_string(node: _Node) -> str | None:
    if node.kind == "literal" and node.name == "string" and isinstance(node.value, str):
        return node.value
    return None


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.paths: list[Path] = []
        self.binders: set[str] = set()
        self.names: set[str] = set()

    def text(self, node: _Node, limit: int = 80) -> str:
        text = " ".join(self.source[node.start : node.end].split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    def fail(self, node: _Node, message: str) -> ConditionError:
        return ConditionError(message, node.start)

    # -- walking ---------------------------------------------------------

    def check(self, node: _Node, scope: Mapping[str, _Binding], depth: int) -> None:
        kind = node.kind
        if kind == "literal":
            return
        if kind == "ident":
            self.check_name(node, scope)
            return
        if kind == "call":
            self.check_call(node, scope, depth)
            return
        if kind in ("list", "map"):
            items = len(node.args) // 2 if kind == "map" else len(node.args)
            if items > MAX_LITERAL_ITEMS:
                noun = "list" if kind == "list" else "map"
                raise self.fail(
                    node,
                    f"a {noun} in the condition has {items} items; "
                    f"the limit is {MAX_LITERAL_ITEMS}",
                )
        if node.target is not None:
            self.check(node.target, scope, depth)
        for arg in node.args:
            self.check(arg, scope, depth)
        if kind in ("select", "index"):
            path, _ = self.resolve(node, scope)
            if path is not None:
                if len(path) > MAX_CONTEXT_DEPTH:
                    raise self.fail(
                        node,
                        f"condition selects more than {MAX_CONTEXT_DEPTH - 1} levels deep; "
                        f"the limit is {MAX_CONTEXT_DEPTH - 1}",
                    )
                self.paths.append(path)
        elif kind == "binary" and node.name in ("==", "!=", "in"):
            self.check_choices(node, scope)

    def check_name(self, node: _Node, scope: Mapping[str, _Binding]) -> None:
        name = node.name
        if name in scope or name in TYPE_NAMES:
            return
        if name in ROOTS:
            self.names.add(name)
            return
        raise self.fail(node, f"unknown name '{name}': {_NAMES_HELP}")

    def check_call(self, node: _Node, scope: Mapping[str, _Binding], depth: int) -> None:
        name = node.name
        if node.target is None:
            if name == "has":
                if len(node.args) != 1 or node.args[0].kind != "select":
                    raise self.fail(
                        node,
                        "has() takes one field selection, "
                        "e.g. has(version.documentation.intendedUse)",
                    )
            elif name not in GLOBAL_FUNCTIONS:
                raise self.fail(node, f"unknown function '{name}': {_FUNCTIONS_HELP}")
            for arg in node.args:
                self.check(arg, scope, depth)
            return
        self.check(node.target, scope, depth)
        if name == "map":
            raise self.fail(
                node,
                "map() is not allowed in conditions: use all(), exists(), exists_one() "
                "or filter() (map() can take seconds even on small lists)",
            )
        if name in COMPREHENSIONS:
            self.check_comprehension(node, scope, depth)
            return
        if name not in METHODS:
            raise self.fail(node, f"unknown function '{name}': {_FUNCTIONS_HELP}")
        for arg in node.args:
            self.check(arg, scope, depth)

    def check_comprehension(self, node: _Node, scope: Mapping[str, _Binding], depth: int) -> None:
        assert node.target is not None
        name = node.name
        if len(node.args) != 2 or node.args[0].kind != "ident":
            raise self.fail(node, f"{name}() takes a variable and a predicate, e.g. {name}(a, ...)")
        binder = node.args[0].name
        if binder in ROOTS or binder in TYPE_NAMES or binder in GLOBAL_FUNCTIONS:
            raise self.fail(
                node.args[0], f"'{binder}' is already a name in conditions; choose another"
            )
        if binder in scope:
            raise self.fail(node.args[0], f"'{binder}' is already used by an enclosing {name}()")
        if depth + 1 > MAX_COMPREHENSION_NESTING:
            raise self.fail(
                node,
                f"condition nests comprehensions {depth + 1} deep; "
                f"the limit is {MAX_COMPREHENSION_NESTING}",
            )
        path, schema = self.resolve(node.target, scope)
        if path is not None:
            # Make the sample range non-empty so the predicate is checked too.
            self.paths.append((*path, ANY))
        if isinstance(schema, ListOf):
            binding = _Binding((*path, ANY) if path else None, schema.element)
        elif isinstance(schema, Dynamic):
            binding = _Binding((*path, ANY) if path else None, schema)
        elif isinstance(schema, MapOf | Record):
            binding = _Binding(None, _KEY)
        elif isinstance(schema, Scalar):
            raise self.fail(
                node.target,
                f"{name}() needs a list or a map; {self.text(node.target)} is {schema.describe()}",
            )
        else:
            binding = _Binding(None, None)
        self.binders.add(binder)
        self.check(node.args[1], {**scope, binder: binding}, depth + 1)

    # -- declared shapes -------------------------------------------------

    def resolve(
        self, node: _Node, scope: Mapping[str, _Binding]
    ) -> tuple[Path | None, Schema | None]:
        """The path from a declared root a chain like ``a.b['c']`` selects, and its shape."""
        if node.kind == "ident":
            binding = scope.get(node.name)
            if binding is not None:
                return binding.path, binding.schema
            if node.name in ROOTS:
                return (node.name,), ROOTS[node.name]
            return None, None
        if node.kind in ("select", "index"):
            assert node.target is not None
            path, schema = self.resolve(node.target, scope)
            if schema is None:
                return None, None
            if node.kind == "select":
                segment: Any = node.name
            else:
                index = node.args[0]
                literal = index.kind == "literal" and index.name in ("string", "int", "uint")
                segment = index.value if literal and index.value is not None else ANY
            child = self.child(schema, segment, node)
            return (None if path is None else (*path, segment)), child
        if node.kind == "call" and node.name == "filter" and node.target is not None:
            return self.resolve(node.target, scope)
        return None, None

    def child(self, schema: Schema, segment: Any, node: _Node) -> Schema | None:
        assert node.target is not None
        target = self.text(node.target)
        selecting = isinstance(segment, str)
        if isinstance(schema, OneOf):
            for option in schema.options:
                if not isinstance(option, Scalar):
                    return self.child(option, segment, node)
        if isinstance(schema, Record):
            if not selecting:
                return None
            if segment not in schema.fields:
                raise self.fail(
                    node,
                    f"{target} has no field '{segment}'; its fields are {', '.join(schema.fields)}",
                )
            return schema.fields[segment]
        if isinstance(schema, MapOf):
            return schema.value
        if isinstance(schema, ListOf):
            if selecting:
                raise self.fail(
                    node,
                    f"{target} is a list, it has no field '{segment}': use "
                    f"{target}.all(x, x.{segment} ...) or {target}[0].{segment}",
                )
            return schema.element
        if isinstance(schema, Dynamic):
            return schema
        what = f"field '{segment}'" if selecting else "elements"
        raise self.fail(node, f"{target} is {schema.describe()}; it has no {what}")

    def check_choices(self, node: _Node, scope: Mapping[str, _Binding]) -> None:
        left, right = node.args
        pairs: list[tuple[_Node, _Node]] = []
        if node.name == "in":
            if right.kind == "list":
                pairs = [(left, item) for item in right.args]
        else:
            pairs = [(left, right), (right, left)]
        for subject, literal in pairs:
            value = _literal_string(literal)
            if value is None:
                continue
            _, schema = self.resolve(subject, scope)
            if isinstance(schema, Scalar) and schema.choices and value not in schema.choices:
                choices = ", ".join(repr(choice) for choice in schema.choices)
                raise self.fail(
                    literal,
                    f"{self.text(subject)} is one of {choices}; it is never {value!r}",
                )


def _boolean_operands(root: _Node) -> list[tuple[_Node, str | None]]:
    """The parts of a condition that must each be true or false: the condition itself,
    or, through ``&&``, ``||``, ``!`` and ``?:``, the operands those combine."""
    found: list[tuple[_Node, str | None]] = []
    stack: list[tuple[_Node, str | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if node.kind == "binary" and node.name in ("&&", "||"):
            stack.extend((arg, node.name) for arg in reversed(node.args))
        elif node.kind == "unary" and node.name == "!" and node.target is not None:
            stack.append((node.target, "!"))
        elif node.kind == "ternary":
            stack.extend((arg, "?:") for arg in reversed(node.args))
        else:
            found.append((node, parent))
    return found


# ---------------------------------------------------------------------------
# Errors from the library
# ---------------------------------------------------------------------------

_UNDEFINED = re.compile(r"Undefined variable or function: '([^']*)'")
_LIBRARY_POSITION = re.compile(r"<input>:(\d+):(\d+):\s*(.*)")


def _first_sentence(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    end = text.find(". ")
    if end > 0:
        text = text[:end]
    text = text.rstrip(".")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text[:1].lower() + text[1:]


def _cel_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if value is None:
        return "null"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, timedelta):
        return "duration"
    return type(value).__name__


def _type_message(exc: Exception, where: str = "") -> str:
    undefined = _UNDEFINED.search(str(exc))
    if undefined:
        # The library reports a function applied to a type it has no overload for so.
        name = undefined.group(1)
        return f"type error{where}: {name}() does not apply to the value it was given"
    text = _first_sentence(str(exc))
    if "regex" in text:
        return f"invalid regular expression{where}: {text}"
    text = re.sub(r"\bfloat\b", "double", text)
    if not isinstance(exc, TypeError):
        return f"type error{where}: {text}"
    if _NUMBERS_MIXED.search(text):
        hint = "CEL never mixes int and double: write 100.0 rather than 100, or use double(x)"
    else:
        hint = "CEL never converts types implicitly: use int(), double() or string()"
    return f"type error{where}: {text} ({hint})"


_NUMBERS_MIXED = re.compile(r"\b(u?int|double) . (u?int|double)\b")


def _library_syntax_error(source: str, exc: Exception) -> ConditionError:
    message = str(exc)
    match = _LIBRARY_POSITION.search(message)
    if not match:
        return ConditionError(f"syntax error: {_first_sentence(message.splitlines()[0])}")
    line, column, rest = int(match.group(1)), int(match.group(2)), match.group(3)
    rest = rest.removeprefix("Syntax error:").strip() or "invalid syntax"
    if len(rest) > 160:
        rest = rest[:159] + "…"
    lines = source.split("\n")
    offset = sum(len(text) + 1 for text in lines[: line - 1]) + column - 1
    where = f"column {column}" if len(lines) == 1 else f"line {line}, column {column}"
    return ConditionError(f"syntax error at {where}: {rest}", offset)


def _error_kind(exc: Exception) -> str:
    """missing (a key, element or name absent from the data), type, or value."""
    if isinstance(exc, KeyError | IndexError):
        return "missing"
    if isinstance(exc, TypeError):
        return "type"
    undefined = _UNDEFINED.search(str(exc))
    if undefined:
        return "missing" if undefined.group(1) in ROOTS else "type"
    if "regex" in str(exc):
        return "type"
    return "value"


# ---------------------------------------------------------------------------
# Context
# ---------------------------------------------------------------------------


class _ContextError(Exception):
    """Raised inside a context value; the path to it is collected on the way out."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path: list[str] = []

    def describe(self, name: str) -> str:
        where = name + "".join(reversed(self.path))
        if len(where) > 60:
            where = where[:59] + "…"
        return f"{where} {self.problem}"


_PLAIN_TYPES = (bool, str, int, float)


def _plain(value: Any, depth: int) -> Any:
    """``value`` as plain data: dicts with str keys, lists, str, int, float, bool, None."""
    if value is None or type(value) in _PLAIN_TYPES:
        return value
    if depth >= MAX_CONTEXT_DEPTH:
        raise _ContextError(f"nests more than {MAX_CONTEXT_DEPTH} levels deep")
    if isinstance(value, Mapping):
        plain: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _ContextError(f"has a key {key!r} that is not a string")
            try:
                plain[str(key)] = _plain(item, depth + 1)
            except _ContextError as error:
                error.path.append(f".{key}")
                raise
        return plain
    if isinstance(value, list | tuple):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_plain(item, depth + 1))
            except _ContextError as error:
                error.path.append(f"[{index}]")
                raise
        return items
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float | Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise _ContextError(f"is a {type(value).__name__}, not plain data")


def _doubles(value: Any) -> Any:
    """Metric numbers as doubles, so ``metrics.x * 100.0`` works whether x came as 1 or 1.0."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict):
        return {key: _doubles(item) for key, item in value.items()}
    return value


def prepare_context(context: Mapping[str, Any]) -> PreparedContext:
    """Convert the facts about one version into the activation conditions run against.

    Call it once per version and pass the result to every :func:`evaluate_condition`.
    Only the declared names (:data:`policies.condition_context.ROOT_NAMES`) are taken;
    values must be plain data (dict with str keys, list, tuple, str, int, float, bool,
    None; Decimal, datetime, date, time and UUID are converted). Metric numbers become
    doubles. Never raises: a context that cannot be converted gives a PreparedContext
    whose ``error`` fails every rule evaluated against it.
    """
    try:
        values: dict[str, Any] = {}
        for name in ROOT_NAMES:
            if name in context:
                try:
                    values[name] = _plain(context[name], 1)
                except _ContextError as error:
                    return PreparedContext(values={}, error=error.describe(name))
        evaluations = values.get("evaluations")
        if isinstance(evaluations, dict):
            for run in evaluations.values():
                if isinstance(run, dict) and "metrics" in run:
                    run["metrics"] = _doubles(run["metrics"])
        activation = cel.Context(variables=values)
    except Exception as exc:
        return PreparedContext(values={}, error=f"{type(exc).__name__}: {_first_sentence(exc)}")
    return PreparedContext(values=values, _activation=activation)


# ---------------------------------------------------------------------------
# Compiling
# ---------------------------------------------------------------------------


def _run(program: Any, prepared: PreparedContext) -> tuple[bool, Any]:
    """(True, value) or (False, exception)."""
    try:
        return True, program.execute(prepared._activation)
    except Exception as exc:
        return False, exc


def _check_types(source: str, tree: _Node, program: Any, paths: list[Path]) -> None:
    samples = [prepare_context(sample) for sample in sample_contexts(paths)]
    for sample in samples:
        if sample.error is not None:
            raise ConditionError(f"condition could not be checked: {sample.error}")
    for operand, operator in _boolean_operands(tree):
        if operand is tree:
            operand_program = program
        else:
            try:
                operand_program = cel.compile(source[operand.start : operand.end])
            except Exception:
                logger.debug("operand %r of a condition does not compile alone", operand)
                continue
        results = [_run(operand_program, sample) for sample in samples]
        if any(ok and isinstance(value, bool) for ok, value in results):
            continue
        snippet = " ".join(source[operand.start : operand.end].split())
        if len(snippet) > 60:
            snippet = snippet[:59] + "…"
        values = [value for ok, value in results if ok]
        if values:
            produced = _cel_type(values[0])
            if operator is None:
                raise ConditionError(f"condition must produce true or false, not {produced}")
            raise ConditionError(
                f"condition must produce true or false, but `{snippet}` "
                f"(an operand of {operator}) produces {produced}",
                operand.start,
            )
        errors = [value for ok, value in results if not ok]
        if any(_error_kind(exc) in ("missing", "value") for exc in errors):
            continue  # depends on the data (absent key, division by zero): fine at save
        where = "" if operand is tree else f" in `{snippet}`"
        raise ConditionError(_type_message(errors[0], where), operand.start)


def _compile(source: str) -> CompiledCondition:
    if len(source) > MAX_LENGTH:
        raise ConditionError(
            f"condition is {len(source):,} characters; the limit is {MAX_LENGTH:,}"
        )
    if not source.strip():
        raise ConditionError("condition is empty")
    tokens = _tokenize(source)
    _check_shape(tokens)
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise _library_syntax_error(source, exc) from None
    tree = _Parser(source, tokens).parse()
    checker = _Checker(source)
    checker.check(tree, {}, 0)
    # The library's own list of references must agree with what we checked.
    references = program.references()
    for name in references.get("variables", ()):
        if name not in ROOTS and name not in TYPE_NAMES and name not in checker.binders:
            raise ConditionError(f"unknown name '{name}': {_NAMES_HELP}")
    known = GLOBAL_FUNCTIONS | METHODS | COMPREHENSIONS
    for name in references.get("functions", ()):
        if _IDENT.fullmatch(name) and name not in known:
            raise ConditionError(f"unknown function '{name}': {_FUNCTIONS_HELP}")
    _check_types(source, tree, program, checker.paths)
    return CompiledCondition(
        source=source,
        names=frozenset(checker.names),
        _program=program,
        _tree=tree,
        paths=frozenset(checker.paths),
    )


@functools.lru_cache(maxsize=1024)
def _compile_cached(source: str) -> CompiledCondition:
    try:
        return _compile(source)
    except ConditionError:
        raise
    except RecursionError:
        raise ConditionError("condition is too complex to check") from None
    except Exception as exc:
        logger.warning("unexpected error checking a condition", exc_info=True)
        raise ConditionError(f"condition could not be checked: {_first_sentence(exc)}") from None


def compile_condition(source: str) -> CompiledCondition:
    """Check a condition at save and compile it; compiled conditions are cached by text.

    Raises :class:`ConditionError` (and nothing else) when the condition is refused.
    """
    if not isinstance(source, str):
        raise ConditionError(f"condition must be a string, not {type(source).__name__}")
    return _compile_cached(source)


# ---------------------------------------------------------------------------
# Evaluating
# ---------------------------------------------------------------------------


def _missing_key(key: Any, compiled: CompiledCondition, prepared: PreparedContext) -> str:
    """'no such key: 'bias' in evaluations', finding where the key was looked up."""
    checker = _Checker(compiled.source)
    candidates: list[_Node] = []
    stack = [compiled._tree]
    while stack:
        node = stack.pop()
        selects = node.kind == "select" and node.name == key
        indexes = node.kind == "index" and node.args[0].kind == "literal"
        if selects or (indexes and node.args[0].value == key):
            candidates.append(node)
        if node.target is not None:
            stack.append(node.target)
        stack.extend(node.args)
    candidates.sort(key=lambda node: node.start)
    for node in candidates:
        assert node.target is not None
        try:
            path, _ = checker.resolve(node.target, {})
        except ConditionError:
            path = None
        if path is None or ANY in path:
            continue
        container: Any = prepared.values
        for segment in path:
            if isinstance(container, dict) and segment in container:
                container = container[segment]
            elif isinstance(container, list) and isinstance(segment, int):
                inside = -len(container) <= segment < len(container)
                container = container[segment] if inside else None
            else:
                container = None
                break
        if isinstance(container, dict) and key not in container:
            return f"no such key: {key!r} in {checker.text(node.target)}"
    if candidates and candidates[0].target is not None:
        return f"no such key: {key!r} in {checker.text(candidates[0].target)}"
    return f"no such key: {key!r}"


def _failure(exc: Exception, compiled: CompiledCondition, prepared: PreparedContext) -> str:
    if isinstance(exc, KeyError):
        key = exc.args[0] if exc.args else "?"
        return _missing_key(key, compiled, prepared)
    if isinstance(exc, IndexError):
        return f"no such element: {_first_sentence(exc)}"
    undefined = _UNDEFINED.search(str(exc))
    if undefined:
        name = undefined.group(1)
        if name in ROOTS:
            reason = OPTIONAL_ROOTS.get(name)
            return f"no such name: '{name}'" + (f" ({reason})" if reason else "")
        return _type_message(exc)
    if isinstance(exc, TypeError) or "regex" in str(exc):
        return _type_message(exc)
    return f"evaluation failed: {_first_sentence(exc)}"


def _absent(exc: Exception) -> str | None:
    """What the version lacks, in words, when the failure is a name it may not have."""
    undefined = _UNDEFINED.search(str(exc))
    return OPTIONAL_ROOTS.get(undefined.group(1)) if undefined else None


def evaluate_condition(
    compiled: CompiledCondition, context: PreparedContext | Mapping[str, Any]
) -> ConditionOutcome:
    """Evaluate a compiled condition against one version's context. Never raises.

    ``context`` is a :class:`PreparedContext` (prepare it once per version) or a plain
    mapping (prepared on each call). A missing name or key, a type error, a result that
    is not a bool, or any library error gives ``passed=False`` with a message.
    """
    prepared: PreparedContext | None = None
    try:
        prepared = context if isinstance(context, PreparedContext) else prepare_context(context)
        if prepared.error is not None:
            return ConditionOutcome(False, f"the context could not be used: {prepared.error}")
        result = compiled._program.execute(prepared._activation)
    except Exception as exc:
        try:
            if prepared is None or not isinstance(compiled, CompiledCondition):
                raise
            return ConditionOutcome(False, _failure(exc, compiled, prepared), _absent(exc))
        except Exception:
            return ConditionOutcome(False, f"evaluation failed: {type(exc).__name__}")
    if isinstance(result, bool):
        return ConditionOutcome(result)
    return ConditionOutcome(False, f"condition produced {_cel_type(result)}, not true or false")
