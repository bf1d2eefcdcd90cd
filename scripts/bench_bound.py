#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan against the machine's bound, on a JPEG, a HEIC and a mixed library.

The bound is measured from first principles, not with photolm's own threads: one thread
reads each photo as the scan does (``photolm.photo_read.read_photo``: fingerprint, decode
to the model's input, EXIF; libheif held to one thread too) and one onnxruntime thread
computes what the scan stores for it (embedding and descriptor), one photo a run or the
scan's batch size a run, whichever is cheaper per photo. Their core-seconds per photo,
divided into the cores available, is what the machine could do if every core did only
useful work::

    bound = cores / (decode_core_s_per_photo + inference_core_s_per_photo)

``photolm scan`` (a subprocess, fresh catalogue) is timed on the same files in the same
run, repeats interleaved with the bound's measurements so machine load hits both alike;
with ``--baseline-repo`` the same scan of another checkout (e.g. main, "today") too.

    .venv/bin/python scripts/bench_scan.py --bound              # or this file directly
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (  # importing it puts this checkout on sys.path
    BENCH_DIR,
    SHARED_PHOTOS,
    CorpusSpec,
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
    rel,
    scan_args,
    scan_worker,
    source_photos,
    time_inference,
    warm_page_cache,
)

TARGET = 0.85  # the scan must reach this share of the bound (issue 15)

# name -> how the library is made: a camera's JPEGs, an iPhone's HEICs, a mix of both
LIBRARIES = {
    "jpeg": {"png_fraction": 0.0, "heic_fraction": 0.0},
    "heic": {"png_fraction": 0.0, "heic_fraction": 1.0, "portrait_fraction": 0.0},
    "mixed": {"png_fraction": 0.05, "heic_fraction": 0.3},
}


def one_thread_decode_s(found: list[Any], bundle: Any) -> float:
    """Seconds for one thread to read every photo as the scan's worker does."""
    try:
        import pillow_heif
    except ImportError:
        pillow_heif = None
    old = pillow_heif.options.DECODE_THREADS if pillow_heif else None
    if pillow_heif:
        pillow_heif.options.DECODE_THREADS = 1  # libheif would otherwise use 4 threads
    worker = scan_worker()
    try:
        start = time.perf_counter()
        for f in found:
            result = worker(f, bundle)
            if getattr(result, "error", None):
                raise RuntimeError(f"{f.path}: {result.error}")
        return time.perf_counter() - start
    finally:
        if pillow_heif:
            pillow_heif.options.DECODE_THREADS = old


def cpu_s() -> float:
    """CPU seconds of every thread of this process so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_process_scan_cpu_s(corpus: Path, bundle: Any, embedder: Any, opts: argparse.Namespace,
                          work: Path) -> float:
    """CPU seconds, all threads together, of one scan of ``corpus`` in this (warm) process:
    set against the bound's one-thread work it says how much more work the scan does than
    the bound counts, which machine load does not change the way it changes wall time."""
    from photolm.catalog import Catalog
    from photolm.scan import Scanner, ScanOptions

    with tempfile.TemporaryDirectory(dir=work) as folder, \
            Catalog.open(Path(folder) / "catalog.sqlite", write=True) as cat:
        scanner = Scanner(cat, bundle, embedder,
                          ScanOptions(batch_size=opts.batch_size, workers=opts.workers))
        start = cpu_s()
        summary = scanner.run([corpus.resolve()], lambda event: None)
        spent = cpu_s() - start
    if summary.errors:
        raise RuntimeError(f"in-process scan failed: {summary.errors[:3]}")
    return spent


def one_photo_folder(lib: dict[str, Any], work: Path, name: str) -> Path:
    """A folder holding (a hard link to, else a copy of) the library's first photo."""
    import os
    import shutil

    folder = work / f"{name}-one-photo"
    if not folder.is_dir():
        folder.mkdir(parents=True)
        source = lib["found"][0].path
        try:
            os.link(source, folder / source.name)
        except OSError:
            shutil.copy2(source, folder / source.name)
    return folder


def _read_all(paths: list[str]) -> None:
    from photolm.bundle import Preprocess
    from photolm.photo_read import read_photo

    for path in paths:
        read_photo(path, Preprocess())


def effective_cores(found: list[Any], pool: Any, k: int) -> float:
    """How many cores this run really gets: one process reading photos against ``k``
    processes each reading the same, at the same moment. On a quiet machine this is ``k``;
    when other work shares the machine it is what is left for us."""
    paths = [str(f.path) for f in found[:16]]
    while True:  # enough work that process start-up and timer noise do not matter
        start = time.perf_counter()
        list(pool.map(_read_all, [paths]))
        one = time.perf_counter() - start
        if one >= 0.5 or len(paths) >= 1024:
            break
        paths = paths * 2
    start = time.perf_counter()
    list(pool.map(_read_all, [paths] * k))
    many = time.perf_counter() - start
    return k * one / many


def symmetric_pipeline_s(found: list[Any], bundle: Any, embedder: Any, workers: int,
                         batch_size: int) -> float:
    """A design probe, not photolm's scan: each of ``workers`` threads reads a batch of
    photos and embeds it itself with a one-thread onnxruntime session (concurrent ``run``
    calls on one session release the GIL), so no thread ever waits for another; the
    oversubscription and per-operator barriers of a two-thread session beside two decoders
    are gone. Seconds for all photos."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from photolm.photo_read import read_photo

    chunks = [found[i:i + batch_size] for i in range(0, len(found), batch_size)]

    def task(chunk: list[Any]) -> int:
        arrays = [read_photo(f.path, bundle.preprocess, size=f.size).pixels for f in chunk]
        embedder.embed_all(np.stack(arrays))
        return len(arrays)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = sum(pool.map(task, chunks))
    assert done == len(found)
    return time.perf_counter() - start


def run_bound(opts: argparse.Namespace) -> dict[str, Any]:
    from photolm.bundle import read_bundle
    from photolm.embedding import session_for

    bench = opts.bench_dir.resolve()
    bench.mkdir(parents=True, exist_ok=True)
    model = choose_model(opts.model, bench)
    bundle = read_bundle(model.path)
    sources = source_photos(opts.source)
    libraries: dict[str, dict[str, Any]] = {}
    for name in opts.libraries:
        spec = CorpusSpec(n=opts.n, seed=opts.seed, size=opts.size, **LIBRARIES[name])
        corpus, meta = build_corpus(spec, bench, sources=sources, jobs=opts.build_jobs)
        warm_page_cache(corpus)
        found = found_photos(corpus)
        libraries[name] = {"corpus": corpus, "found": found,
                           "batch": make_batch(found, bundle, opts.batch_size),
                           "desc": {**describe_corpus(meta), "path": rel(corpus)},
                           "decode": [], "infer": [], "infer1": [], "scan_wall": [],
                           "scan_own": [], "decode_cpu": [], "infer_cpu": [], "infer1_cpu": [],
                           "scan_cpu": [],
                           "base_wall": [], "base_own": [],
                           "variants": {v: [] for v in opts.variant}, "probe": [],
                           "capacity": [], "scan_one": []}
    # the scan's session: embedding and, when the bundle has one, the descriptor it stores
    embedder = session_for(bundle, device="cpu", threads=1)
    for size in (1, opts.batch_size):  # the first run of a size plans memory: not measured
        embedder.embed_all(next(iter(libraries.values()))["batch"][:size])
    from photolm.scan import scan_session

    scanning = scan_session(bundle, device="cpu", threads=opts.threads)  # in-process scans
    n_cores = cores()
    work = Path(tempfile.mkdtemp(prefix="bound-", dir=bench))
    baseline_env = ({"PYTHONPATH": str(Path(opts.baseline_repo).resolve())}
                    if opts.baseline_repo else None)
    scan_opts = argparse.Namespace(device="cpu", batch_size=opts.batch_size,
                                   workers=opts.workers, threads=opts.threads)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: this process already runs onnxruntime and decode threads, and a child
    # forked from a threaded process can deadlock on a lock some thread held at the fork.
    capacity_pool = ProcessPoolExecutor(max_workers=n_cores,
                                        mp_context=multiprocessing.get_context("spawn"))
    list(capacity_pool.map(_read_all, [[]] * n_cores))  # start the workers: not timed
    for rep in range(opts.repeats):
        for name, lib in libraries.items():
            n = len(lib["found"])
            lib["capacity"].append(effective_cores(lib["found"], capacity_pool, n_cores))
            log(f"repeat {rep + 1}/{opts.repeats}, {name}: one-thread decode, inference, scan")
            for key, run_size in (("decode", 0), ("infer", opts.batch_size), ("infer1", 1)):
                start = cpu_s()  # nothing else runs in this process meanwhile
                lib[key].append(time_inference(embedder, lib["batch"], n, run_size) if run_size
                                else one_thread_decode_s(lib["found"], bundle))
                lib[f"{key}_cpu"].append(cpu_s() - start)
            lib["scan_cpu"].append(in_process_scan_cpu_s(lib["corpus"], bundle, scanning, opts,
                                                          work))
            catalog = work / f"{name}-{rep}.sqlite"
            run, summary = checked_scan(scan_args(lib["corpus"], catalog, model.path, scan_opts),
                                        expect_processed=n)
            lib["scan_wall"].append(run.wall_s)
            lib["scan_own"].append(summary["seconds"])
            # the same scan of one photo: what a scan costs whatever its size (imports of
            # the decoders, first runs, catalogue set-up), which a per-photo bound leaves out
            _, summary = checked_scan(scan_args(one_photo_folder(lib, work, name),
                                                work / f"{name}-{rep}-one.sqlite", model.path,
                                                scan_opts), expect_processed=1)
            lib["scan_one"].append(summary["seconds"])
            if opts.probe:
                lib["probe"].append(symmetric_pipeline_s(lib["found"], bundle, embedder,
                                                         n_cores, opts.batch_size))
            for variant in opts.variant:  # the scan with other decode / inference threads
                workers, threads = (int(v) for v in variant.split(":"))
                catalog = work / f"{name}-{rep}-{workers}-{threads}.sqlite"
                other = argparse.Namespace(device="cpu", batch_size=opts.batch_size,
                                           workers=workers, threads=threads)
                _, summary = checked_scan(scan_args(lib["corpus"], catalog, model.path, other),
                                          expect_processed=n)
                lib["variants"][variant].append(summary["seconds"])
            if baseline_env:
                catalog = work / f"{name}-{rep}-baseline.sqlite"
                run, summary = checked_scan(
                    scan_args(lib["corpus"], catalog, model.path, scan_opts),
                    expect_processed=n, env_extra=baseline_env)
                lib["base_wall"].append(run.wall_s)
                lib["base_own"].append(summary["seconds"])
    capacity_pool.shutdown()
    results = {}
    for name, lib in libraries.items():
        n = len(lib["found"])
        dec = median(lib["decode"]) / n
        inf_batch, inf_one = median(lib["infer"]) / n, median(lib["infer1"]) / n
        inf = min(inf_batch, inf_one)  # whichever run size the machine does cheaper
        bound = n_cores / (dec + inf)
        row: dict[str, Any] = {
            "corpus": lib["desc"], "photos": n,
            "decode_ms_one_thread": round(1000 * dec, 2),
            "inference_ms_one_thread": round(1000 * inf, 2),
            "inference_ms_one_thread_by_run_size": {
                "1": round(1000 * inf_one, 2), str(opts.batch_size): round(1000 * inf_batch, 2)},
            "bound_photos_per_s": round(bound, 2),
            "scan_photos_per_s_wall": round(n / median(lib["scan_wall"]), 2),
            "scan_photos_per_s_own": round(n / median(lib["scan_own"]), 2),
            "raw": {k: [round(v, 4) for v in lib[k]] for k in
                    ("decode", "infer", "infer1", "scan_wall", "scan_own", "base_wall",
                     "base_own", "decode_cpu", "infer_cpu", "infer1_cpu", "scan_cpu",
                     "capacity", "probe", "scan_one")},
        }
        row["ratio_wall"] = round(row["scan_photos_per_s_wall"] / bound, 3)
        # CPU work: the scan's (in-process, all threads) against the bound's (one thread)
        bound_cpu = (median(lib["decode_cpu"])
                     + min(median(lib["infer_cpu"]), median(lib["infer1_cpu"]))) / n
        row["scan_cpu_ms_per_photo"] = round(1000 * median(lib["scan_cpu"]) / n, 2)
        row["bound_cpu_ms_per_photo"] = round(1000 * bound_cpu, 2)
        row["work_ratio"] = round(median(lib["scan_cpu"]) / n / bound_cpu, 3)
        # the same bound with the cores this run really got (measured beside it)
        capacity = median(lib["capacity"])
        row["effective_cores"] = round(capacity, 2)
        row["bound_effective_photos_per_s"] = round(capacity / (dec + inf), 2)
        row["ratio_own_effective"] = round(
            row["scan_photos_per_s_own"] / row["bound_effective_photos_per_s"], 3)
        row["ratio_own"] = round(row["scan_photos_per_s_own"] / bound, 3)
        # per photo beyond the first: (n - 1) / (scan of n - scan of 1), own seconds
        one = median(lib["scan_one"])
        row["scan_one_photo_s"] = round(one, 4)
        extra = median(lib["scan_own"]) - one
        row["scan_marginal_photos_per_s"] = round((n - 1) / extra, 2) if extra > 0 else None
        row["ratio_marginal"] = (round(row["scan_marginal_photos_per_s"] / bound, 3)
                                 if extra > 0 else None)
        # per repeat, each scan against the bound measured in the same repeat
        row["ratio_own_per_repeat"] = [
            round((n / own) / (n_cores * n / (d + min(i, i1))), 3)
            for d, i, i1, own in zip(lib["decode"], lib["infer"], lib["infer1"],
                                     lib["scan_own"], strict=True)]
        row["variants"] = {
            f"--workers {v.split(':')[0]} --threads {v.split(':')[1]}": {
                "scan_photos_per_s_own": round(n / median(secs), 2),
                "ratio_own": round(n / median(secs) / bound, 3)}
            for v, secs in lib["variants"].items()}
        if lib["probe"]:
            row["probe_symmetric_photos_per_s"] = round(n / median(lib["probe"]), 2)
            row["probe_ratio"] = round(n / median(lib["probe"]) / bound, 3)
            row["probe_ratio_effective"] = round(
                n / median(lib["probe"]) / row["bound_effective_photos_per_s"], 3)
        if lib["base_own"]:
            row["baseline_photos_per_s_own"] = round(n / median(lib["base_own"]), 2)
            row["baseline_photos_per_s_wall"] = round(n / median(lib["base_wall"]), 2)
            row["speedup_own"] = round(median(lib["base_own"]) / median(lib["scan_own"]), 2)
            row["speedup_wall"] = round(median(lib["base_wall"]) / median(lib["scan_wall"]), 2)
        results[name] = row
    return {"cores": n_cores, "model": model_info(model, bundle), "libraries": results,
            "batch_size": opts.batch_size,
            "baseline_repo": opts.baseline_repo, "target": TARGET}


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Command: `{report['command']}`", "",
             f"{report['date']}, {report['cores']} cores ({report['machine']['cpu_model']}), "
             f"load average before {report['load_before']}, after {report['load_after']}; "
             f"model {report['model']['name']} ({report['model']['input']}).", "",
             "| library | decode ms (1 thread) | inference ms (1 thread; a run of 1 / of "
             f"{report['batch_size']} photos) | bound photos/s "
             "| scan photos/s (own / wall) | scan / bound (own / wall) | before photos/s (own) "
             "| speed-up | cores really available | scan / bound with those "
             "| CPU work, scan / bound | scan of 1 photo (s) | photos beyond the first / bound |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in report["libraries"].items():
        lines.append(
            f"| {name} ({r['photos']}) | {r['decode_ms_one_thread']} "
            f"| {' / '.join(str(v) for v in r['inference_ms_one_thread_by_run_size'].values())} "
            f"| {r['bound_photos_per_s']} "
            f"| {r['scan_photos_per_s_own']} / {r['scan_photos_per_s_wall']} "
            f"| **{r['ratio_own']}** / {r['ratio_wall']} "
            f"| {r.get('baseline_photos_per_s_own', '-')} | {r.get('speedup_own', '-')} "
            f"| {r['effective_cores']} | **{r['ratio_own_effective']}** "
            f"| {r['work_ratio']} | {r['scan_one_photo_s']} | {r['ratio_marginal']} |")
    variants = [(name, v, r) for name, row in report["libraries"].items()
                for v, r in row["variants"].items()]
    probes = [(name, r) for name, r in report["libraries"].items()
              if "probe_symmetric_photos_per_s" in r]
    if probes:
        lines += ["", "| library | probe: each thread decodes + embeds its own batch "
                  "(1-thread session) | / bound |", "|---|---:|---:|"]
        lines += [f"| {name} | {r['probe_symmetric_photos_per_s']} | {r['probe_ratio']} "
                  f"({r['probe_ratio_effective']} with the cores really available) |"
                  for name, r in probes]
    if variants:
        lines += ["", "| library | scan variant | photos/s (own) | / bound |",
                  "|---|---|---:|---:|"]
        lines += [f"| {name} | `{v}` | {r['scan_photos_per_s_own']} | {r['ratio_own']} |"
                  for name, v, r in variants]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench_bound.py", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=48, help="photos per library")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--libraries", nargs="+", choices=sorted(LIBRARIES),
                   default=["jpeg", "heic", "mixed"])
    p.add_argument("--model", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=parse_size, default=(4000, 3000), help="photo size WxH")
    p.add_argument("--source", type=Path, default=SHARED_PHOTOS)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--variant", action="append", default=[], metavar="WORKERS:THREADS",
                   help="also scan with these decode workers and onnxruntime threads "
                        "(repeatable), interleaved with the rest")
    p.add_argument("--probe", action="store_true",
                   help="also time a design probe: every thread decodes and embeds its own "
                        "batch with a one-thread session (not photolm's scan)")
    p.add_argument("--baseline-repo", default=None,
                   help="another checkout whose photolm scans the same libraries (before)")
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    p.add_argument("--build-jobs", type=int, default=None)
    p.add_argument("--out-json", type=Path, default=None)
    return p


def main(argv: list[str] | None = None) -> dict[str, Any]:
    opts = build_parser().parse_args(argv)
    load_before = load_average()
    report = {"command": shlex.join([".venv/bin/python", "scripts/bench_bound.py",
                                     *(argv if argv is not None else sys.argv[1:])]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": machine_info(), "load_before": load_before}
    report.update(run_bound(opts))
    report["load_after"] = load_average()
    out = opts.out_json or opts.bench_dir / "bench_bound.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(report), encoding="utf-8")
    log(markdown(report))
    return report


if __name__ == "__main__":
    main()
