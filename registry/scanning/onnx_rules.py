"""The registry's ONNX rules: the onnx checker, external data, operator domains, tensor sizes.

The model is parsed once, without its external data (the registry holds a single file, so
external data is by definition outside it), and every rule reads that one ModelProto.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from math import prod
from pathlib import Path, PurePosixPath, PureWindowsPath

import onnx
from google.protobuf.message import DecodeError

from .report import CRITICAL, HIGH, Finding

STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training"})
# Beyond this many elements a tensor or a declared shape is not a real model's: 2**31 float32
# elements are 8 GiB. Such shapes make a runtime allocate (or overflow) before it checks.
MAX_ELEMENTS = 2**31
_MESSAGE_LIMIT = 300


def load_model_proto(path: str | os.PathLike) -> onnx.ModelProto | None:
    """The file parsed as an ONNX ModelProto, or None when it is not one."""
    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except (DecodeError, ValueError, OSError, RuntimeError):
        return None
    # protobuf parses some garbage as a message of unknown fields: a model has both of these.
    if model.ir_version <= 0 or not model.HasField("graph"):
        return None
    return model


def scan_onnx(path: str | os.PathLike) -> list[Finding] | None:
    """The ONNX rules' findings for the file, or None when it is not an ONNX model."""
    model = load_model_proto(path)
    if model is None:
        return None
    graphs = list(_graphs(model))
    external = _external_tensors(model, graphs)
    findings = _external_data_findings(external)
    findings += _domain_findings(model, graphs)
    findings += _size_findings(graphs)
    # The checker parses the file itself; dropping this copy first keeps one parsed model in
    # memory at a time (a 200 MB model peaks at ~430 MB instead of ~810 MB).
    del model, graphs
    return _checker_findings(path, external) + findings


def _checker_findings(path: str | os.PathLike, external: dict[str, list[str]]) -> list[Finding]:
    """Run ``onnx.checker.check_model(full_check=True)`` on the file, beside empty stand-ins.

    The checker requires each external data file to exist, resolved against the model's
    folder, and stops at its first error. The stored file's folder is the registry's storage
    (other artifacts, by hash), so the checker reads the file through a link in an empty
    temporary folder where each contained external location is an empty file: it then judges
    everything else, and never what happens to lie beside the file. External data itself is
    the registry's own rule. full_check adds strict shape inference: a model whose declared
    shapes contradict its operators would fail at run time anyway.
    """
    with tempfile.TemporaryDirectory(prefix="registry-onnx-") as folder:
        try:
            for location in external:
                if not _escapes(location):
                    stand_in = Path(folder, location)
                    stand_in.parent.mkdir(parents=True, exist_ok=True)
                    stand_in.touch()
            # The link gets a name no stand-in took (the checker refuses a link as data file).
            link = next(
                candidate
                for number in itertools.count()
                if not (candidate := Path(folder, f"model-{number}.onnx")).exists()
            )
            os.symlink(os.path.abspath(path), link)
            onnx.checker.check_model(str(link), full_check=True)
        except Exception as error:  # the checker raises several types; each is a rejection
            text = " ".join(str(error).replace(folder, "<model folder>").split())
            message = f"The onnx checker rejects the model: {text[:_MESSAGE_LIMIT]}"
            return [Finding(CRITICAL, "ONNX_INVALID", message)]
    return []


def _graphs(model: onnx.ModelProto) -> Iterator[onnx.GraphProto]:
    """The main graph, the training graphs and every subgraph (If/Loop/Scan bodies)."""
    roots = [model.graph]
    for info in model.training_info:
        roots += [info.initialization, info.algorithm]
    pending = list(roots)
    nodes_of_functions = [node for function in model.functions for node in function.node]
    for node in nodes_of_functions:
        pending += _subgraphs(node)
    while pending:
        graph = pending.pop()
        yield graph
        for node in graph.node:
            pending += _subgraphs(node)


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    found = []
    for attribute in node.attribute:
        if attribute.HasField("g"):
            found.append(attribute.g)
        found.extend(attribute.graphs)
    return found


def _tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        yield from _attribute_tensors(node)


def _attribute_tensors(node: onnx.NodeProto) -> Iterator[onnx.TensorProto]:
    for attribute in node.attribute:
        if attribute.HasField("t"):
            yield attribute.t
        yield from attribute.tensors
        if attribute.HasField("sparse_tensor"):
            yield attribute.sparse_tensor.values
            yield attribute.sparse_tensor.indices
        for sparse in attribute.sparse_tensors:
            yield sparse.values
            yield sparse.indices


