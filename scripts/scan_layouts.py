#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the scan runs the model, before and after issue 15, interleaved in one process.

    .venv/bin/python scripts/scan_layouts.py --libraries heic jpeg mixed --n 40 --repeats 5

Two layouts of the same scan (:class:`photolm.scan.Scanner`, in-process, warm, fresh
catalogue each time) on the benchmark's libraries (scripts/bench_bound.py), alternating:

* **workers**: a one-thread session, each decode worker runs the model on the photo it has
  read (photolm's default since issue 15);
* **batches**: a ``--threads-before``-thread session run on batches from the main thread
  beside the decode workers (the layout before).

For each: photos/s (wall) and CPU seconds per photo (all threads), the latter against the
bound's CPU work measured in the same repeat (one thread: the scan's read + a run of one
photo). Wall time on a shared machine mostly reflects the other jobs; the CPU ratio much
less. Writes ``.bench/scan_layouts.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_bound import (
    LIBRARIES,
    cpu_s,
    in_process_scan_cpu_s,
    one_thread_decode_s,
)
from benchlib import (  # importing it puts this checkout on sys.path
    BENCH_DIR,
    CorpusSpec,
    build_corpus,
    choose_model,
    found_photos,
    load_average,
    log,
    make_batch,
    median,
    source_photos,
    time_inference,
    warm_page_cache,
)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--libraries", nargs="+", choices=sorted(LIBRARIES), default=["heic"])
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads-before", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    opts = p.parse_args(argv)
    from photolm.bundle import read_bundle
    from photolm.scan import scan_session

    bench = opts.bench_dir.resolve()
    bundle = read_bundle(choose_model(opts.model, bench).path)
    layouts = {"workers": scan_session(bundle, device="cpu", threads=1),
               "batches": scan_session(bundle, device="cpu", threads=opts.threads_before)}
    one = layouts["workers"]  # one thread: the bound's inference
    report: dict[str, Any] = {"load_before": load_average(), "libraries": {}}
    work = Path(tempfile.mkdtemp(prefix="layouts-", dir=bench))
    for name in opts.libraries:
        corpus, _ = build_corpus(CorpusSpec(n=opts.n, **LIBRARIES[name]), bench,
                                 sources=source_photos())
        warm_page_cache(corpus)
        found = found_photos(corpus)
        n = len(found)
        batch = make_batch(found, bundle, 1)
        one.embed_all(batch)
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in layouts}
        bound_cpu: list[float] = []
        for rep in range(opts.repeats + 1):  # the first round warms up and is dropped
            log(f"{name}: round {rep}/{opts.repeats}")
            start = cpu_s()  # the process's: libheif may decode in threads of its own
            one_thread_decode_s(found, bundle)
            time_inference(one, batch, n, 1)
            spent = cpu_s() - start
            for key, emb in layouts.items():
                wall = time.perf_counter()
                cpu = in_process_scan_cpu_s(corpus, bundle, emb, opts, work)
                if rep:
                    runs[key].append((time.perf_counter() - wall, cpu))
            if rep:
                bound_cpu.append(spent)
        row = {"photos": n, "bound_cpu_ms_per_photo": round(1000 * median(bound_cpu) / n, 2)}
        for key, values in runs.items():
            row[key] = {"photos_per_s": round(n / median([w for w, _ in values]), 2),
                        "cpu_ms_per_photo": round(1000 * median([c for _, c in values]) / n, 2),
                        "work_ratio": round(median([c for _, c in values])
                                            / median(bound_cpu), 3)}
        row["workers_over_batches_per_pair"] = round(median(
            [b[0] / w[0] for w, b in zip(runs["workers"], runs["batches"], strict=True)]), 3)
        report["libraries"][name] = row
        log(f"{name}: {json.dumps(row)}")
    report["load_after"] = load_average()
    report["cpu_s_total"] = round(cpu_s(), 1)
    out = bench / "scan_layouts.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    log(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
