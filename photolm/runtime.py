# SPDX-License-Identifier: GPL-3.0-or-later
"""The one onnxruntime session photolm uses, and the truth about where it runs.

onnxruntime-gpu lists CUDA in ``get_available_providers()`` even on a machine without a usable
GPU, logs an error and silently falls back to the CPU. So providers are requested in order of
preference and then read back from ``session.get_providers()``: that, not the request, is what
``photolm info`` and the scan summary report. ``--device cuda`` that ends up on the CPU is an
error, because the user asked for something they are not getting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from photolm.errors import DeviceError, RuntimeMissingError

Device = Literal["auto", "cpu", "cuda"]
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
INSTALL_CPU = "pip install 'photolm[cpu]'"
INSTALL_GPU = "pip install 'photolm[gpu]'"


class Embedder(Protocol):
    """What the scan needs from a model: a batch of images in, unit embeddings out.

    Tests inject a fake that satisfies this instead of building an onnxruntime session.
    """

    provider: str

    def embed(self, batch: np.ndarray) -> np.ndarray: ...


def import_onnxruntime() -> Any:
    """Import onnxruntime, or explain in one line how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise RuntimeMissingError(
            "onnxruntime is not installed. Install it with: "
            f"{INSTALL_CPU}   (or, with an NVIDIA GPU: {INSTALL_GPU})"
        ) from None
    return onnxruntime


def choose_providers(device: Device, available: Sequence[str]) -> list[str]:
    """Providers to request, best first, for ``--device``.

    Pure function so the choice is testable without any GPU: the tests pass fake lists.
    """
    if device == "cpu":
        return [CPU]
    if device == "cuda":
        if CUDA not in available:
            raise DeviceError(
                "--device cuda was requested but this onnxruntime has no CUDA provider. "
                f"Install the GPU runtime ({INSTALL_GPU}, replacing onnxruntime) or use "
                "--device cpu."
            )
        return [CUDA, CPU]
    if device != "auto":
        raise DeviceError(f"Unknown device {device!r}; choose auto, cpu or cuda.")
    return [CUDA, CPU] if CUDA in available else [CPU]


def default_threads() -> int:
    """Intra-op threads: the cores this process may use (respects taskset/cgroups)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class SessionInfo:
    """What a session really runs on, for ``photolm info`` and scan summaries."""

    requested: tuple[str, ...]
    active: tuple[str, ...]
    intra_op_threads: int

    @property
    def provider(self) -> str:
        return self.active[0] if self.active else "none"


class OnnxEmbedder:
    """An onnxruntime session over a bundle's model, with explicit threads and providers."""

    def __init__(
        self,
        model_path: Path,
        *,
        input_name: str = "images",
        output_name: str = "embeddings",
        device: Device = "auto",
        threads: int | None = None,
        session_factory: Callable[..., Any] | None = None,
        available_providers: Sequence[str] | None = None,
    ) -> None:
        ort = import_onnxruntime()
        available = (
            list(available_providers)
            if available_providers is not None
            else list(ort.get_available_providers())
        )
        requested = choose_providers(device, available)
        options = ort.SessionOptions()
        intra = threads or default_threads()
        options.intra_op_num_threads = intra
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The scan decodes photos in threads on the same cores while this session runs; ORT's
        # pool threads otherwise busy-wait after every op and batch, taking those cores away
        # from the decoders. Measured on 2 cores (docs/performance.md): scan +7 %, inference
        # alone -4 %.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # ORT's own CUDA-fallback chatter; we report the truth
        factory = session_factory or ort.InferenceSession
        try:
            self._session = factory(str(model_path), sess_options=options, providers=requested)
        except Exception as exc:  # ORT raises its own untyped Fail/InvalidGraph errors
            from photolm.errors import BundleError

            raise BundleError(f"onnxruntime cannot load {model_path}: {exc}".splitlines()[0]) \
                from None
        active = tuple(self._session.get_providers())
        self.info = SessionInfo(tuple(requested), active, intra)
        if device == "cuda" and CUDA not in active:
            raise DeviceError(
                "--device cuda was requested but onnxruntime fell back to the CPU (CUDA or "
                "cuDNN libraries missing or no GPU visible). Use --device cpu or fix the "
                "CUDA install."
            )
        self.input_name = input_name
        self.output_name = output_name

    @property
    def provider(self) -> str:
        return self.info.provider

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Embed a (N, 3, H, W) float32 batch; rows come back unit length."""
        out = self._session.run([self.output_name], {self.input_name: batch})[0]
        out = np.asarray(out, dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # The model normalises in-graph; renormalising here costs nothing and keeps fp16/int8
        # models honest.
        return out / np.maximum(norms, 1e-12)
