#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the benchmark scripts share: the corpus, the model choice, running photolm, timing.

``bench_scan.py`` (scan speed against its bound) and ``bench_search.py`` (scaled re-scan,
search and memory checks) both import from here and not from each other, so either runs
alone and neither needs the other's 1,000 lines to be understood.

Importing it also sets up the path, once for every benchmark script: this checkout goes first
on ``sys.path``, so ``photolm`` and ``tests`` (the tiny fallback bundle) are this
repository's. A script run as ``python scripts/NAME.py`` finds benchlib beside itself (Python
puts a script's folder first on the path) and needs no set-up of its own; only a script
loaded by file path from elsewhere (the smoke test loads ``bench_scan.py`` so) must put
``scripts/`` on the path before importing benchlib.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # photolm and tests.tinybundle (the fallback model) from here
    sys.path.insert(0, str(REPO))

BENCH_DIR = REPO / ".bench"
SHARED_PHOTOS = REPO.parent / "shared" / "data" / "wonders"
CORPUS_VERSION = 2  # 2: HEICs carry a 320 px thumbnail, as iPhones store
DEFAULT_BACKBONE = "tf_efficientnet_lite0"
TARGETS = {"d_over_c": 0.85, "d_over_e": 5.0, "rescan_10k_s": 3.0, "search_query_ms": 100.0,
           "rss_10k_mb": 1024.0}


# --------------------------------------------------------------------------- small helpers


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("nan")


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, not {text!r}") from None
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError("sizes must be positive")
    return w, h


def rel(path: Path) -> str:
    """A path as the reader should type it: relative to the repository when inside it."""
    try:
        return str(Path(path).resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def photolm_command() -> list[str]:
    exe = Path(sys.executable).with_name("photolm")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "photolm"]


@dataclass
class CliRun:
    wall_s: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    cpu_s: float = 0.0  # user + system time of exactly that process: steadier than wall
    written_mb: float = 0.0  # what it wrote to files (ru_oublock: pages it dirtied, on Linux)

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError:
            raise RuntimeError(
                f"command printed no JSON (exit {self.returncode}): {self.stderr[-800:]}"
            ) from None


# A minimal launcher: the peak RSS that ``wait4`` reports for a child includes the memory of
# the process it was forked from (Linux carries the pre-exec high-water mark over ``execve``),
# so a child forked straight from this benchmark (torch, models, arrays: ~1 GB) would report
# this process's size. A fresh ``python -I -S`` (a few MB) forks the command instead, and
# times it from its own side, so its own start-up is not counted either.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as handle:
    json.dump({"wall": wall, "rc": proc.returncode, "maxrss": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime, "oublock": usage.ru_oublock}, handle)
