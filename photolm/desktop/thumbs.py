# SPDX-License-Identifier: GPL-3.0-or-later
"""Thumbnails and display-size copies of photos, made once and kept in the user cache folder.

* **Keyed by content fingerprint** (the catalogue's ``content_hash``), so a renamed or moved
  photo keeps its thumbnail and an edited one gets a new one. When the file's size or
  modification time no longer match the catalogue, its fingerprint is computed afresh
  (two 256 KiB reads) rather than trusting the stale one.
* **Made lazily, in the background.** A request for a thumbnail that is not cached awaits a
  small thread pool of its own, so the event loop and every other page stay responsive while
  a landmark page of a thousand photos is thumbnailed for the first time; two requests for
  the same thumbnail share one job.
* **Fast to make.** :func:`photolm.images.open_rgb` decodes JPEGs with libjpeg's DCT scaling
  (``Image.draft``) to the smallest reduction that is still large enough, applies the EXIF
  orientation (thumbnails are upright) and refuses decompression bombs; the result is
  written as a JPEG beside a temporary name and renamed into place, so a half-written
  thumbnail is never served.
"""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from photolm.errors import ImageError

if TYPE_CHECKING:
    from photolm.catalog import PhotoRow

THUMB = 320  # grid thumbnails: about 160 CSS pixels on a 2x display
LARGE = 1600  # the photo page
SIZES = (THUMB, LARGE)
QUALITY = 82


def default_cache_dir() -> Path:
    import platformdirs

    return platformdirs.user_cache_path("photolm", appauthor=False) / "thumbnails"


def fingerprint_of(row: PhotoRow) -> str | None:
    """The content key of the photo as it is on disk now; ``None`` when it cannot be read."""
    from photolm.fingerprint import fingerprint

    try:
        st = os.stat(row.path)
    except OSError:
        return None
    if row.content_hash and st.st_size == row.size and st.st_mtime_ns == row.mtime_ns:
        return row.content_hash
    try:
        return fingerprint(Path(row.path), st.st_size)
    except OSError:
        return None


def source_of(row: PhotoRow) -> str:
    """The file a photo's picture comes from: its own, or, when the scan could not read it
    and recognised the photo from its RAW's preview instead, that RAW (the photo's own file
    would only show the "cannot be read" picture)."""
    return row.recognised_from_file or row.path


def render(source: str | Path, target: Path, size: int) -> Path:
    """Decode ``source`` upright (a RAW from its embedded preview), shrink it to fit
    ``size`` x ``size``, write ``target``."""
    from PIL import Image

    from photolm.images import open_rgb
    from photolm.raw import is_raw, open_raw_preview

    img = open_raw_preview(source, size) if is_raw(source) else open_rgb(source, target=size)
    img.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        img.save(partial, "JPEG", quality=QUALITY, optimize=False, progressive=False)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


class ThumbnailCache:
    """Cached renders by (fingerprint, size); see the module docstring."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.folder = Path(folder)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photolm-thumb")
        self._lock = threading.Lock()
        self._pending: dict[Path, Future[Path]] = {}

    def path_for(self, key: str, size: int) -> Path:
        digest = key.partition(":")[2] or key
        if not digest.isalnum():
            raise ValueError(f"not a fingerprint: {key!r}")
        return self.folder / str(size) / digest[:2] / f"{digest}.jpg"

    def cached(self, row: PhotoRow, size: int) -> Path | None:
        """The cached render when there is one, without making it (no decoding)."""
        key = fingerprint_of(row)
        if key is None:
            return None
        target = self.path_for(key, size)
        return target if target.is_file() else None

    def submit(self, row: PhotoRow, size: int) -> Future[Path]:
        """Make the render in the background (or return the job already making it).

        The future fails with :class:`~photolm.errors.ImageError` (or ``OSError``) when the
        photo cannot be shown.
        """
        key = fingerprint_of(row)
        if key is None:
            failed: Future[Path] = Future()
            failed.set_exception(ImageError("the photo cannot be read"))
            return failed
        target = self.path_for(key, size)
        with self._lock:
            job = self._pending.get(target)
            if job is not None:
                return job
            if target.is_file():
                done: Future[Path] = Future()
                done.set_result(target)
                return done
            job = self._pool.submit(render, source_of(row), target, size)
            self._pending[target] = job
        job.add_done_callback(lambda _f: self._forget(target))
        return job

    async def get(self, row: PhotoRow, size: int) -> Path:
        """The render's path, awaiting the background job without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(row, size))

    def _forget(self, target: Path) -> None:
        with self._lock:
            self._pending.pop(target, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
