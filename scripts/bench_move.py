#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Move detection on a large library: a re-scan after photos moved, against one after nothing.

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python scripts/bench_move.py --photos 40000
    git archive main photolm | tar -x -C /tmp/base     # code to compare against, then:
    PYTHONPATH=$PWD nice -n 10 .venv/bin/python scripts/bench_move.py --baseline /tmp/base

The library is ``--photos`` tiny JPEG files (one small picture, each made unique by bytes
after its end marker, so every file has its own fingerprint) in a NAS-like tree
(``NAS/<year>/<day>/IMG_nnnnnn.jpg``, 100 a folder), and a catalogue that holds every one of
them as a scan with the chosen bundle left them (path, size, time, fingerprint, a match and
a stored embedding): written directly, as scripts/bench_search.py writes its rows, so no
photo is decoded to build it. Both are cached under ``.bench/``.

Each case is ``photolm scan LIBRARY --json --quiet`` as a fresh process, on a fresh copy of
that catalogue, in this order within each repeat:

* ``unchanged``: nothing changed (the baseline every ratio is against);
* ``renamed top folder``: ``NAS`` renamed ``NAS-renamed`` (every photo moved);
* ``1 % moved``: every hundredth photo moved into ``NAS/moved/`` (its name kept).

The library is put back after each case. The bound is that no photo is decoded again: each
case must report ``processed`` 0 and the expected ``moved`` count, or the script stops.
Per run: CPU time (user + system of exactly that process: steadier than wall time on a
shared machine, and what a NAS's small CPU pays), wall time, the scan's own ``seconds``,
what it wrote to files (the catalogue and its WAL: ``ru_oublock``) and peak RSS. Medians
of ``--repeats`` runs, with the load average; ratios are of CPU time. With ``--baseline``,
every case runs with that checkout too, interleaved with this one, and the before/after
ratio is printed. With ``--syscalls``, each case also runs once under ``strace -c`` to count
its stat, open and read calls: each is a round trip when the library is on a NAS share,
where they cost more than everything this machine measures.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, REPO, choose_model, load_average, log, median, rel, run_cli

_PER_FOLDER = 100
_MTIME_NS = 1_700_000_000_000_000_000
_TOP = "NAS"


def _jpeg() -> bytes:
    """One small real JPEG; each library file is it plus a few unique bytes after EOI."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 12), (120, 90, 60)).save(out, "JPEG", quality=80)
    return out.getvalue()


def photo_path(library: Path, i: int, top: str = _TOP) -> Path:
    return library / top / str(2000 + i // 10_000) / f"day-{i // _PER_FOLDER:05d}" / \
        f"IMG_{i:06d}.jpg"


def build(bundle: Any, n: int, base: Path) -> tuple[Path, Path]:
    """The library and its catalogue (cached): ``(library folder, catalogue template)``."""
    import numpy as np

    from photolm.catalog import Catalog, ScanResult
    from photolm.fingerprint import fingerprint_bytes

    root = base / f"move-{n}-{bundle.bundle_id[:12]}"
    library, template, marker = root / "library", root / "catalog.sqlite", root / "ready.json"
    if marker.is_file():
        return library, template
    shutil.rmtree(root, ignore_errors=True)
    library.mkdir(parents=True)
    start = time.perf_counter()
    log(f"building {n:,} photos and their catalogue in {rel(root)} (cached for later runs)")
    head = _jpeg()
    rng = np.random.default_rng(4)
    dim = bundle.embedding_dim
    landmarks = list(bundle.landmarks)
    with Catalog.open(template, write=True) as cat:
        cat.replace_landmarks(bundle.bundle_id, bundle.landmarks)
        cat.remember_threshold(bundle.bundle_id, bundle.threshold)
        scan_id = cat.start_scan([str(library)], bundle.bundle_id, bundle.model_id)
        for lo in range(0, n, 1000):
            records = []
            for i in range(lo, min(n, lo + 1000)):
                data = head + i.to_bytes(8, "little")
                path = photo_path(library, i)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                os.utime(path, ns=(_MTIME_NS, _MTIME_NS))
                vec = rng.standard_normal(dim).astype(np.float32)
                lm = landmarks[i % len(landmarks)] if i % 3 == 0 and landmarks else None
                records.append(ScanResult(
                    path=str(path), size=len(data), mtime_ns=_MTIME_NS,
                    content_hash=fingerprint_bytes(data), bundle_id=bundle.bundle_id,
                    model_id=bundle.model_id, landmark_id=lm.id if lm else None,
                    landmark_name=lm.name if lm else None, score=0.9 if lm else None,
                    embedding=vec / np.linalg.norm(vec)))
            cat.write_results(records)
        cat.finish_scan(scan_id, {"found": n, "synthetic": True})
    marker.write_text(json.dumps({"n": n, "seconds": round(time.perf_counter() - start, 1)}),
                      encoding="utf-8")
    return library, template


def _rename_top(library: Path, n: int) -> Callable[[], None]:
    (library / _TOP).rename(library / f"{_TOP}-renamed")
    return lambda: (library / f"{_TOP}-renamed").rename(library / _TOP)


def _move_some(library: Path, n: int, every: int = 100) -> Callable[[], None]:
    """Every ``every``-th photo into ``NAS/moved/``, its name kept (rename keeps its time)."""
    moved = library / _TOP / "moved"
    moved.mkdir()
    pairs = [(photo_path(library, i), moved / photo_path(library, i).name)
             for i in range(0, n, every)]
    for old, new in pairs:
        old.rename(new)

    def undo() -> None:
        for old, new in pairs:
            new.rename(old)
        moved.rmdir()
    return undo


def cases(n: int) -> list[tuple[str, Callable[[Path, int], Callable[[], None]] | None, int]]:
    """(label, change to make, photos it moves)."""
    return [("unchanged", None, 0), ("renamed top folder", _rename_top, n),
            ("1 % moved", _move_some, len(range(0, n, 100)))]


_SYSCALLS = ("stat", "lstat", "newfstatat", "statx", "openat", "read")


def scan_once(checkout: Path, library: Path, template: Path, model: Path, work: Path,
              change: Callable[[Path, int], Callable[[], None]] | None, n: int,
              expect_moved: int, *, traced: bool = False) -> dict[str, Any]:
    """One case: a fresh copy of the catalogue, the change, the scan, the library put back.
    ``traced``: under ``strace -c`` instead, for the file-system calls it makes (each a
    round trip to a NAS), not its time."""
    catalog = work / "catalog.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, catalog)
    undo = change(library, n) if change else None
    trace = work / "strace.txt"
    prefix = (["strace", "-f", "-c", "-o", str(trace), "-e", "trace=" + ",".join(_SYSCALLS)]
              if traced else [])
    try:
        run = run_cli([*prefix, sys.executable, "-m", "photolm", "scan", str(library),
                       "--catalog", str(catalog), "--model", str(model), "--json", "--quiet"],
                      env_extra={"PYTHONPATH": str(checkout)}, cwd=checkout)
    finally:
        if undo:
            undo()
    summary = run.json()
    if run.returncode != 0 or summary["processed"] or summary["rematched"] or \
            summary["moved"] != expect_moved or summary["found"] != n:
        raise RuntimeError(f"bound broken ({checkout}): exit {run.returncode}, found "
                           f"{summary['found']}, moved {summary['moved']} (expected "
                           f"{expect_moved}), processed {summary['processed']}, re-matched "
                           f"{summary['rematched']}: {run.stderr[-400:]}")
    if traced:
        return _calls(trace.read_text(encoding="utf-8"))
    return {"wall_s": run.wall_s, "cpu_s": run.cpu_s, "scan_s": summary["seconds"],
            "rss_mb": run.max_rss_mb, "written_mb": run.written_mb}


def _calls(summary: str) -> dict[str, int]:
    """``strace -c``'s table as {"stat": N, "open": N, "read": N} (the stat family summed)."""
    calls = {"stat": 0, "open": 0, "read": 0}
    for line in summary.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1] in _SYSCALLS and fields[3].isdigit():
            key = {"openat": "open", "read": "read"}.get(fields[-1], "stat")
            calls[key] += int(fields[3])
    return calls


