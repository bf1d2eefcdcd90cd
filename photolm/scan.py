# SPDX-License-Identifier: GPL-3.0-or-later
"""The scan pipeline: folders in, catalogue rows out. It reports through a callback and never
prints.

Shape of the work, and why:

1. Walk every root first (cheap: directory entries and ``stat``), so the progress bar knows
   the total and unchanged photos are skipped before any decoding.
2. Classify each photo against the catalogue index, loaded once per scan: unchanged with
   this bundle (skip), unchanged but the bundle's prototypes/threshold changed while its ONNX
   model did not (re-match the stored embeddings, read a page per query, no decode),
   moved/renamed (fingerprint found under a path that no longer exists: carry results over),
   failed before and unchanged since (counted, not retried), or new/changed (decode + embed).
3. Read photos in a thread pool (Pillow and onnxruntime release the GIL) with a bounded window
   of photos in flight, so memory stays flat however large the library is. On the CPU each
   worker also runs the model on the photo it has just read, with a one-thread session
   (:func:`scan_session`), so the cores do nothing but useful work side by side; one session
   split over every core beside the readers lost time at every operator, its threads waiting
   for each other while a reader held a core (docs/performance.md, issue 15). On a GPU, or
   with more than one onnxruntime thread, the calling thread runs the model on full batches
   instead, while the pool reads the next ones.
4. Write each batch in one transaction: a killed scan loses at most the batch in flight and
   never leaves a half-written row. Ctrl-C stops after the current batch is stored.

Per-photo failures are results, not exceptions: every photo found ends up in the catalogue.

GPS is evidence: when a photo carries an EXIF position and the bundle's landmarks have
coordinates, the visual top-k is re-decided by :func:`photolm.geo.gps_evidence` (a match
500 km away is a look-alike; one within 10 km is accepted slightly below the threshold), on
the decode path and on the re-match path alike; its :class:`~photolm.geo.GeoVerdict` is
stored as it is.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from photolm.bundle import Bundle
from photolm.case_paths import CatalogSpelling, as_catalogued
from photolm.catalog import Catalog, Embedded, IndexEntry, MatchUpdate, Review, ScanResult
from photolm.catalog.scanning import Move
from photolm.ctrl_c import stop_signal
from photolm.discovery import (
    SKIP_LIVE_PHOTO,
    SKIP_VIDEO,
    Found,
    Problem,
    Skipped,
    paired_format,
    stat_message,
    walk_photos,
)
from photolm.embedding import embed_both, embed_fn, session_for
from photolm.exclude import Exclusions
from photolm.exif import ExifInfo
from photolm.fingerprint import fingerprint
from photolm.geo import GeoVerdict
from photolm.learned import GpsWeigher
from photolm.matching import Candidate, Match
from photolm.model_changes import LostLearned, lost_learned
from photolm.model_choice import is_shipped_folder
from photolm.photo_read import PhotoRead, access_failure, read_photo
from photolm.printed_paths import printed
from photolm.prototypes import build_matcher
from photolm.runtime import Device, Embedder, default_threads, runs_in_caller
from photolm.unchanged import same_content
from photolm.wording import counted

SKIP_REASONS = (SKIP_VIDEO, SKIP_LIVE_PHOTO)  # scan --json's `skipped` keys (README)
_MOVES_PER_PAGE = 1000  # moved photos recorded per transaction
_MOST_PAIRS = 250_000  # identical copies moved at once: candidate pairs weighed, at most
HIDDEN_FOLDERS_KEPT = 3  # hidden folders a scan's record names (the summary's line names 3)

# Outcomes reported per photo.
NEW = "new"
UPDATED = "updated"
REMATCHED = "rematched"
MOVED = "moved"
UNCHANGED = "unchanged"
KNOWN_ERROR = "known-error"  # failed before, and the file has not changed since
ERROR = "error"


@dataclass(frozen=True)
class ScanOptions:
    batch_size: int = 16
    workers: int | None = None  # decode threads; default: one per core
    top_k: int = 5
    include_hidden: bool = False
    force: bool = False  # re-process even unchanged photos
    verify: bool = False  # re-check content fingerprints of photos that look unchanged
    exclude: tuple[str, ...] = ()  # glob patterns (see photolm.exclude)


@dataclass(frozen=True)
class Concurrency:
    """How a scan spreads over the cores, decided once here for the scan and for
    ``photolm info`` alike, so that what info reports is what a scan does."""

    workers: int  # threads that read photos (--workers, else one per core)
    threads_per_run: int  # onnxruntime intra-op threads of one model run (--threads, else 1)
    in_workers: bool  # each worker runs the model on its photo (CPU, one thread a run)

    @property
    def model_threads(self) -> int:
        """onnxruntime threads at work at once, at most: each worker's run side by side, or
        the one run on whole batches."""
        return self.workers * self.threads_per_run if self.in_workers else self.threads_per_run

    def to_json(self) -> dict[str, object]:
        return {"scan_workers": self.workers, "threads_per_run": self.threads_per_run,
                "model_runs": "in each worker" if self.in_workers else "on whole batches",
                "model_threads": self.model_threads}


def concurrency(embedder: Embedder, options: ScanOptions) -> Concurrency:
    """The scan's threads with ``embedder`` (see the module's docstring, step 3)."""
    info = getattr(embedder, "info", None)
    return Concurrency(workers=options.workers or default_threads(),
                       threads_per_run=getattr(info, "intra_op_threads", 1),
                       in_workers=runs_in_caller(embedder))


@dataclass(frozen=True)
class Started:
    """Emitted once the walk is done: how much work there is."""

    found: int
    to_decode: int
    # of those, unchanged photos read again: their stored vectors are another network's
    # (an earlier photolm's shipped model, another bundle), said before the long part
    other_model: int = 0


@dataclass(frozen=True)
class PhotoDone:
    path: Path
    outcome: str
    landmark: str | None = None
    score: float | None = None
    error: str | None = None
    warning: str | None = None  # done, but something the person should know (a broken JPEG)

    @property
    def problem(self) -> str | None:
        """The line to show the person about this photo (its failure or its warning)."""
        return (self.error or "failed") if self.outcome == ERROR else self.warning

    @property
    def decoded(self) -> bool:
        """Whether it is one of ``Started.to_decode`` (a progress bar's step): unchanged
        photos and failures already known are counted in the summary, not there."""
        return self.outcome not in (UNCHANGED, KNOWN_ERROR)


@dataclass(frozen=True)
class WalkIssue:
    """A folder or entry that could not be read (not a photo row: there is no photo)."""

    path: Path
    message: str


Event = Started | PhotoDone | WalkIssue


@dataclass
class ScanSummary:
    """One run's counts. Paths are kept as ``os.fsdecode`` gives them and printed by
    :func:`~photolm.printed_paths.printed` in :meth:`to_json`, as ``list --json`` prints a
    photo's, so a script can join the two."""

    found: int = 0
    processed: int = 0  # decoded and embedded now
    rematched: int = 0
    moved: int = 0
    unchanged: int = 0
    other_model: int = 0  # unchanged, read again: their vectors were another network's
    landmarks: int = 0  # photos (processed, rematched or moved now) with a landmark
    gps_changed: int = 0  # photos whose match GPS evidence changed (rejected or promoted)
    errors: list[tuple[str, str]] = field(default_factory=list)  # new failures only
    known_failures: int = 0  # failed before, unchanged since: not retried (--force does)
    replaced: int = 0  # looked unchanged, but --verify found other content
    excluded: int = 0  # matched --exclude
    hidden: int = 0  # hidden files with a photo's extension, skipped
    hidden_folders: list[str] = field(default_factory=list)  # hidden folders not looked into
    walk_problems: list[tuple[str, str]] = field(default_factory=list)
    missing: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # videos, Live Photos': by reason
    pairs: int = 0  # photos found with a camera RAW beside them: one photo each
    joined: int = 0  # of those, the ones this run joined (no RAW beside them before)
    merged: int = 0  # RAWs catalogued on their own before, now their JPEG's companions
    # what the photos of the pairs joined, and of those merged RAWs, are ("JPEG", "HEIC":
    # discovery.paired_format), so the summary names the files the person has
    paired_formats: set[str] = field(default_factory=set)
    merged_formats: set[str] = field(default_factory=set)
    # pairs whose JPEG (or HEIC) could not be read, recognised from the RAW: (photo, RAW,
    # the photo's error)
    from_raw: list[tuple[str, str, str]] = field(default_factory=list)
    unmatchable: list[str] = field(default_factory=list)  # learned landmarks this model lost
    # photos whose learned landmark a changed model (threshold, network) took away
    lost_learned: list[LostLearned] = field(default_factory=list)
    # the catalogue's totals for the photos under the scanned folders (not the whole
    # catalogue): photos, with_landmark, errors, missing, reviewed, tagged
    in_these_folders: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    interrupted: bool = False
    stop_signal: int = 0  # the signal that interrupted it: 2 for Ctrl-C, 15 for SIGTERM
    provider: str = ""
    bundle: str = ""

    @property
    def photos_per_second(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.walk_problems and not self.interrupted

    def to_json(self) -> dict[str, object]:
        return {
            "found": self.found,
            "processed": self.processed,
            "rematched": self.rematched,
            "moved": self.moved,
            "skipped_unchanged": self.unchanged,
            "reread_other_model": self.other_model,
            "landmarks_found": self.landmarks,
            "gps_changed": self.gps_changed,
            "errors": [{"path": printed(p), "error": e} for p, e in self.errors],
            "known_failures": self.known_failures,
            "replaced": self.replaced,
            "excluded": self.excluded,
            "hidden_skipped": self.hidden,
            "hidden_folders": [printed(p) for p in self.hidden_folders],
            "hidden_folders_count": len(self.hidden_folders),
            "walk_problems": [{"path": printed(p), "error": e} for p, e in self.walk_problems],
            "missing": self.missing,
            # every reason, 0 when none (README's shape): a script reads ["video"] as it is
            "skipped": dict(sorted({**dict.fromkeys(SKIP_REASONS, 0), **self.skipped}.items())),
            "raw_pairs": self.pairs,
            "raw_pairs_joined": self.joined,
            "raw_pairs_merged": self.merged,
            "recognised_from_raw": [{"path": printed(p), "raw": printed(r), "error": e}
                                    for p, r, e in self.from_raw],
            "unrecognisable_learned": list(self.unmatchable),
            "learned_lost_photos": [item.to_json() for item in self.lost_learned],
            "seconds": round(self.seconds, 3),
            "photos_per_second": round(self.photos_per_second, 2),
            "interrupted": self.interrupted,
            "provider": self.provider,
            "bundle": self.bundle,
            "in_these_folders": dict(self.in_these_folders),
            # the same totals under the key scripts have read since before it had its name:
            # kept, never the whole catalogue's
            "catalog": dict(self.in_these_folders),
        }

    def to_record(self) -> dict[str, object]:
        """What the catalogue keeps of the run (``scans.counts``, ``info --json``'s
        ``last_scan``): :meth:`to_json` with the hidden folders counted and only the first
        :data:`HIDDEN_FOLDERS_KEPT` named. Every scan of a share with a hidden folder in each
        of thousands of folders would otherwise store all their paths again, for good."""
        return {**self.to_json(),
                "hidden_folders": [printed(p) for p in self.hidden_folders[:HIDDEN_FOLDERS_KEPT]]}


def scan_session(bundle: Bundle, *, device: Device = "auto", threads: int | None = None
                 ) -> Embedder:
    """The session a scan runs the model with: one onnxruntime thread per run unless
    ``threads`` says otherwise, because on the CPU the scan's workers run it side by side
    (see the module's docstring); on a GPU those threads only run what the GPU leaves over."""
    return session_for(bundle, device=device, threads=threads or 1)  # type: ignore[no-any-return]


@dataclass
class _Decoded:
    found: Found
    fingerprint: str | None
    array: np.ndarray | None
    exif: ExifInfo | None
    error: str | None
    # the model's outputs for this photo (embedding, descriptor), when the worker ran it
    embedded: tuple[np.ndarray, np.ndarray | None] | None = None
    # the photo could not be read, its RAW companion could: (that RAW, the photo's error)
    from_raw: tuple[Path, str] | None = None


def _decode(found: Found, bundle: Bundle) -> _Decoded:
    """Everything per-photo that reads the file (one open); runs in a worker thread."""
    read = read_photo(found.path, bundle.preprocess, size=found.size)
    if read.error and found.companions:
        return _from_companion(found, bundle, read)
    return _Decoded(found, read.fingerprint, read.pixels, read.exif, read.error)


def _from_companion(found: Found, bundle: Bundle, read: PhotoRead) -> _Decoded:
    """A pair whose JPEG (or HEIC) cannot be read is recognised from its RAW's preview, as
    a RAW alone would be: the shot is still there, only one of its files is broken. The row
    stays the JPEG's (its path, size and fingerprint, so the next scan sees it unchanged and
    a pair moved together is still found), with the RAW's pixels and EXIF facts."""
    failures = []
    for raw in found.companions:
        got = read_photo(raw, bundle.preprocess)
        if got.error is None:
            return _Decoded(found, read.fingerprint, got.pixels, got.exif, None,
                            from_raw=(raw, str(read.error)))
        failures.append(f"{raw.name}: {got.error}")
    return _Decoded(found, read.fingerprint, None, read.exif, f"{read.error} (its RAW "
                    f"{'; '.join(failures)})")


def _decode_and_run(found: Found, bundle: Bundle, embedder: Embedder) -> _Decoded:
    """:func:`_decode`, then the model on that one photo in the same worker thread (for an
    embedder that :func:`~photolm.runtime.runs_in_caller`). One photo a run costs no more
    per photo than a batch on one thread (docs/performance.md), and no worker ever waits
    for a batch to fill."""
    d = _decode(found, bundle)
    if d.array is not None:
        d.embedded = embed_both(embedder, d.array[None])
        d.array = None  # not needed any more: the window holds vectors, not images
    return d


def _record(
    d: _Decoded,
    bundle: Bundle,
    match: Match | None,
    embedding: np.ndarray | None,
    geo: GeoVerdict | None = None,
) -> ScanResult:
    exif = d.exif or ExifInfo()
    best = geo.match if geo else None
    return ScanResult(
        path=str(d.found.path),
        size=d.found.size,
        mtime_ns=d.found.mtime_ns,
        content_hash=d.fingerprint,
        taken=exif.taken,
        camera_make=exif.camera_make,
        camera_model=exif.camera_model,
        latitude=exif.latitude,
        longitude=exif.longitude,
        bundle_id=bundle.bundle_id,
        model_id=bundle.model_id,
        landmark_id=best.landmark_id if best else None,
        landmark_name=best.name if best else None,
        score=best.score if best else None,
        topk=[c.to_json() for c in match.top] if match else [],
        embedding=embedding,
        error=d.error,
        gps=_stored(geo),
        # a RAW sits in its photo's folder: its name says which file the verdict came from
        recognised_from=d.from_raw[0].name if d.from_raw else None,
    )


def _stored(geo: GeoVerdict | None) -> GeoVerdict | None:
    """What the catalogue keeps of a verdict: nothing when GPS had nothing to say."""
    return geo if geo is not None and geo.verdict is not None else None


class Scanner:
    """One scan run against one catalogue with one bundle and one embedder."""

    def __init__(
        self,
        catalog: Catalog,
        bundle: Bundle,
        embedder: Embedder,
        options: ScanOptions | None = None,
    ) -> None:
        self.catalog = catalog
        self.bundle = bundle
        self.embedder = embedder
        self.options = options or ScanOptions()
        # Learned landmarks (photolm learn) are matched beside the bundle's own.
        self.matcher = build_matcher(catalog, bundle, embed=embed_fn(embedder, bundle),
                                     top_k=self.options.top_k)
        self.summary = ScanSummary(provider=embedder.provider, bundle=bundle.name,
                                   unmatchable=[lm.name for lm in self.matcher.unmatched])
        self._excluded: list[Found] = []
        self._replaced: list[str] = []  # --verify: another photo under a catalogued path
        # unchanged photos re-decided because the bundle changed (photolm.model_changes)
        self._reweighed: list[int] = []
        self._scan_id: int | None = None  # the catalogue's record of this run, once started
        # the roots run() was given, spelled as the catalogue spells them (photolm.case_paths)
        self.roots: list[Path] = []
        self._weigh_gps = GpsWeigher(self.matcher)

    def decide(self, match: Match, latitude: float | None,
               longitude: float | None) -> GeoVerdict:
        """The match after GPS evidence; photos without GPS keep their visual verdict."""
        return self._weigh_gps(match, latitude, longitude)

    # -- public --------------------------------------------------------------------------
    def run(self, roots: Sequence[Path], on_event: Callable[[Event], None]) -> ScanSummary:
        start = time.perf_counter()
        # (no other photolm writes meanwhile: the write lock is held for the whole scan)
        index = self.catalog.load_index()
        # ~/Pictures scanned before as ~/pictures (a case-insensitive disk): the record of
        # the scan names the folder as those rows do, so it is listed (and re-scanned) once
        spelling = CatalogSpelling(index)
        self.roots = as_catalogued(roots, (), spelling)[0]
        scan_id = self._scan_id = self.catalog.start_scan([str(r) for r in self.roots],
                                                          self.bundle.bundle_id,
                                                          self.bundle.model_id)
        self.catalog.replace_landmarks(self.bundle.bundle_id, self.bundle.landmarks)
        self.catalog.remember_threshold(self.bundle.bundle_id, self.bundle.threshold)
        self.catalog.remember_bundle(self.bundle.bundle_id, self.bundle.name, self.bundle.path,
                                     shipped=is_shipped_folder(self.bundle.path))
        try:
            found = self._walk(roots, on_event)
            # and the photos found are given those rows' spelling
            roots, found = as_catalogued(roots, found, spelling)
            self.roots = roots
            self.summary.found = len(found)
            to_decode, to_rematch = self._classify(found, index, on_event)
            on_event(Started(len(found), len(to_decode) + len(to_rematch),
                             self.summary.other_model))
            named = self.catalog.learned_verdicts(self._reweighed)
            try:
                self._rematch(to_rematch, on_event)
                self._decode_and_embed(to_decode, set(index), on_event)
            except KeyboardInterrupt:  # the photos re-decided so far are told too
                self.summary.lost_learned = self._lost(named)
                raise
            self.summary.lost_learned = self._lost(named)
            pairs = self.catalog.sync_companions({str(f.path): f.companions for f in found})
            self.summary.merged = len(pairs.merged)
            self.summary.merged_formats = {paired_format(p) for p in pairs.merged}
            self.summary.joined = len(pairs.joined)
            self.summary.paired_formats = {paired_format(p) for p in pairs.joined}
            # A person's answer was about the photo that used to be here, not this one.
            self.catalog.set_reviews([Review(p, None) for p in self._replaced])
            # excluded photos are still there: not missing
            self.summary.missing = self.catalog.sync_missing(
                roots, [f.path for f in (*found, *self._excluded)])
            self._emptied_roots(roots, on_event)
            # the network this scan replaced may have left no photo to match
            self.catalog.drop_unused_prototypes()
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP (photolm.ctrl_c)
            self.summary.interrupted = True
            self.summary.stop_signal = stop_signal(exc)
        finally:
            self.summary.seconds = time.perf_counter() - start
            self.summary.in_these_folders = self.catalog.counts(under=[str(r) for r in roots])
            self.catalog.finish_scan(scan_id, self.summary.to_record())
        return self.summary

    def recount(self, roots: Sequence[Path]) -> ScanSummary:
        """The folders' totals again, in the summary and in the scan's record, after work
        that followed the scan in the same command (``scan --write-tags``): they must show
        the state the run left, not "tagged 0" beside the tags it has just written."""
        self.summary.in_these_folders = self.catalog.counts(under=[str(r) for r in roots])
        if self._scan_id is not None:
            self.catalog.finish_scan(self._scan_id, self.summary.to_record())
        return self.summary

    def _emptied_roots(self, roots: Sequence[Path], on_event: Callable[[Event], None]) -> None:
        """Name each scanned folder that is empty although photos were catalogued in it.

        Most often it is the mount point a drive or share that is not mounted leaves
        behind: its photos are counted missing (their files are not there), and a
        `photolm prune` run next would forget every result, answer and tag record of
        them. A walk problem, so the scan exits 1 and a script stops before pruning; once
        they are pruned (the folder was emptied on purpose) the folder is no news."""
        for root in roots:
            try:
                with os.scandir(root) as entries:
                    if next(entries, None) is not None:
                        continue
            except OSError:  # not a folder, not there, not readable: the walk said so
                continue
            missing = self.catalog.counts(under=[str(root)])["missing"]
            if not missing:
                continue
            message = (f"empty folder, yet {counted(missing, 'catalogued photo')} "
                       f"{'was' if missing == 1 else 'were'} in it: a drive or share not "
                       "mounted? Mount it and scan again before `photolm prune`, which "
                       f"would forget {'it' if missing == 1 else 'them'}")
            self.summary.walk_problems.append((os.fspath(root), message))
            on_event(WalkIssue(root, message))

    def _lost(self, named: dict[int, tuple[str, str]]) -> list[LostLearned]:
        """Photos this run took a learned landmark from, as the bundle changed: ``named``
        is what the model called them before (:mod:`photolm.model_changes`)."""
        if not named:
            return []
        ids = list(named)
        return lost_learned(
            named, self.catalog.verdicts_of(ids),
            {row.id for row in self.catalog.uncertain(among=ids)},
            names={lm.id: lm.name for lm in self.matcher.landmarks},
            unrecognisable={lm.id for lm in self.matcher.unmatched})

    # -- stages --------------------------------------------------------------------------
    def _walk(self, roots: Sequence[Path], on_event: Callable[[Event], None]) -> list[Found]:
        """The photos to consider; excluded ones are kept aside as present (not missing)."""
        found: list[Found] = []
        seen: set[Path] = set()
        excluded = Exclusions(self.options.exclude, roots)

        def hidden(path: Path, folder: bool) -> None:
            if folder:
                self.summary.hidden_folders.append(os.fspath(path))
            else:
                self.summary.hidden += 1

        for item in walk_photos(roots, include_hidden=self.options.include_hidden,
                                on_hidden=hidden):
            if isinstance(item, Problem):
                if excluded.match(item.path):
                    continue
                self.summary.walk_problems.append((os.fspath(item.path), item.message))
                on_event(WalkIssue(item.path, item.message))
            elif isinstance(item, Skipped):
                if not excluded.match(item.path):
                    reason = item.reason
                    self.summary.skipped[reason] = self.summary.skipped.get(reason, 0) + 1
            elif item.path in seen:  # overlapping roots must not process a photo twice
                continue
            elif excluded.match(item.path):
                self.summary.excluded += 1
                self._excluded.append(item)
                # --exclude "*.JPG" keeps the RAWs: each is then a photo of its own
                for raw in self._alone(item.companions, excluded, on_event):
                    if raw.path not in seen:
                        seen.add(raw.path)
                        found.append(raw)
            else:
                companions = tuple(c for c in item.companions if not excluded.match(c))
                if companions != item.companions:
                    self.summary.excluded += len(item.companions) - len(companions)
                    item = replace(item, companions=companions)
                self.summary.pairs += bool(companions)
                seen.add(item.path)
                found.append(item)
        return found

    def _alone(self, raws: Iterable[Path], excluded: Exclusions,
               on_event: Callable[[Event], None]) -> Iterator[Found]:
        """The RAWs of a JPEG the user excluded, as photos of their own."""
        for raw in raws:
            if excluded.match(raw):
                self.summary.excluded += 1
                continue
            try:
                st = os.stat(raw)
            except OSError as exc:
                message = stat_message(exc)
                self.summary.walk_problems.append((os.fspath(raw), message))
                on_event(WalkIssue(raw, message))
                continue
            yield Found(raw, st.st_size, st.st_mtime_ns, "raw")

    def _classify(
        self, found: list[Found], index: dict[str, IndexEntry],
        on_event: Callable[[Event], None],
    ) -> tuple[list[Found], dict[int, Found]]:
        """Split the photos found into those to decode and those to re-match (by row id)."""
        to_decode: list[Found] = []
        to_rematch: dict[int, Found] = {}
        for f in found:
            entry = index.get(str(f.path))
            unchanged = entry is not None and entry.size == f.size and (
                entry.mtime_ns == f.mtime_ns
            )
            if entry is None or not unchanged or self.options.force:
                to_decode.append(f)
                if unchanged and entry is not None and not entry.error and (
                        entry.bundle_id != self.bundle.bundle_id):
                    self._reweighed.append(entry.id)  # --force with another bundle
            elif entry.error and access_failure(entry.error):
                to_decode.append(f)  # not the photo's fault: it may be readable now
            elif entry.error:
                self.summary.known_failures += 1
                on_event(PhotoDone(f.path, KNOWN_ERROR, error=entry.error))
            elif self.options.verify and not same_content(f.path, f.size, entry.content_hash):
                self.summary.replaced += 1
                self._replaced.append(str(f.path))
                to_decode.append(f)
            elif entry.bundle_id == self.bundle.bundle_id:
                self.summary.unchanged += 1
                on_event(PhotoDone(f.path, UNCHANGED))
            elif entry.model_id == self.bundle.model_id and entry.has_embedding:
                to_rematch[entry.id] = f
                self._reweighed.append(entry.id)
            else:
                self.summary.other_model += entry.model_id != self.bundle.model_id
                to_decode.append(f)
                self._reweighed.append(entry.id)
        if not to_decode:
            return to_decode, to_rematch
        # Moved or renamed photos: a new path whose fingerprint belongs to a path that is gone.
        new_paths = [f for f in to_decode if str(f.path) not in index]
        if not new_paths or self.options.force:
            return to_decode, to_rematch
        moves = _moves(new_paths, index, {str(f.path) for f in found})
        moved = {id(f) for f, _ in moves}
        remaining = [f for f in to_decode if id(f) not in moved]
        self._store_moves(moves, index, to_rematch, remaining, on_event)
        return remaining, to_rematch

    def _store_moves(self, moves: list[tuple[Found, str]], index: dict[str, IndexEntry],
                     to_rematch: dict[int, Found], remaining: list[Found],
                     on_event: Callable[[Event], None]) -> None:
        """Give moved photos their new paths, a page of them per transaction (a renamed top
        folder moves the whole library), and sort them: results that came with them, to
        re-match (another bundle's, same network) or to decode (no stored vector)."""
        for start in range(0, len(moves), _MOVES_PER_PAGE):
            page = moves[start:start + _MOVES_PER_PAGE]
            self.catalog.move_photos([Move(old, str(f.path), f.size, f.mtime_ns)
                                      for f, old in page])
            kept: list[int] = []  # moved with this bundle's results
            for f, old in page:
                entry = index[old]
                self.summary.moved += 1
                if entry.bundle_id == self.bundle.bundle_id or not entry.has_embedding:
                    on_event(PhotoDone(f.path, MOVED))
                    if entry.bundle_id != self.bundle.bundle_id:
                        remaining.append(f)  # decoded below, and counted there
                    else:  # its results came with it: count them as this run's
                        kept.append(entry.id)
                else:
                    to_rematch[entry.id] = f  # move_photos kept the row's id
                    self._reweighed.append(entry.id)
            self.summary.landmarks += self.catalog.with_landmark(kept)

    def _rematch(self, items: dict[int, Found], on_event: Callable[[Event], None]) -> None:
        """New prototypes or threshold, same ONNX model: match stored embeddings again."""
        page: list[Embedded] = []
        for stored in self.catalog.stored_embeddings(list(items)):
            page.append(stored)
            if len(page) == 512:
                self._rematch_page(page, items, on_event)
                page = []
        if page:
            self._rematch_page(page, items, on_event)

    def _rematch_page(self, page: list[Embedded], items: dict[int, Found],
                      on_event: Callable[[Event], None]) -> None:
        descriptors, has = self.catalog.descriptors_of([e.id for e in page],
                                                       self.bundle.model_id)
        matches = self.matcher.match(np.stack([e.vector for e in page]), descriptors, has)
        verdicts = [self.decide(m, e.latitude, e.longitude)
                    for e, m in zip(page, matches, strict=True)]
        self.catalog.update_matches([
            MatchUpdate(e.path, self.bundle.bundle_id, *_verdict(g.match),
                        [c.to_json() for c in m.top], gps=_stored(g))
            for e, m, g in zip(page, matches, verdicts, strict=True)
        ])
        for e, g in zip(page, verdicts, strict=True):
            self.summary.rematched += 1
            self.summary.landmarks += g.match is not None
            self.summary.gps_changed += g.changed
            on_event(PhotoDone(items[e.id].path, REMATCHED, *_best(g.match)))

    def _decode_and_embed(self, items: list[Found], known: set[str],
                          on_event: Callable[[Event], None]) -> None:
        if not items:
            return
        bs = max(1, self.options.batch_size)
        threads = concurrency(self.embedder, self.options)
        workers = threads.workers
        window = max(2 * bs, 4 * workers)  # photos in flight: bounds memory, keeps cores busy
        queue: deque[Future[_Decoded]] = deque()
        pending: Iterator[Found] = iter(items)
        batch: list[_Decoded] = []
        work: Callable[[Found, Bundle], _Decoded] = (
            partial(_decode_and_run, embedder=self.embedder) if threads.in_workers
            else _decode)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode") as pool:
            try:
                self._fill(pool, queue, pending, window, work)
                while queue:
                    batch.append(queue.popleft().result())
                    self._fill(pool, queue, pending, window, work)
                    if len(batch) >= bs or not queue:
                        self._finish_batch(batch, known, on_event)
                        batch = []
            except KeyboardInterrupt:
                for fut in queue:
                    fut.cancel()
                raise

    def _fill(
        self, pool: ThreadPoolExecutor, queue: deque[Future[_Decoded]],
        pending: Iterator[Found], window: int, work: Callable[[Found, Bundle], _Decoded],
    ) -> None:
        while len(queue) < window:
            item = next(pending, None)
            if item is None:
                return
            queue.append(pool.submit(work, item, self.bundle))

    def _finish_batch(
        self, batch: list[_Decoded], known: set[str], on_event: Callable[[Event], None]
    ) -> None:
        good = [d for d in batch if d.array is not None or d.embedded is not None]
        matches: dict[int, tuple[Match, np.ndarray]] = {}
        descriptors = None
        if good:
            vectors, descriptors = self._outputs(good)
            for d, m, v in zip(good, self.matcher.match(vectors, descriptors), vectors,
                               strict=True):
                matches[id(d)] = (m, v)
        records = []
        for d in batch:
            m, v = matches.get(id(d), (None, None))
            exif = d.exif or ExifInfo()
            geo = self.decide(m, exif.latitude, exif.longitude) if m else None
            records.append(_record(d, self.bundle, m, v, geo))
        # descriptors: what learned landmarks and places compare (issue 12), stored with the rows
        generic = ([] if descriptors is None else
                   [(d.found.path, self.bundle.model_id, vec)
                    for d, vec in zip(good, descriptors, strict=True)])
        self.catalog.write_results(records, generic)
        for d, rec in zip(batch, records, strict=True):
            path = d.found.path
            if d.error:
                self.summary.errors.append((os.fspath(path), d.error))
                on_event(PhotoDone(path, ERROR, error=d.error))
                continue
            self.summary.processed += 1
            self.summary.landmarks += rec.landmark_id is not None
            self.summary.gps_changed += bool(rec.gps and rec.gps.changed)
            outcome = UPDATED if str(path) in known else NEW
            warning = None
            if d.from_raw is not None:
                raw, error = d.from_raw
                self.summary.from_raw.append((os.fspath(path), os.fspath(raw), error))
                warning = f"{error}; recognised from its RAW {raw.name} instead"
            on_event(PhotoDone(path, outcome, rec.landmark_name, rec.score, warning=warning))

    def _outputs(self, good: list[_Decoded]) -> tuple[np.ndarray, np.ndarray | None]:
        """Embeddings and descriptors of a batch: gathered from the workers that ran the
        model, or one run over the batch here."""
        ran = [d.embedded for d in good]
        if all(r is not None for r in ran):
            done = [r for r in ran if r is not None]
            descriptors = [r[1] for r in done]
            return (np.concatenate([r[0] for r in done]),
                    None if any(x is None for x in descriptors)
                    else np.concatenate(descriptors))  # type: ignore[arg-type]
        return embed_both(self.embedder, np.stack([d.array for d in good]))  # type: ignore[misc]


def _moves(new_paths: list[Found], index: dict[str, IndexEntry],
           present: set[str]) -> list[tuple[Found, str]]:
    """The photos of ``new_paths`` (paths the catalogue does not know) that are catalogued
    photos moved: ``(photo, its old path)``, the old path gone and of the same content.

    Only catalogued paths the walk did not find (``present``) are looked for on disk, and
    only new files of a size some vanished photo had are fingerprinted: a moved file keeps
    its size, and the fingerprint hashes it (a file of another size is a new photo, read
    once by its decode)."""
    vanished: dict[str, list[str]] = {}  # identical copies (a backup folder) share one
    sizes: set[int] = set()
    for p, e in index.items():
        if e.content_hash and p not in present and not os.path.lexists(p):
            vanished.setdefault(e.content_hash, []).append(p)
            sizes.add(e.size)
    arrived: dict[str, list[Found]] = {}
    for f in new_paths:
        if f.size not in sizes:
            continue
        try:
            fp = fingerprint(f.path, f.size)
        except OSError:
            continue  # decoded, and the error said there
        if fp in vanished:
            arrived.setdefault(fp, []).append(f)
    return [pair for fp, news in arrived.items() for pair in _pair_copies(vanished[fp], news)]


def _pair_copies(olds: list[str], news: list[Found]) -> list[tuple[Found, str]]:
    """Which new path each vanished copy of one content moved to, so that each copy keeps
    its own row, answers and tag records, whatever order the catalogue or the walk lists
    them in: the pairs most alike first (:func:`_likeness`: the same file name and folders
    above it, then the same folders from the top, then the same depth), ties in sorted
    order. A path left over (more new copies than vanished ones) is a new photo.

    Groups of more than :data:`_MOST_PAIRS` candidate pairs (thousands of identical files,
    blank frames) are paired in sorted order alone, which keeps every copy in its place
    when a folder above them was renamed."""
    if len(olds) == 1 and len(news) == 1:
        return [(news[0], olds[0])]
    by_path = sorted((str(f.path), f) for f in news)
    if len(olds) * len(news) > _MOST_PAIRS:
        return [(f, old) for (_, f), old in zip(by_path, sorted(olds), strict=False)]
    new_parts = [(p, Path(p).parts, f) for p, f in by_path]
    ranked = sorted((_likeness(Path(old).parts, parts), old, p, f)
                    for old in olds for p, parts, f in new_parts)
    pairs: list[tuple[Found, str]] = []
    taken_old: set[str] = set()
    taken_new: set[str] = set()
    for _, old, p, f in ranked:
        if old not in taken_old and p not in taken_new:
            taken_old.add(old)
            taken_new.add(p)
            pairs.append((f, old))
    return pairs


def _likeness(old: tuple[str, ...], new: tuple[str, ...]) -> tuple[int, int, int]:
    """How alike two paths are, as a sort key (most alike first): path parts shared from
    the end (the file name, then its folders: ``2019/x.jpg`` and ``backup/2019/x.jpg``
    moved together stay apart), then from the start (a copy renamed in its own folder), then
    the difference in depth."""
    tail = 0
    for a, b in zip(reversed(old), reversed(new), strict=False):
        if a != b:
            break
        tail += 1
    head = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        head += 1
    return -tail, -head, abs(len(old) - len(new))


def _verdict(best: Candidate | None) -> tuple[str | None, str | None, float | None]:
    return (best.landmark_id, best.name, best.score) if best else (None, None, None)


def _best(best: Candidate | None) -> tuple[str | None, float | None]:
    return (best.name, best.score) if best else (None, None)
