# SPDX-License-Identifier: GPL-3.0-or-later
"""Embed photos and classify them the way photolm does: nearest prototype by cosine.

A class prototype is the normalised mean of its photos' (unit) embeddings. Prototypes are
(P, D) unit rows with one class index per row, the same shape as a bundle's
``prototypes.npz``, so several prototypes per class work too (a class scores the best of
its rows). ``export`` reuses :func:`embed_paths` and :func:`class_prototypes` to build the
bundle, and ``trainer evaluate`` uses :func:`classify` to score a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from trainer.transforms import EvalPreprocess, EvalTransform


class Progress:
    """Progress hooks (no-ops by default): one stage per set of photos embedded."""

    def stage(self, label: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


def embed_paths(
    model: torch.nn.Module,
    paths: Sequence[str | Path],
    preprocess: EvalPreprocess,
    *,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    workers: int = 0,
    on_bad: Callable[[str, str], None] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (N, D) float32 of ``paths`` with the evaluation transform, and a mask of
    the photos that could be decoded (rows of undecodable photos are zero).

    ``on_bad(path, reason)`` is called once per undecodable photo; ``on_batch(n)`` after
    every batch of n photos (for progress bars).
    """
    from torch.utils.data import DataLoader

    from trainer.data import ImageDataset, Sample, collate_skip_bad

    samples = [Sample(path=str(p), label=-1, key=str(p)) for p in paths]
    dataset = ImageDataset(samples, EvalTransform(preprocess), draft=preprocess.decode_target)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        collate_fn=collate_skip_bad, worker_init_fn=_one_thread)
    device = torch.device(device)
    model = model.to(device).eval()
    dim = None
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    with torch.inference_mode():
        for batch in loader:
            for index, reason in batch["bad"]:
                if on_bad is not None:
                    on_bad(samples[index].path, reason or "cannot decode")
            if batch["images"] is not None:
                emb = model(batch["images"].to(device)).float().cpu().numpy()
                dim = emb.shape[1]
                chunks.append((batch["indices"].numpy(), emb))
            if on_batch is not None:
                on_batch(len(batch["bad"]) + (0 if batch["images"] is None
                                              else len(batch["images"])))
    if dim is None:
        dim = int(getattr(model, "embedding_dim", 0)) or 1
    embeddings = np.zeros((len(samples), dim), dtype=np.float32)
    ok = np.zeros(len(samples), dtype=bool)
    for indices, emb in chunks:
        embeddings[indices] = emb
        ok[indices] = True
    return embeddings, ok


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)


def class_prototypes(embeddings: np.ndarray, labels: Sequence[int] | np.ndarray,
                     num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """(C, D) normalised mean embedding per class, and photo counts per class.

    Classes without photos get a zero row and count 0; :func:`classify` never picks them.
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    sums = np.zeros((num_classes, embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, embeddings)
    counts = np.bincount(labels, minlength=num_classes)[:num_classes]
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    protos = np.where(norms > 0, sums / np.where(norms > 0, norms, 1.0), 0.0)
    return protos.astype(np.float32), counts


def class_scores(embeddings: np.ndarray, prototypes: np.ndarray,
                 prototype_labels: Sequence[int] | np.ndarray | None = None,
                 num_classes: int | None = None) -> np.ndarray:
    """(N, C) cosine of each photo to the best prototype of each class (−inf: no prototype)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    prototypes = np.asarray(prototypes, dtype=np.float32)
    owners = (np.arange(len(prototypes)) if prototype_labels is None
              else np.asarray(prototype_labels, dtype=np.int64))
    classes = int(num_classes if num_classes is not None else owners.max() + 1)
    sims = embeddings @ prototypes.T
    valid = np.linalg.norm(prototypes, axis=1) > 0
    scores = np.full((len(embeddings), classes), -np.inf, dtype=np.float32)
    for column in np.flatnonzero(valid):
        owner = owners[column]
        scores[:, owner] = np.maximum(scores[:, owner], sims[:, column])
    return scores


def classify(embeddings: np.ndarray, prototypes: np.ndarray,
             prototype_labels: Sequence[int] | np.ndarray | None = None, *,
             num_classes: int | None = None, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Top-k classes and their cosine scores for each photo, best first."""
    scores = class_scores(embeddings, prototypes, prototype_labels, num_classes)
    k = min(k, scores.shape[1])
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return top, np.take_along_axis(scores, top, axis=1)


def head_prototypes(head_centres: torch.Tensor | np.ndarray,
                    num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Use a trained head's (C·k, D) centres as prototypes (k per class, class-major)."""
    centres = np.asarray(torch.as_tensor(head_centres).detach().float().cpu().numpy())
    k = centres.shape[0] // num_classes
    return centres, np.repeat(np.arange(num_classes), k)

