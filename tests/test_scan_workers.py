# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the scan runs the model (issue 15): on the CPU each worker runs it on the photo it
has just read, with a one-thread session; with more onnxruntime threads (or a GPU) the main
thread runs it on whole batches. Both layouts must store the same results."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from photolm.bundle import Bundle, read_bundle
from photolm.catalog import Catalog
from photolm.runtime import CPU, CUDA, Embeddings, OnnxEmbedder, SessionInfo, runs_in_caller
from photolm.scan import Scanner, ScanOptions, concurrency, scan_session
from tests.clirun import cli
from tests.tinybundle import COLOURS, make_tiny_bundle, write_photo


class _Recording(OnnxEmbedder):
    """A real session that notes which thread ran each batch, and its size."""

    runs: list[tuple[str, int]]

    def embed_all(self, batch: np.ndarray) -> Embeddings:
        self.runs.append((threading.current_thread().name, len(batch)))
        return super().embed_all(batch)


def _recording(bundle: Bundle, threads: int) -> _Recording:
    emb = _Recording.for_bundle(bundle, device="cpu", threads=threads)
    emb.runs = []
    return emb  # type: ignore[return-value]


@pytest.fixture
def descriptor_bundle(tmp_path: Path) -> Bundle:
    return make_tiny_bundle(tmp_path / "bundle", descriptor_threshold=0.5)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    colours = list(COLOURS.values())
    for i in range(10):
        write_photo(root / f"p{i:02d}.jpg", colours[i % len(colours)])
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    return root


def _stored(catalog: Path, model_id: str) -> dict[str, tuple[np.ndarray, np.ndarray, str | None]]:
    """Per photo name: embedding, descriptor and landmark as the scan stored them."""
    with Catalog.open(catalog, write=False) as cat:
        index = {p: e for p, e in cat.load_index().items() if not e.error}
        ids = [e.id for e in index.values()]
        vectors = {e.path: e.vector for e in cat.stored_embeddings(ids)}
        descriptors, has = cat.descriptors_of(ids, model_id)
        assert descriptors is not None and has is not None and has.all()
        return {Path(p).name: (vectors[p], descriptors[i], cat.get_photo(p).landmark_id)
                for i, p in enumerate(index)}


def _scan(emb: OnnxEmbedder, bundle: Bundle, photos: Path, catalog: Path) -> None:
    with Catalog.open(catalog, write=True) as cat:
        summary = Scanner(cat, bundle, emb, ScanOptions(batch_size=4, workers=2)).run(
            [photos], lambda event: None)
    assert summary.processed == 10 and len(summary.errors) == 1


def test_one_thread_session_runs_in_the_workers_one_photo_a_run(
        descriptor_bundle: Bundle, photos: Path, tmp_path: Path) -> None:
    one = _recording(descriptor_bundle, threads=1)
    _scan(one, descriptor_bundle, photos, tmp_path / "one.sqlite")
    assert len(one.runs) == 10  # the broken photo is never run
    assert all(name.startswith("decode") and size == 1 for name, size in one.runs), one.runs

    several = _recording(descriptor_bundle, threads=2)
    _scan(several, descriptor_bundle, photos, tmp_path / "batches.sqlite")
    assert {name for name, _ in several.runs} == {threading.main_thread().name}
    sizes = [size for _, size in several.runs]  # 11 photos in batches of 4, one broken
    assert len(sizes) == 3 and sum(sizes) == 10 and max(sizes) == 4

    by_worker = _stored(tmp_path / "one.sqlite", descriptor_bundle.model_id)
    by_batch = _stored(tmp_path / "batches.sqlite", descriptor_bundle.model_id)
    assert by_worker.keys() == by_batch.keys() and len(by_worker) == 10
    for name, (vector, descriptor, landmark) in by_worker.items():
        other = by_batch[name]
        np.testing.assert_allclose(vector, other[0], atol=2e-3)  # stored as float16
        np.testing.assert_allclose(descriptor, other[1], atol=2e-3)
        assert landmark == other[2] and landmark is not None


def test_only_a_one_thread_cpu_session_runs_in_the_workers(descriptor_bundle: Bundle) -> None:
    assert runs_in_caller(OnnxEmbedder.for_bundle(descriptor_bundle, device="cpu", threads=1))
    assert not runs_in_caller(OnnxEmbedder.for_bundle(descriptor_bundle, device="cpu",
                                                      threads=2))

    class OnGpu:
        provider = CUDA
        info = SessionInfo((CUDA, CPU), (CUDA, CPU), 1)

    class Fake:  # tests' fakes: run from the main thread, as before
        provider = CPU

    assert not runs_in_caller(OnGpu()) and not runs_in_caller(Fake())


