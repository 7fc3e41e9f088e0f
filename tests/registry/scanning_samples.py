"""Real artifact files for the scanner tests, malicious ones included.

Malicious pickles are only ever *written* (pickling a class whose ``__reduce__`` names
os.system runs nothing, it records the reference) or assembled opcode by opcode; no test loads
them.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import joblib
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

TORCH_MAGIC = 0x1950A86A20F9469CFC6C
# Taken at import, before a test replaces os.system with a tripwire: pickle records the real
# function by its home module (posix.system on Linux).
_SYSTEM = os.system


class SystemCall:
    """Pickles as a call of os.system."""

    def __reduce__(self):
        return (_SYSTEM, ("echo pwned",))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def reduce_pickle(protocol: int = 4) -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0], "hook": SystemCall()}, protocol=protocol)


def opcode_pickle_eval() -> bytes:
    """Protocol 2, GLOBAL builtins.eval applied to a string: eval('1+1')."""
    return b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R."


def opcode_pickle_subprocess() -> bytes:
    """Protocol 4, STACK_GLOBAL subprocess.Popen called with ['id']."""
    return (
        b"\x80\x04\x8c\nsubprocess\x94\x8c\x05Popen\x94\x93\x94]\x94\x8c\x02id\x94a\x85\x94R\x94."
    )


def str_pickle(text: str) -> bytes:
    return pickle.dumps(text, protocol=4)


def memo_confusion_pickles() -> bytes:
    """Three protocol 4 pickles in one file: the third names posix.system through its own
    memo (BINGET 0, BINGET 1), which a scanner sharing one memo across pickles resolves to the
    first two pickles' strings, collections.OrderedDict."""
    third = (
        b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94h\x00h\x01\x93\x94\x8c\x02id\x94\x85\x94R\x94."
    )
    return str_pickle("collections") + str_pickle("OrderedDict") + third


def global_attribute_smuggling() -> bytes:
    """modelscan issue #85: BUILD sets numpy.prod.a = "os" and .b = "system"; PUT memoizes
    the values GLOBAL fetched, which modelscan takes for the GLOBAL's argument text; then
    STACK_GLOBAL on the two memo entries is os.system."""
    return (
        b"\x80\x05cnumpy\nprod\nN(Va\nVos\nd\x86bN(Vb\nVsystem\nd\x86b0"
        b"cnumpy\nprod.a\np0\ncnumpy\nprod.b\np1\n00g0\ng1\n\x93Vid\n\x85R."
    )


def legacy_torch(payload: object) -> bytes:
    """torch.save's legacy (non-zip) layout: magic, protocol, sys info, the object, keys."""
    buffer = io.BytesIO()
    for part in (TORCH_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
        pickle.dump(part, buffer, protocol=2)
    pickle.dump(payload, buffer, protocol=2)
    pickle.dump([], buffer, protocol=2)
    buffer.write(struct.pack("<q", 2) + np.ones(2, np.float32).tobytes())  # a raw storage
    return buffer.getvalue()


def torch_zip(path: Path, data_pkl: bytes) -> Path:
    """torch.save's zip layout, written by hand (torch is not installed)."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", np.ones(4, np.float32).tobytes())
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/.data/serialization_id", "1234567890")
    return path


def clean_state_dict_pickle() -> bytes:
    return pickle.dumps(OrderedDict(weight=[0.5, 0.25], bias=[0.0]), protocol=2)


def npy(path: Path, array: np.ndarray) -> Path:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=True)
    return path


def npz(path: Path, **arrays: np.ndarray) -> Path:
    with path.open("wb") as handle:
        np.savez(handle, **arrays)
    return path


def joblib_file(path: Path, value: object) -> Path:
    joblib.dump(value, path)
    return path


def keras_h5(path: Path, *, lambda_layer: bool, user_block: bytes = b"") -> Path:
    """A Keras 2 H5 model; ``user_block`` fills the first 512 bytes (HDF5 skips them)."""
    h5py = _h5py()
    layers = [{"class_name": "Dense", "config": {"units": 2}}]
    if lambda_layer:
        layers.append({"class_name": "Lambda", "config": {"function": ["4wEAAAAAAAAA", None]}})
    config = {"class_name": "Sequential", "config": {"layers": layers}}
    options = {"userblock_size": 512} if user_block else {}
    with h5py.File(path, "w", **options) as handle:
        handle.attrs["model_config"] = json.dumps(config)
        handle.create_dataset("model_weights/dense/kernel", data=np.ones((2, 2)))
    if user_block:
        with path.open("r+b") as handle:
            handle.write(user_block[:512])
    return path


def h5_weights_only(path: Path) -> Path:
    h5py = _h5py()
    with h5py.File(path, "w") as handle:
        handle.create_dataset("dense/kernel", data=np.ones((2, 2)))
    return path


def _h5py():
    # h5py lets modelscan scan Keras H5 (without it such files fail closed); the tests that
    # build H5 files need it too.
    return pytest.importorskip("h5py")


def safetensors(path: Path, *, lie: bool = False) -> Path:
    tensor = np.arange(6, dtype=np.float32).tobytes()
    end = len(tensor) + (8 if lie else 0)
    header = {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, end]},
    }
    encoded = json.dumps(header).encode()
    return write(path, struct.pack("<Q", len(encoded)) + encoded + tensor)


def _onnx_model(nodes, initializers=(), inputs=None, outputs=None, opsets=None):
    inputs = inputs or [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])]
    outputs = outputs or [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 2])]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=opsets or [helper.make_opsetid("", 17)])


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, path)
    return path


def onnx_logistic_regression(path: Path) -> Path:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    features = np.random.RandomState(0).rand(20, 3).astype(np.float32)
    labels = (features[:, 0] > 0.5).astype(int)
    classifier = LogisticRegression().fit(features, labels)
    model = to_onnx(classifier, features[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    return _save(model, path)


def onnx_add(path: Path) -> Path:
    weight = numpy_helper.from_array(np.ones((1, 2), np.float32), "W")
    return _save(_onnx_model([helper.make_node("Add", ["X", "W"], ["Y"])], [weight]), path)


def onnx_external(path: Path, location: str) -> Path:
    weight = numpy_helper.from_array(np.ones((1, 2), np.float32), "W")
    set_external_data(weight, location=location)
    weight.ClearField("raw_data")
    return _save(_onnx_model([helper.make_node("Add", ["X", "W"], ["Y"])], [weight]), path)


def onnx_custom_domain(path: Path) -> Path:
    node = helper.make_node("Exec", ["X"], ["Y"], domain="com.example.evil")
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.example.evil", 1)]
    return _save(_onnx_model([node], opsets=opsets), path)


def onnx_absurd_shape(path: Path) -> Path:
    shape = [65536, 65536, 2]  # 2**33 elements
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, shape)]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, shape)]
    node = helper.make_node("Identity", ["X"], ["Y"])
    return _save(_onnx_model([node], inputs=inputs, outputs=outputs), path)
