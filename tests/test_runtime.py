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
from photolm.runtime import CPU, CUDA, OnnxEmbedder, choose_providers
from tests.tinybundle import COLOURS, solid_input


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
