"""The artifact scanner on real files built here: malicious ones are written, never loaded."""

from __future__ import annotations

import ast
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from registry import scanning
from registry.scanning import (
    CRITICAL,
    FAILED,
    HIGH,
    LOW,
    MEDIUM,
    PASSED,
    RULES_VERSION,
    Finding,
    ScanReport,
    scan_file,
    sniff_format,
)
from registry.scanning import rules as scan_rules
from registry.scanning.report import make_report
from tests.registry import scanning_samples as samples

SYSTEM = f"{os.system.__module__}.system"  # posix.system on Linux


def codes(report: ScanReport) -> set[tuple[str, str]]:
    return {(finding.severity, finding.code) for finding in report.findings}


def messages(report: ScanReport) -> str:
    return "\n".join(finding.message for finding in report.findings)


@pytest.fixture(autouse=True)
def _nothing_runs(monkeypatch):
    """Every test fails if the scanner unpickles or the payload's os.system is reached."""

    def refuse(*args, **kwargs):
        raise AssertionError("the scanner must never unpickle or run the artifact")

    for name in ("load", "loads", "Unpickler", "_Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(os, "system", refuse)


# --- sniff_format -----------------------------------------------------------------------


def _sniff_cases(tmp_path: Path) -> dict[str, tuple[Callable[[], Path], str | None]]:
    return {
        "pickle": (lambda: samples.write(tmp_path / "a", samples.reduce_pickle()), "pickle"),
        "pickle-protocol-0": (
            lambda: samples.write(tmp_path / "b", pickle.dumps([1, "a"], protocol=0)),
            "pickle",
        ),
        "legacy-torch": (
            lambda: samples.write(tmp_path / "c", samples.legacy_torch({"w": [1.0]})),
            "pickle",
        ),
        "joblib": (lambda: samples.joblib_file(tmp_path / "d", {"a": np.arange(3.0)}), "pickle"),
        "torch-zip": (
            lambda: samples.torch_zip(tmp_path / "e", samples.clean_state_dict_pickle()),
            "pytorch",
        ),
        "npy": (lambda: samples.npy(tmp_path / "f", np.arange(4.0)), "numpy"),
        "npz": (lambda: samples.npz(tmp_path / "g", a=np.arange(4.0)), "npz"),
        "keras-h5": (lambda: samples.keras_h5(tmp_path / "h", lambda_layer=False), "keras-h5"),
        "onnx": (lambda: samples.onnx_add(tmp_path / "i"), "onnx"),
        "safetensors": (lambda: samples.safetensors(tmp_path / "j"), "safetensors"),
        "text": (lambda: samples.write(tmp_path / "k", b"this is not a model\n"), None),
        "garbage": (lambda: samples.write(tmp_path / "l", bytes(range(256)) * 4), None),
        "empty": (lambda: samples.write(tmp_path / "m", b""), None),
    }


@pytest.mark.parametrize(
    "case",
    [
        "pickle",
        "pickle-protocol-0",
        "legacy-torch",
        "joblib",
        "torch-zip",
        "npy",
        "npz",
        "keras-h5",
        "onnx",
        "safetensors",
        "text",
        "garbage",
        "empty",
    ],
)
def test_sniff_format_reads_the_content(tmp_path, case):
    build, expected = _sniff_cases(tmp_path)[case]
    assert sniff_format(build()) == expected


def test_sniff_format_of_a_plain_zip(tmp_path):
    path = tmp_path / "bundle"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "# model")
    assert sniff_format(path) == "zip"


def test_a_pickle_hdf5_polyglot_is_scanned_both_ways(tmp_path):
    # pickle.load reads from byte 0, h5py finds the superblock at byte 512 (after a user
    # block): a Keras Lambda layer there must be found even though the file starts as a pickle.
    path = samples.keras_h5(
        tmp_path / "polyglot", lambda_layer=True, user_block=samples.clean_state_dict_pickle()
    )
    assert sniff_format(path) == "pickle"
    report = scan_file(path, filename="model.h5")
    assert report.status == FAILED
    assert {(CRITICAL, "KERAS_LAMBDA_LAYER"), (HIGH, "POLYGLOT")} <= codes(report)


# --- pickles ----------------------------------------------------------------------------


