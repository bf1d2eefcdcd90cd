# SPDX-License-Identifier: GPL-3.0-or-later
"""The training loop behind ``trainer fit``.

One function, :func:`fit`, takes a config and runs it: device auto-selection (CUDA > Apple
MPS > CPU), mixed precision and channels-last where they pay, DistributedDataParallel when
launched by ``torchrun``, AdamW or SGD with linear warm-up and cosine decay, optional
head-only warm-up epochs and permanently frozen early stages, a checkpoint every epoch
(``last.pt``) and the best by validation GAP (``best.pt``), early stopping, ``--resume``, and
a resumable ``last.pt`` on Ctrl-C. It never prints: progress goes to a :class:`FitCallbacks`
object (the CLI renders it with rich; tune uses it for pruning).

Per-epoch validation scores validation photos against the head's class centres (cheap: no
pass over the training photos); ``trainer evaluate`` measures the real thing, nearest
prototype from training photos, as photolm classifies.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from photolm.errors import PhotolmError
from photolm.runtime import default_threads
from photolm.wording import counted
from trainer.atomic import (
    append_text,
    atomic_copy,
    atomic_write_text,
    output_folder,
    remove_log,
)
from trainer.checkpoint import read_checkpoint, save_checkpoint
from trainer.config import TrainConfig, resolve_config, save_config
from trainer.data import DatasetSplit, ImageDataset, collate_skip_bad, split_from_config
from trainer.errors import (
    ConfigError,
    DataError,
    StorageError,
    TrainerError,
    TrainingInterrupted,
)
from trainer.losses import Head, build_head
from trainer.metrics import global_average_precision, topk_accuracy
from trainer.model import EmbeddingModel, build_model
from trainer.transforms import EvalPreprocess, EvalTransform, train_transform_from_config
from trainer.unsaved_run import RunFolderBefore

LOG_FILE = "log.jsonl"
BAD_IMAGES = "bad_images.txt"
LAST = "last.pt"
BEST = "best.pt"


class FitCallbacks:
    """Hooks for progress display; every method is optional (the defaults do nothing)."""

    def on_start(self, info: dict[str, Any]) -> None: ...

    def on_epoch_start(self, epoch: int, epochs: int, steps: int, frozen: bool) -> None: ...

    def on_step(self, step: int, steps: int, loss: float, images_per_s: float) -> None: ...

    def on_validation(self, batches: int) -> None: ...

    def on_epoch_end(self, record: dict[str, Any], improved: bool) -> None: ...

    def on_bad_image(self, path: str, reason: str) -> None: ...

    def on_message(self, text: str) -> None: ...


@dataclass
class FitResult:
    run_dir: Path
    last: Path
    best: Path | None
    best_gap: float | None
    epochs_done: int
    stopped_early: bool
    history: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- runtime setup


def cpu_threads(requested: int | None) -> int:
    """torch's CPU threads for ``--threads`` (fit, evaluate, clean, explain, tune): the
    number asked for, else every core this process may use, as their help says; not
    torch's own default (physical cores only, or ``$OMP_NUM_THREADS``)."""
    return requested or default_threads()


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an explicit device must exist."""
    name = (name or "auto").lower()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_ok else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"Unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps.") \
            from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                "--device cuda: no CUDA GPU is visible to this torch build "
                f"({torch.__version__}); install a CUDA build of torch or use --device cpu."
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: only {counted(torch.cuda.device_count(), 'GPU')}.")
    elif device.type == "mps" and not mps_ok:
        raise ConfigError("--device mps: Apple MPS is not available here; use --device cpu.")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"Unsupported device {name!r}; use auto, cpu, cuda or mps.")
    return device


def default_workers(device: torch.device) -> int:
    """Data-loading processes: none on small CPUs (decoding the shared ≤320 px photos is
    cheap next to a CPU training step and workers would steal its cores), more on GPUs."""
    cores = default_threads()
    if cores <= 2:
        return 0
    if device.type == "cpu":
        return min(4, cores // 4)
    return min(8, cores - 1)


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _worker_init(worker_id: int) -> None:
    torch.set_num_threads(1)


class WarmupCosine:
    """Per-step learning rate: linear warm-up, then cosine decay to ``min_ratio``.

    Written out instead of LambdaLR so its state is two integers, which a weights-only
    checkpoint can hold.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                 min_ratio: float) -> None:
        self.optimizer = optimizer
        self.total_steps = max(1, total_steps)
        self.warmup_steps = max(0, warmup_steps)
        self.min_ratio = min_ratio
        self.step_count = 0
        self.apply()

    def factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / (self.warmup_steps + 1)
        span = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / span)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    def apply(self) -> None:
        factor = self.factor(self.step_count)
        for group in self.optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor

    def step(self) -> None:
        self.step_count += 1
        self.apply()

    def state_dict(self) -> dict[str, int]:
        return {"step_count": self.step_count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state.get("step_count", 0))
        self.apply()


