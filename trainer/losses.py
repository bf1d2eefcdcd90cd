# SPDX-License-Identifier: GPL-3.0-or-later
"""Loss heads, selectable by name: ``arcface``, ``subcenter-arcface``, ``ldam``, ``softmax``.

A head holds the class weights and turns (embeddings, labels) into a loss; it also scores
embeddings against its class centres, which the training loop uses for its cheap per-epoch
validation. Heads are trained alongside the embedding model and stored in the checkpoint,
but they never reach the bundle: photolm classifies by nearest prototype.

Where the code comes from:

* ``arcface`` — pytorch-metric-learning's ``ArcFaceLoss`` as is (Deng et al. 2019:
  cos(θ_y + m) on the target, the monotonic ``cos θ − m·sin m`` fallback past π − m).
* ``subcenter-arcface`` — pytorch-metric-learning's ``SubCenterArcFaceLoss`` (Deng et al.
  2020, k centres per class, max over them), subclassed to take one margin per class: the
  dynamic margins of the 2020 Google Landmark Recognition winners (Henkel & Singer; Ha et
  al.): ``m_c = margin_min + (margin_max − margin_min) · norm(n_c^−1/4)``, where ``norm``
  maps the class sizes' n^−1/4 linearly onto [0, 1] as in their code, so the rarest class
  gets ``margin_max`` and the largest ``margin_min`` (all equal sizes: ``margin_max``). With
  ``--no-dynamic-margins`` every class gets ``margin``, and with k = 1 it equals ``arcface``.
* ``ldam`` — own code (pytorch-metric-learning has no LDAM): Cao et al. 2019,
  ``s · (cos θ_j − Δ_y [j = y])`` with ``Δ_c ∝ n_c^−1/4`` scaled so the largest is
  ``ldam_max_margin``, on normalised weights and embeddings, as in the authors' code.
* ``softmax`` — own code, the baseline: a linear classifier on the embedding and
  cross-entropy (with optional label smoothing).

Margins are in radians. pytorch-metric-learning takes degrees and stores its weight matrix
as (D, C·k); :meth:`Head.centres` always returns unit rows shaped (C·k, D), class-major.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from pytorch_metric_learning.losses import ArcFaceLoss, SubCenterArcFaceLoss
from torch import nn

from trainer.errors import ConfigError


class Head(nn.Module):
    """Common interface of the loss heads."""

    name: str = ""
    num_classes: int
    subcenters: int = 1

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def centres(self) -> torch.Tensor:
        """Unit-length class centres (C·k, D), class-major (rows c·k … c·k + k − 1)."""
        raise NotImplementedError

    def scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(N, C) class scores: cosine to the nearest centre of each class."""
        cos = F.normalize(embeddings.float(), dim=1) @ self.centres().float().t()
        return cos.view(cos.shape[0], self.num_classes, self.subcenters).amax(dim=2)


def dynamic_margins(counts: Sequence[int] | torch.Tensor, margin_min: float,
                    margin_max: float) -> torch.Tensor:
    """Per-class margins from class sizes: rare classes get larger margins."""
    n = torch.as_tensor(counts, dtype=torch.float64).clamp(min=1)
    t = n.pow(-0.25)
    spread = t.max() - t.min()
    norm = torch.ones_like(t) if spread <= 1e-12 else (t - t.min()) / spread
    return (margin_min + (margin_max - margin_min) * norm).float()


def ldam_margins(counts: Sequence[int] | torch.Tensor, max_margin: float) -> torch.Tensor:
    """Δ_c = C / n_c^{1/4}, with C chosen so that the largest margin is ``max_margin``."""
    t = torch.as_tensor(counts, dtype=torch.float64).clamp(min=1).pow(-0.25)
    return (t * (max_margin / t.max())).float()


class _PerClassMarginSubCenterArcFace(SubCenterArcFaceLoss):
    """pytorch-metric-learning's sub-center ArcFace with one margin (radians) per class."""

    def __init__(self, *, num_classes: int, embedding_size: int, margins: torch.Tensor,
                 scale: float, sub_centers: int) -> None:
        super().__init__(num_classes=num_classes, embedding_size=embedding_size,
                         margin=math.degrees(float(margins.max())), scale=scale,
                         sub_centers=sub_centers)
        self.register_buffer("margins", margins.detach().clone().float())
        self._batch_margins: torch.Tensor | None = None

    def compute_loss(self, embeddings, labels, indices_tuple, ref_emb, ref_labels):  # type: ignore[no-untyped-def]
        # The base class hands only the target cosines to modify_cosine_of_target_classes,
        # one per row in row order, so the batch's margins are looked up here.
        self._batch_margins = self.margins.to(embeddings.device)[labels].to(embeddings.dtype)
        try:
            return super().compute_loss(embeddings, labels, indices_tuple, ref_emb, ref_labels)
        finally:
            self._batch_margins = None

    def modify_cosine_of_target_classes(self, cosine_of_target_classes: torch.Tensor):  # type: ignore[no-untyped-def]
        margins = self._batch_margins
        angles = self.get_angles(cosine_of_target_classes)
        return torch.where(
            angles <= math.pi - margins,
            torch.cos(angles + margins),
            torch.cos(angles) - margins * torch.sin(margins),
        )


