# SPDX-License-Identifier: GPL-3.0-or-later
"""Trainer checkpoints: save and load exactly as docs/architecture.md specifies.

A checkpoint is ``torch.save`` of a dict of tensors and plain Python values only, so it loads
with ``torch.load(path, weights_only=True)`` (no pickle code runs). It is self-contained:
``config`` rebuilds the model and the data split, ``classes`` is the class table, ``model``
the embedding model's state dict, ``head`` the loss head's. Writes are atomic (temporary
file in the same folder, then ``os.replace``), so an interrupted save never destroys the
previous checkpoint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainer.atomic import atomic_write
from trainer.config import TrainConfig
from trainer.data import ClassInfo
from trainer.errors import CheckpointError
from trainer.transforms import EvalPreprocess

FORMAT = "photolm-trainer-checkpoint"
VERSION = 1


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module behind DistributedDataParallel / torch.compile wrappers."""
    while True:
        inner = getattr(module, "module", None) or getattr(module, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return module
        module = inner


def _plain_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in unwrap(module).state_dict().items()}


def save_checkpoint(
    path: Path | str,
    *,
    config: TrainConfig,
    classes: Sequence[ClassInfo | Mapping[str, Any]],
    model: nn.Module,
    head: nn.Module,
    epoch: int,
    metrics: Mapping[str, Any] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    scaler: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically; returns its path."""
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "config": config.to_dict(),
        "classes": [c.to_dict() if isinstance(c, ClassInfo) else dict(c) for c in classes],
        "model": _plain_state(model),
        "head": _plain_state(head),
        "epoch": int(epoch),
        "metrics": dict(metrics or {}),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "versions": {"torch": str(torch.__version__), "timm": _timm_version()},
    }
    payload.update(extra or {})
    return atomic_save(payload, Path(path))


def _timm_version() -> str:
    import timm

    return str(timm.__version__)


def atomic_save(payload: Mapping[str, Any], path: Path) -> Path:
    return atomic_write(Path(path), lambda handle: torch.save(dict(payload), handle))


def read_checkpoint(path: Path | str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The raw checkpoint dict, format-checked."""
    path = Path(path).expanduser()
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                path = path / name
                break
        else:
            raise CheckpointError(f"{path} holds no best.pt or last.pt; train with trainer fit.")
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for damaged or foreign files
        # torch's weights-only refusal is a paragraph asking to file a torch issue; the
        # reason is the line after "WeightsUnpickler error:".
        text = str(exc)
        _, marker, after = text.partition("Unpickler error:")
        lines = [line.strip() for line in (after if marker else text).splitlines()
                 if line.strip()]
        detail = lines[0].split(". ")[0].rstrip(".") if lines else type(exc).__name__
        raise CheckpointError(f"Cannot read checkpoint {path}: not a trainer checkpoint, or a "
                              f"damaged one ({detail[:200]}).") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a photolm trainer checkpoint.")
    version = raw.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {version!r}; this trainer reads up to {VERSION}. "
            "Upgrade photolm."
        )
    for key in ("config", "classes", "model", "head"):
        if key not in raw:
            raise CheckpointError(f"{path} lacks {key!r}; it is damaged or incomplete.")
    raw["_path"] = str(path)
    return raw


@dataclass
class LoadedCheckpoint:
    """A checkpoint ready to use: ``model`` is the embedding model in eval mode."""

    path: Path
    model: nn.Module
    config: TrainConfig
    classes: list[dict[str, Any]]
    head_state: dict[str, torch.Tensor]
    raw: dict[str, Any]
    epoch: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def config_dict(self) -> dict[str, Any]:
        return dict(self.raw["config"])

    @property
    def photos_sha256(self) -> str | None:
        """Which photo went to which split (:meth:`DatasetSplit.photos_sha256`); None in
        checkpoints written before it was recorded."""
        value = self.raw.get("photos_sha256")
        return value if isinstance(value, str) else None

    @property
    def class_infos(self) -> list[ClassInfo]:
        return [ClassInfo.from_dict(c) for c in self.classes]

    @property
    def preprocess(self) -> EvalPreprocess:
        """Evaluation preprocessing (fields as in ``photolm.bundle.Preprocess``)."""
        return EvalPreprocess.from_config(self.config)

    def build_head(self) -> nn.Module:
        """The trained loss head (its centres serve as quick prototypes)."""
        from trainer.losses import build_head

        head = build_head(self.config, len(self.classes))
        try:
            head.load_state_dict(self.head_state)
        except RuntimeError as exc:
            raise CheckpointError(f"{self.path}: head does not match its config ({exc}).")\
                from None
        return head.eval()


def load_checkpoint(
    path: Path | str, map_location: str | torch.device = "cpu", *, exportable: bool = False
) -> LoadedCheckpoint:
    """Load a checkpoint (a .pt file, or a run folder: best.pt, else last.pt) and rebuild its
    embedding model. ``exportable`` builds timm layers with ONNX-friendly static padding."""
    from trainer.model import build_model

    raw = read_checkpoint(path, map_location)
    config = TrainConfig.from_saved(raw["config"])
    try:
        model = build_model(config, pretrained=False, exportable=exportable)
        model.load_state_dict(raw["model"])
    except RuntimeError as exc:
        # torch's first line only says "Error(s) in loading state_dict for EmbeddingModel:";
        # what is wrong (missing keys, a size mismatch) is on the next.
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0] if lines else type(exc).__name__
                  ).rstrip(".")
        if len(detail) > 160:
            detail = detail[:159] + "…"
        raise CheckpointError(f"{raw['_path']}: model weights do not fit its config "
                              f"({detail}).") from None
    model.eval()
    return LoadedCheckpoint(
        path=Path(raw["_path"]),
        model=model,
        config=config,
        classes=[dict(c) for c in raw["classes"]],
        head_state=dict(raw["head"]),
        raw=raw,
        epoch=int(raw.get("epoch", 0)),
        metrics=dict(raw.get("metrics") or {}),
    )
