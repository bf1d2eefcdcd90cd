# SPDX-License-Identifier: GPL-3.0-or-later
"""Model bundles are checked before use, never unpickled, never read outside their folder; a
malformed manifest is a one-line BundleError, whatever it holds; and no loader anywhere in
the repository can run pickled code."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from photolm.bundle import Bundle, read_bundle
from photolm.errors import BundleError
from photolm.images import to_model_input
from tests.conftest import REPO
from tests.robustness.helpers import cli


@pytest.fixture
def bundle_copy(tiny_bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle_dir, tmp_path / "bundle"))


def _manifest(bundle: Path) -> dict[str, Any]:
    return json.loads((bundle / "manifest.json").read_text())


def _write_manifest(bundle: Path, manifest: dict[str, Any]) -> None:
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_member_symlinked_outside_the_folder_is_refused_even_with_the_right_checksum(
    bundle_copy: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.onnx"
    shutil.move(bundle_copy / "model.onnx", outside)
    (bundle_copy / "model.onnx").symlink_to(outside)  # same bytes, same sha256
    with pytest.raises(BundleError, match="outside its folder"):
        read_bundle(bundle_copy)


def test_a_bundle_folder_reached_through_a_symlink_is_fine(bundle_copy: Path,
                                                          tmp_path: Path) -> None:
    link = tmp_path / "current-model"
    link.symlink_to(bundle_copy, target_is_directory=True)
    assert read_bundle(link).model_path.resolve() == (bundle_copy / "model.onnx").resolve()


@pytest.mark.parametrize("evil", ["model.onnx\x00", "..\\model.onnx", "./model.onnx",
                                  "model.onnx/..", "~/model.onnx", "", 7, None])
def test_odd_member_names_are_refused(bundle_copy: Path, evil: object) -> None:
    manifest = _manifest(bundle_copy)
    manifest["files"]["model"]["path"] = evil
    _write_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError):
        read_bundle(bundle_copy)


class _Payload:
    """Unpickling this creates a file: proof that pickled code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_pickled_prototypes_are_refused_without_running_them(bundle_copy: Path,
                                                             tmp_path: Path) -> None:
    marker = tmp_path / "pickle-ran"
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload(marker)
    with open(bundle_copy / "prototypes.npz", "wb") as handle:
        np.savez(handle, vectors=evil, landmark_index=np.zeros(1, np.int32))
    assert pickle.dumps(_Payload(marker))  # the payload is a working pickle
    manifest = _manifest(bundle_copy)
    manifest["files"]["prototypes"]["sha256"] = _sha(bundle_copy / "prototypes.npz")
    _write_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError, match="cannot read prototypes.npz"):
        read_bundle(bundle_copy)
    assert not marker.exists()


def test_tampered_model_stops_the_scan_before_onnxruntime_or_the_catalogue(
    bundle_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime

    def no_session(*args: object, **kwargs: object) -> None:
        raise AssertionError("a tampered model reached onnxruntime")

    monkeypatch.setattr(onnxruntime, "InferenceSession", no_session)
    with open(bundle_copy / "model.onnx", "r+b") as handle:
        handle.seek(40)
        handle.write(b"\x00")
    (tmp_path / "photos").mkdir()
    catalog = tmp_path / "cat.sqlite"
    code, out, err = cli("scan", tmp_path / "photos", "--model", bundle_copy,
                         "--catalog", catalog)
    assert code == 1 and out == ""
    assert err.startswith(f"Error: Bundle {bundle_copy}: checksum mismatch for model.onnx")
    assert len(err.strip().splitlines()) == 1
    assert not catalog.exists()


# A manifest is JSON anybody can edit: whatever it holds, the answer is a Bundle or a
# BundleError, never another exception (a traceback in the CLI).
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**40) | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)
_FIELDS = [("format_version",), ("name",), ("model",), ("model", "embedding_dim"),
           ("model", "input_name"), ("preprocess",), ("preprocess", "size"),
           ("preprocess", "resize"), ("preprocess", "mean"), ("preprocess", "std"),
           ("preprocess", "crop"), ("threshold",), ("calibration",),
           ("calibration", "fpr"), ("calibration", "extra"), ("metrics",), ("provenance",),
           ("files",), ("files", "model"), ("files", "model", "sha256"), ("created",)]


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.sampled_from(_FIELDS), _json), min_size=1, max_size=3))
def test_any_manifest_edit_gives_a_bundle_or_a_bundle_error(
    tiny_bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory, edits: list
) -> None:
    bundle = Path(shutil.copytree(tiny_bundle_dir, tmp_path_factory.mktemp("b") / "b"))
    manifest = _manifest(bundle)
    for path, value in edits:
        node = manifest
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    _write_manifest(bundle, manifest)
    try:
        result = read_bundle(bundle)
    except BundleError as exc:
        assert "\n" not in str(exc)
    else:  # and then it is usable: the scan would not fail later, in a decode thread
        assert isinstance(result, Bundle) and -1.0 <= result.threshold <= 1.0
        if result.preprocess.resize <= 512:
            array = to_model_input(Image.new("RGB", (40, 30), (9, 99, 199)), result.preprocess)
            size = result.preprocess.size
            assert array.shape == (3, size, size) and np.isfinite(array).all()