def measure(checkouts: dict[str, Path], library: Path, template: Path, model: Path,
            n: int, repeats: int, work: Path, syscalls: bool = False) -> list[dict[str, Any]]:
    todo = cases(n)
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    calls: dict[tuple[str, str], dict[str, int]] = {}
    if syscalls:  # once each, apart from the timed runs (strace slows every call it counts)
        for label, change, moved in todo:
            for name, checkout in checkouts.items():
                calls[(label, name)] = scan_once(checkout, library, template, model, work,
                                                 change, n, moved, traced=True)
                log(f"{label} ({name}): {calls[(label, name)]}")
    for r in range(repeats):
        names = list(checkouts) if r % 2 == 0 else list(reversed(checkouts))
        for label, change, moved in todo:
            for name in names:
                got = scan_once(checkouts[name], library, template, model, work, change, n,
                                moved)
                runs.setdefault((label, name), []).append(got)
                log(f"{label} ({name}): {got['wall_s']:.2f} s wall, {got['cpu_s']:.2f} s CPU, "
                    f"scan {got['scan_s']:.2f} s")
    results = []
    for label, _, moved in todo:
        row: dict[str, Any] = {"case": label, "moved": moved}
        for name in checkouts:
            got = runs[(label, name)]
            row[name] = {**calls.get((label, name), {}),
                         "wall_s": median([g["wall_s"] for g in got]),
                         "cpu_s": median([g["cpu_s"] for g in got]),
                         "scan_s": median([g["scan_s"] for g in got]),
                         "rss_mb": median([g["rss_mb"] for g in got]),
                         "written_mb": median([g["written_mb"] for g in got]),
                         "wall_all": [round(g["wall_s"], 3) for g in got]}
        results.append(row)
    for row in results:
        for name in checkouts:
            row[name]["vs_unchanged"] = row[name]["cpu_s"] / results[0][name]["cpu_s"]
        if "base" in checkouts:
            row["speed_up"] = row["base"]["cpu_s"] / row["new"]["cpu_s"]
    return results


