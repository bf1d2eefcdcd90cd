# SPDX-License-Identifier: GPL-3.0-or-later
"""Provider choice and the truth about the provider in use, with faked onnxruntime lists."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from photolm import runtime
from photolm.errors import DeviceError, RuntimeMissingError
from photolm.runtime import CPU, CUDA, OnnxEmbedder, choose_providers, embed_all
from tests.tinybundle import COLOURS, make_tiny_bundle, solid_input


@pytest.mark.parametrize(
    ("device", "available", "expected"),
    [
        ("auto", [CUDA, CPU], [CUDA, CPU]),
        ("auto", ["TensorrtExecutionProvider", CUDA, CPU], [CUDA, CPU]),
        ("auto", [CPU], [CPU]),
        ("cpu", [CUDA, CPU], [CPU]),
        ("cuda", [CUDA, CPU], [CUDA, CPU]),
    ],
)
def test_choose_providers(device: Any, available: list[str], expected: list[str]) -> None:
    assert choose_providers(device, available) == expected


def test_cuda_requested_but_absent() -> None:
    with pytest.raises(DeviceError, match="no CUDA provider"):
        choose_providers("cuda", [CPU])


class _FakeSession:
    """Pretends to be an ORT session that silently fell back to CPU, as onnxruntime-gpu does."""

    def __init__(self, path: str, sess_options: Any, providers: list[str]) -> None:
        self.requested = providers

    def get_providers(self) -> list[str]:
        return [CPU]


def test_silent_fallback_is_reported_not_hidden(tiny_bundle_dir: Path) -> None:
    emb = OnnxEmbedder(tiny_bundle_dir / "model.onnx", device="auto",
                       session_factory=_FakeSession, available_providers=[CUDA, CPU])
    assert emb.info.requested == (CUDA, CPU)
    assert emb.provider == CPU  # what is really used, not what was asked for
    with pytest.raises(DeviceError, match="fell back to the CPU"):
        OnnxEmbedder(tiny_bundle_dir / "model.onnx", device="cuda",
                     session_factory=_FakeSession, available_providers=[CUDA, CPU])


def test_real_session_embeds_unit_vectors(tiny_bundle_dir: Path) -> None:
    emb = OnnxEmbedder(tiny_bundle_dir / "model.onnx", device="cpu", threads=1)
    assert emb.provider == CPU and emb.info.intra_op_threads == 1
    batch = np.stack([solid_input(c) for c in COLOURS.values()])
    out = emb.embed(batch)
    assert out.shape == (4, 16)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_missing_onnxruntime_prints_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(RuntimeMissingError, match=r"pip install 'photolm\[cpu\]'"):
        runtime.import_onnxruntime()


def test_one_pass_gives_embedding_and_descriptor(tmp_path: Path) -> None:
    bundle = make_tiny_bundle(tmp_path / "b", descriptor_threshold=0.5)
    emb = OnnxEmbedder.for_bundle(bundle, device="cpu", threads=1)
    batch = np.stack([solid_input(c) for c in COLOURS.values()])
    both = embed_all(emb, batch)
    assert both.embedding.shape == (4, 16) and both.descriptor is not None
    assert both.descriptor.shape == (4, 8)
    np.testing.assert_allclose(np.linalg.norm(both.descriptor, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(both.embedding, emb.embed(batch), atol=1e-6)
    # the shipped landmarks' descriptor prototypes are what the graph gives for them
    np.testing.assert_allclose(both.descriptor, bundle.descriptor_prototypes, atol=1e-5)


def test_bundles_and_fakes_without_descriptor_give_none(tiny_bundle_dir: Path) -> None:
    from photolm.bundle import read_bundle

    batch = np.stack([solid_input(c) for c in COLOURS.values()])
    real = OnnxEmbedder.for_bundle(read_bundle(tiny_bundle_dir), device="cpu", threads=1)
    assert embed_all(real, batch).descriptor is None

    class Fake:
        provider = CPU

        def embed(self, batch: np.ndarray) -> np.ndarray:
            return np.ones((len(batch), 3), dtype=np.float32)

    result = embed_all(Fake(), batch)
    assert result.descriptor is None and result.embedding.shape == (4, 3)
