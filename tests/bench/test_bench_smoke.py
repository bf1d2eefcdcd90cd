# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan benchmark (scripts/bench_scan.py) still runs: tiny corpus, tiny bundle, 1 repeat.

Only that it works and reports sane numbers is checked; the speed itself is measured by
running the script (docs/performance.md), never in the test suite.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    """Two small source photos of our own (the benchmark normally uses shared/data)."""
    root = tmp_path / "src"
    for i, colour in enumerate([(200, 40, 40), (40, 60, 220)]):
        folder = root / f"class{i}"
        folder.mkdir(parents=True)
        img = Image.new("RGB", (96, 64), colour)
        img.paste((250, 250, 250), (10, 10, 40, 30))
        img.save(folder / f"p{i}.jpg", quality=90)
    return root


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def test_benchmark_runs_and_reports(tmp_path: Path, tiny_bundle_dir: Path,
                                    sources: Path) -> None:
    bench = _load("bench_scan")
    out_json, out_md = tmp_path / "b.json", tmp_path / "b.md"
    report = bench.main([
        "--n", "3", "--repeats", "1", "--model", str(tiny_bundle_dir),
        "--size", "640x480", "--png-size", "320x240", "--naive-n", "0",
        "--source", str(sources), "--bench-dir", str(tmp_path / "bench"), "--build-jobs", "1",
        "--rescan-n", "20", "--search-n", "60", "--rss-sizes", "1,2",
        "--out-json", str(out_json), "--out-md", str(out_md),
    ])
    saved = json.loads(out_json.read_text(encoding="utf-8"))
    assert saved["ratios"] == report["ratios"]
    for key in ("command", "machine", "model", "corpus", "results", "ratios", "provider",
                "settings", "scaled", "profile", "notes"):
        assert key in saved, key
    results = saved["results"]
    for key in ("a_decode", "a0_decode_load_only", "b_inference", "c_bound", "d_scan_wall",
                "d_scan_internal", "f_rescan_wall"):
        assert _positive(results[key]["photos_per_s"]), key
    assert results["d_scan_wall"]["photos"] == 3
    assert _positive(results["g_startup_wall"]["median_s"])
    assert _positive(saved["ratios"]["d_over_c"])
    assert saved["machine"]["nproc"] >= 1
    assert saved["provider"] == "CPUExecutionProvider"
    assert saved["corpus"]["photos"] == 3 and saved["corpus"]["kinds"].get("png") == 1
    assert saved["corpus"]["portrait_exif_orientation"] >= 1
    scaled = saved["scaled"]
    assert scaled["rescan"]["photos"] == 20 and _positive(scaled["rescan"]["wall_s"])
    assert scaled["search"]["rows_returned"] > 0
    assert _positive(scaled["search"]["in_process_query_ms"])
    assert [p["photos"] for p in scaled["memory"]["points"]] == [1, 2]
    assert all(_positive(p["peak_rss_mb"]) for p in scaled["memory"]["points"])
    assert saved["profile"]["threaded_scan"]["photos"] == 3
    assert _positive(saved["memory_estimate"]["extrapolated_peak_mb"])
    assert saved["spinning"]["scan_after_spinning_off"]["photos"] == 3
    md = out_md.read_text(encoding="utf-8")
    assert saved["command"] in md and "d / c" in md and "CPUExecutionProvider" in md

    # A second run reuses the cached corpus.
    photos, meta = bench.build_corpus(
        bench.CorpusSpec(n=3, size=(640, 480), png_size=(320, 240)), tmp_path / "bench",
        sources=bench.source_photos(sources), jobs=1)
    assert meta["cached"] and len(list(photos.iterdir())) == 3