class _TrainModule(nn.Module):
    """Model + head as one module, so DDP synchronises both; the loss runs in float32."""

    def __init__(self, model: EmbeddingModel, head: Head, device_type: str) -> None:
        super().__init__()
        self.model = model
        self.head = head
        self.device_type = device_type

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        embeddings = self.model(images)
        with torch.autocast(device_type=self.device_type, enabled=False):
            return self.head(embeddings.float(), labels)


def build_optimizer(config: TrainConfig, model: EmbeddingModel,
                    head: Head) -> torch.optim.Optimizer:
    """Backbone at ``lr * backbone_lr_scale``, the rest at ``lr``; no weight decay on
    biases, norms and GeM's p (1-D parameters)."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for module, is_backbone in ((model.backbone, True), (model.pool, False),
                                (model.neck, False), (head, False)):
        for param in module.parameters():
            groups.setdefault((is_backbone, param.ndim >= 2), []).append(param)
    param_groups = []
    for (is_backbone, decay), params in sorted(groups.items()):
        lr = config.lr * (config.backbone_lr_scale if is_backbone else 1.0)
        param_groups.append({"params": params, "lr": lr, "base_lr": lr,
                             "weight_decay": config.weight_decay if decay else 0.0})
    if config.optimizer == "sgd":
        return torch.optim.SGD(param_groups, lr=config.lr, momentum=config.momentum,
                               nesterov=config.momentum > 0)
    return torch.optim.AdamW(param_groups, lr=config.lr)


# --------------------------------------------------------------------------- the loop


class _Trainer:
    """State of one run; split out of :func:`fit` to keep each step readable."""

    def __init__(self, config: TrainConfig, callbacks: FitCallbacks, dist: DistInfo) -> None:
        self.config = config
        self.cb = callbacks
        self.dist = dist
        self.run_dir = Path(config.out or "runs/train")
        self.device = select_device(config.device)
        if dist.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", dist.local_rank)
        cuda = self.device.type == "cuda"
        self.amp = config.amp if config.amp is not None else cuda
        self.amp_dtype = torch.bfloat16
        if self.amp and cuda and not torch.cuda.is_bf16_supported():
            self.amp_dtype = torch.float16
        if self.amp and self.device.type == "mps":
            self.amp_dtype = torch.float16
        self.channels_last = (config.channels_last if config.channels_last is not None
                              else self.device.type in ("cuda", "cpu"))
        self.workers = (config.workers if config.workers is not None
                        else default_workers(self.device))
        self.threads = cpu_threads(config.threads)
        self.reported_bad: set[str] = set()
        self.listed_bad: set[str] = set()  # in bad_images.txt already (a resumed run's)

    # ------------------------------------------------------------------ data
    def make_loaders(self, split: DatasetSplit) -> tuple[Any, Any, Any]:
        from torch.utils.data import DataLoader, DistributedSampler

        config = self.config
        train_ds = ImageDataset(split.train, train_transform_from_config(config),
                                draft=config.resize)
        sampler = None
        if self.dist.world > 1:
            sampler = DistributedSampler(train_ds, num_replicas=self.dist.world,
                                         rank=self.dist.rank, shuffle=True, seed=config.seed,
                                         drop_last=True)
        self.generator = torch.Generator()
        self.generator.manual_seed(config.seed)
        common = {"num_workers": self.workers, "collate_fn": collate_skip_bad,
                  "pin_memory": self.device.type == "cuda", "worker_init_fn": _worker_init,
                  "persistent_workers": self.workers > 0}
        train = DataLoader(train_ds, batch_size=config.batch_size, shuffle=sampler is None,
                           sampler=sampler, generator=self.generator,
                           drop_last=len(train_ds) > config.batch_size, **common)
        val = None
        if split.val and self.dist.main:
            pre = EvalPreprocess.from_config(config)
            val_ds = ImageDataset(split.val, EvalTransform(pre), draft=pre.decode_target)
            val = DataLoader(val_ds, batch_size=config.eval_batch_size, shuffle=False, **common)
        return train, val, sampler

    def report_bad(self, dataset: ImageDataset, bad: list[tuple[int, str | None]]) -> None:
        if not self.dist.main:
            return
        for index, reason in bad:
            path = dataset.samples[index].path
            if path in self.reported_bad:
                continue
            self.reported_bad.add(path)
            self.cb.on_bad_image(path, reason or "cannot decode")
            if path not in self.listed_bad:
                append_text(self.run_dir / BAD_IMAGES, f"{path}\t{reason}\n")

    # ------------------------------------------------------------------ steps
    def to_device(self, images: torch.Tensor) -> torch.Tensor:
        images = images.to(self.device, non_blocking=True)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def train_epoch(self, epoch: int, loader: Any, module: nn.Module, optimizer: Any,
                    scheduler: WarmupCosine, scaler: Any, steps: int, frozen: bool) -> dict:
        config = self.config
        params = [p for p in module.parameters() if p.requires_grad]
        module.train()
        self.generator.manual_seed(config.seed + epoch)
        if hasattr(loader.sampler, "set_epoch"):
            loader.sampler.set_epoch(epoch)
        if self.dist.main:
            self.cb.on_epoch_start(epoch, config.epochs, steps, frozen)
        started = time.perf_counter()
        seen = 0
        loss_sum = 0.0
        counted = 0
        for step, batch in enumerate(loader):
            if step >= steps:
                break
            self.report_bad(loader.dataset, batch["bad"])
            images = batch["images"]
            if self._skip(images is None or len(images) < 2):  # BatchNorm needs two samples
                continue
            images = self.to_device(images)
            labels = batch["labels"].to(self.device, non_blocking=True)
            with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype,
                                enabled=self.amp):
                loss = module(images, labels)
            if not torch.isfinite(loss):
                raise TrainerError(
                    f"The loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}; "
                    "lower --lr (or --scale), or try --no-amp."
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if config.grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            value = float(loss.item())
            loss_sum += value * len(images)
            counted += len(images)
            seen += len(images) * self.dist.world
            rate = seen / max(1e-9, time.perf_counter() - started)
            if self.dist.main:
                self.cb.on_step(step + 1, steps, value, rate)
        elapsed = time.perf_counter() - started
        return {"train_loss": loss_sum / counted if counted else float("nan"),
                "images_per_s": seen / elapsed if elapsed > 0 else 0.0,
                "train_seconds": elapsed, "train_images": seen}

    def _skip(self, local: bool) -> bool:
        """Skip a step if any process must: with DDP every rank has to take the same steps,
        or the gradient all-reduce would wait forever."""
        if self.dist.world == 1:
            return local
        import torch.distributed as tdist

        flag = torch.tensor([int(local)], device=self.device)
        tdist.all_reduce(flag, op=tdist.ReduceOp.MAX)
        return bool(flag.item())

    def validate(self, loader: Any, model: EmbeddingModel, head: Head) -> dict[str, float]:
        if loader is None:
            return {"val_top1": float("nan"), "val_top5": float("nan"),
                    "val_gap": float("nan"), "val_images": 0}
        model.eval()
        head.eval()
        self.cb.on_validation(len(loader))
        all_scores, all_labels = [], []
        with torch.inference_mode():
            for batch in loader:
                self.report_bad(loader.dataset, batch["bad"])
                if batch["images"] is None:
                    continue
                with torch.autocast(device_type=self.device.type, dtype=self.amp_dtype,
                                    enabled=self.amp):
                    embeddings = model(self.to_device(batch["images"]))
                all_scores.append(head.scores(embeddings.float()).float().cpu().numpy())
                all_labels.append(batch["labels"].numpy())
        if not all_scores:
            return {"val_top1": float("nan"), "val_top5": float("nan"),
                    "val_gap": float("nan"), "val_images": 0}
        scores = np.concatenate(all_scores)
        labels = np.concatenate(all_labels)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :5]
        acc = topk_accuracy(top, labels, (1, 5))
        gap = global_average_precision(top[:, 0], scores.max(axis=1), labels)
        return {"val_top1": acc[1], "val_top5": acc[5], "val_gap": gap,
                "val_images": len(labels)}


def _json_record(record: dict[str, Any]) -> str:
    """One strict-JSON line: undefined metrics (NaN) become null."""
    clean = {k: None if isinstance(v, float) and not math.isfinite(v) else v
             for k, v in record.items()}
    return json.dumps(clean) + "\n"


def _refuse_classes_without_photos(split: DatasetSplit, bad: set[str], run_dir: Path) -> None:
    """A landmark none of whose training photos decodes gets no prototype, so
    ``photolm-export`` refuses the run: say so after the epoch that found out, not after
    the whole run. Only photos tried and failed count, so a capped epoch never trips it."""
    photos: dict[int, int] = defaultdict(int)
    failed: dict[int, int] = defaultdict(int)
    for sample in split.train:
        photos[sample.label] += 1
        failed[sample.label] += sample.path in bad
    hopeless = [split.classes[label].name for label in sorted(photos)
                if failed[label] == photos[label]]
    if not hopeless:
        return
    again = " in a new --out" if (run_dir / LAST).exists() else ""
    raise DataError(
        f"No training photo of {', '.join(hopeless)} could be decoded (listed in "
        f"{run_dir / BAD_IMAGES}), so photolm-export could make no prototype for "
        f"{'it' if len(hopeless) == 1 else 'them'}: fix or remove those photos, then start "
        f"the run again{again}.")


def _append_jsonl(path: Path, record: dict[str, Any]) -> None:
    append_text(path, _json_record(record))


def listed_bad_images(run_dir: Path) -> set[str]:
    """The photos a run's bad_images.txt lists (``PATH<tab>REASON`` lines)."""
    try:
        text = (run_dir / BAD_IMAGES).read_text(encoding="utf-8")
    except OSError:  # none yet; or unreadable, and a photo may then be listed twice
        return set()
    return {line.split("\t", 1)[0] for line in text.splitlines() if line}


