# SPDX-License-Identifier: GPL-3.0-or-later
"""torch embedding model -> ONNX graph that photolm's runtime can load.

The graph takes ``images`` (N, 3, H, W) float32 with a dynamic batch axis and returns
``embeddings`` (N, D) that are L2-normalised *inside the graph*: the model is wrapped so the
last operation is the normalisation whether or not the trainer's model already ends with
one, because photolm scores by dot product and must not depend on a trainer detail.

The legacy (TorchScript) exporter is used with opset 17: it needs no ``onnxscript`` and is
what the parity checks were made with (tests/export/test_export_onnx.py: |ORT − torch| within
1e-5).

TensorFlow-style "same" padding (timm's ``tf_*`` models) pads by an amount computed from the
input size at run time; exported as is, every such convolution becomes a Shape/Ceil/Pad
subgraph, about 25 % slower in onnxruntime. The input size is fixed by the bundle's
preprocessing, so :func:`freeze_same_padding` replaces those convolutions with constant
padding for that size before export. The parity check compares the ONNX model with the
*unmodified* torch model, so the replacement is verified rather than trusted.
"""

from __future__ import annotations

import copy
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from export.errors import ExportError

OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAME = "embeddings"


class NormalisedEmbedder(nn.Module):
    """The exported module: the embedding model followed by an explicit L2 normalisation."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.model(images).float(), p=2.0, dim=1, eps=1e-12)


def _static_same_conv(conv: nn.Conv2d, pad: list[int]) -> nn.Sequential:
    """Constant zero padding + an unpadded convolution sharing ``conv``'s parameters."""
    plain = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size,  # type: ignore[arg-type]
                      stride=conv.stride, padding=0, dilation=conv.dilation,  # type: ignore[arg-type]
                      groups=conv.groups, bias=conv.bias is not None)
    plain.weight = conv.weight
    plain.bias = conv.bias
    return nn.Sequential(nn.ZeroPad2d(tuple(int(p) for p in pad)), plain)


def freeze_same_padding(model: nn.Module, image_size: int) -> int:
    """Replace timm's dynamic-padding ``Conv2dSame`` layers in ``model`` (in place) by constant
    padding for ``image_size`` x ``image_size`` inputs; returns how many were replaced.

    The input size each layer sees is recorded with one eager forward pass, so strides and
    odd feature-map sizes are handled exactly as timm computes them.
    """
    try:
        from timm.layers import Conv2dSame
        from timm.layers.padding import pad_same_arg
    except ImportError:  # not a timm model, or a timm without these layers: nothing to do
        return 0
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, Conv2dSame)]
    if not targets:
        return 0
    sizes: dict[str, list[int]] = {}

    def recorder(name: str):  # a pre-hook that returns something would replace the input
        def hook(_module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
            sizes.setdefault(name, [int(v) for v in args[0].shape[-2:]])

        return hook

    hooks = [module.register_forward_pre_hook(recorder(name)) for name, module in targets]
    try:
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            model(torch.zeros(1, 3, image_size, image_size))
        model.train(was_training)
    finally:
        for hook in hooks:
            hook.remove()
    replaced = 0
    for name, module in targets:
        if name not in sizes:  # a layer the forward pass does not use
            continue
        pad = pad_same_arg(sizes[name], list(module.weight.shape[-2:]), list(module.stride),
                           list(module.dilation))
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, _static_same_conv(module, pad))
        replaced += 1
    return replaced


@dataclass(frozen=True)
class OnnxInfo:
    """What was exported, for the export report."""

    path: Path
    opset: int
    embedding_dim: int
    image_size: int
    static_padding_layers: int
    size_bytes: int