def test_bound_benchmark_runs_and_reports(tmp_path: Path, tiny_bundle_dir: Path,
                                          sources: Path) -> None:
    """``bench_scan.py --bound``: the scan against the one-thread bound, per library."""
    bench = _load("bench_scan")
    report = bench.main([
        "--bound", "--n", "2", "--repeats", "1", "--libraries", "jpeg", "heic",
        "--model", str(tiny_bundle_dir), "--size", "640x480", "--source", str(sources),
        "--bench-dir", str(tmp_path / "bench"), "--build-jobs", "1",
        "--baseline-repo", str(REPO)])
    saved = json.loads((tmp_path / "bench" / "bench_bound.json").read_text(encoding="utf-8"))
    assert saved["libraries"] == report["libraries"]
    assert set(saved["libraries"]) == {"jpeg", "heic"}
    for row in saved["libraries"].values():
        for key in ("decode_ms_one_thread", "inference_ms_one_thread", "bound_photos_per_s",
                    "scan_photos_per_s_own", "ratio_own", "speedup_own",
                    "effective_cores", "bound_effective_photos_per_s", "ratio_own_effective",
                    "scan_cpu_ms_per_photo", "bound_cpu_ms_per_photo", "work_ratio",
                    "scan_one_photo_s"):
            assert _positive(row[key]), key
        # the bound takes the run size one thread does cheaper per photo: 1 or the batch's
        assert row["inference_ms_one_thread"] == min(
            row["inference_ms_one_thread_by_run_size"].values())
        # a 2-photo wall time is mostly process start-up: that ratio may round to 0.000
        assert math.isfinite(row["ratio_wall"]) and row["ratio_wall"] >= 0
        assert row["bound_photos_per_s"] == pytest.approx(
            saved["cores"] * 1000 / (row["decode_ms_one_thread"]
                                     + row["inference_ms_one_thread"]), rel=0.01)
    assert saved["libraries"]["heic"]["corpus"]["kinds"] == {"heic": 2}
    assert "scan / bound" in (tmp_path / "bench" / "bench_bound.md").read_text()


def test_naive_baseline(tmp_path: Path, tiny_bundle_dir: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("timm")
    pytest.importorskip("torchvision")
    bench = _load("bench_scan")
    from photolm.bundle import read_bundle

    photo = tmp_path / "p.jpg"
    Image.new("RGB", (320, 240), (90, 120, 200)).save(photo)
    setup = bench.naive_setup(read_bundle(tiny_bundle_dir), threads=1)
    assert setup["info"]["backbone"] == bench.DEFAULT_BACKBONE  # tiny bundle: none recorded
    timing = bench.time_naive(setup, [photo, photo])
    assert _positive(timing["total"]) and _positive(timing["model"])


def test_list_benchmark_runs_and_reports(tmp_path: Path, tiny_bundle_dir: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/bench_list.py: one search through a pipe and on a pseudo-terminal, this
    checkout against itself; sane wall, CPU and peak RSS for both sides."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    bench = _load("bench_list")
    report = bench.main(["--baseline", str(REPO), "--sizes", "40", "--repeats", "1",
                         "--only", "search", "--model", str(tiny_bundle_dir),
                         "--bench-dir", str(tmp_path / "bench"),
                         "--out-json", str(tmp_path / "l.json")])
    assert [r["mode"] for r in report["results"]] == ["pipe", "pty"]
    for row in report["results"]:
        for side in ("base", "new"):
            assert all(_positive(row[side][k]) for k in ("wall_s", "cpu_s", "rss_mb", "bytes"))
    assert json.loads((tmp_path / "l.json").read_text())["repeats"] == 1


def test_move_benchmark_runs_and_keeps_its_bound(tmp_path: Path, tiny_bundle_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/bench_move.py on 200 photos: every case moves what it says and decodes
    nothing (the script stops otherwise), with sane CPU, wall and memory figures."""
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    bench = _load("bench_move")
    report = bench.main(["--photos", "200", "--repeats", "1", "--model", str(tiny_bundle_dir),
                         "--bench-dir", str(tmp_path / "bench"),
                         "--out-json", str(tmp_path / "m.json")])
    assert [(r["case"], r["moved"]) for r in report["results"]] == [
        ("unchanged", 0), ("renamed top folder", 200), ("1 % moved", 2)]
    for row in report["results"]:
        assert all(_positive(row["new"][k]) for k in ("wall_s", "cpu_s", "rss_mb"))
