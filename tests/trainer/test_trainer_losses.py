# SPDX-License-Identifier: GPL-3.0-or-later
"""Each loss head against an independent numpy formula on small tensors."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from trainer.losses import build_head, dynamic_margins, ldam_margins

C, D, N = 4, 6, 7


def config(**changes: object) -> SimpleNamespace:
    values = {"loss": "arcface", "embedding_dim": D, "margin": 0.3, "scale": 30.0,
              "subcenters": 1, "dynamic_margins": False, "margin_min": 0.05,
              "margin_max": 0.5, "ldam_max_margin": 0.5, "label_smoothing": 0.0}
    values.update(changes)
    return SimpleNamespace(**values)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def arcface_target(cos: np.ndarray, margin: np.ndarray) -> np.ndarray:
    """cos(θ + m), or the monotonic continuation cos θ − m·sin m past θ = π − m."""
    theta = np.arccos(np.clip(cos, -1, 1))
    return np.where(theta <= math.pi - margin, np.cos(theta + margin),
                    cos - margin * np.sin(margin))


def margin_softmax(cos: np.ndarray, labels: np.ndarray, margins: np.ndarray,
                   scale: float) -> float:
    logits = cos.copy()
    rows = np.arange(len(labels))
    logits[rows, labels] = arcface_target(cos[rows, labels], margins[labels])
    return cross_entropy(scale * logits, labels)


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(N, D))
    labels = np.array([0, 1, 2, 3, 0, 2, 1])
    return embeddings, labels


def set_pml_weights(head: torch.nn.Module, weights: np.ndarray, dtype: torch.dtype) -> None:
    """pytorch-metric-learning keeps W as (D, C·k)."""
    with torch.no_grad():
        head.loss.W.data = torch.tensor(weights.T, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_arcface_matches_formula(batch, dtype):
    embeddings, labels = batch
    weights = np.random.default_rng(1).normal(size=(C, D))
    head = build_head(config(loss="arcface", margin=0.4, scale=16.0), C)
    set_pml_weights(head, weights, dtype)
    loss = head(torch.tensor(embeddings, dtype=dtype), torch.tensor(labels))
    cos = unit(embeddings) @ unit(weights).T
    expected = margin_softmax(cos, labels, np.full(C, 0.4), 16.0)
    tolerance = 1e-4 if dtype == torch.float32 else 1e-9
    assert loss.item() == pytest.approx(expected, rel=tolerance)


def test_arcface_uses_monotonic_branch_for_wide_angles():
    # An embedding pointing away from its class centre (θ > π − m) takes cos θ − m·sin m.
    weights = np.eye(C, D)
    embeddings = -np.eye(C, D)[:2] + 0.05
    labels = np.array([0, 1])
    head = build_head(config(loss="arcface", margin=0.5, scale=8.0), C)
    set_pml_weights(head, weights, torch.float64)
    loss = head(torch.tensor(embeddings), torch.tensor(labels))
    cos = unit(embeddings) @ unit(weights).T
    assert np.arccos(cos[[0, 1], labels]).min() > math.pi - 0.5
    assert loss.item() == pytest.approx(margin_softmax(cos, labels, np.full(C, 0.5), 8.0),
                                        rel=1e-9)


def test_subcenter_with_one_centre_equals_arcface(batch):
    embeddings, labels = batch
    weights = np.random.default_rng(2).normal(size=(C, D))
    arc = build_head(config(loss="arcface", margin=0.35), C)
    sub = build_head(config(loss="subcenter-arcface", subcenters=1, margin=0.35,
                            dynamic_margins=False), C)
    set_pml_weights(arc, weights, torch.float64)
    set_pml_weights(sub, weights, torch.float64)
    x1 = torch.tensor(embeddings, requires_grad=True)
    x2 = torch.tensor(embeddings, requires_grad=True)
    loss_arc = arc(x1, torch.tensor(labels))
    loss_sub = sub(x2, torch.tensor(labels))
    loss_arc.backward()
    loss_sub.backward()
    # Equal up to the float32 in which per-class margins are stored.
    assert loss_sub.item() == pytest.approx(loss_arc.item(), rel=1e-6)
    assert torch.allclose(x1.grad, x2.grad, rtol=1e-5, atol=1e-9)
    assert torch.allclose(arc.loss.W.grad, sub.loss.W.grad, rtol=1e-5, atol=1e-9)


def test_dynamic_margins_follow_class_sizes():
    counts = [625, 16, 1]
    margins = dynamic_margins(counts, 0.05, 0.5).numpy()
    t = np.array(counts, dtype=float) ** -0.25  # 0.2, 0.5, 1.0
    expected = 0.05 + 0.45 * (t - t.min()) / (t.max() - t.min())
    assert margins == pytest.approx(expected, rel=1e-6)
    assert margins[2] == pytest.approx(0.5) and margins[0] == pytest.approx(0.05)
    assert dynamic_margins([7, 7], 0.05, 0.5).numpy() == pytest.approx([0.5, 0.5])


def test_subcenter_dynamic_margins_match_formula(batch):
    embeddings, labels = batch
    k = 3
    counts = [100, 40, 10, 1]
    weights = np.random.default_rng(3).normal(size=(C * k, D))  # class-major rows
    head = build_head(config(loss="subcenter-arcface", subcenters=k, dynamic_margins=True,
                             scale=20.0), C, counts)
    set_pml_weights(head, weights, torch.float64)
    loss = head(torch.tensor(embeddings), torch.tensor(labels))
    cos = (unit(embeddings) @ unit(weights).T).reshape(N, C, k).max(axis=2)
    margins = dynamic_margins(counts, 0.05, 0.5).numpy().astype(np.float64)
    assert loss.item() == pytest.approx(margin_softmax(cos, labels, margins, 20.0), rel=1e-6)
    # The head's scores use the same best-sub-centre cosine.
    scores = head.scores(torch.tensor(embeddings, dtype=torch.float32)).detach().numpy()
    assert scores == pytest.approx(cos, abs=1e-5)


def test_ldam_matches_formula(batch):
    embeddings, labels = batch
    counts = [81, 16, 1, 256]
    head = build_head(config(loss="ldam", scale=10.0, ldam_max_margin=0.4), C, counts)
    weights = np.random.default_rng(4).normal(size=(C, D))
    with torch.no_grad():
        head.weight.data = torch.tensor(weights)
    loss = head(torch.tensor(embeddings), torch.tensor(labels))
    delta = np.array(counts, dtype=float) ** -0.25
    delta = delta * 0.4 / delta.max()
    assert ldam_margins(counts, 0.4).numpy() == pytest.approx(delta, rel=1e-6)
    cos = unit(embeddings) @ unit(weights).T
    logits = cos.copy()
    logits[np.arange(N), labels] -= delta[labels]
    assert loss.item() == pytest.approx(cross_entropy(10.0 * logits, labels), rel=1e-6)


def test_softmax_matches_formula(batch):
    embeddings, labels = batch
    head = build_head(config(loss="softmax"), C)
    weights = np.random.default_rng(5).normal(size=(C, D))
    bias = np.random.default_rng(6).normal(size=C)
    with torch.no_grad():
        head.fc.weight.data = torch.tensor(weights)
        head.fc.bias.data = torch.tensor(bias)
    loss = head(torch.tensor(embeddings), torch.tensor(labels))
    expected = cross_entropy(embeddings @ weights.T + bias, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-9)