"""


def run_cli(args: Sequence[str], *, timeout: float | None = None,
            env_extra: dict[str, str] | None = None, cwd: Path | None = None) -> CliRun:
    """Run a command; its wall time and the peak RSS of exactly that process. ``cwd``: where
    it runs (``python -m photolm`` imports the photolm of the folder it runs in first)."""
    env = dict(os.environ)
    env.pop("PHOTOLM_MODEL", None)
    env.update(env_extra or {})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(stats), *args]
        subprocess.run(launcher, stdout=out, stderr=err, env=env, timeout=timeout, check=False,
                       cwd=cwd)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        if not stats.is_file():
            raise RuntimeError(f"could not run {shlex.join(args)}: {stderr[-600:]}")
        data = json.loads(stats.read_text(encoding="utf-8"))
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / (1 << 20)
    return CliRun(data["wall"], data["rc"], stdout, stderr, data["maxrss"] * scale,
                  data["cpu"], data["oublock"] * 512 / 2**20)


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    import numpy
    import PIL
    from PIL import features

    info: dict[str, Any] = {
        "nproc": cores(),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "libjpeg_turbo": bool(features.check_feature("libjpeg_turbo")),
    }
    from photolm.errors import RuntimeMissingError
    from photolm.runtime import import_onnxruntime  # through photolm: its telemetry off

    try:
        onnxruntime = import_onnxruntime()
        info["onnxruntime"] = onnxruntime.__version__
        info["ort_available_providers"] = list(onnxruntime.get_available_providers())
    except RuntimeMissingError:
        info["onnxruntime"] = None
    return info


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class CorpusSpec:
    n: int = 200
    size: tuple[int, int] = (4000, 3000)  # landscape, as stored for JPEG/HEIC
    png_fraction: float = 0.05
    png_size: tuple[int, int] = (2000, 1500)
    heic_fraction: float = 0.05  # only when pillow-heif is importable
    portrait_fraction: float = 0.2  # JPEGs stored landscape with EXIF orientation 6 or 8
    quality: int = 92
    heic_quality: int = 50  # with the noise below: ~3 MB, like a phone's 12 MP HEIC
    heic_thumbnail: int = 320  # an iPhone stores a 320x240 thumbnail; 0: none
    heic_preset: str = "ultrafast"  # x265's slower presets take minutes a 12 MP photo here
    noise: int = 10  # +-noise grey levels: camera-like entropy and file size (~3 MB JPEG)
    seed: int = 0


def heif_available() -> bool:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True


def source_photos(root: Path = SHARED_PHOTOS) -> list[Path]:
    files = sorted(root.glob("*/*.jpg"))
    if not files:
        raise SystemExit(f"No source photos in {root}/*/*.jpg: the corpus is made from them.")
    return files


def corpus_plan(spec: CorpusSpec, sources: Sequence[Path]) -> list[dict[str, Any]]:
    """What each corpus file will be: deterministic in the spec and the source list."""
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    order = [int(i) for i in rng.permutation(spec.n)]
    n_png = math.ceil(spec.n * spec.png_fraction) if spec.png_fraction > 0 else 0
    n_heic = (math.ceil(spec.n * spec.heic_fraction)
              if spec.heic_fraction > 0 and heif_available() else 0)
    n_heic = min(n_heic, max(0, spec.n - n_png))
    n_portrait = min(math.ceil(spec.n * spec.portrait_fraction), spec.n - n_png - n_heic)
    kinds = {}
    for pos, i in enumerate(order):
        if pos < n_png:
            kinds[i] = ("png", 1)
        elif pos < n_png + n_heic:
            kinds[i] = ("heic", 1)
        elif pos < n_png + n_heic + n_portrait:
            kinds[i] = ("jpeg", 6 if pos % 2 == 0 else 8)
        else:
            kinds[i] = ("jpeg", 1)
    picks = rng.choice(len(sources), size=spec.n, replace=len(sources) < spec.n)
    plan = []
    for i in range(spec.n):
        kind, orientation = kinds[i]
        ext = {"jpeg": "jpg", "png": "png", "heic": "heic"}[kind]
        plan.append({
            "name": f"IMG_{i:05d}.{ext}", "kind": kind, "orientation": orientation,
            "source": str(sources[int(picks[i])]), "seed": spec.seed * 100_003 + i,
        })
    return plan


def corpus_dir_for(spec: CorpusSpec, plan: Sequence[dict[str, Any]], base: Path) -> Path:
    key = json.dumps({
        "version": CORPUS_VERSION, "spec": asdict(spec),
        "plan": [(p["name"], p["kind"], p["orientation"], Path(p["source"]).name) for p in plan],
    }, sort_keys=True)
    return base / f"corpus-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _make_photo(job: dict[str, Any]) -> dict[str, Any]:
    """Render one corpus file (runs in a worker process)."""
    import numpy as np
    from PIL import Image

    kind, orientation = job["kind"], job["orientation"]
    width, height = job["png_size"] if kind == "png" else job["size"]
    portrait = orientation in (6, 8)
    up_w, up_h = (height, width) if portrait else (width, height)  # the upright picture
    with Image.open(job["source"]) as src:
        img = src.convert("RGB")
    sw, sh = img.size
    aspect = up_w / up_h
    if sw / sh > aspect:
        cw = max(1, round(sh * aspect))
        img = img.crop(((sw - cw) // 2, 0, (sw - cw) // 2 + cw, sh))
    else:
        ch = max(1, round(sw / aspect))
        img = img.crop((0, (sh - ch) // 2, sw, (sh - ch) // 2 + ch))
    img = img.resize((up_w, up_h), Image.Resampling.BICUBIC)
    if job["noise"]:
        rng = np.random.default_rng(job["seed"])
        amp = int(job["noise"])
        tile = rng.integers(-amp, amp + 1, size=(512, 512, 3), dtype=np.int16)
        arr = np.asarray(img, dtype=np.int16)
        reps = (math.ceil(up_h / 512), math.ceil(up_w / 512), 1)
        arr += np.tile(tile, reps)[:up_h, :up_w]
        np.clip(arr, 0, 255, out=arr)
        img = Image.fromarray(arr.astype(np.uint8))
    if orientation == 6:  # viewers rotate 90° clockwise to show it upright
        img = img.transpose(Image.Transpose.ROTATE_90)
    elif orientation == 8:
        img = img.transpose(Image.Transpose.ROTATE_270)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "BenchCam"
    exif[0x0110] = "BC-1"
    exif[0x0132] = "2024:05:01 12:00:00"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 12:00:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (48.0, 51.0, 29.0)
    gps[3], gps[4] = "E", (2.0, 17.0, 40.0)
    out = Path(job["dir"]) / job["name"]
    tmp = out.with_name(out.name + ".part")
    if kind == "jpeg":
        img.save(tmp, "JPEG", quality=job["quality"], exif=exif.tobytes())
    elif kind == "png":
        img.save(tmp, "PNG", exif=exif.tobytes(), compress_level=6)
    else:
        import pillow_heif

        pillow_heif.register_heif_opener()
        thumbs = [job["heic_thumbnail"]] if job["heic_thumbnail"] else []
        img.save(tmp, "HEIF", quality=job["heic_quality"], exif=exif.tobytes(),
                 thumbnails=thumbs, enc_params={"preset": job["heic_preset"]})
    os.replace(tmp, out)
    return {"name": job["name"], "kind": kind, "orientation": orientation,
            "width": img.width, "height": img.height, "bytes": out.stat().st_size}


def build_corpus(
    spec: CorpusSpec,
    base: Path = BENCH_DIR,
    *,
    sources: Sequence[Path] | None = None,
    jobs: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Make (or reuse) the corpus; returns its photo folder and a description of it."""
    sources = list(sources) if sources is not None else source_photos()
    plan = corpus_plan(spec, sources)
    root = corpus_dir_for(spec, plan, base)
    photos = root / "photos"
    marker = root / "corpus.json"
    if marker.is_file():
        meta = json.loads(marker.read_text(encoding="utf-8"))
        if all((photos / f["name"]).is_file() and (photos / f["name"]).stat().st_size == f["bytes"]
               for f in meta["files"]):
            meta["cached"] = True
            return photos, meta
    photos.mkdir(parents=True, exist_ok=True)
    for stale in photos.iterdir():
        stale.unlink()
    job_list = [dict(p, dir=str(photos), size=spec.size, png_size=spec.png_size,
                     quality=spec.quality, heic_quality=spec.heic_quality,
                     heic_thumbnail=spec.heic_thumbnail, heic_preset=spec.heic_preset,
                     noise=spec.noise) for p in plan]
    jobs = jobs or cores()
    start = time.perf_counter()
    log(f"building corpus: {spec.n} photos {spec.size[0]}x{spec.size[1]} in {rel(root)} "
        f"({jobs} processes; cached for later runs)")
    if jobs <= 1 or len(job_list) <= 2:
        files = [_make_photo(j) for j in job_list]
    else:
        # spawn: a fork of this (threaded) process can deadlock on a lock held at the fork
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            files = list(pool.map(_make_photo, job_list, chunksize=4))
    meta = {
        "spec": asdict(spec), "version": CORPUS_VERSION, "files": files,
        "source": rel(Path(sources[0]).parent.parent),
        "heic": "included" if any(f["kind"] == "heic" for f in files)
        else "not included (--heic-fraction 0)" if spec.heic_fraction <= 0
        else "not included (pillow-heif not installed)",
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    marker.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    meta["cached"] = False
    return photos, meta


def describe_corpus(meta: dict[str, Any]) -> dict[str, Any]:
    files = meta["files"]
    kinds: dict[str, int] = {}
    for f in files:
        kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
    total = sum(f["bytes"] for f in files)
    return {
        "photos": len(files),
        "kinds": kinds,
        "portrait_exif_orientation": sum(f["orientation"] in (6, 8) for f in files),
        "size": "x".join(map(str, meta["spec"]["size"])),
        "png_size": "x".join(map(str, meta["spec"]["png_size"])),
        "total_mb": round(total / 2**20, 1),
        "mean_mb": round(total / max(1, len(files)) / 2**20, 2),
        "heic": meta.get("heic"),
        "cached": meta.get("cached", False),
    }


def warm_page_cache(folder: Path) -> None:
    """Read every file once so all measurements start from the same (warm) cache."""
    for path in sorted(folder.iterdir()):
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


# --------------------------------------------------------------------------- model


@dataclass
class ModelChoice:
    path: Path
    source: str  # how it was chosen


def choose_model(option: str | None, base: Path = BENCH_DIR) -> ModelChoice:
    if option:
        return ModelChoice(Path(option).expanduser().resolve(), "--model")
    for candidate, label in ((REPO / "photolm" / "models" / "default", "embedded default"),
                             (REPO / "runs" / "default" / "bundle", "runs/default/bundle")):
        if (candidate / "manifest.json").is_file():
            return ModelChoice(candidate, label)
    from tests.tinybundle import make_tiny_bundle

    tiny = base / "tiny-bundle"
    if not (tiny / "manifest.json").is_file():
        base.mkdir(parents=True, exist_ok=True)
        make_tiny_bundle(tiny)
    log("WARNING: no real model bundle found (photolm/models/default, runs/default/bundle); "
        "using the tiny test bundle from tests/tinybundle.py: inference figures and ratios "
        "are NOT those of the real model. Pass --model DIR.")
    return ModelChoice(tiny.resolve(), "tiny test bundle (tests/tinybundle.py)")


def model_info(choice: ModelChoice, bundle: Any) -> dict[str, Any]:
    prov = bundle.provenance or {}
    backbone = (prov.get("config") or {}).get("backbone")
    return {
        "path": rel(choice.path),
        "chosen_by": choice.source,
        "name": bundle.name,
        "bundle_id": bundle.bundle_id[:12],
        "precision": bundle.precision,
        "embedding_dim": bundle.embedding_dim,
        "input": f"{bundle.preprocess.size}px (resize {bundle.preprocess.resize}, "
                 f"{bundle.preprocess.interpolation})",
        "backbone": backbone,
        "model_mb": round(bundle.model_path.stat().st_size / 2**20, 2),
    }


# --------------------------------------------------------------------------- measurements


def found_photos(folder: Path) -> list[Any]:
    """The corpus as the scan sees it (``walk_photos``), in path order."""
    from photolm.discovery import Found, walk_photos

    found = [f for f in walk_photos([folder.resolve()]) if isinstance(f, Found)]
    return sorted(found, key=lambda f: str(f.path))


def scan_worker() -> Callable[[Any, Any], Any]:
    """The function the scan runs per photo in its decode threads."""
    import photolm.scan as scan_module

    worker = getattr(scan_module, "_decode", None)
    if worker is not None:
        return worker

    def fallback(found: Any, bundle: Any) -> Any:  # if the private name ever changes
        from photolm.photo_read import read_photo

        return read_photo(found.path, bundle.preprocess, size=found.size)

    return fallback


def scan_window(batch_size: int, workers: int) -> int:
    return max(2 * batch_size, 4 * workers)  # as photolm.scan.Scanner._decode_and_embed


def time_pool(items: Sequence[Any], func: Callable[[Any], Any], workers: int,
              window: int) -> float:
    """Seconds to run ``func`` over ``items`` in a thread pool with a bounded window, results
    consumed in order and dropped, exactly as the scan feeds its decoders."""
    start = time.perf_counter()
    queue: deque[Future[Any]] = deque()
    pending = iter(items)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-decode") as pool:
        def fill() -> None:
            while len(queue) < window:
                item = next(pending, None)
                if item is None:
                    return
                queue.append(pool.submit(func, item))

        fill()
        while queue:
            result = queue.popleft().result()
            error = getattr(result, "error", None)
            if error:
                raise RuntimeError(f"decode failed: {error}")
            fill()
    return time.perf_counter() - start


def time_inference(embedder: Any, batch: Any, total: int, batch_size: int) -> float:
    """Seconds to embed ``total`` photos in batches of ``batch_size`` (last one partial),
    with every output the scan stores (``embed_all``: the descriptor too) when there is one."""
    run = getattr(embedder, "embed_all", None) or embedder.embed
    start = time.perf_counter()
    done = 0
    while done < total:
        k = min(batch_size, total - done)
        run(batch[:k])
        done += k
    return time.perf_counter() - start


def time_scan_inference(embedder: Any, batch: Any, total: int, batch_size: int,
                        workers: int) -> float:
    """Seconds to embed ``total`` photos the way the scan runs its session: one photo a run
    in ``workers`` threads side by side when each run keeps to its thread
    (:func:`photolm.runtime.runs_in_caller`), else batches from one thread."""
    from photolm.runtime import runs_in_caller

    if not runs_in_caller(embedder):
        return time_inference(embedder, batch, total, batch_size)
    run = getattr(embedder, "embed_all", None) or embedder.embed
    one = batch[:1]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench-infer") as pool:
        for _ in pool.map(lambda _: run(one), range(total)):
            pass
    return time.perf_counter() - start


def make_batch(found: Sequence[Any], bundle: Any, batch_size: int) -> Any:
    import numpy as np

    from photolm.images import load_for_model

    arrays = [load_for_model(f.path, bundle.preprocess) for f in found[:batch_size]]
    while len(arrays) < batch_size:
        arrays.append(arrays[len(arrays) % len(found)])
    return np.ascontiguousarray(np.stack(arrays))


def scan_args(corpus: Path, catalog: Path, model: Path, opts: argparse.Namespace) -> list[str]:
    args = [*photolm_command(), "scan", str(corpus), "--catalog", str(catalog),
            "--model", str(model), "--json", "--quiet", "--device", opts.device,
            "--batch-size", str(opts.batch_size)]
    if opts.workers:
        args += ["--workers", str(opts.workers)]
    if opts.threads:
        args += ["--threads", str(opts.threads)]
    return args


def checked_scan(args: Sequence[str], *, expect_processed: int | None = None,
                 expect_unchanged: int | None = None,
                 env_extra: dict[str, str] | None = None) -> tuple[CliRun, dict[str, Any]]:
    run = run_cli(args, env_extra=env_extra)
    summary = run.json()
    if run.returncode != 0:
        raise RuntimeError(f"photolm scan failed (exit {run.returncode}): "
                           f"{json.dumps(summary)[:600]} {run.stderr[-400:]}")
    if expect_processed is not None and summary["processed"] != expect_processed:
        raise RuntimeError(f"expected {expect_processed} processed, got {summary}")
    if expect_unchanged is not None and summary["skipped_unchanged"] != expect_unchanged:
        raise RuntimeError(f"expected {expect_unchanged} unchanged, got {summary}")
    return run, summary


def stage(seconds: list[float], count: int, **extra: Any) -> dict[str, Any]:
    med = median(seconds)
    return {"seconds": [round(s, 4) for s in seconds], "median_s": round(med, 4),
            "photos": count, "photos_per_s": round(rate(count, med), 2), **extra}