@pytest.mark.parametrize("records", [[1, 2], [["id", "name"]], [{"id": "x"}], {"id": "x"}])
def test_malformed_landmark_records_are_a_bundle_error(bundle_copy: Path, records: object) -> None:
    (bundle_copy / "landmarks.json").write_text(json.dumps(records))
    manifest = _manifest(bundle_copy)
    manifest["files"]["landmarks"]["sha256"] = _sha(bundle_copy / "landmarks.json")
    _write_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError):
        read_bundle(bundle_copy)


@pytest.mark.parametrize(("field", "values"), [
    ("mean", [0.0, 0.0, 1.7014117838986683e38]),  # found by the property test above
    ("mean", [0.5, 0.5, -2000.0]),
    ("std", [0.5, 0.5, 1e-40]),
    ("std", [0.5, 1e30, 0.5]),
])
def test_preprocessing_that_would_overflow_is_a_bundle_error(bundle_copy: Path, field: str,
                                                             values: list[float]) -> None:
    # finite numbers, but (pixel - mean) / std would leave float32: -inf in, NaN vectors out
    manifest = _manifest(bundle_copy)
    manifest["preprocess"][field] = values
    _write_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError, match=f"preprocessing {field}"):
        read_bundle(bundle_copy)


@pytest.mark.parametrize("name", ["manifest.json", "landmarks.json"])
def test_deeply_nested_json_is_a_bundle_error(bundle_copy: Path, name: str) -> None:
    (bundle_copy / name).write_text("[" * 100_000 + "]" * 100_000)
    if name != "manifest.json":
        manifest = _manifest(bundle_copy)
        manifest["files"]["landmarks"]["sha256"] = _sha(bundle_copy / name)
        _write_manifest(bundle_copy, manifest)
    with pytest.raises(BundleError):
        read_bundle(bundle_copy)


# ------------------------------------------------------------------ source-level rules
def _calls(name: str) -> list[tuple[str, int, ast.Call]]:
    """Every call ``X.<name>(...)`` in the project's own Python files."""
    out = []
    for folder in ("photolm", "trainer", "export", "scripts"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr == name):
                    out.append((os.path.relpath(path, REPO), node.lineno, node))
    return out


def _keyword_is(call: ast.Call, key: str, value: bool) -> bool:
    return any(k.arg == key and isinstance(k.value, ast.Constant) and k.value.value is value
               for k in call.keywords)


def test_every_numpy_load_refuses_pickles() -> None:
    loads = [(f, n, c) for f, n, c in _calls("load")
             if isinstance(c.func.value, ast.Name) and c.func.value.id in ("np", "numpy")]
    assert loads, "expected at least photolm.bundle's np.load"
    assert [(f, n) for f, n, c in loads if not _keyword_is(c, "allow_pickle", False)] == []


def test_every_torch_load_is_weights_only() -> None:
    loads = [(f, n, c) for f, n, c in _calls("load")
             if isinstance(c.func.value, ast.Name) and c.func.value.id == "torch"]
    assert [(f, n) for f, n, c in loads if not _keyword_is(c, "weights_only", True)] == []


def test_the_runtime_never_imports_a_code_running_deserialiser() -> None:
    banned = {"pickle", "cPickle", "dill", "joblib", "marshal", "shelve", "cloudpickle"}
    found = []
    for path in sorted((REPO / "photolm").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned]
    assert found == []
