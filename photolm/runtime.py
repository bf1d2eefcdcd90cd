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

from photolm.ctrl_c import held
from photolm.errors import DeviceError, RuntimeMissingError
from photolm.native_paths import utf8_path
from photolm.printed_paths import printed

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


@dataclass(frozen=True)
class Embeddings:
    """Both outputs of one network pass: the fine-tuned embedding that names the shipped
    landmarks, and the bundle's generic descriptor (``None`` when the bundle has none), which
    is what enrolling a user's own places compares. Rows are unit length."""

    embedding: np.ndarray  # (N, D) float32
    descriptor: np.ndarray | None  # (N, G) float32, or None


def embed_all(embedder: Embedder, batch: np.ndarray) -> Embeddings:
    """Embedding and descriptor of a batch in one pass.

    An embedder without ``embed_all`` (a test fake, a bundle made before descriptors) gives
    ``descriptor=None``, so callers need one code path, not two.
    """
    both = getattr(embedder, "embed_all", None)
    if both is not None:
        return both(batch)  # type: ignore[no-any-return]
    return Embeddings(embedder.embed(batch), None)


def _unit_rows(out: Any) -> np.ndarray:
    # The model normalises in-graph; renormalising here costs nothing and keeps fp16/int8
    # models honest.
    out = np.asarray(out, dtype=np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def import_onnxruntime() -> Any:
    """Import onnxruntime, or explain in one line how to install it. Ctrl-C during the
    import (onnxruntime's native part turns it into ``ImportError("import numpy failed")``)
    stops the command as Ctrl-C, not as a missing install."""
    with held() as ctrl_c:
        try:
            import onnxruntime
        except ImportError:
            ctrl_c.deliver()
            raise RuntimeMissingError(
                "onnxruntime is not installed. Install it with: "
                f"{INSTALL_CPU}   (or, with an NVIDIA GPU: {INSTALL_GPU})"
            ) from None
    ctrl_c.deliver()
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


def runs_in_caller(embedder: object) -> bool:
    """Whether each run of ``embedder`` keeps to the thread that calls it: an onnxruntime
    CPU session with one intra-op thread. Several threads may then run it side by side, each
    on its own photo, which is how the scan uses the cores (see :mod:`photolm.scan`); any
    other embedder (a GPU, a session split over several threads, a test fake) is run on
    whole batches from one thread."""
    info = getattr(embedder, "info", None)
    return isinstance(info, SessionInfo) and info.provider == CPU and info.intra_op_threads == 1


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
        descriptor_name: str | None = None,
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
            # a path that is not UTF-8 (photolm.native_paths): the model's bytes instead
            source: str | bytes = utf8_path(model_path) or Path(model_path).read_bytes()
            self._session = factory(source, sess_options=options, providers=requested)
        except Exception as exc:  # ORT raises its own untyped Fail/InvalidGraph errors
            from photolm.errors import BundleError

            message = f"onnxruntime cannot load {printed(model_path)}: {exc}"
            raise BundleError(message.splitlines()[0]) from None
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
        self.descriptor_name = descriptor_name

    @classmethod
    def for_bundle(cls, bundle: Any, *, device: Device = "auto", threads: int | None = None,
                   **kwargs: Any) -> OnnxEmbedder:
        """A session over ``bundle``'s model with its input, output and descriptor names."""
        descriptor = getattr(bundle, "descriptor", None)
        return cls(bundle.model_path, input_name=bundle.input_name,
                   output_name=bundle.output_name,
                   descriptor_name=descriptor.output_name if descriptor else None,
                   device=device, threads=threads, **kwargs)

    @property
    def provider(self) -> str:
        return self.info.provider

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Embed a (N, 3, H, W) float32 batch; rows come back unit length."""
        return _unit_rows(self._session.run([self.output_name], {self.input_name: batch})[0])

    def embed_all(self, batch: np.ndarray) -> Embeddings:
        """Embedding and (when the bundle has one) descriptor of a batch, in one pass."""
        names = [self.output_name] + ([self.descriptor_name] if self.descriptor_name else [])
        outputs = self._session.run(names, {self.input_name: batch})
        return Embeddings(_unit_rows(outputs[0]),
                          _unit_rows(outputs[1]) if self.descriptor_name else None)
