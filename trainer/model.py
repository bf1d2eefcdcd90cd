# SPDX-License-Identifier: GPL-3.0-or-later
"""The embedding model: timm backbone -> GeM pooling -> Linear + BatchNorm neck -> L2 norm.

Its output is what photolm compares with prototypes, so ``export`` converts exactly this
module to ONNX (images -> unit-length embeddings); the loss heads live apart in
:mod:`trainer.losses` and never reach the bundle.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from trainer.errors import ConfigError


class GeM(nn.Module):
    """Generalised-mean pooling (Radenović et al.), p learnable; p=1 is average pooling.

    Computed in float32 even under autocast: ``x ** p`` overflows half precision.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.float()
        pooled = x.float().clamp(min=self.eps).pow(p).mean(dim=(2, 3))
        return pooled.pow(1.0 / p)


def backbone_stages(backbone: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """(stem modules, stage modules) of a timm backbone, for freezing the first stages.

    Works for models with a ``blocks``/``stages``/``layers`` sequence (EfficientNet, ConvNeXt,
    ViT, ...) and for ResNet-style ``layer1..layer4``; everything registered before the stage
    sequence counts as stem.
    """
    children = list(backbone.named_children())
    for attr in ("blocks", "stages", "layers"):
        seq = getattr(backbone, attr, None)
        if isinstance(seq, (nn.Sequential, nn.ModuleList)) and len(seq) > 0:
            stem = []
            for name, child in children:
                if name == attr:
                    break
                stem.append(child)
            return stem, list(seq)
    names = [n for n, _ in children]
    if "layer1" in names:
        first = names.index("layer1")
        stages = [getattr(backbone, n) for n in names if re.fullmatch(r"layer\d+", n)]
        return [c for _, c in children[:first]], stages
    raise ConfigError(
        f"Cannot find the stages of backbone {type(backbone).__name__}; "
        "--freeze-stages is not supported for it."
    )


class EmbeddingModel(nn.Module):
    """images (N, 3, H, W) -> L2-normalised embeddings (N, embedding_dim)."""

    def __init__(
        self, backbone: nn.Module, *, embedding_dim: int = 512, gem_p: float = 3.0,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = GeM(gem_p)
        self.dropout = nn.Dropout(drop_rate)
        self.neck = nn.Sequential(
            nn.Linear(int(backbone.num_features), embedding_dim, bias=False),
            nn.BatchNorm1d(embedding_dim),
        )
        self.embedding_dim = embedding_dim
        self._frozen: list[nn.Module] = []

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Backbone feature map (N, C, h, w), or tokens (N, T, C) for transformers."""
        return self.backbone.forward_features(images)

    def embed_features(self, features: torch.Tensor) -> torch.Tensor:
        """Pool, project and normalise features from :meth:`features`.

        Feature maps are GeM-pooled; transformer tokens (which may be negative, so GeM does
        not apply) are averaged.
        """
        if features.ndim == 4:
            pooled = self.pool(features)
        elif features.ndim == 3:
            pooled = features.float().mean(dim=1)
        else:
            pooled = features.float().flatten(1)
        projected = self.neck(self.dropout(pooled.to(self.neck[0].weight.dtype)))
        return F.normalize(projected.float(), dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed_features(self.features(images))

    # -------------------------------------------------------------------- freezing
    def freeze(self, stages: int | None) -> int:
        """Freeze the stem and the first ``stages`` backbone stages (``None``: the whole
        backbone; ``0``: nothing). Frozen BatchNorms keep their running statistics. Returns
        the number of frozen parameters."""
        for module in self._frozen:
            for param in module.parameters():
                param.requires_grad_(True)
        self._frozen = []
        if stages == 0:
            return 0
        if stages is None:
            self._frozen = [self.backbone]
        else:
            stem, blocks = backbone_stages(self.backbone)
            if stages > len(blocks):
                raise ConfigError(
                    f"--freeze-stages {stages} exceeds the {len(blocks)} stages of the backbone."
                )
            self._frozen = stem + blocks[:stages]
        count = 0
        for module in self._frozen:
            for param in module.parameters():
                param.requires_grad_(False)
                count += param.numel()
        self.train(self.training)
        return count

    def train(self, mode: bool = True) -> EmbeddingModel:
        super().train(mode)
        for module in self._frozen:
            module.eval()
        return self


class PooledBackbone(nn.Module):
    """Backbone + GeM + L2 norm without a neck: an untrained-head embedding for cleaning."""

    def __init__(self, backbone: nn.Module, gem_p: float = 3.0) -> None:
        super().__init__()
        self.backbone = backbone
        self.pool = GeM(gem_p)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone.forward_features(images)
        pooled = self.pool(features) if features.ndim == 4 else features.float().mean(dim=1)
        return F.normalize(pooled, dim=1)


def build_model(config: Any, *, pretrained: bool | None = None,
                exportable: bool = False) -> EmbeddingModel:
    """The embedding model described by a resolved config.

    ``pretrained`` overrides ``config.pretrained`` (loading a checkpoint passes False: its
    weights replace any ImageNet ones anyway). ``exportable`` asks timm for ONNX-friendly
    static padding; parameter names are the same either way.
    """
    from trainer.weights import create_backbone

    want = config.pretrained if pretrained is None else pretrained
    backbone = create_backbone(
        config.backbone,
        pretrained=want,
        pretrained_file=config.pretrained_file if want else None,
        drop_path_rate=config.drop_path_rate,
        exportable=exportable,
    )
    return EmbeddingModel(backbone, embedding_dim=config.embedding_dim, gem_p=config.gem_p,
                          drop_rate=config.drop_rate)


def build_pooled_backbone(config: Any) -> PooledBackbone:
    from trainer.weights import create_backbone

    backbone = create_backbone(
        config.backbone, pretrained=config.pretrained,
        pretrained_file=config.pretrained_file if config.pretrained else None,
    )
    return PooledBackbone(backbone, config.gem_p).eval()