class ArcFaceHead(Head):
    name = "arcface"

    def __init__(self, num_classes: int, embedding_dim: int, *, margin: float,
                 scale: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.loss = ArcFaceLoss(num_classes=num_classes, embedding_size=embedding_dim,
                                margin=math.degrees(margin), scale=scale)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(embeddings, labels)

    def centres(self) -> torch.Tensor:
        return F.normalize(self.loss.W.t(), dim=1)


class SubCenterArcFaceHead(Head):
    name = "subcenter-arcface"

    def __init__(self, num_classes: int, embedding_dim: int, *, margins: torch.Tensor,
                 scale: float, subcenters: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.subcenters = subcenters
        self.loss = _PerClassMarginSubCenterArcFace(
            num_classes=num_classes, embedding_size=embedding_dim, margins=margins,
            scale=scale, sub_centers=subcenters,
        )

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss(embeddings, labels)

    def centres(self) -> torch.Tensor:
        return F.normalize(self.loss.W.t(), dim=1)


class LDAMHead(Head):
    name = "ldam"

    def __init__(self, num_classes: int, embedding_dim: int, *, margins: torch.Tensor,
                 scale: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_dim))
        nn.init.xavier_uniform_(self.weight)
        self.register_buffer("margins", margins.detach().clone().float())
        self.scale = scale

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cos = F.normalize(embeddings, dim=1) @ F.normalize(self.weight, dim=1).t()
        delta = self.margins.to(cos.dtype)[labels]
        onehot = F.one_hot(labels, self.num_classes).to(cos.dtype)
        return F.cross_entropy(self.scale * (cos - onehot * delta[:, None]), labels)

    def centres(self) -> torch.Tensor:
        return F.normalize(self.weight, dim=1)


class SoftmaxHead(Head):
    name = "softmax"

    def __init__(self, num_classes: int, embedding_dim: int, *,
                 label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.fc = nn.Linear(embedding_dim, num_classes)
        self.label_smoothing = label_smoothing

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.fc(embeddings), labels,
                               label_smoothing=self.label_smoothing)

    def centres(self) -> torch.Tensor:
        return F.normalize(self.fc.weight, dim=1)

    def scores(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (a linear classifier's natural confidence)."""
        return torch.softmax(self.fc(embeddings.float()), dim=1)


HEADS = {"arcface": ArcFaceHead, "subcenter-arcface": SubCenterArcFaceHead,
         "ldam": LDAMHead, "softmax": SoftmaxHead}


def build_head(config: Any, num_classes: int,
               class_counts: Sequence[int] | None = None) -> Head:
    """The head named by ``config.loss``. ``class_counts`` (training photos per class) set
    dynamic and LDAM margins; when loading a checkpoint pass ``None`` and load the state
    dict, which holds the margins."""
    name = config.loss
    if name not in HEADS:
        raise ConfigError(f"Unknown loss {name!r}; choose one of {', '.join(HEADS)}.")
    counts = list(class_counts) if class_counts is not None else [1] * num_classes
    if len(counts) != num_classes:
        raise ConfigError("class_counts must give one count per class.")
    dim = config.embedding_dim
    if name == "arcface":
        return ArcFaceHead(num_classes, dim, margin=config.margin, scale=config.scale)
    if name == "subcenter-arcface":
        if config.dynamic_margins:
            margins = dynamic_margins(counts, config.margin_min, config.margin_max)
        else:
            margins = torch.full((num_classes,), float(config.margin))
        return SubCenterArcFaceHead(num_classes, dim, margins=margins, scale=config.scale,
                                    subcenters=config.subcenters)
    if name == "ldam":
        return LDAMHead(num_classes, dim, margins=ldam_margins(counts, config.ldam_max_margin),
                        scale=config.scale)
    return SoftmaxHead(num_classes, dim, label_smoothing=config.label_smoothing)