def read_log(run_dir: Path | str) -> list[dict[str, Any]]:
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def resume_checkpoint(run_dir: Path | str) -> Path:
    """The checkpoint ``--resume`` continues from. A run folder without one (the run failed
    or was killed before its first epoch ended; a Ctrl-C saves one) is one line saying so
    and how to start the run over: from its config.json when it got that far."""
    import shlex

    run_dir = Path(run_dir)
    if (run_dir / LAST).is_file():
        return run_dir / LAST
    out = shlex.quote(str(run_dir))  # a command to paste, whatever the folder's name
    if not run_dir.is_dir():
        raise ConfigError(f"Nothing to resume: {run_dir} does not exist. Start a run with: "
                          f"trainer fit DATA... --out {out}")
    config = run_dir / "config.json"
    again = (f"trainer fit --config {shlex.quote(str(config))} --out {out}"
             if config.is_file() else f"trainer fit DATA... --out {out}")
    raise ConfigError(f"Nothing to resume in {run_dir}: it holds no {LAST} (the run ended "
                      f"before its first epoch did). Start it over with: {again}")


def prepare_run_dir(config: TrainConfig, resume: bool) -> Path:
    if not config.out:
        raise ConfigError("No run folder: pass --out RUN_DIR.")
    run_dir = output_folder(config.out, create=False)
    if resume:
        resume_checkpoint(run_dir)
    elif (run_dir / LAST).exists() or (run_dir / BEST).exists():
        raise ConfigError(
            f"{run_dir} already holds a run; pass --resume to continue it, or choose another "
            "--out."
        )
    output_folder(run_dir)
    return run_dir


