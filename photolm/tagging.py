# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the catalogue's landmarks into photos' metadata, and take them out again.

Shared by ``photolm tag``, ``photolm untag`` and ``photolm scan --write-tags``. Like the scan
it yields events and never prints, so each command renders them its own way (progress bar,
one warning line per failure, ``--json``). How the bytes are written, verified and undone
is :mod:`photolm.metadata`' business; this module decides *which* photos get *which* landmark
and records what happened in the catalogue.

Which photos are tagged, and why:

* **A person's answer wins.** A photo confirmed or corrected with ``photolm confirm`` is
  tagged with that landmark whatever its score (the marker records ``ModelId`` = ``person``,
  ``Score`` = 1). One marked "no landmark" is not tagged, and tags photolm wrote on it
  earlier are removed: the person said they are wrong.
* **Otherwise the model's verdict after GPS evidence.** The catalogue holds a landmark only
  when it passed the bundle's threshold, or GPS within 10 km vouched for it just below; a
  look-alike GPS rejected has none. ``min_score`` raises the bar further, for these only.
* **Never on stale results.** A photo that changed since it was scanned (size or
  modification time differ) fails with one line: its verdict may belong to other pixels.
  Photos that were missing or unreadable at the last scan are skipped.

Each photo's outcome (tag or untag, written/unchanged/removed/failed, mode, files, error) is
stored on its catalogue row in batches, so ``photolm list`` can show it and a crash loses at
most one batch of records (never a tag: the files on disk are the truth, and re-running
finds them "unchanged"). After an embedded write the row also gets the photo's new size and
fingerprint: photolm verified the pixels are identical, so the next scan need not decode it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from photolm.bundle import Landmark
from photolm.case_paths import given_catalogued
from photolm.catalog import Catalog, PhotoRow, TagRecord, normalise_path
from photolm.ctrl_c import held
from photolm.errors import CatalogError, TagError
from photolm.fingerprint import fingerprint, fingerprint_bytes
from photolm.metadata.api import TagPlan, apply_tags, plan_left_behind, plan_tags, plan_untag
from photolm.metadata.sidecar import SidecarStyle
from photolm.metadata.undo import UndoRecord, UndoStore, UndoStoreError, find_original
from photolm.printed_paths import printed
from photolm.storage import no_space, no_space_message
from photolm.unchanged import same_content

Mode = Literal["sidecar", "embed"]
Action = Literal["tag", "untag"]

# The marker's ModelId for a landmark a person chose (photolm confirm).
PERSON = "person"
_RECORD_BATCH = 64

# Why a photo is not tagged (TagSkipped.reason; counted in TagSummary.skipped).
NO_LANDMARK = "no landmark recognised"
GPS_RULED_OUT = "GPS ruled the match out"
BELOW_MIN_SCORE = "below --min-score"
PERSON_SAID_NONE = "a person said: no landmark"
MISSING = "missing since the last scan"
UNREADABLE = "could not be read at the last scan"
NOT_TAGGED = "no photolm tags recorded"


@dataclass(frozen=True)
class TagSettings:
    """How to tag: the options of ``photolm tag`` (and ``scan --write-tags``)."""

    mode: Mode = "sidecar"
    sidecar_style: SidecarStyle = "darktable"
    write_location: bool = False
    dry_run: bool = False
    min_score: float | None = None


@dataclass(frozen=True)
class Selection:
    """Catalogued photos for the paths given, and the paths that matched none."""

    rows: list[PhotoRow]
    unmatched: list[str] = field(default_factory=list)  # as given (os.fsdecode's form)


@dataclass(frozen=True)
class TagStarted:
    """Emitted first: how many photos will be written (or planned) and how many skipped."""

    total: int
    skipped: int


@dataclass(frozen=True)
class TagSkipped:
    path: str
    reason: str


