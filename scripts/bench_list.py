#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whole-command cost of ``photolm search`` and ``photolm list``, A/B against a baseline.

    git worktree add --detach /tmp/base <commit>
    nice -n 10 .venv/bin/python scripts/bench_list.py --baseline /tmp/base

Every command runs as a person or a script runs it: a fresh process (Python start-up and
imports included), its output either read from a pipe (``| grep``) or drawn on a
pseudo-terminal of 80 columns (what a person sees, rich's layout included; 60 columns for
a listing drawn as blocks). Per run: wall time, when the first output came, CPU time (user
+ system of exactly that process, ``wait4``) and peak RSS (the same ``ru_maxrss`` that
``/usr/bin/time -v`` prints), from a small launcher so that neither the benchmark's own
memory nor its start-up is counted. The baseline checkout and this one run
interleaved (A B, then B A, ...), so load from other work on the machine falls on both
alike; medians of ``--repeats`` runs and their ratio are reported, with the load average.

Catalogues: :func:`bench_search.build_search_catalog` (synthetic rows over the model's
landmarks, cached under ``.bench/``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_search import build_search_catalog, search_query
from benchlib import BENCH_DIR, REPO, choose_model, load_average, log, median, rel

# Runs one command with its output on a pipe or on a pseudo-terminal ("pty": 80 columns,
# "pty:N": N), drains the output, and writes wall/CPU/peak RSS of exactly that process
# (wait4) and when its first output came, as JSON.
_LAUNCHER = r"""
import fcntl, json, os, pty, struct, subprocess, sys, termios, time
stats, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode.startswith("pty"):
    columns = int(mode.partition(":")[2] or 80)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "TERM": "xterm-256color",
                                 "COLUMNS": str(columns)})
    os.close(slave)
    reader = master
else:
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reader = proc.stdout.fileno()
size, first = 0, None
while True:
    try:
        chunk = os.read(reader, 1 << 16)
    except OSError:  # a pseudo-terminal's reader gets EIO once the command has exited
        break
    if not chunk:
        break
    if first is None:
        first = time.perf_counter() - start
    size += len(chunk)
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(stats, "w") as handle:
    json.dump({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss,
               "rc": os.waitstatus_to_exitcode(status), "bytes": size,
               "first": wall if first is None else first}, handle)
"""


def run_once(checkout: Path, args: Sequence[str], mode: str) -> dict[str, Any]:
    """One run of ``python -m photolm ARGS`` from ``checkout``, output on a pipe or a pty."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    env.pop("PHOTOLM_MODEL", None)
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "stats.json"
        subprocess.run([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(stats), mode,
                        sys.executable, "-m", "photolm", *args], env=env, check=False,
                       cwd=checkout)
        data = json.loads(stats.read_text(encoding="utf-8"))
    if data["rc"] != 0:
        raise RuntimeError(f"photolm {' '.join(args)} exited {data['rc']} in {checkout}")
    return data


def cases(catalogs: dict[int, Path], query: str) -> list[tuple[str, list[str], str]]:
    """(label, photolm arguments, output mode) for every measured command."""
    out = []
    for n, catalog in catalogs.items():
        c = ["--catalog", str(catalog)]
        out += [(f"search, pipe, {n:,}", ["search", query, *c], "pipe"),
                (f"search, terminal, {n:,}", ["search", query, *c], "pty"),
                (f"list, pipe, {n:,}", ["list", *c], "pipe"),
                (f"list, terminal, {n:,}", ["list", *c], "pty"),
                # paths wider than a 60-column table: one block a photo
                (f"list, 60-column terminal, {n:,}", ["list", *c], "pty:60"),
                (f"list --json, pipe, {n:,}", ["list", "--json", *c], "pipe")]
    return out


def compiled(checkout: Path) -> None:
    """Byte-compile a checkout's ``photolm``, as an installed package is: with
    PYTHONDONTWRITEBYTECODE set (as here), every run would otherwise compile every module
    it imports from source again (~65 ms of each command)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(checkout / "photolm")],
                   check=True, env={k: v for k, v in os.environ.items()
                                    if k != "PYTHONDONTWRITEBYTECODE"})