def fit(config: TrainConfig, *, resume: bool = False,
        callbacks: FitCallbacks | None = None) -> FitResult:
    """Train the model described by ``config`` into ``config.out``.

    With ``resume`` the run continues from ``config.out/last.pt`` (pass the checkpoint's
    config, see :func:`trainer.config.config_for_resume`). Raises
    :class:`~trainer.errors.TrainingInterrupted` after saving ``last.pt`` on Ctrl-C.
    """
    cb = callbacks or FitCallbacks()
    dist = init_distributed()
    config = resolve_config(config)
    if not dist.main:
        return _train(config, resume, cb, dist, Path(config.out or "."))
    before = None if resume or not config.out else RunFolderBefore.look(config.out)
    run_dir = prepare_run_dir(config, resume)
    try:
        return _train(config, resume, cb, dist, run_dir)
    except BaseException as exc:
        removed = before.tidy() if before is not None else ""
        if not removed:
            raise
        if isinstance(exc, KeyboardInterrupt):
            raise TrainingInterrupted(f"stopped before the first epoch ended. {removed}",
                                      exc) from None
        if isinstance(exc, PhotolmError):
            exc.args = (f"{str(exc).rstrip('.')}. {removed}",)
        elif isinstance(exc, Exception):
            exc.add_note(removed)
        raise


