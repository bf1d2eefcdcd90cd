# SPDX-License-Identifier: GPL-3.0-or-later
"""Long work started from the desktop (a scan, a tag run, a tag preview), off the server loop.

One job at a time, in a daemon thread, because each of them holds the catalogue's write lock
(or would compete with the one that does); pages keep answering meanwhile, from read-only
connections (the catalogue is in WAL mode). The job's progress is plain data the pages poll.
The work itself is the CLI's: :class:`photolm.scan.Scanner` and :mod:`photolm.tagging`.
A job is stopped by raising ``KeyboardInterrupt`` from its progress callback, which the scan
already treats as Ctrl-C (everything done so far is kept).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from photolm.errors import CatalogBusyError, PhotolmError
from photolm.printed_paths import printed
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.catalog import Catalog
    from photolm.prototypes import Adopted
    from photolm.scan import ScanSummary

MAX_LINES = 200  # problems kept for the page; the rest are counted
# the write lock held by a job of this server or by another photolm (`photolm scan` in a
# terminal), in a page's words: the command line's sentence ends "use --catalog"
BUSY = ("The catalogue is busy (a scan or tag run is writing to it); try again when it has "
        "finished.")


class JobBusyError(PhotolmError):
    """Another job is still running."""


@dataclass
class Job:
    kind: str  # "scan", "tag", "untag", "preview"
    title: str
    state: str = "running"  # "running", "done", "failed", "stopped"
    total: int | None = None
    done: int = 0
    message: str = ""
    lines: list[str] = field(default_factory=list)
    more_lines: int = 0
    notes: list[str] = field(default_factory=list)  # worth knowing, not problems
    more_notes: int = 0
    # learned landmarks a scan folded into the model's of the same name (a retrained model),
    # one sentence each, as `photolm scan`'s note: lines say it
    merged: list[str] = field(default_factory=list)
    # learned landmarks whose photos a changed model (threshold, network) no longer names
    # with them, one sentence each, as `photolm scan`'s note: lines; and whether the
    # Uncertain page shows any of those photos
    lost: list[str] = field(default_factory=list)
    lost_uncertain: bool = False
    result: dict[str, Any] | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    stop_requested: bool = False
    # what it was started for (a tag run: which landmark, sidecar or embedded), so its page
    # can show the same choice again once it ends
    params: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        if not self.total:
            return 0 if self.running else 100
        return min(100, round(100 * self.done / self.total))

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def note(self, line: str) -> None:
        """A problem (a photo that failed)."""
        if len(self.lines) < MAX_LINES:
            self.lines.append(line)
        else:
            self.more_lines += 1

    def tell(self, line: str) -> None:
        """Something the person should know that is not a problem (a tag write's note)."""
        if len(self.notes) < MAX_LINES:
            self.notes.append(line)
        else:
            self.more_notes += 1

    def step(self) -> None:
        """Count one unit of work; where a stop request takes effect."""
        self.done += 1
        if self.stop_requested:
            raise KeyboardInterrupt


class Jobs:
    """The one running job and the last one of each kind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current: Job | None = None
        self.last: dict[str, Job] = {}

    def refuse_second(self) -> None:
        """:class:`JobBusyError` while a job runs: one at a time."""
        current = self.current
        if current is not None and current.running:
            raise JobBusyError(f"{current.title} is still running; wait for it to finish or "
                               "stop it.")

    def start(self, kind: str, title: str, work: Callable[[Job], None],
              params: dict[str, str] | None = None) -> Job:
        with self._lock:
            self.refuse_second()
            job = Job(kind, title, params=dict(params or {}))
            self.current = job
            self.last[kind] = job
        threading.Thread(target=self._run, args=(job, work), daemon=True,
                         name=f"photolm-{kind}").start()
        return job

    def stop(self) -> None:
        job = self.current
        if job is not None and job.running:
            job.stop_requested = True

    def wait(self, timeout: float = 30.0) -> Job | None:
        """Block until the current job ends (tests, and shutdown)."""
        end = time.monotonic() + timeout
        while self.current is not None and self.current.running and time.monotonic() < end:
            time.sleep(0.02)
        return self.current

    @staticmethod
    def _run(job: Job, work: Callable[[Job], None]) -> None:
        try:
            work(job)
            if job.state == "running":
                job.state = "stopped" if job.stop_requested else "done"
        except KeyboardInterrupt:
            job.state = "stopped"
        except PhotolmError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # a bug: keep the server up and say what broke
            job.state, job.message = "failed", f"unexpected error: {type(exc).__name__}: {exc}"
        finally:
            job.finished = time.monotonic()


# --------------------------------------------------------------------------- the work


def writing(catalog_path: Path, *, lock_timeout: float = 0.0,
            quick_check: bool = True) -> Catalog:
    """The catalogue opened for writing, :data:`BUSY` said when another writer holds it."""
    from photolm.catalog import Catalog

    try:
        return Catalog.open(catalog_path, write=True, create=False, lock_timeout=lock_timeout,
                            quick_check=quick_check)
    except CatalogBusyError:
        raise CatalogBusyError(BUSY) from None


def rescan_roots(roots: Sequence[str]) -> tuple[list[str], list[str]]:
    """What a re-scan from the desktop looks at: every folder (or photo) an earlier scan was
    given that is there now, and apart, those that are not (a typo once given to
    ``photolm scan``, a drive not mounted), which the page names instead of reporting each
    of them as a problem on every re-scan."""
    present = [r for r in roots if os.path.lexists(r)]
    return present, [r for r in roots if r not in present]



def scan_work(catalog_path: Path, model: Path | None, roots: Sequence[str],
              on_merged: Callable[[Sequence[Adopted]], None] | None = None
              ) -> Callable[[Job], None]:
    """A scan of ``roots`` with the CLI's scanner, its events turned into progress.

    Learned landmarks the model now ships by name are folded into the model's as the
    scanner starts (:func:`photolm.prototypes.build_matcher`): the job says so, and
    ``on_merged`` hears of them, once."""

    def work(job: Job) -> None:
        import warnings

        from photolm.bundle import load_bundle
        from photolm.scan import PhotoDone, Scanner, Started, WalkIssue, scan_session

        warnings.simplefilter("ignore", UserWarning)  # as `photolm scan`: odd EXIF blocks
        job.message = "loading the model"
        bundle = load_bundle(model)
        embedder = scan_session(bundle)  # as `photolm scan`: descriptors too, same threads

        def on_event(event: object) -> None:
            if isinstance(event, WalkIssue):
                job.note(f"{printed(event.path)}: {event.message}")
            elif isinstance(event, Started):
                job.total = event.to_decode
                job.message = (f"{counted(event.found, 'photo')} found, "
                               f"{event.to_decode} to recognise")
            elif isinstance(event, PhotoDone):
                if event.problem:  # a failure, or e.g. a pair's JPEG unreadable, RAW used
                    job.note(f"{printed(event.path)}: {event.problem}")
                if event.decoded:  # as `photolm scan`'s bar
                    job.step()
            if job.stop_requested:
                raise KeyboardInterrupt

        job.message = "looking for photos"
        with writing(catalog_path) as cat:
            scanner = Scanner(cat, bundle, embedder)
            job.merged = merged_lines(scanner.matcher.adopted)
            if on_merged is not None and scanner.matcher.adopted:
                on_merged(scanner.matcher.adopted)
            summary = scanner.run([Path(r) for r in roots], on_event)
        job.result = summary.to_json()
        job.lost = [f"{item.name}: {item.sentence()}" for item in summary.lost_learned]
        job.lost_uncertain = any(item.uncertain for item in summary.lost_learned)
        job.message = scan_message(summary)  # before the state: a page drawn "done" shows it
        job.state = "stopped" if summary.interrupted else "done"

    return work


def merged_lines(merged: Sequence[Adopted]) -> list[str]:
    """The CLI's ``note:`` line about each folded landmark, as the page shows it."""
    return [f"{item.name}: {item.sentence()}" for item in merged]


def scan_message(summary: ScanSummary) -> str:
    """This run's work, then the folders' totals, as ``photolm scan``'s two columns: a
    re-scan with nothing to do must not read "0 with a landmark" of a library full of them."""
    known = f", {summary.known_failures} known unreadable" if summary.known_failures else ""
    errors = counted(len(summary.errors) + len(summary.walk_problems), "error")
    now = (f"{counted(summary.found, 'photo')}: {summary.processed} recognised now "
           f"({summary.landmarks} with a landmark), {summary.unchanged} unchanged{known}, "
           f"{errors}")
    total = summary.in_these_folders
    if "photos" not in total:
        return now
    shows = "shows" if total.get("with_landmark", 0) == 1 else "show"
    return (f"{now}. In these folders: {total.get('with_landmark', 0)} of "
            f"{counted(total['photos'], 'photo')} {shows} a landmark.")


def tag_work(catalog_path: Path, action: str, *, embed: bool = False,
             landmark_id: str | None = None) -> Callable[[Job], None]:
    """``preview`` (tag's dry run), ``tag`` or ``untag``, with :mod:`photolm.tagging`."""

    def work(job: Job) -> None:
        from photolm.catalog import Catalog
        from photolm.tagging import (
            TagResult,
            TagSettings,
            TagStarted,
            TagSummary,
            select_photos,
            tag_photos,
            untag_photos,
        )

        dry_run = action == "preview"
        with (Catalog.open(catalog_path, write=False) if dry_run
              else writing(catalog_path)) as cat:
            rows = (cat.photos([landmark_id], order="path") if landmark_id is not None
                    else select_photos(cat).rows)
            if action == "untag":
                summary = TagSummary("untag")
                events = untag_photos(cat, rows)
            else:
                summary = TagSummary("tag", dry_run=dry_run)
                events = tag_photos(cat, rows, TagSettings(
                    mode="embed" if embed else "sidecar", dry_run=dry_run))
            try:
                for event in events:
                    summary.add(event)
                    if isinstance(event, TagStarted):
                        job.total = event.total
                    elif isinstance(event, TagResult):
                        if event.failed:
                            job.note(f"{printed(event.path)}: {event.error or event.message}")
                        elif not dry_run:  # a preview's plan lists them, photo by photo
                            for text in event.told():
                                job.tell(f"{printed(event.path)}: {text}")
                        job.step()
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()  # records what was written so far (tagging's finally)
        from photolm.cli.tag import closing_line  # the CLI's own closing line, not a copy

        job.result = summary.to_json()
        job.message = closing_line(summary)

    return work
