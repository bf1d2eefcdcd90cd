# SPDX-License-Identifier: GPL-3.0-or-later
"""Embed photos exactly as ``photolm scan`` will: photolm's decoder, then onnxruntime.

Everything the bundle records (prototypes, threshold, accuracy) is computed through this path,
so the numbers describe what users get, not what the torch model would have done. Several
models (fp32 and a quantised candidate) can share one pass: each batch is decoded once and
fed to every session, which halves the export time when a quantised model is compared.

Decoding runs in a small thread pool (Pillow releases the GIL) with at most two batches in
flight, so memory stays flat on a large training set.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from photolm.bundle import Preprocess
from photolm.errors import ImageError
from photolm.images import load_for_model
from photolm.runtime import Embedder, default_threads


@dataclass
class Embedded:
    """Embeddings of a list of photos under one or more models.

    ``vectors[name]`` is (N, D) with zero rows where ``ok`` is False (undecodable photos,
    listed in ``bad`` as (path, reason)).
    """

    paths: list[str]
    vectors: dict[str, np.ndarray]
    ok: np.ndarray
    bad: list[tuple[str, str]] = field(default_factory=list)

    def good(self, name: str) -> np.ndarray:
        return self.vectors[name][self.ok]


def default_workers() -> int:
    return min(4, default_threads())


def _load(path: str, pre: Preprocess) -> tuple[np.ndarray | None, str | None]:
    try:
        return load_for_model(path, pre), None
    except ImageError as exc:
        return None, str(exc)


def decoded_batches(
    paths: Sequence[str], pre: Preprocess, *, batch_size: int = 32, workers: int | None = None
) -> Iterator[tuple[int, list[tuple[np.ndarray | None, str | None]]]]:
    """Yield ``(start, [(array or None, error or None), ...])`` per batch, in order."""
    starts = list(range(0, len(paths), batch_size))
    with ThreadPoolExecutor(max_workers=workers or default_workers(),
                            thread_name_prefix="export-decode") as pool:
        pending: deque[tuple[int, list[Future[tuple[np.ndarray | None, str | None]]]]] = deque()
        todo = iter(starts)

        def submit() -> None:
            start = next(todo, None)
            if start is not None:
                chunk = paths[start:start + batch_size]
                pending.append((start, [pool.submit(_load, p, pre) for p in chunk]))

        submit()
        submit()
        while pending:
            start, futures = pending.popleft()
            submit()
            yield start, [f.result() for f in futures]


def embed_photos(
    embedders: Mapping[str, Embedder],
    paths: Sequence[str | Path],
    pre: Preprocess,
    *,
    batch_size: int = 32,
    workers: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> Embedded:
    """Decode each photo once and embed it with every model in ``embedders``."""
    names = [str(p) for p in paths]
    vectors: dict[str, np.ndarray] = {}
    ok = np.zeros(len(names), dtype=bool)
    bad: list[tuple[str, str]] = []
    for start, items in decoded_batches(names, pre, batch_size=batch_size, workers=workers):
        good = [i for i, (array, _) in enumerate(items) if array is not None]
        for i, (_, reason) in enumerate(items):
            if reason is not None:
                bad.append((names[start + i], reason))
        if good:
            batch = np.stack([items[i][0] for i in good])  # type: ignore[misc]
            rows = np.asarray(good) + start
            for key, embedder in embedders.items():
                out = embedder.embed(batch)
                if key not in vectors:
                    vectors[key] = np.zeros((len(names), out.shape[1]), dtype=np.float32)
                vectors[key][rows] = out
            ok[rows] = True
        if on_batch is not None:
            on_batch(len(items))
    for key in embedders:
        vectors.setdefault(key, np.zeros((len(names), 1), dtype=np.float32))
    return Embedded(paths=names, vectors=vectors, ok=ok, bad=bad)


def load_arrays(paths: Sequence[str | Path], pre: Preprocess, *,
                workers: int | None = None) -> np.ndarray:
    """Decoded model inputs (N, 3, H, W) for the photos that decode (e.g. for int8
    calibration); undecodable ones are skipped."""
    arrays: list[np.ndarray] = []
    for _, items in decoded_batches([str(p) for p in paths], pre, batch_size=32,
                                    workers=workers):
        arrays.extend(a for a, _ in items if a is not None)
    if not arrays:
        return np.zeros((0, 3, pre.size, pre.size), dtype=np.float32)
    return np.stack(arrays)
