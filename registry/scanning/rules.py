"""The registry's own rule set and the version that identifies every rule a scan applied.

A held artifact is rescanned whenever its stored ``RULES_VERSION`` differs from this one, so
everything that can change a verdict goes into the digest: the scanner libraries' versions,
the Python minor version (pickletools frames the opcodes), the modelscan settings the registry
runs with (its dangerous-callable list included) and ``REGISTRY_RULES``, which is bumped by
hand whenever the registry's own code rules change (sniffing, joblib framing, ONNX and
safetensors checks, severities).
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
from importlib import metadata

from modelscan.settings import DEFAULT_SETTINGS, Property

# Bump on any change to this package's rules (what is checked, codes, severities).
REGISTRY_RULES = "1"

# Additions to modelscan's denylist: module -> "*" (every name) or the names, matched as
# modelscan matches them (exact module, substring of the name). Each is a way for an
# unpickler to run code, touch files or the network that modelscan 0.8.8 does not list.
EXTRA_UNSAFE_GLOBALS: dict[str, dict[str, str | list[str]]] = {
    "CRITICAL": {
        # Reflection and code objects: build or fetch any callable.
        "builtins": ["setattr", "delattr", "globals", "locals", "vars", "input"],
        "__builtin__": ["setattr", "delattr", "globals", "locals", "vars", "input"],
        "importlib": "*",
        "importlib.util": "*",
        "imp": "*",
        "zipimport": "*",
        "marshal": "*",
        "types": ["CodeType", "FunctionType"],
        "code": "*",
        "codeop": "*",
        "ctypes": "*",
        "_ctypes": "*",
        "operator": ["methodcaller"],
        # Processes and threads.
        "_posixsubprocess": "*",
        "asyncio.subprocess": "*",
        "multiprocessing": "*",
        "multiprocessing.popen_fork": "*",
        "threading": "*",
        "_thread": "*",
        "distutils.spawn": "*",
        "pydoc": ["pipepager", "tempfilepager", "locate"],
        # Files.
        "io": ["open", "FileIO"],
        "_io": ["open", "FileIO"],
        "tempfile": "*",
        "shelve": "*",
        # Loaders that unpickle another file or string (a second, unscanned pickle).
        "dill": "*",
        "cloudpickle": "*",
        "cloudpickle.cloudpickle": "*",
        "numpy": ["load"],
        "numpy.lib.npyio": ["load"],
        "numpy.testing._private.utils": ["runstring"],
        "numpy.core": ["_ufunc_reconstruct"],
        "numpy._core": ["_ufunc_reconstruct"],
        "joblib": ["load"],
        "joblib.numpy_pickle": ["load"],
        "torch": ["load"],
        "torch.serialization": ["load"],
        "pandas": ["read_pickle"],
        "pandas.io.pickle": ["read_pickle"],
    },
    "HIGH": {
        # Network.
        "http.client": "*",
        "urllib.request": "*",
        "urllib3": "*",
        "requests": "*",
        "httpx": "*",
        "ftplib": "*",
        "smtplib": "*",
        "telnetlib": "*",
        "ssl": "*",
    },
}

# modelscan reports a Keras Lambda layer as MEDIUM; a Lambda layer is marshalled Python
# bytecode that Keras runs when it rebuilds the model, so the registry treats it as code.
KERAS_LAMBDA_SEVERITY = "CRITICAL"


def modelscan_settings() -> dict:
    """modelscan's defaults with the registry's denylist merged in."""
    settings = copy.deepcopy(DEFAULT_SETTINGS)
    unsafe = settings["unsafe_globals"]
    for severity, modules in EXTRA_UNSAFE_GLOBALS.items():
        for module, names in modules.items():
            current = unsafe[severity].get(module)
            if current == "*" or names == "*":
                unsafe[severity][module] = "*"
            else:
                unsafe[severity][module] = sorted(set(current or []) | set(names))
    lambda_scan = settings["scanners"]["modelscan.scanners.SavedModelLambdaDetectScan"]
    lambda_scan["unsafe_keras_operators"] = {"Lambda": KERAS_LAMBDA_SEVERITY}
    # modelscan would print a console report if asked for one; the registry never asks.
    settings["reporting"] = {"module": "modelscan.reports.JSONReport", "settings": {}}
    return settings


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


MODELSCAN_VERSION = _version("modelscan")
ONNX_VERSION = _version("onnx")
# modelscan can scan Keras H5 only with h5py; without it such files fail closed.
H5PY_VERSION = _version("h5py")


def _canonical(value: object) -> object:
    """JSON-ready, stable across processes: modelscan keys its format table by Property
    objects, whose default str() carries a memory address."""
    if isinstance(value, Property):
        return f"{value.name}={value.value}"
    if isinstance(value, dict):
        return {str(_canonical(key)): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def _digest() -> str:
    material = {
        "registry_rules": REGISTRY_RULES,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "modelscan": MODELSCAN_VERSION,
        "onnx": ONNX_VERSION,
        "h5py": H5PY_VERSION,
        "modelscan_settings": modelscan_settings(),
    }
    encoded = json.dumps(_canonical(material), sort_keys=True).encode()
    return hashlib.sha256(encoded).hexdigest()[:12]


RULES_VERSION = f"{REGISTRY_RULES}-{_digest()}"