def measure(base: Path, new: Path, todo: Sequence[tuple[str, list[str], str]],
            repeats: int) -> list[dict[str, Any]]:
    compiled(base)
    compiled(new)
    results = []
    for label, args, mode in todo:
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
        for i in range(repeats):
            order = (("base", base), ("new", new)) if i % 2 == 0 else (("new", new),
                                                                       ("base", base))
            for name, checkout in order:
                runs[name].append(run_once(checkout, args, mode))
        row: dict[str, Any] = {"case": label, "args": args, "mode": mode}
        for name, got in runs.items():
            row[name] = {"wall_s": median([r["wall"] for r in got]),
                         "cpu_s": median([r["cpu"] for r in got]),
                         "rss_mb": median([r["rss_kb"] / 1024 for r in got]),
                         "first_s": median([r["first"] for r in got]),
                         "bytes": got[0]["bytes"], "wall_all": [round(r["wall"], 3) for r in got]}
        row["wall_ratio"] = row["base"]["wall_s"] / row["new"]["wall_s"]
        row["cpu_ratio"] = row["base"]["cpu_s"] / row["new"]["cpu_s"]
        log(f"{label}: wall {row['base']['wall_s']:.2f} -> {row['new']['wall_s']:.2f} s, "
            f"cpu {row['base']['cpu_s']:.2f} -> {row['new']['cpu_s']:.2f} s, "
            f"rss {row['base']['rss_mb']:.0f} -> {row['new']['rss_mb']:.0f} MB, "
            f"first output {row['base']['first_s']:.2f} -> {row['new']['first_s']:.2f} s")
        results.append(row)
    return results


def markdown(results: Sequence[dict[str, Any]], loads: Sequence[Any], repeats: int) -> str:
    lines = [f"Medians of {repeats} interleaved runs; load average (1, 5, 15 min) before and "
             f"after: {loads[0]} / {loads[1]}.", "",
             "| command, output, photos | wall before | wall after | ratio | CPU before | "
             "CPU after | ratio | peak RSS before | peak RSS after | first output before | "
             "first output after |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        b, n = r["base"], r["new"]
        lines.append(f"| {r['case']} | {b['wall_s']:.2f} s | {n['wall_s']:.2f} s | "
                     f"{r['wall_ratio']:.1f}× | {b['cpu_s']:.2f} s | {n['cpu_s']:.2f} s | "
                     f"{r['cpu_ratio']:.1f}× | {b['rss_mb']:.0f} MB | {n['rss_mb']:.0f} MB | "
                     f"{b['first_s']:.2f} s | {n['first_s']:.2f} s |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="bench_list.py", description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--baseline", type=Path, required=True,
                   help="a checkout of the code to compare against (git worktree add --detach)")
    p.add_argument("--sizes", default="10000,100000", help="catalogue sizes (photos)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--only", default="", help="run only cases whose label holds this text")
    p.add_argument("--model", default=None, help="bundle folder (default as bench_scan.py)")
    p.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    p.add_argument("--out-json", type=Path, default=None,
                   help="default BENCH_DIR/bench_list.json")
    opts = p.parse_args(argv)
    from photolm.bundle import read_bundle

    base = opts.bench_dir.resolve()
    bundle = read_bundle(choose_model(opts.model, base).path)
    catalogs = {int(n): build_search_catalog(bundle, int(n), base)
                for n in opts.sizes.split(",") if n.strip()}
    todo = [c for c in cases(catalogs, search_query(bundle)) if opts.only in c[0]]
    loads = [load_average()]
    results = measure(opts.baseline.resolve(), REPO, todo, opts.repeats)
    loads.append(load_average())
    report = {"repeats": opts.repeats, "load_average": loads, "results": results}
    out = opts.out_json or base / "bench_list.json"
    out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(markdown(results, loads, opts.repeats))
    log(f"wrote {rel(out)}")
    return report


if __name__ == "__main__":
    main()