def test_a_pickle_whose_reduce_calls_os_system_fails(tmp_path):
    path = samples.write(tmp_path / "blob", samples.reduce_pickle())
    report = scan_file(path, filename="model.pkl")
    assert report.status == FAILED
    assert report.format == "pickle"
    assert report.scanned
    assert (CRITICAL, "PICKLE_DANGEROUS_GLOBAL") in codes(report)
    assert SYSTEM in messages(report)
    assert report.scanner.startswith("modelscan 0.8.8")


@pytest.mark.parametrize(
    ("data", "callable_name"),
    [
        (samples.opcode_pickle_eval(), "builtins.eval"),
        (samples.opcode_pickle_subprocess(), "subprocess.Popen"),
    ],
)
def test_hand_written_opcodes_importing_dangerous_callables_fail(tmp_path, data, callable_name):
    report = scan_file(samples.write(tmp_path / "blob", data), filename="model.pickle")
    assert report.status == FAILED
    assert (CRITICAL, "PICKLE_DANGEROUS_GLOBAL") in codes(report)
    assert callable_name in messages(report)


def test_a_global_named_through_another_pickles_memo_is_still_found(tmp_path):
    # modelscan alone reads the third pickle's BINGETs from the first two pickles' memo.
    path = samples.write(tmp_path / "blob", samples.memo_confusion_pickles())
    report = scan_file(path, filename="model.pt")
    assert report.status == FAILED
    assert f"Pickle 3 of the file imports {SYSTEM}" in messages(report)


def test_registry_denylist_adds_to_modelscan(tmp_path):
    data = b"\x80\x02cimportlib\nimport_module\nX\x02\x00\x00\x00os\x85R."
    report = scan_file(samples.write(tmp_path / "blob", data), filename="m.pkl")
    assert report.status == FAILED
    assert "importlib.import_module" in messages(report)


def test_a_global_named_by_a_computed_string_fails(tmp_path):
    # STACK_GLOBAL whose module is the result of a call ("".join(...)), not a literal.
    data = (
        b"\x80\x04\x8c\x08builtins\x8c\x03str\x93\x8c\x02os\x85R\x8c\x06system\x93\x8c\x02id\x85R."
    )
    report = scan_file(samples.write(tmp_path / "blob", data), filename="m.pkl")
    assert report.status == FAILED
    assert "computed while unpickling" in messages(report)


def test_strings_smuggled_through_attributes_of_a_global_fail(tmp_path):
    # modelscan issue #85: BUILD sets numpy.prod.a = "os", .b = "system"; PUT memoizes the
    # values GLOBAL fetched, which modelscan takes for the GLOBAL's argument text.
    data = samples.global_attribute_smuggling()
    report = scan_file(samples.write(tmp_path / "blob", data), filename="m.pkl")
    assert report.status == FAILED
    assert {(CRITICAL, "PICKLE_GLOBAL_MUTATION"), (CRITICAL, "PICKLE_DANGEROUS_GLOBAL")} <= codes(
        report
    )
    assert "numpy.prod" in messages(report)


def test_a_payload_after_a_large_literal_is_found(tmp_path):
    # The 2 MB literal is cut (its length set to 0) before modelscan reads the opcodes.
    data = pickle.dumps([b"\0" * (2 << 20), samples.SystemCall()], protocol=4)
    report = scan_file(samples.write(tmp_path / "blob", data), filename="m.pkl")
    assert report.status == FAILED
    assert f"The file imports {SYSTEM}" in messages(report)


def test_a_pickle_of_many_opcodes_is_checked_through_its_imports(tmp_path, monkeypatch):
    from registry.scanning import pickles

    monkeypatch.setattr(pickles, "MODELSCAN_MAX_OPCODES", 5)
    path = samples.write(tmp_path / "blob", samples.reduce_pickle())
    report = scan_file(path, filename="m.pkl")
    assert report.status == FAILED
    assert {(CRITICAL, "PICKLE_DANGEROUS_GLOBAL"), (LOW, "PICKLE_IMPORTS_ONLY")} <= codes(report)
    assert f"The file imports {SYSTEM}" in messages(report)


def test_a_pickle_the_unpickler_would_reject_is_malformed_but_scanned(tmp_path):
    # TUPLE without a MARK: pickletools frames it, an unpickler (and the framing) cannot.
    report = scan_file(samples.write(tmp_path / "blob", b"\x80\x02K\x01t."), filename="m.pkl")
    assert report.status == PASSED
    assert codes(report) == {(MEDIUM, "PICKLE_MALFORMED")}


