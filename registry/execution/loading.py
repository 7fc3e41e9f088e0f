"""Reading an ONNX artifact, its signature, and opening an onnxruntime session on it.

The model is always handed to onnxruntime as bytes, never as a path, and only after it parsed
as an ONNX protobuf and was found to hold every tensor inline: a model that refers to
external data files is refused here (see docs/execution.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import onnx
import onnxruntime
from google.protobuf.message import DecodeError
from onnxruntime.capi import onnxruntime_pybind11_state as _ort_state

from registry.execution.errors import ModelLoadError

# What read_signature and ExecutableModel.load accept: a path, the bytes, or an open file.
ModelSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

# The exceptions onnxruntime's binding raises; none derives from a builtin error class.
ORT_ERRORS: tuple[type[BaseException], ...] = (
    _ort_state.Fail,
    _ort_state.InvalidArgument,
    _ort_state.NoSuchFile,
    _ort_state.NoModel,
    _ort_state.EngineError,
    _ort_state.RuntimeException,
    _ort_state.InvalidProtobuf,
    _ort_state.ModelLoaded,
    _ort_state.NotImplemented,
    _ort_state.InvalidGraph,
    _ort_state.EPFail,
    RuntimeError,
)

# Only the CPU provider: the wheel also ships the Azure provider, which can call out to a
# remote endpoint; the registry runs models locally and nothing else.
PROVIDERS = ["CPUExecutionProvider"]

_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : [A-Z_]+ : ")
_SOURCE_LOCATION = re.compile(r"/onnxruntime_src/\S+:\d+ |onnxruntime::[\w:~]+\([^)]*\) ")


def read_model_bytes(source: ModelSource) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise ModelLoadError(f"the model file could not be read: {exc.strerror}") from exc
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, bytes | bytearray):
            raise TypeError("the model file must be opened in binary mode")
        return bytes(data)
    raise TypeError(f"a model source must be a path, bytes or a binary file, not {type(source)}")


def parse_model(data: bytes) -> onnx.ModelProto:
    """The ModelProto in `data`, or ModelLoadError; parsing a protobuf executes nothing."""
    if not data:
        raise ModelLoadError("the model file is empty")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ModelLoadError("the file is not an ONNX model (it does not parse as one)") from exc
    # Arbitrary bytes sometimes decode as a protobuf holding only unknown fields.
    if model.ir_version <= 0 or not model.HasField("graph"):
        raise ModelLoadError("the file is not an ONNX model (it has no IR version or no graph)")
    external = sorted({tensor.name or "(unnamed)" for tensor in _external_tensors(model)})
    if external:
        raise ModelLoadError(
            "the model keeps tensors in external data files ("
            + ", ".join(external[:5])
            + (", …" if len(external) > 5 else "")
            + "); the registry runs only self-contained models: save it with every tensor "
            "inside the .onnx file"
        )
    return model


def _external_tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    graphs = [model.graph]
    nodes: list[onnx.NodeProto] = [node for function in model.functions for node in function.node]
    while graphs or nodes:
        if graphs:
            graph = graphs.pop()
            tensors = list(graph.initializer)
            for sparse in graph.sparse_initializer:
                tensors += [sparse.values, sparse.indices]
            yield from (t for t in tensors if _is_external(t))
            nodes.extend(graph.node)
            continue
        node = nodes.pop()
        for attribute in node.attribute:
            tensors = [attribute.t, *attribute.tensors]
            for sparse in [attribute.sparse_tensor, *attribute.sparse_tensors]:
                tensors += [sparse.values, sparse.indices]
            yield from (t for t in tensors if _is_external(t))
            graphs.extend([attribute.g, *attribute.graphs])


def _is_external(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0


def signature_of(model: onnx.ModelProto) -> dict:
    """The model's inputs and outputs as JSON: see `docs/execution.md` for the form."""
    initializers = {t.name for t in model.graph.initializer}
    initializers |= {t.values.name for t in model.graph.sparse_initializer}
    return {
        "inputs": [_value_info(v) for v in model.graph.input if v.name not in initializers],
        "outputs": [_value_info(v) for v in model.graph.output],
    }


def _value_info(value: onnx.ValueInfoProto) -> dict:
    kind = value.type.WhichOneof("value")
    shape = None
    if kind == "tensor_type" and value.type.tensor_type.HasField("shape"):
        shape = [_dim(d) for d in value.type.tensor_type.shape.dim]
    return {"name": value.name, "type": type_name(value.type), "shape": shape}


def _dim(dim: onnx.TensorShapeProto.Dimension) -> int | str | None:
    which = dim.WhichOneof("value")
    if which == "dim_value":
        return int(dim.dim_value)
    if which == "dim_param":
        return dim.dim_param
    return None


def type_name(type_proto: onnx.TypeProto) -> str:
    """onnxruntime's spelling of a type: tensor(float), seq(map(int64,tensor(float))), …"""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return f"tensor({_elem(type_proto.tensor_type.elem_type)})"
    if kind == "sparse_tensor_type":
        return f"sparse_tensor({_elem(type_proto.sparse_tensor_type.elem_type)})"
    if kind == "sequence_type":
        return f"seq({type_name(type_proto.sequence_type.elem_type)})"
    if kind == "map_type":
        key = _elem(type_proto.map_type.key_type)
        return f"map({key},{type_name(type_proto.map_type.value_type)})"
    if kind == "optional_type":
        return f"optional({type_name(type_proto.optional_type.elem_type)})"
    return "unknown"


def _elem(elem_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return "unknown"


def default_threads() -> int:
    # The CPUs this process may run on (a container's cgroup affinity), not the host's count.
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:
        return os.cpu_count() or 1


def session_options(threads: int) -> onnxruntime.SessionOptions:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    # One graph, run node after node: parallelism comes from the operators themselves.
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only; they are raised to the caller as well
    # Only the ONNX protobuf format, never ORT's flatbuffer format.
    options.add_session_config_entry("session.load_model_format", "ONNX")
    # Pool threads sleep between runs instead of spinning, so that they leave the CPU to the
    # main thread while it converts the next batch of the dataset.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def open_session(data: bytes, threads: int) -> onnxruntime.InferenceSession:
    try:
        return onnxruntime.InferenceSession(
            data, sess_options=session_options(threads), providers=PROVIDERS
        )
    except ORT_ERRORS as exc:
        raise ModelLoadError(f"onnxruntime cannot load the model: {ort_message(exc)}") from exc


def ort_message(exc: BaseException) -> str:
    """onnxruntime's message without its status prefix and C++ source locations."""
    text = _ORT_PREFIX.sub("", str(exc).strip())
    text = _SOURCE_LOCATION.sub("", text)
    return text.splitlines()[0] if text else type(exc).__name__