def export_onnx(
    model: nn.Module,
    path: Path,
    *,
    image_size: int,
    opset: int = OPSET,
    static_padding: bool = True,
) -> OnnxInfo:
    """Export ``model`` (images -> embeddings; left untouched) to ``path`` and check it.

    Raises :class:`ExportError` when torch cannot export the model or the result fails
    :func:`check_onnx`.
    """
    if opset < 17:
        raise ExportError(f"ONNX opset {opset} is too old; photolm bundles need opset 17+.")
    work = copy.deepcopy(model).eval()
    replaced = freeze_same_padding(work, image_size) if static_padding else 0
    wrapped = NormalisedEmbedder(work).eval()
    dummy = torch.zeros(2, 3, image_size, image_size)  # batch 2: never specialise on 1
    kwargs: dict[str, object] = {
        "opset_version": opset,
        "input_names": [INPUT_NAME],
        "output_names": [OUTPUT_NAME],
        "dynamic_axes": {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
        "do_constant_folding": True,
    }
    import inspect

    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # torch announces the legacy exporter's deprecation on every call; the choice is
            # deliberate (see the module docstring), so the notice would only be noise.
            warnings.filterwarnings("ignore", message=r".*legacy TorchScript-based ONNX")
            warnings.filterwarnings("ignore", message=r".*feature will be removed")
            warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
            # The constant pads of frozen "same" padding are exported through a reversing
            # Slice that torch cannot fold; onnxruntime folds it when it loads the model.
            warnings.filterwarnings("ignore", message=r"Constant folding - Only steps=1")
            torch.onnx.export(wrapped, (dummy,), buffer, **kwargs)  # type: ignore[arg-type]
    except Exception as exc:  # the exporter raises many unrelated types for unsupported ops
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"torch cannot export the model to ONNX: {first[:300]}") from None
    import onnx

    with torch.no_grad():
        dim = int(wrapped(dummy).shape[1])
    graph_model = onnx.load_from_string(buffer.getvalue())
    # The exporter names the embedding axis symbolically (it comes out of a broadcast Div);
    # it is a constant of the model, and photolm reads it from the graph.
    out_dim = graph_model.graph.output[0].type.tensor_type.shape.dim[1]
    out_dim.Clear()
    out_dim.dim_value = dim
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(graph_model, str(path))
    check_onnx(path, image_size=image_size)
    return OnnxInfo(path=path, opset=opset, embedding_dim=dim, image_size=image_size,
                    static_padding_layers=replaced, size_bytes=path.stat().st_size)


def check_onnx(path: Path, *, image_size: int | None = None, min_opset: int = 17) -> int:
    """Validate an exported model for photolm; returns the embedding dimension.

    ``onnx.checker`` with full shape inference, opset, input/output names, a symbolic batch
    axis on both, and (when given) the spatial size.
    """
    import onnx

    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # onnx raises ValidationError, InferenceError, DecodeError...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ExportError(f"{path} fails onnx.checker: {first[:300]}") from None
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                default=0)
    if opset < min_opset:
        raise ExportError(f"{path} uses opset {opset}; photolm bundles need {min_opset}+.")
    inputs = {i.name: i for i in model.graph.input}
    outputs = {o.name: o for o in model.graph.output}
    if INPUT_NAME not in inputs or OUTPUT_NAME not in outputs:
        raise ExportError(
            f"{path} must have input {INPUT_NAME!r} and output {OUTPUT_NAME!r}; found "
            f"{sorted(inputs)} -> {sorted(outputs)}."
        )
    in_dims = inputs[INPUT_NAME].type.tensor_type.shape.dim
    out_dims = outputs[OUTPUT_NAME].type.tensor_type.shape.dim
    if len(in_dims) != 4 or len(out_dims) != 2:
        raise ExportError(f"{path}: expected images (N,3,H,W) -> embeddings (N,D).")
    if not in_dims[0].dim_param or not out_dims[0].dim_param:
        raise ExportError(f"{path}: the batch axis is not dynamic; re-export.")
    if image_size is not None and [d.dim_value for d in in_dims[1:]] != [3, image_size,
                                                                         image_size]:
        raise ExportError(f"{path}: input is not (N, 3, {image_size}, {image_size}).")
    dim = int(out_dims[1].dim_value)
    if dim <= 0:
        raise ExportError(f"{path}: the embedding size is not fixed in the graph.")
    return dim