def test_info_reports_the_threads_a_scan_runs_the_model_with(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _: {0, 1, 2}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 3)
    code, out, err = cli("info", "--json")
    assert code == 0, err
    runtime = json.loads(out)["runtime"]
    assert (runtime["scan_workers"], runtime["threads_per_run"], runtime["model_runs"],
            runtime["model_threads"]) == (3, 1, "in each worker", 3)
    code, out, err = cli("info")
    line = next(line for line in out.splitlines() if line.startswith("  scan threads"))
    assert "3 workers," in line and "1 onnxruntime thread:" in line and "3 at once" in line


@pytest.mark.parametrize(("in_workers", "told"), [
    (True, "4 workers, each reading a photo and running the model on it with 2 onnxruntime "
           "threads: 8 at once"),
    (False, "4 workers read photos; one thread runs the model on whole batches on "
            "CPUExecutionProvider with 2 onnxruntime threads"),
])
def test_info_tells_the_scans_threads_from_the_object_json_is_made_of(
        env: Path, monkeypatch: pytest.MonkeyPatch, in_workers: bool, told: str) -> None:
    """`info`'s line for a person used to be rebuilt from its own ``--json`` words
    (``model_runs == "in each worker"``): words for scripts, read back. Both come from the
    scan's one :class:`~photolm.scan.Concurrency` now, so rewording one leaves the other
    right."""
    import photolm.scan as scan_module

    threads = scan_module.Concurrency(workers=4, threads_per_run=2, in_workers=in_workers)
    monkeypatch.setattr(scan_module, "concurrency", lambda embedder, options: threads)
    code, out, err = cli("info", "--json")
    assert code == 0, err
    runtime = json.loads(out)["runtime"]
    assert (runtime["scan_workers"], runtime["threads_per_run"], runtime["model_runs"],
            runtime["model_threads"]) == (4, 2, "in each worker" if in_workers
                                          else "on whole batches", 8 if in_workers else 2)
    to_json = scan_module.Concurrency.to_json
    monkeypatch.setattr(scan_module.Concurrency, "to_json",
                        lambda self: {**to_json(self), "model_runs": "reworded"})
    code, out, err = cli("info")
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("  scan threads")]
    assert line.split(None, 2)[2].strip() == f"{told}; scan --workers and --threads change these"


def test_a_session_of_several_threads_runs_whole_batches_from_one_thread(
        descriptor_bundle: Bundle) -> None:
    emb = scan_session(descriptor_bundle, device="cpu", threads=2)
    threads = concurrency(emb, ScanOptions(workers=4))
    assert (threads.workers, threads.threads_per_run, threads.in_workers,
            threads.model_threads) == (4, 2, False, 2)


def test_scan_session_defaults_to_one_thread(descriptor_bundle: Bundle) -> None:
    assert scan_session(descriptor_bundle, device="cpu").info.intra_op_threads == 1
    assert scan_session(descriptor_bundle, device="cpu", threads=3).info.intra_op_threads == 3


def test_cli_scan_with_more_threads_stores_the_same(photos: Path, tmp_path: Path,
                                                    tiny_bundle_dir: Path) -> None:
    results = []
    for extra in ([], ["--threads", "2"]):
        catalog = tmp_path / f"cat{len(results)}.sqlite"
        code, _, err = cli("scan", photos, "--catalog", catalog, "--model", tiny_bundle_dir,
                           "--quiet", *extra)
        assert code == 1 and "broken.jpg" in err  # the one broken photo, nothing else
        with Catalog.open(catalog, write=False) as cat:
            results.append({Path(p).name: cat.get_photo(p).landmark_id
                            for p in cat.load_index()})
    assert results[0] == results[1] and len(results[0]) == 11


def test_desktop_scan_stores_descriptors_as_the_cli_does(
        descriptor_bundle: Bundle, photos: Path, tmp_path: Path) -> None:
    from photolm.desktop.jobs import Job, scan_work

    catalog = tmp_path / "desktop.sqlite"
    Catalog.open(catalog, write=True).close()
    job = Job("scan", "Scan")
    scan_work(catalog, descriptor_bundle.model_path.parent, [str(photos)])(job)
    assert job.state == "done", job.message
    stored = _stored(catalog, read_bundle(descriptor_bundle.model_path.parent).model_id)
    assert len(stored) == 10