def _external_tensors(
    model: onnx.ModelProto, graphs: list[onnx.GraphProto]
) -> dict[str, list[str]]:
    """The names of the tensors whose data lives in an external file, by location."""
    tensors_by_location: dict[str, list[str]] = defaultdict(list)
    function_tensors = [
        tensor
        for function in model.functions
        for node in function.node
        for tensor in _attribute_tensors(node)
    ]
    for tensors in [*(_tensors(graph) for graph in graphs), function_tensors]:
        for tensor in tensors:
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                entries = {entry.key: entry.value for entry in tensor.external_data}
                tensors_by_location[entries.get("location", "")].append(tensor.name)
    return tensors_by_location


def _external_data_findings(tensors_by_location: dict[str, list[str]]) -> list[Finding]:
    findings = []
    for location, names in sorted(tensors_by_location.items()):
        tensors = _name_list(names)
        if _escapes(location):
            findings.append(
                Finding(
                    CRITICAL,
                    "ONNX_EXTERNAL_DATA_ESCAPE",
                    f"Tensor {tensors} reads external data from {location!r}, a path that is "
                    "empty, absolute or leaves the model's directory.",
                )
            )
        else:
            findings.append(
                Finding(
                    HIGH,
                    "ONNX_EXTERNAL_DATA",
                    f"Tensor {tensors} keeps its data in the external file {location!r}, "
                    "which is not part of the uploaded artifact.",
                )
            )
    return findings


def _escapes(location: str) -> bool:
    if not location or "\x00" in location:
        return True
    posix, windows = PurePosixPath(location), PureWindowsPath(location)
    if posix.is_absolute() or windows.drive or windows.root:
        return True
    return ".." in posix.parts or ".." in windows.parts


def _domain_findings(model: onnx.ModelProto, graphs: list[onnx.GraphProto]) -> list[Finding]:
    # A node may call a function the model itself defines (its body is checked like any node).
    local_functions = {(function.domain, function.name) for function in model.functions}
    nodes = [node for graph in graphs for node in graph.node]
    nodes += [node for function in model.functions for node in function.node]
    ops_by_domain: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        if node.domain in STANDARD_DOMAINS or (node.domain, node.op_type) in local_functions:
            continue
        ops_by_domain[node.domain].add(node.op_type)
    return [
        Finding(
            HIGH,
            "ONNX_CUSTOM_DOMAIN",
            f"Operators {_name_list(sorted(ops))} come from the non-standard domain "
            f"{domain!r}; they run code from a custom operator library.",
        )
        for domain, ops in sorted(ops_by_domain.items())
    ]


def _size_findings(graphs: list[onnx.GraphProto]) -> list[Finding]:
    findings = []
    for graph in graphs:
        for tensor in _tensors(graph):
            problem = _shape_problem(list(tensor.dims))
            if problem:
                findings.append(_absurd(f"Tensor {tensor.name!r}", problem))
        for value in [*graph.input, *graph.output, *graph.value_info]:
            for dims in _declared_shapes(value.type):
                problem = _shape_problem(dims)
                if problem:
                    findings.append(_absurd(f"The declared shape of {value.name!r}", problem))
    return findings


def _declared_shapes(type_proto: onnx.TypeProto) -> Iterator[list[int]]:
    kind = type_proto.WhichOneof("value")
    if kind in ("tensor_type", "sparse_tensor_type"):
        tensor_type = getattr(type_proto, kind)
        if tensor_type.HasField("shape"):
            # Symbolic dimensions (dim_param) are unknown until run time, not absurd.
            yield [d.dim_value for d in tensor_type.shape.dim if d.HasField("dim_value")]
    elif kind in ("sequence_type", "optional_type"):
        yield from _declared_shapes(getattr(type_proto, kind).elem_type)
    elif kind == "map_type":
        yield from _declared_shapes(type_proto.map_type.value_type)


def _shape_problem(dims: list[int]) -> str | None:
    if any(d < 0 for d in dims):
        return f"has a negative dimension {dims}"
    elements = prod(dims)
    if elements > MAX_ELEMENTS:
        return f"has {elements} elements (shape {dims}), over the bound of {MAX_ELEMENTS}"
    return None


def _absurd(subject: str, problem: str) -> Finding:
    return Finding(HIGH, "ONNX_ABSURD_SHAPE", f"{subject} {problem}.")


def _name_list(names: list[str]) -> str:
    shown = ", ".join(repr(name) for name in names[:5])
    more = len(names) - 5
    return f"{shown} (and {more} more)" if more > 0 else shown