def test_a_clean_sklearn_pipeline_pickle_passes_without_findings(tmp_path):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features = np.random.RandomState(0).rand(40, 3)
    labels = (features[:, 0] > 0.5).astype(int)
    models = [
        make_pipeline(StandardScaler(), LogisticRegression()).fit(features, labels),
        RandomForestClassifier(n_estimators=3, random_state=0).fit(features, labels),
    ]
    for number, model in enumerate(models):
        for protocol in (2, 5):
            path = tmp_path / f"model-{number}-{protocol}"
            path.write_bytes(pickle.dumps(model, protocol=protocol))
            report = scan_file(path, filename="model.pkl")
            assert (report.status, report.findings) == (PASSED, []), report


def test_numpy_arrays_pickled_in_band_pass(tmp_path):
    for protocol in (2, 4, 5):
        path = tmp_path / f"array-{protocol}"
        path.write_bytes(pickle.dumps(np.arange(10.0), protocol=protocol))
        report = scan_file(path, filename="array.pkl")
        assert (report.status, report.findings) == (PASSED, [])


def test_a_joblib_dict_of_numpy_arrays_passes(tmp_path):
    value = {"coef": np.arange(100.0), "matrix": np.ones((3, 3)), "names": np.array(["a", "b"])}
    report = scan_file(samples.joblib_file(tmp_path / "blob", value), filename="model.joblib")
    assert (report.status, report.findings, report.format) == (PASSED, [], "pickle")


def test_a_payload_after_a_joblib_array_is_found(tmp_path):
    # modelscan alone stops at the first array's raw bytes and sees nothing after them.
    value = [np.arange(100.0), samples.SystemCall()]
    report = scan_file(samples.joblib_file(tmp_path / "blob", value), filename="model.joblib")
    assert report.status == FAILED
    assert f"The file imports {SYSTEM}" in messages(report)


def test_a_forged_joblib_dtype_state_is_read_as_numpy_reads_it(tmp_path):
    # flags=1 ("holds objects") in a float64 dtype's state: numpy applies it to the copy the
    # pickle builds, so joblib reads a nested pickle where the raw bytes were. The framing
    # must read the same, and find the payload put there.
    from registry.scanning.pickle_frames import frame_pickles

    path = samples.joblib_file(tmp_path / "blob", [np.arange(4.0), "tail"])
    data = path.read_bytes()
    with path.open("rb") as handle:
        [(start, end)] = frame_pickles(handle, len(data)).pickles[0].raw
    state = b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t"
    assert data.count(state) == 1
    forged = data[:start] + pickle.dumps(samples.SystemCall(), protocol=2) + data[end:]
    path.write_bytes(forged.replace(state, state[:-2] + b"\x01t"))
    report = scan_file(path, filename="model.joblib")
    assert report.status == FAILED
    assert f"Object array 1 of the file imports {SYSTEM}" in messages(report)


def test_a_payload_inside_a_joblib_object_array_is_found(tmp_path):
    value = {"a": np.arange(3.0), "objects": np.array([samples.SystemCall()], dtype=object)}
    report = scan_file(samples.joblib_file(tmp_path / "blob", value), filename="model.joblib")
    assert report.status == FAILED
    assert f"Object array 1 of the file imports {SYSTEM}" in messages(report)


def test_a_torch_zip_with_a_malicious_data_pkl_fails(tmp_path):
    path = samples.torch_zip(tmp_path / "blob", samples.reduce_pickle(protocol=2))
    report = scan_file(path, filename="model.pt")
    assert report.format == "pytorch"
    assert report.status == FAILED
    assert f"Archive entry 'archive/data.pkl' imports {SYSTEM}" in messages(report)


def test_a_torch_zip_gets_the_registry_pickle_rules_too(tmp_path):
    # modelscan alone passes both: the issue #85 memo trick in data.pkl, and a legacy-format
    # checkpoint inside a zip, whose first pickle is only the magic number.
    path = samples.torch_zip(tmp_path / "blob", samples.global_attribute_smuggling())
    report = scan_file(path, filename="model.pt")
    assert report.status == FAILED
    assert (CRITICAL, "PICKLE_GLOBAL_MUTATION") in codes(report)

    bundle = tmp_path / "bundle"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("pytorch_model.bin", samples.legacy_torch(samples.SystemCall()))
    report = scan_file(bundle, filename="bundle.zip")
    assert report.status == FAILED
    assert f"Pickle 4 of archive entry 'pytorch_model.bin' imports {SYSTEM}" in messages(report)