@dataclass(frozen=True)
class TagResult:
    """What happened to one photo.

    ``status`` is one of :data:`photolm.catalog.TAG_STATUSES` or, in a dry run,
    ``"would-write"``/``"would-remove"`` (``"unchanged"``/``"nothing-to-remove"`` when the
    plan changes nothing). ``lines`` is the plan, one line per field (dry runs).
    ``fallback`` says why an embedded write went to a sidecar instead. ``notes``: what the
    person should know about this photo's write although nothing failed (a value of their
    own kept, no undo copy kept, the photo's own keywords unreadable), each once.
    """

    path: str
    action: Action
    status: str
    landmark: str | None
    mode: str | None
    message: str
    files: tuple[str, ...] = ()  # os.fsdecode's form; --json prints them as list does
    lines: tuple[str, ...] = ()
    fallback: str | None = None
    error: str | None = None
    raw: bool = False  # a camera RAW file, tagged in a sidecar whatever the mode
    companions: tuple[str, ...] = ()  # camera RAWs of the same shot, tagged in their sidecars
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def noted(self) -> bool:
        """Whether the person is told something about this photo besides its status."""
        return bool(self.notes or self.fallback)

    def told(self, *, dry_run: bool = False) -> list[str]:
        """What to tell the person about this photo, one line each: the sidecar fallback,
        then the notes (the CLI's ``note:`` lines, the desktop's notes)."""
        would = "would write" if dry_run else "wrote"
        fallback = [f"{self.fallback} - {would} a sidecar instead"] if self.fallback else []
        return [*fallback, *self.notes]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": printed(self.path), "action": self.action, "status": self.status,
            "landmark": self.landmark, "mode": self.mode,
            "files": [printed(f) for f in self.files],
            "message": self.message, "fallback": self.fallback, "error": self.error,
            "raw": self.raw, "companions": [printed(c) for c in self.companions],
            "notes": list(self.notes),
            **({"plan": list(self.lines)} if self.lines else {}),
        }


TagEvent = TagStarted | TagSkipped | TagResult


