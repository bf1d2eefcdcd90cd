# SPDX-License-Identifier: GPL-3.0-or-later
"""Smaller or faster variants of the fp32 model, shipped only when they keep their accuracy.

* ``int8``: static quantisation in QDQ format with onnxruntime.quantization, unsigned 8-bit
  activations and signed 8-bit weights, **per-channel** weights and ``reduce_range``.
  On a CPU with AVX2 but no VNNI plain U8S8 loses accuracy because the int16
  accumulation saturates (onnxruntime's quantization documentation); ``reduce_range``
  (7-bit weights) avoids that and stays fast, U8U8 is accurate but slower. Per-channel
  scales matter as much: on an EfficientNet-Lite0 embedding they lifted the mean cosine to
  fp32 from about 0.69 to 0.98 (docs/export.md).
  Activation ranges are calibrated on real training photos decoded by photolm.
* ``fp16``: weights and arithmetic in half precision (onnxruntime.transformers' converter),
  inputs and outputs kept float32 so photolm feeds it like any other model. Half the size;
  onnxruntime's CPU provider runs it, but not faster than fp32 (it is meant for GPUs).

Whether a variant is good enough is not judged by cosine similarity but by recognition: the
pipeline computes its own prototypes through it and compares its top-1 accuracy with fp32 on
the held-out photos; :func:`check_accuracy_drop` refuses one that loses more than a point.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from export.errors import ExportError
from export.onnx_export import INPUT_NAME

VARIANTS = ("none", "int8", "fp16")
MAX_TOP1_DROP_POINTS = 1.0


def quantize_int8(
    src: Path,
    dst: Path,
    calibration: np.ndarray,
    *,
    per_channel: bool = True,
    reduce_range: bool = True,
    batch_size: int = 8,
) -> Path:
    """Statically quantise ``src`` to ``dst`` using ``calibration`` (N, 3, H, W) inputs."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration) == 0:
        raise ExportError("int8 calibration needs training photos; none could be decoded.")
    arrays = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches: Iterator[dict[str, np.ndarray]] = iter(
                {INPUT_NAME: arrays[i:i + batch_size]} for i in range(0, len(arrays), batch_size)
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    dst = Path(dst)
    with tempfile.TemporaryDirectory(prefix="photolm-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        try:
            # Shape inference and graph clean-up first: onnxruntime's documented recipe, it
            # lets the quantiser see every tensor's shape.
            quant_pre_process(str(src), str(prepared))
            quantize_static(
                str(prepared), str(dst), Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
            )
        except Exception as exc:  # onnxruntime raises plain Exceptions from C++ and Python
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ExportError(f"int8 quantisation failed: {first[:300]}") from None
    return dst


def convert_fp16(src: Path, dst: Path) -> Path:
    """Half-precision copy of ``src`` with float32 input and output."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    try:
        model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
        onnx.save(model, str(dst))
    except Exception as exc:  # the converter raises assorted errors for unsupported graphs
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"fp16 conversion failed: {first[:300]}") from None
    return Path(dst)


def images_per_second(embedder: Any, batch: np.ndarray, *, repeats: int = 5) -> float:
    """Best-of-``repeats`` throughput on one batch (best, because other processes share the
    CPU and only disturb a run upwards)."""
    if len(batch) == 0:
        return float("nan")
    embedder.embed(batch)  # warm-up: allocations, kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        embedder.embed(batch)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best if best > 0 else float("inf")


@dataclass(frozen=True)
class VariantReport:
    """One model variant measured on the same photos as fp32."""

    precision: str
    size_bytes: int
    images_per_s: float
    top1: float
    top5: float
    gap: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_accuracy_drop(reference: VariantReport, candidate: VariantReport,
                        max_drop_points: float = MAX_TOP1_DROP_POINTS) -> float:
    """Top-1 drop of ``candidate`` against ``reference`` in percentage points; raises
    :class:`ExportError` when it exceeds ``max_drop_points``."""
    drop = (reference.top1 - candidate.top1) * 100.0
    if not np.isfinite(drop):
        raise ExportError(f"Cannot compare {candidate.precision} with fp32: top-1 is undefined "
                          "(no held-out photos).")
    if drop > max_drop_points:
        raise ExportError(
            f"Refusing the {candidate.precision} model: its top-1 accuracy is "
            f"{candidate.top1:.2%} against {reference.top1:.2%} for fp32, a drop of "
            f"{drop:.2f} points (the limit is {max_drop_points:g}). Export with "
            "--quantize none, or another variant."
        )
    return drop