def _train(config: TrainConfig, resume: bool, cb: FitCallbacks, dist: DistInfo,
           run_dir: Path) -> FitResult:
    """:func:`fit` in a prepared run folder (``config`` resolved)."""
    state = read_checkpoint(run_dir / LAST) if resume else None

    seed_everything(config.seed + dist.rank)
    trainer = _Trainer(config, cb, dist)
    trainer.run_dir = run_dir
    if trainer.device.type == "cpu":
        torch.set_num_threads(trainer.threads)
    if trainer.device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    split = split_from_config(config, expected_classes=state["classes"] if state else None,
                              expected_photos=state.get("photos_sha256") if state else None)
    photos_sha256 = split.photos_sha256()
    classes = split.classes
    counts = [0] * len(classes)
    for sample in split.train:
        counts[sample.label] += 1
    if not split.train:
        raise TrainerError("The split left no training photos; lower the split ratios.")
    if len(classes) < 2:  # ArcFace's loss is 0 from the start: nothing would be learnt
        raise DataError(f"Only one landmark ({classes[0].name}) in the data; a recognition "
                        "model needs photos of at least 2 landmarks.")

    model = build_model(config, pretrained=False if state else None)
    head = build_head(config, len(classes), counts)
    if state is not None:
        model.load_state_dict(state["model"])
        head.load_state_dict(state["head"])
    model.to(trainer.device)
    head.to(trainer.device)
    if trainer.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(config, model, head)
    train_loader, val_loader, _ = trainer.make_loaders(split)
    per_epoch = len(train_loader)
    if config.max_steps_per_epoch:
        per_epoch = min(per_epoch, config.max_steps_per_epoch)
    if per_epoch == 0:
        raise TrainerError("Not enough training photos for one batch; lower --batch-size.")
    scheduler = WarmupCosine(optimizer, total_steps=per_epoch * config.epochs,
                             warmup_steps=round(config.warmup_epochs * per_epoch),
                             min_ratio=config.min_lr_ratio)
    # Loss scaling only for float16 on CUDA; bfloat16 has float32's range.
    fp16 = trainer.amp and trainer.amp_dtype == torch.float16
    scaler = torch.amp.GradScaler(trainer.device.type,
                                  enabled=fp16 and trainer.device.type == "cuda")

    start_epoch, best_gap, since_best = 0, -math.inf, 0
    history: list[dict[str, Any]] = []
    if state is not None:
        if state.get("optimizer"):
            optimizer.load_state_dict(state["optimizer"])
            for group in optimizer.param_groups:
                group["base_lr"] = group.get("base_lr", group["lr"])
        if state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler") and scaler.is_enabled():
            scaler.load_state_dict(state["scaler"])
        start_epoch = int(state.get("epoch", 0))
        metrics = state.get("metrics") or {}
        saved_best = metrics.get("best_val_gap")
        best_gap = -math.inf if saved_best is None else float(saved_best)
        since_best = int(metrics.get("epochs_since_best", 0))
        logged = read_log(run_dir)
        history = [r for r in logged if r.get("epoch", 0) <= start_epoch]
        if dist.main and len(history) != len(logged):  # epochs logged but not checkpointed
            atomic_write_text(run_dir / LOG_FILE, "".join(_json_record(r) for r in history))

    if dist.main:
        save_config(config, run_dir / "config.json")
        if state is None:  # a fresh run's logs are its own, not an earlier attempt's (one
            # that failed before its first checkpoint leaves bad_images.txt to fix from)
            for name in (BAD_IMAGES, LOG_FILE):
                remove_log(run_dir / name)
        else:  # resumed: the list goes on, a photo it holds not written twice
            trainer.listed_bad = listed_bad_images(run_dir)
        atomic_write_text(run_dir / "classes.json",
                          json.dumps([c.to_dict() for c in classes], indent=1,
                                     ensure_ascii=False) + "\n")
        atomic_write_text(run_dir / "split.json",
                          json.dumps(split.summary(), indent=1, ensure_ascii=False) + "\n")
        cb.on_start({
            "run_dir": str(run_dir), "device": str(trainer.device), "amp": trainer.amp,
            "amp_dtype": str(trainer.amp_dtype).replace("torch.", "") if trainer.amp else None,
            "channels_last": trainer.channels_last, "workers": trainer.workers,
            "threads": trainer.threads if trainer.device.type == "cpu" else None,
            "world_size": dist.world, "classes": len(classes), "split": split.summary(),
            "notes": list(split.index.notes), "start_epoch": start_epoch,
            "steps_per_epoch": per_epoch,
            "parameters": sum(p.numel() for p in model.parameters()),
        })

    def checkpoint_metrics(extra: dict[str, Any]) -> dict[str, Any]:
        return {"best_val_gap": best_gap if best_gap > -math.inf else None,
                "epochs_since_best": since_best, **extra}

    def save(path: Path, epoch_done: int, extra: dict[str, Any]) -> None:
        save_checkpoint(path, config=config, classes=classes, model=model, head=head,
                        epoch=epoch_done, metrics=checkpoint_metrics(extra),
                        optimizer=optimizer, scheduler=scheduler, scaler=scaler,
                        extra={"photos_sha256": photos_sha256})

    def wrap(frozen: bool) -> nn.Module:
        # Which parameters need gradients changes with freezing, and DDP fixes that set when
        # it wraps a module, so the wrapper is rebuilt whenever the frozen state changes.
        model.freeze(None if frozen else config.freeze_stages)
        module: nn.Module = _TrainModule(model, head, trainer.device.type)
        if dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [trainer.device.index] if trainer.device.type == "cuda" else None
            module = DistributedDataParallel(module, device_ids=ids)
        return module

    def patience_spent() -> bool:
        return bool(config.patience and val_loader is not None
                    and since_best >= config.patience)

    # A run that stopped early would otherwise train one more epoch per resume and stop again.
    stopped_before = state is not None and patience_spent() and start_epoch < config.epochs
    if start_epoch >= config.epochs and dist.main:
        cb.on_message(f"{run_dir} already trained {counted(start_epoch, 'epoch')}; pass a larger "
                      "--epochs to train longer.")
    elif stopped_before and dist.main:
        cb.on_message(f"{run_dir} stopped early after {counted(start_epoch, 'epoch')}: no "
                      f"better validation GAP for {counted(since_best, 'epoch')}; pass a larger "
                      "--patience (0 = never stop) to train on.")
    wrapped_frozen = start_epoch < config.frozen_epochs
    wrapped = wrap(wrapped_frozen)
    epoch = epochs_done = start_epoch
    stopped_early = stopped_before
    try:
        for epoch in range(start_epoch, start_epoch if stopped_before else config.epochs):
            frozen = epoch < config.frozen_epochs
            if wrapped_frozen != frozen:
                wrapped, wrapped_frozen = wrap(frozen), frozen
            train_stats = trainer.train_epoch(epoch, train_loader, wrapped, optimizer,
                                              scheduler, scaler, per_epoch, frozen)
            if dist.main:
                _refuse_classes_without_photos(split, trainer.reported_bad, run_dir)
                val_stats = trainer.validate(val_loader, model, head)
                gap = val_stats["val_gap"]
                improved = bool(math.isnan(gap) or gap > best_gap)
                if improved and not math.isnan(gap):
                    best_gap, since_best = gap, 0
                elif not improved:
                    since_best += 1
                record = {"epoch": epoch + 1, **train_stats, **val_stats,
                          "lr": max(g["lr"] for g in optimizer.param_groups),
                          "frozen_backbone": frozen,
                          "best_val_gap": best_gap if best_gap > -math.inf else None,
                          "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
                save(run_dir / LAST, epoch + 1, {"last": record})
                epochs_done = epoch + 1
                history.append(record)
                _append_jsonl(run_dir / LOG_FILE, record)
                if improved:
                    atomic_copy(run_dir / LAST, run_dir / BEST)
                cb.on_epoch_end(record, improved)
                stop = patience_spent()
            else:
                stop = False
            if dist.world > 1:
                import torch.distributed as tdist

                flag = torch.tensor([int(stop)], device=trainer.device)
                tdist.broadcast(flag, 0)
                stop = bool(flag.item())
            if stop:
                stopped_early = True
                if dist.main:
                    cb.on_message(f"Early stopping: no better validation GAP for "
                                  f"{counted(since_best, 'epoch')}.")
                break
    except StorageError as exc:  # a full disk mid-run: say what is safe on it
        saved = (f" {run_dir / LAST} holds epoch {epochs_done}: continue with trainer fit "
                 f"--resume --out {run_dir}" if epochs_done and (run_dir / LAST).is_file()
                 else " No epoch was saved: start the run over")
        raise StorageError(f"{exc}{saved}.") from None
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (photolm.ctrl_c)
        if dist.main:
            save(run_dir / LAST, epochs_done, {"interrupted": True})
        raise TrainingInterrupted(
            f"stopped in epoch {epoch + 1}; saved {run_dir / LAST} after "
            f"{counted(epochs_done, 'complete epoch')} (an unfinished epoch is run again). "
            "Continue with: "
            f"trainer fit --resume --out {run_dir}", exc
        ) from None
    finally:
        if dist.world > 1:
            import torch.distributed as tdist

            if tdist.is_initialized():
                tdist.destroy_process_group()

    best = run_dir / BEST
    return FitResult(
        run_dir=run_dir, last=run_dir / LAST, best=best if best.is_file() else None,
        best_gap=best_gap if best_gap > -math.inf else None,
        epochs_done=len(history), stopped_early=stopped_early, history=history,
    )