@dataclass
class TagSummary:
    """Counts for the closing line and ``--json``; feed it every event with :meth:`add`."""

    action: Action
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)
    results: list[TagResult] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    planned: int = 0  # photos to write (or plan), from TagStarted

    def add(self, event: TagEvent) -> None:
        if isinstance(event, TagStarted):
            self.planned = event.total
        elif isinstance(event, TagSkipped):
            self.skipped[event.reason] = self.skipped.get(event.reason, 0) + 1
        elif isinstance(event, TagResult):
            self.counts[event.status] = self.counts.get(event.status, 0) + 1
            self.results.append(event)
            if event.failed:
                self.failed.append((os.fsdecode(event.path), event.error or event.message))

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unmatched

    @property
    def noted(self) -> int:
        """How many photos came with a note (see :attr:`TagResult.noted`)."""
        return sum(r.noted for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "counts": dict(sorted(self.counts.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "failed": [{"path": printed(p), "error": e} for p, e in self.failed],
            "with_notes": self.noted,
            "unmatched_paths": [printed(p) for p in self.unmatched],
            "photos": [r.to_json() for r in self.results],
        }


# --------------------------------------------------------------------------- selecting


def select_photos(catalog: Catalog, paths: Sequence[os.PathLike[str] | str] = ()) -> Selection:
    """Catalogued photos that are, or lie under, ``paths`` (all of them when empty).

    In path order, each photo once. A camera RAW catalogued as a JPEG's companion stands
    for that photo (the same shot). A path that is neither a catalogued photo nor a folder
    holding some is listed in :attr:`Selection.unmatched` so the command can say so.

    A path is read as photolm prints it when that names photos, else as it is, and given
    the catalogue's spelling of the same folder or photo in another letter case
    (:func:`photolm.case_paths.given_catalogued`, ``~`` expanded): every path ``photolm
    list`` prints names its own photo when given back, even ``a\\nb.jpg`` (a newline)
    beside a file named ``a\\nb.jpg`` (a backslash, printed ``a\\\\nb.jpg``); a name with
    a backslash given as it is names its photo unless such a twin exists.
    """
    if not paths:
        return Selection(sorted(catalog.iter_photos(), key=lambda r: os.fsencode(r.path)))
    at: dict[str, list[PhotoRow]] = {}  # each reading looked up once

    def photos_at(path: str) -> list[PhotoRow]:
        key = normalise_path(path)
        if key not in at:
            at[key] = _photos_at(catalog, key)
        return at[key]

    chosen: dict[int, PhotoRow] = {}
    unmatched: list[str] = []
    for path in given_catalogued(catalog, paths, catalogued=lambda p: bool(photos_at(p))):
        found = photos_at(str(path))
        if not found:
            unmatched.append(str(path))
        for r in found:
            chosen.setdefault(r.id, r)
    rows = sorted(chosen.values(), key=lambda r: os.fsencode(r.path))
    return Selection(rows, unmatched)


def _photos_at(catalog: Catalog, given: str) -> list[PhotoRow]:
    """The catalogued photo at ``given`` (or the one whose RAW it is), else those under it."""
    path = normalise_path(given)
    row = catalog.get_photo(path) or catalog.photo_of_companion(path)
    return [row] if row is not None else list(catalog.iter_photos(under=path))


@dataclass(frozen=True)
class _TagTask:
    row: PhotoRow
    action: Action
    landmark: Landmark | None = None
    score: float = 0.0
    model_id: str = ""


class _LandmarkTable:
    """Landmark records (city, country, coordinates) by bundle, read from the catalogue once.

    The hierarchy keyword (``Places|France|Paris|Eiffel Tower``) needs the place; a landmark
    whose record is gone is written with its name alone. The catalogue does not store a
    landmark's region and ISO country code (yet): those come from the bundle the record is
    from, the model that recognised the photo (found where its scan kept it, as
    :mod:`photolm.model_choice` finds it), not from whichever model photolm would load now;
    only when that bundle is gone, from the one photolm would use (``$PHOTOLM_MODEL`` or the
    shipped one) when it has a landmark of the same id and name.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._tables: dict[str, dict[str, Landmark]] = {}
        self._places: dict[str, dict[str, Landmark]] = {}  # by bundle id

    def get(self, landmark_id: str, name: str | None, bundles: Iterable[str | None]) -> Landmark:
        for bundle_id in bundles:
            if bundle_id is None:
                continue
            table = self._tables.get(bundle_id)
            if table is None:
                table = {lm.id: lm for lm in self.catalog.landmarks(bundle_id)}
                self._tables[bundle_id] = table
            if landmark_id in table:
                return self._with_place(table[landmark_id], bundle_id)
        return Landmark(landmark_id, name or landmark_id)

    def _with_place(self, landmark: Landmark, bundle_id: str) -> Landmark:
        if landmark.region is not None or landmark.country_code is not None:
            return landmark
        places = self._places.get(bundle_id)
        if places is None:
            places = self._places[bundle_id] = _bundle_places(self.catalog, bundle_id)
        known = places.get(landmark.id)
        if known is None or known.name != landmark.name:
            return landmark
        return replace(landmark, region=known.region, country_code=known.country_code)


def _bundle_places(catalog: Catalog, bundle_id: str) -> dict[str, Landmark]:
    """The landmarks of the bundle ``bundle_id`` where its scan kept it, else of the bundle
    photolm would use now; empty when there is none."""
    from photolm.bundle import load_bundle
    from photolm.errors import BundleError
    from photolm.model_choice import kept_bundle

    try:
        bundle = kept_bundle(catalog.bundle_kept(bundle_id)) or load_bundle()
    except (BundleError, OSError):
        return {}
    return {lm.id: lm for lm in bundle.landmarks}


def _has_photolm_tags(row: PhotoRow) -> bool:
    return row.tag_action == "tag" and row.tag_status in ("written", "unchanged")


def _tasks_for_tagging(catalog: Catalog, rows: Sequence[PhotoRow], settings: TagSettings
                      ) -> tuple[list[_TagTask], list[TagSkipped]]:
    table = _LandmarkTable(catalog)
    latest = catalog.last_bundle_id()
    tasks: list[_TagTask] = []
    skipped: list[TagSkipped] = []
    for row in rows:
        reason: str | None = None
        # Which landmark counts is the catalogue's one rule (records.counting): a person's
        # answer over the model's; "none" leaves nothing.
        person = row.review is not None
        lm_id, lm_name = row.effective_landmark_id, row.effective_landmark_name
        if row.missing:
            reason = MISSING
        elif person and lm_id is None:
            if _has_photolm_tags(row):
                tasks.append(_TagTask(row, "untag"))
                continue
            reason = PERSON_SAID_NONE
        elif person:
            landmark = table.get(lm_id or "", lm_name, (latest, row.bundle_id))
            tasks.append(_TagTask(row, "tag", landmark, 1.0, PERSON))
            continue
        elif row.error is not None:
            reason = UNREADABLE
        elif lm_id is None or row.effective_score is None:
            reason = GPS_RULED_OUT if row.gps_changed else NO_LANDMARK
        elif settings.min_score is not None and row.effective_score < settings.min_score:
            reason = BELOW_MIN_SCORE
        if reason is not None:
            skipped.append(TagSkipped(row.path, reason))
            continue
        landmark = table.get(lm_id or "", lm_name, (row.bundle_id, latest))
        tasks.append(_TagTask(row, "tag", landmark, float(row.effective_score or 0.0),
                              row.model_id or ""))
    return tasks, skipped


# --------------------------------------------------------------------------- running


def tag_photos(catalog: Catalog, rows: Sequence[PhotoRow],
               settings: TagSettings | None = None) -> Iterator[TagEvent]:
    """Tag the photos of ``rows`` that qualify (see the module docstring); yields events.

    Without ``dry_run`` the catalogue must be open for writing: each outcome is recorded.
    """
    settings = settings or TagSettings()
    tasks, skipped = _tasks_for_tagging(catalog, rows, settings)
    yield from _write_all(catalog, tasks, skipped, settings)


def untag_photos(catalog: Catalog, rows: Sequence[PhotoRow], *,
                 dry_run: bool = False) -> Iterator[TagEvent]:
    """Remove exactly what photolm wrote (embedded and either sidecar style) from ``rows``.

    Every photo that is still there is looked at, not only those the catalogue records as
    tagged: the files are the truth (the catalogue may be newer than a copy of the photos).
    """
    tasks: list[_TagTask] = []
    skipped: list[TagSkipped] = []
    for row in rows:
        if row.missing:
            skipped.append(TagSkipped(row.path, MISSING))
        else:
            tasks.append(_TagTask(row, "untag"))
    yield from _write_all(catalog, tasks, skipped, TagSettings(dry_run=dry_run))


def _write_all(catalog: Catalog, tasks: list[_TagTask], skipped: list[TagSkipped],
         settings: TagSettings) -> Iterator[TagEvent]:
    yield TagStarted(len(tasks), len(skipped))
    yield from skipped
    pending: list[TagRecord] = []
    known = CatalogUndoStore(catalog)  # a dry run only looks records up
    undo = None if settings.dry_run else known
    try:
        for task in tasks:
            # Ctrl-C waits for the photo in hand: landing after its rename, it would leave
            # a photo rewritten, counted as untouched and (its way back dropped as unused)
            # not restorable by untag. It takes effect once the photo is shown.
            with held() as ctrl_c:
                result, record = _write_one(task, settings, undo, known)
                if record is not None and not settings.dry_run:
                    pending.append(record)
                    if len(pending) >= _RECORD_BATCH:
                        catalog.record_tags(pending)
                        pending = []
            yield result
            ctrl_c.deliver()
    finally:  # also on Ctrl-C and when the consumer stops early: keep what was done
        if pending:
            with held():  # a second Ctrl-C (or SIGTERM) must not lose them: it is ending
                catalog.record_tags(pending)


class CatalogUndoStore:
    """The catalogue as :mod:`photolm.metadata`'s undo store (table ``tag_undo``).

    The bridge lives here because the metadata package never imports the catalogue, and the
    catalogue stores a patch without knowing its format.
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def save(self, record: UndoRecord) -> None:
        with _undo_errors():
            self.catalog.keep_undo(record.fingerprint, record.tagged_sha256, path=record.path,
                                   original_sha256=record.original_sha256, patch=record.patch)

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None:
        with _undo_errors():
            row = self.catalog.find_undo(fingerprint, tagged_sha256)
        if row is None:
            return None
        return UndoRecord(row.path, fingerprint, tagged_sha256, row.original_sha256, row.patch)

    def forget(self, fingerprint: str, tagged_sha256: str, *, photo: str | None = None
               ) -> None:
        with _undo_errors():
            self.catalog.drop_undo(fingerprint, tagged_sha256, unless_copy_of=photo)


@contextmanager
def _undo_errors() -> Iterator[None]:
    try:
        yield
    except CatalogError as exc:
        raise UndoStoreError(str(exc)) from exc


def _write_one(task: _TagTask, settings: TagSettings, undo: UndoStore | None,
               known: UndoStore) -> tuple[TagResult, TagRecord | None]:
    row = task.row
    landmark_name = task.landmark.name if task.landmark else None
    mode: str | None = settings.mode if task.action == "tag" else None
    # A RAW deleted since the scan has nothing left to tag; its sidecar, if photolm wrote
    # one, is a sidecar left behind (plan_left_behind cleans it).
    companions = tuple(c for c in row.companions if os.path.lexists(c))
    try:
        fresh = _unchanged_since_scan(row)
        rewritten = not fresh and _rewritten_by_photolm(row, known)
        if task.landmark is not None:
            if not (fresh or rewritten):
                raise TagError(f"{printed(row.path)} changed since it was scanned; run "
                               "`photolm scan` on it first, then tag it")
            if fresh:
                _check_same_content(row)
            plan = plan_tags(
                row.path, task.landmark, task.score, task.model_id,
                mode=settings.mode, sidecar_style=settings.sidecar_style,
                write_location=settings.write_location,
                # Only --write-location needs to know; then the photo itself is asked.
                photo_has_gps=None if settings.write_location else True,
                companions=companions,
            )
        else:
            plan = plan_untag(row.path, mode="any", sidecar_style="any",
                              recorded=row.tag_files, companions=companions)
        # A sidecar this photo left behind when it was moved: tagging it at its new place
        # cleans the old one too (untag's plan already includes it).
        stale = (plan_left_behind(row.path, row.tag_files) if task.action == "tag"
                 else None)
        mode = _mode_of(plan)
        if settings.dry_run:
            return _planned(task, plan, mode, stale, companions), None
        outcome = apply_tags(plan, undo=undo)
        message, notes = outcome.message, outcome.notes
        if stale is not None and stale.targets:
            cleaned = apply_tags(stale)
            message += "; " + cleaned.message
            notes += cleaned.notes
    except (TagError, OSError) as exc:
        message = (str(exc) if isinstance(exc, TagError)
                   else _os_message(exc, row.path, task.action))
        result = TagResult(row.path, task.action, "failed", landmark_name, mode, message,
                           error=message)
        return result, TagRecord(row.path, task.action, "failed", mode, landmark_name,
                                 error=message)
    files = tuple(os.fsdecode(f) for f in outcome.files)
    result = TagResult(row.path, task.action, outcome.status, landmark_name, mode,
                       message, files=files, fallback=outcome.fallback_reason,
                       raw=plan.raw, companions=companions,
                       notes=tuple(dict.fromkeys(notes)))
    record = TagRecord(row.path, task.action, outcome.status, mode, landmark_name,
                       files=[os.fspath(f) for f in outcome.files])
    if (((fresh and outcome.files) or rewritten)
            and any(t.method != "sidecar" for t in plan.targets)):
        record = _with_new_state(record, row.path)
    return result, record


def _planned(task: _TagTask, plan: TagPlan, mode: str | None,
             stale: TagPlan | None = None, companions: tuple[str, ...] = ()) -> TagResult:
    if task.action == "tag":
        status = "would-write" if plan.changed else "unchanged"
    else:
        status = "would-remove" if plan.changed else "nothing-to-remove"
    files = tuple(os.fsdecode(t.path) for t in plan.targets if t.changes)
    landmark = task.landmark.name if task.landmark else None
    lines = tuple(plan.describe())
    notes = _plan_notes(plan)
    if stale is not None and stale.changed:
        lines += tuple(line for line in stale.describe())
        notes += _plan_notes(stale)
    return TagResult(task.row.path, task.action, status, landmark, mode, lines[0] if lines else "",
                     files=files, lines=lines, fallback=plan.fallback_reason, raw=plan.raw,
                     companions=companions, notes=tuple(dict.fromkeys(notes)))


def _plan_notes(plan: TagPlan) -> tuple[str, ...]:
    """The notes a dry run's plan lists, as :func:`apply_tags` would report them."""
    return (*plan.notes, *(note for target in plan.targets for note in target.notes))


def _mode_of(plan: TagPlan) -> str | None:
    """Where the plan writes: ``"embed"``, ``"sidecar"`` or (untag) ``"embed+sidecar"``."""
    kinds = {"sidecar" if t.method == "sidecar" else "embed" for t in plan.targets}
    return "+".join(sorted(kinds)) if kinds else None


def _unchanged_since_scan(row: PhotoRow) -> bool:
    """Whether the file is still the one the catalogue's verdict is about (same size and
    modification time). Tagging refuses otherwise; untagging only then updates the row."""
    try:
        st = os.stat(row.path)
    except FileNotFoundError:  # a folder renamed since the scan: the scan finds it moved
        raise TagError(f"file vanished: {printed(row.path)} (moved or deleted since the last "
                       "scan: `photolm scan` its folder first)") from None
    return st.st_size == row.size and st.st_mtime_ns == row.mtime_ns


def _rewritten_by_photolm(row: PhotoRow, known: UndoStore) -> bool:
    """Whether the file is the scanned photo as photolm's own embedded write left it, the
    catalogue's record of that write lost (a full disk, a kill between the write and the
    record): the write's undo record turns this exact file back into the scanned bytes.
    Such a photo is not "changed since it was scanned"; re-running picks up where the
    interrupted run stopped."""
    if row.content_hash is None:
        return False
    try:
        with open(row.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    found = find_original(known, data)
    if found is None:
        return False
    original = found[1]
    return len(original) == row.size and fingerprint_bytes(original) == row.content_hash


def _check_same_content(row: PhotoRow) -> None:
    """Refuse a photo whose content is not what was scanned although its size and
    modification time are (a different photo copied over it with its date restored): its
    landmark belongs to the other photo."""
    if not same_content(row.path, row.size, row.content_hash):
        raise TagError(f"{printed(row.path)} is not the photo that was scanned (same "
                       "size and date, different content); re-scan it with `photolm scan "
                       "--verify`, then tag it")


def _with_new_state(record: TagRecord, path: str) -> TagRecord:
    """The record plus the photo's size, mtime and fingerprint after photolm rewrote it."""
    try:
        st = os.stat(path)
        fp = fingerprint(Path(path), st.st_size)
    except OSError:
        return record  # the next scan will simply look at it again
    return TagRecord(record.path, record.action, record.status, record.mode, record.landmark,
                     record.files, record.error, st.st_size, st.st_mtime_ns, fp)


def _os_message(exc: OSError, path: str, action: Action) -> str:
    where = printed(exc.filename) if exc.filename else printed(path)
    verb = "tag" if action == "tag" else "remove photolm's tags from"
    if no_space(exc):  # e.g. ExifTool's scratch file in the temporary folder
        return f"cannot {verb} {printed(path)}: {no_space_message(exc.filename or path)}"
    return f"cannot {verb} {where}: {exc.strerror or exc}"