def test_a_clean_torch_zip_passes_noting_its_raw_storages(tmp_path):
    path = samples.torch_zip(tmp_path / "blob", samples.clean_state_dict_pickle())
    report = scan_file(path, filename="model.pth")
    assert report.status == PASSED
    assert codes(report) == {(LOW, "ARCHIVE_RAW_ENTRIES")}


def test_a_legacy_torch_file_is_scanned_pickle_by_pickle(tmp_path):
    # modelscan's .pt scanner reads only the magic-number pickle; the registry reads all five.
    path = samples.write(tmp_path / "blob", samples.legacy_torch(samples.SystemCall()))
    report = scan_file(path, filename="model.pt")
    assert report.status == FAILED
    assert f"Pickle 4 of the file imports {SYSTEM}" in messages(report)

    clean = samples.write(tmp_path / "clean", samples.legacy_torch({"w": [1.0]}))
    report = scan_file(clean, filename="model.pt")
    assert report.status == PASSED
    assert codes(report) == {(LOW, "PICKLE_TRAILING_DATA")}


def test_an_object_npy_holding_a_payload_fails_and_a_float_npy_passes(tmp_path):
    bad = samples.npy(tmp_path / "bad", np.array([samples.SystemCall()], dtype=object))
    report = scan_file(bad, filename="features.npy")
    assert (report.status, report.format) == (FAILED, "numpy")
    assert SYSTEM in messages(report)

    good = samples.npy(tmp_path / "good", np.arange(12.0).reshape(3, 4))
    assert scan_file(good, filename="features.npy").findings == []
    assert scan_file(good, filename="features.npy").status == PASSED


def test_npz_archives(tmp_path):
    good = samples.npz(tmp_path / "good", a=np.arange(3.0), b=np.ones((2, 2)))
    report = scan_file(good, filename="arrays.npz")
    assert (report.status, report.format, report.findings) == (PASSED, "npz", [])

    bad = samples.npz(tmp_path / "bad", a=np.array([samples.SystemCall()], dtype=object))
    report = scan_file(bad, filename="arrays.npz")
    assert report.status == FAILED
    assert f"Archive entry 'a.npy' imports {SYSTEM}" in messages(report)


def test_keras_h5_lambda_layer_is_critical_and_weights_only_pass(tmp_path):
    report = scan_file(samples.keras_h5(tmp_path / "a", lambda_layer=True), filename="m.h5")
    assert (report.status, report.format) == (FAILED, "keras-h5")
    assert (CRITICAL, "KERAS_LAMBDA_LAYER") in codes(report)

    report = scan_file(samples.keras_h5(tmp_path / "b", lambda_layer=False), filename="m.h5")
    assert (report.status, report.findings) == (PASSED, [])

    report = scan_file(samples.h5_weights_only(tmp_path / "c"), filename="weights.h5")
    assert report.status == PASSED
    assert codes(report) == {(LOW, "H5_NO_MODEL_CONFIG")}


def test_keras_h5_without_h5py_fails_closed(tmp_path, monkeypatch):
    from modelscan.scanners.h5 import scan as h5_scan

    monkeypatch.setattr(h5_scan, "h5py_installed", False)
    path = samples.write(tmp_path / "blob", b"\x89HDF\r\n\x1a\n" + b"\0" * 1024)
    report = scan_file(path, filename="model.h5")
    assert report.status == FAILED
    assert (CRITICAL, "SCAN_ERROR") in codes(report)


def test_a_text_file_named_model_pkl_fails(tmp_path):
    path = samples.write(tmp_path / "blob", b"this is not a pickle\n")
    report = scan_file(path, filename="model.pkl")
    assert report.status == FAILED
    assert report.format is None
    assert (CRITICAL, "PICKLE_UNPARSABLE") in codes(report)


def test_the_content_decides_not_the_name(tmp_path):
    path = samples.write(tmp_path / "blob", samples.reduce_pickle())
    report = scan_file(path, filename="model.onnx")
    assert (report.status, report.format) == (FAILED, "pickle")
    assert (CRITICAL, "PICKLE_DANGEROUS_GLOBAL") in codes(report)