def markdown(results: Sequence[dict[str, Any]], names: Sequence[str], n: int, repeats: int,
             loads: Sequence[Any]) -> str:
    lines = [f"{n:,} photos; medians of {repeats} runs; load average (1, 5, 15 min) before "
             f"and after: {loads[0]} / {loads[1]}.", ""]
    head = "| case | photos moved |"
    rule = "|---|---:|"
    for name in names:
        head += (f" {name}: CPU | {name}: wall | {name}: scan's own | {name}: CPU × unchanged |"
                 f" {name}: written | {name}: peak RSS |")
        rule += "---:|---:|---:|---:|---:|---:|"
        if "stat" in results[0][name]:
            head += f" {name}: stat / open / read calls |"
            rule += "---:|"
    if "base" in names:
        head += " CPU base / new |"
        rule += "---:|"
    lines += [head, rule]
    for r in results:
        line = f"| {r['case']} | {r['moved']:,} |"
        for name in names:
            g = r[name]
            line += (f" {g['cpu_s']:.2f} s | {g['wall_s']:.2f} s | {g['scan_s']:.2f} s | "
                     f"{g['vs_unchanged']:.2f}× | {g['written_mb']:.1f} MB | "
                     f"{g['rss_mb']:.0f} MB |")
            if "stat" in g:
                line += f" {g['stat']:,} / {g['open']:,} / {g['read']:,} |"
        if "base" in names:
            line += f" {r['speed_up']:.2f}× |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench_move.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--photos", type=int, default=40_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline", type=Path, default=None,
                   help="a checkout of the code to compare against (git archive ... | tar -x)")
    p.add_argument("--model", default=None, help="bundle folder (default as bench_scan.py)")
    p.add_argument("--syscalls", action="store_true",
                   help="also count each case's stat, open and read calls once (strace -c)")
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    p.add_argument("--out-json", type=Path, default=None,
                   help="default BENCH_DIR/bench_move.json")
    opts = p.parse_args(argv)
    from photolm.bundle import read_bundle

    base = opts.bench_dir.resolve()
    model = choose_model(opts.model, base).path
    bundle = read_bundle(model)
    library, template = build(bundle, opts.photos, base)
    checkouts = {"new": REPO}
    if opts.baseline:
        checkouts = {"base": opts.baseline.resolve(), "new": REPO}
    work = template.parent / "work"
    work.mkdir(exist_ok=True)
    loads = [load_average()]
    results = measure(checkouts, library, template, model, opts.photos, opts.repeats, work,
                      opts.syscalls)
    loads.append(load_average())
    report = {"photos": opts.photos, "repeats": opts.repeats, "model": rel(model),
              "load_average": loads, "results": results}
    out = opts.out_json or base / "bench_move.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(results, list(checkouts), opts.photos, opts.repeats, loads))
    log(f"wrote {rel(out)}")
    return report


if __name__ == "__main__":
    main()