# --- nothing measured fails closed ---------------------------------------------------------


def test_a_file_no_rule_covers_is_unscannable(tmp_path):
    path = samples.write(tmp_path / "blob", b"plain notes\n")
    report = scan_file(path, filename="notes.txt")
    assert (report.status, report.scanned, report.format) == (FAILED, False, None)
    assert codes(report) == {(CRITICAL, "UNSCANNABLE")}


def test_a_zip_with_nothing_scannable_is_unscannable(tmp_path):
    path = tmp_path / "bundle"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "# model")
    report = scan_file(path, filename="bundle.zip")
    assert (report.status, report.scanned, report.format) == (FAILED, False, "zip")
    assert codes(report) == {(CRITICAL, "UNSCANNABLE"), (MEDIUM, "SCAN_SKIPPED")}
    assert "README.md" in messages(report)


def test_a_keras_v3_archive_is_unscannable_not_passed_on_its_weights(tmp_path):
    # Its config.json (where Lambda layers live) has no scanner; the weights-only H5 inside
    # must not count as having measured the archive.
    weights = samples.h5_weights_only(tmp_path / "weights.h5")
    path = tmp_path / "model"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"class_name": "Lambda"}')
        archive.writestr("metadata.json", "{}")
        archive.write(weights, "model.weights.h5")
    report = scan_file(path, filename="model.keras")
    assert (report.status, report.scanned) == (FAILED, False)
    assert (CRITICAL, "UNSCANNABLE") in codes(report)
    assert "config.json" in messages(report)


def test_a_nested_zip_is_a_scan_error(tmp_path):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("model.pkl", samples.reduce_pickle())
    outer = tmp_path / "outer"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.write(inner, "inner.zip")
        archive.writestr("ok.pkl", samples.clean_state_dict_pickle())
    report = scan_file(outer, filename="bundle.zip")
    assert report.status == FAILED
    assert (CRITICAL, "SCAN_ERROR") in codes(report)


def test_a_scanner_crash_fails_closed(tmp_path, monkeypatch):
    def crash(path):
        raise RuntimeError("boom")

    monkeypatch.setattr(scanning.sniff, "sniff_candidates", crash)
    report = scan_file(samples.write(tmp_path / "blob", b"x"), filename="m.pkl")
    assert (report.status, report.scanned) == (FAILED, False)
    assert codes(report) == {(CRITICAL, "SCAN_ERROR"), (CRITICAL, "UNSCANNABLE")}


# --- ONNX ------------------------------------------------------------------------------------


def test_a_clean_skl2onnx_model_passes(tmp_path):
    report = scan_file(samples.onnx_logistic_regression(tmp_path / "blob"), filename="lr.onnx")
    assert (report.status, report.format, report.findings) == (PASSED, "onnx", [])
    assert report.scanner.startswith("onnx 1.23.2 checker")


def test_onnx_external_data_inside_the_folder_is_high(tmp_path):
    report = scan_file(samples.onnx_external(tmp_path / "blob", "weights.bin"), filename="m.onnx")
    # The checker runs beside an empty stand-in, so it judges the rest of the model, not
    # whether the worker's directory happens to hold a weights.bin.
    assert report.status == PASSED
    assert codes(report) == {(HIGH, "ONNX_EXTERNAL_DATA")}
    assert "'W'" in messages(report) and "weights.bin" in messages(report)


def test_onnx_external_data_naming_the_model_file_leaves_the_stored_file_alone(tmp_path):
    path = samples.onnx_external(tmp_path / "blob", "model.onnx")
    before = (path.stat().st_mtime_ns, path.read_bytes())
    report = scan_file(path, filename="m.onnx")
    assert codes(report) == {(HIGH, "ONNX_EXTERNAL_DATA")}
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


@pytest.mark.parametrize("location", ["../../etc/passwd", "/etc/passwd", "C:\\secrets.bin", ""])
def test_onnx_external_data_leaving_the_folder_is_critical(tmp_path, location):
    report = scan_file(samples.onnx_external(tmp_path / "blob", location), filename="m.onnx")
    assert report.status == FAILED
    assert (CRITICAL, "ONNX_EXTERNAL_DATA_ESCAPE") in codes(report)
    assert str(tmp_path) not in messages(report) and "registry-onnx-" not in messages(report)


def test_onnx_custom_domain_is_high_and_named(tmp_path):
    report = scan_file(samples.onnx_custom_domain(tmp_path / "blob"), filename="m.onnx")
    assert report.status == PASSED
    assert codes(report) == {(HIGH, "ONNX_CUSTOM_DOMAIN")}
    assert "'com.example.evil'" in messages(report) and "'Exec'" in messages(report)


def test_onnx_absurd_declared_shape_is_high(tmp_path):
    report = scan_file(samples.onnx_absurd_shape(tmp_path / "blob"), filename="m.onnx")
    assert codes(report) == {(HIGH, "ONNX_ABSURD_SHAPE")}
    assert "8589934592 elements" in messages(report)


def test_onnx_negative_dimension_is_invalid_and_absurd(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    tensor = helper.make_tensor("N", TensorProto.FLOAT, [2], [1.0, 2.0])
    tensor.dims[0] = -2
    graph = helper.make_graph(
        [helper.make_node("Identity", ["X"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])],
        initializer=[tensor],
    )
    path = tmp_path / "blob"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    report = scan_file(path, filename="m.onnx")
    assert report.status == FAILED
    assert {(CRITICAL, "ONNX_INVALID"), (HIGH, "ONNX_ABSURD_SHAPE")} <= codes(report)


def test_garbage_named_onnx_is_invalid(tmp_path):
    path = samples.write(tmp_path / "blob", bytes(range(256)) * 8)
    report = scan_file(path, filename="model.onnx")
    assert (report.status, report.format) == (FAILED, None)
    assert codes(report) == {(CRITICAL, "ONNX_INVALID")}


# --- safetensors --------------------------------------------------------------------------------


def test_safetensors_header_must_describe_the_file(tmp_path):
    report = scan_file(samples.safetensors(tmp_path / "good"), filename="m.safetensors")
    assert (report.status, report.format, report.findings) == (PASSED, "safetensors", [])
    report = scan_file(samples.safetensors(tmp_path / "bad", lie=True), filename="m.safetensors")
    assert report.status == FAILED
    assert (CRITICAL, "SAFETENSORS_INVALID") in codes(report)


# --- report, rules version, determinism, layering -------------------------------------------------


def test_status_is_failed_exactly_when_a_finding_is_critical():
    high = Finding(HIGH, "ONNX_CUSTOM_DOMAIN", "m")
    critical = Finding(CRITICAL, "PICKLE_DANGEROUS_GLOBAL", "m")
    common = {"scanner": "s", "format": None, "scanned": True, "rules_version": "v"}
    assert make_report([high], **common).status == PASSED
    assert make_report([high, critical], **common).status == FAILED
    assert make_report([high, critical], **common).findings == [critical, high]
    assert critical.as_dict() == {
        "severity": "CRITICAL",
        "code": "PICKLE_DANGEROUS_GLOBAL",
        "message": "m",
    }
    with pytest.raises(ValueError):
        Finding("SEVERE", "X", "m")


def test_reports_are_deterministic(tmp_path):
    path = samples.write(tmp_path / "blob", samples.memo_confusion_pickles() + b"tail")
    first = scan_file(path, filename="m.pkl").as_dict()
    assert first == scan_file(path, filename="m.pkl").as_dict()
    assert first["rules_version"] == RULES_VERSION
    assert str(tmp_path) not in str(first) and "registry-scan-" not in str(first)


def test_rules_version_changes_with_the_denylist(monkeypatch):
    assert RULES_VERSION.startswith(f"{scan_rules.REGISTRY_RULES}-")
    assert scan_rules._digest() == RULES_VERSION.split("-", 1)[1]
    extended = {**scan_rules.EXTRA_UNSAFE_GLOBALS, "MEDIUM": {"yaml": "*"}}
    monkeypatch.setattr(scan_rules, "EXTRA_UNSAFE_GLOBALS", extended)
    assert scan_rules._digest() != RULES_VERSION.split("-", 1)[1]


def test_the_scanning_package_imports_no_project_app():
    project_apps = {"core", "registry", "governance", "policies", "evaluations", "audit", "config"}
    package = Path(scanning.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & project_apps, f"{module.name} imports {roots & project_apps}"
