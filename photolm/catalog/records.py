# SPDX-License-Identifier: GPL-3.0-or-later
"""What goes into the catalogue and what comes out, built from ONE field list.

:class:`PhotoRow` (a photo as the catalogue holds it) is that list: the SELECT that reads it,
the columns every scan writes and the columns a re-match writes are all derived from its field
names, so a new column is added in one place (plus its migration). Writes go in as
``{column: value}`` mappings bound by name.

Input records are named for who writes them: :class:`ScanResult` (the scan),
:class:`MatchUpdate` (re-matching), :class:`Review` (a person), :class:`TagRecord` (tag/untag).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from photolm.catalog.paths import StrPath, as_text, display, from_text
from photolm.printed_paths import printed

if TYPE_CHECKING:
    import numpy as np

    from photolm.geo import GeoVerdict


# --------------------------------------------------------------------------- the rule


def counting(model_column: str, person_column: str) -> str:
    """SQL for the value that counts for a photo: a person's answer over the model's.

    The ONE statement of the rule (issue 5): no review -> the model's value (after GPS);
    review "none" -> nothing; "confirmed"/"corrected" -> the person's value.
    """
    return (f"(CASE WHEN review IS NULL THEN {model_column} WHEN review = 'none' THEN NULL "
            f"ELSE {person_column} END)")


EFFECTIVE_LANDMARK = counting("landmark_id", "review_landmark_id")

# Photo ids per query of ``id IN (SELECT value FROM json_each(?))``: one bound JSON array
# instead of thousands of parameters, and never more than SQLite's statement limits take.
ID_CHUNK = 1000


def id_chunks(ids: Iterable[int]) -> Iterator[str]:
    """``ids`` in order as JSON arrays of at most :data:`ID_CHUNK`, one per query."""
    wanted = [int(i) for i in ids]
    for start in range(0, len(wanted), ID_CHUNK):
        yield json.dumps(wanted[start:start + ID_CHUNK])


# --------------------------------------------------------------------------- records in


@dataclass(frozen=True)
class ScanResult:
    """What the scan learnt about one photo; written by ``Catalog.write_results``.

    ``gps`` is photolm.geo's verdict for the photo (``None``: GPS had nothing to say).
    """

    path: StrPath
    size: int
    mtime_ns: int
    content_hash: str | None = None
    taken: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    width: int | None = None
    height: int | None = None
    bundle_id: str | None = None
    model_id: str | None = None  # the model that produced ``embedding``
    landmark_id: str | None = None
    landmark_name: str | None = None
    score: float | None = None
    topk: Sequence[Mapping[str, Any]] = ()  # [{"landmark_id", "name", "score"}, ...]
    embedding: np.ndarray | None = field(default=None, compare=False)  # (D,) float
    error: str | None = None  # why the photo could not be read; None when it could
    scanned_at: str | None = None  # ISO 8601; now when None
    gps: GeoVerdict | None = None
    # the file name of the RAW companion whose preview was recognised because the photo's
    # own file could not be read; None: recognised from the photo's own file
    recognised_from: str | None = None


PhotoRecord = ScanResult  # the name other modules were written against


@dataclass(frozen=True)
class MatchUpdate:
    """A new landmark decision for an already catalogued photo (re-matching, no decoding)."""

    path: StrPath
    bundle_id: str
    landmark_id: str | None
    landmark_name: str | None
    score: float | None
    topk: Sequence[Mapping[str, Any]] = ()
    gps: GeoVerdict | None = None


REVIEW_VERDICTS = ("confirmed", "corrected", "none")


@dataclass(frozen=True)
class Review:
    """A person's word on a photo's landmark; written by ``Catalog.set_reviews``.

    ``verdict`` is ``"confirmed"`` (the recognised landmark is right), ``"corrected"`` (it is
    ``landmark_id`` instead), ``"none"`` (no landmark) or ``None`` (forget the earlier answer:
    the model's verdict counts again). Reviews live beside the model's verdict, never in
    place of it, so a re-scan (even ``--force``) re-decides the model's columns and leaves the
    person's answer standing.
    """

    path: StrPath
    verdict: str | None
    landmark_id: str | None = None
    landmark_name: str | None = None


TAG_STATUSES = ("written", "unchanged", "removed", "nothing-to-remove", "failed")


@dataclass(frozen=True)
class TagRecord:
    """The outcome of the last ``photolm tag``/``untag`` for a photo (``Catalog.record_tags``).

    ``size``/``mtime_ns``/``content_hash``, when given, are the photo's new state after photolm
    rewrote it (embedded tags): storing them keeps the next scan from decoding a photo whose
    pixels photolm has just verified to be unchanged.
    """

    path: StrPath
    action: str  # "tag" or "untag"
    status: str  # one of TAG_STATUSES
    mode: str | None = None  # "sidecar", "embed", "embed+sidecar" (untag) or None
    landmark: str | None = None
    files: Sequence[StrPath] = ()
    error: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    content_hash: str | None = None


# --------------------------------------------------------------------------- rows out


class PhotoRow(NamedTuple):
    """A photo as the catalogue holds it (without its embedding).

    A NamedTuple rather than a frozen dataclass: it builds about 3x faster, which is most of
    the cost of listing thousands of photos. The ``effective_*`` fields are what counts (see
    :func:`counting`), computed by SQLite from the same rule the queries filter on.
    """

    id: int
    path: str  # exact path, with surrogate escapes for non-UTF-8 names
    display_path: str  # printable form
    folder: str
    # -- written by every scan (see SCAN_COLUMNS)
    size: int
    mtime_ns: int
    content_hash: str | None
    taken: str | None
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    width: int | None
    height: int | None
    bundle_id: str | None
    model_id: str | None
    landmark_id: str | None
    landmark_name: str | None
    score: float | None
    topk_json: str
    has_embedding: bool
    error: str | None
    recognised_from: str | None  # the RAW (file name) whose preview it was recognised from
    scanned_at: str
    gps_verdict: str | None  # photolm.geo's verdict; None when GPS had nothing to say
    gps_reason: str | None
    gps_changed: bool
    visual_landmark_id: str | None  # what the scores alone chose, when GPS changed it
    visual_landmark_name: str | None
    visual_score: float | None
    # -- kept across scans
    missing: bool  # the file was not found by the last scan of its folder
    review: str | None  # a person's word: "confirmed", "corrected", "none" or None
    review_landmark_id: str | None
    review_landmark_name: str | None
    reviewed_at: str | None
    tag_action: str | None  # last `photolm tag`/`untag`: "tag" or "untag"
    tag_status: str | None  # one of TAG_STATUSES
    tag_mode: str | None
    tag_landmark: str | None
    tag_files_json: str
    tag_error: str | None
    tagged_at: str | None
    companion_keys: str | None  # its RAW companions' path keys, hex, comma-separated
    # -- computed: what counts
    effective_landmark_id: str | None
    effective_landmark_name: str | None
    effective_score: float | None  # None after a person's correction: it would only mislead

    @property
    def topk(self) -> list[dict[str, Any]]:
        return list(json.loads(self.topk_json))

    @property
    def tag_files(self) -> list[str]:
        """The files the last tag or untag wrote, as the paths they are."""
        return [from_text(f) for f in json.loads(self.tag_files_json)]

    @property
    def companions(self) -> list[str]:
        """The camera RAW files beside this photo with its stem (the same shot), sorted."""
        if not self.companion_keys:
            return []
        return sorted(os.fsdecode(bytes.fromhex(h)) for h in self.companion_keys.split(","))

    @property
    def display_companions(self) -> list[str]:
        """:attr:`companions` in printable form (as ``display_path``)."""
        return [display(os.fsencode(c)) for c in self.companions]

    @property
    def recognised_from_file(self) -> str | None:
        """That RAW as a path to open; ``None`` when the photo was recognised from its own
        file or the RAW is no longer its companion (gone)."""
        if self.recognised_from is None:
            return None
        return next((c for c in self.companions
                     if os.path.basename(c) == self.recognised_from), None)

    @property
    def recognised_from_note(self) -> str | None:
        """What is said about this photo when its verdict came from a RAW's preview
        (``None`` when it came from its own file): the one wording of ``list``, ``search``
        and the desktop. "its preview" only when that RAW is the photo's one RAW now;
        otherwise the RAW is named: one of several, or one gone since (said so, as
        nobody finds it beside the photo any more)."""
        if self.recognised_from is None:
            return None
        from photolm.discovery import paired_format

        mine = [os.path.basename(c) for c in self.companions]
        source = ("its preview" if mine == [self.recognised_from]
                  else f"the preview in {printed(self.recognised_from)}"
                  + ("" if self.recognised_from in mine else " (gone since)"))
        return f"recognised from {source}: the {paired_format(self.path)} could not be read"

    @property
    def recognised_from_alone(self) -> str | None:
        """:attr:`recognised_from_note` where no RAW is left to say it beside: the RAW
        whose preview gave the verdict is gone, and no other took its place. ``list``,
        ``search`` and the desktop's photo page then say it on a line of its own, so a
        person still learns where the verdict came from."""
        return None if self.companions else self.recognised_from_note

    @property
    def status(self) -> str:
        """``"missing"``, ``"error"`` or ``"ok"`` — for listings."""
        if self.missing:
            return "missing"
        return "error" if self.error is not None else "ok"


_FIELDS = PhotoRow._fields
# Fields whose column has another name, or that SQLite computes.
_EXPRESSIONS = {
    "path": "path_key",
    "display_path": "path",
    "topk_json": "topk",
    "tag_files_json": "tag_files",
    "companion_keys": "(SELECT group_concat(hex(companions.path_key)) FROM companions "
                      "WHERE companions.photo_id = photos.id)",
    "effective_landmark_id": EFFECTIVE_LANDMARK,
    "effective_landmark_name": counting("landmark_name", "review_landmark_name"),
    "effective_score": f"(CASE WHEN {EFFECTIVE_LANDMARK} = landmark_id THEN score END)",
}
ROW_SELECT = "SELECT " + ", ".join(
    f"{_EXPRESSIONS[f]} AS {f}" if f.startswith("effective_") else _EXPRESSIONS.get(f, f)
    for f in _FIELDS
) + " FROM photos"
# The columns every scan writes, in table terms (review_* and tag_* never are: they are a
# person's answer and the state of files photolm wrote, which a re-scan must not forget).
SCAN_COLUMNS = ("path_key", "path", "folder",
                *(_EXPRESSIONS.get(f, f) for f in _FIELDS[_FIELDS.index("size"):
                                                           _FIELDS.index("missing")]))
# What a re-match writes: the model's verdict, nothing about the file.
MATCH_COLUMNS = ("bundle_id", "landmark_id", "landmark_name", "score", "topk",
                 *SCAN_COLUMNS[SCAN_COLUMNS.index("gps_verdict"):])
_PATH = _FIELDS.index("path")
_RECOGNISED_FROM = _FIELDS.index("recognised_from")
_BOOLS = tuple(_FIELDS.index(f) for f in ("has_embedding", "gps_changed", "missing"))


def photo_row(values: Sequence[Any]) -> PhotoRow:
    """A :data:`ROW_SELECT` result as a :class:`PhotoRow`."""
    v = list(values)
    v[_PATH] = os.fsdecode(v[_PATH])
    if v[_RECOGNISED_FROM] is not None:
        v[_RECOGNISED_FROM] = from_text(v[_RECOGNISED_FROM])
    for i in _BOOLS:
        v[i] = bool(v[i])
    return PhotoRow._make(v)


class IndexEntry(NamedTuple):
    """The little a rescan needs per file to decide "unchanged, skip" in a dict lookup."""

    id: int
    size: int
    mtime_ns: int
    content_hash: str | None
    bundle_id: str | None
    model_id: str | None
    has_embedding: bool
    missing: bool
    error: str | None


INDEX_SELECT = f"SELECT path_key, {', '.join(IndexEntry._fields)} FROM photos"


def index_entries(rows: Iterable[Sequence[Any]]) -> dict[str, IndexEntry]:
    """:data:`INDEX_SELECT` results keyed by path; unpacked in the SELECT's (field list's)
    order in one comprehension, the hot loop of every re-scan."""
    fsdecode = os.fsdecode
    return {
        fsdecode(key): IndexEntry(id_, size, mtime, digest, bundle, model, bool(embedded),
                                  bool(missing), error)
        for key, id_, size, mtime, digest, bundle, model, embedded, missing, error in rows
    }


# --------------------------------------------------------------------------- values in


def opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def json_default(obj: object) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars (np.float32 scores) without numpy
    if callable(item) and getattr(obj, "shape", None) == ():
        return item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def topk_json(topk: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(
        [dict(t) for t in topk], ensure_ascii=False, separators=(",", ":"), default=json_default
    )


def match_values(
    landmark_id: str | None, name: str | None, score: float | None,
    topk: Sequence[Mapping[str, Any]], gps: GeoVerdict | None,
) -> dict[str, Any]:
    """The model's verdict as :data:`MATCH_COLUMNS` values (``bundle_id`` left to the caller)."""
    visual = gps.visual_match if gps is not None and gps.changed else None
    return {
        "landmark_id": landmark_id, "landmark_name": name, "score": opt_float(score),
        "topk": topk_json(topk),
        "gps_verdict": gps.verdict if gps else None, "gps_reason": gps.reason if gps else None,
        "gps_changed": int(bool(gps and gps.changed)),
        "visual_landmark_id": visual.landmark_id if visual else None,
        "visual_landmark_name": visual.name if visual else None,
        "visual_score": opt_float(visual.score) if visual else None,
    }


def scan_values(key: bytes, rec: ScanResult, stamp: str) -> dict[str, Any]:
    """A :class:`ScanResult` as :data:`SCAN_COLUMNS` values."""
    return {
        "path_key": key, "path": display(key), "folder": display(os.path.dirname(key)),
        "size": int(rec.size), "mtime_ns": int(rec.mtime_ns), "content_hash": rec.content_hash,
        "taken": rec.taken, "camera_make": rec.camera_make, "camera_model": rec.camera_model,
        "latitude": opt_float(rec.latitude), "longitude": opt_float(rec.longitude),
        "width": opt_int(rec.width), "height": opt_int(rec.height),
        "bundle_id": rec.bundle_id, "model_id": rec.model_id,
        "has_embedding": int(rec.embedding is not None), "error": rec.error,
        "recognised_from": None if rec.recognised_from is None else as_text(rec.recognised_from),
        "scanned_at": rec.scanned_at or stamp,
        **match_values(rec.landmark_id, rec.landmark_name, rec.score, rec.topk, rec.gps),
    }


def encode_embedding(vector: np.ndarray) -> tuple[int, bytes]:
    """float16 little-endian bytes: half the space of float32, cosine error ~1e-4."""
    import numpy as np

    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"An embedding must be a non-empty 1-D vector, not shape {arr.shape}.")
    half = arr.astype("<f2")
    if not np.all(np.isfinite(half)):
        raise ValueError("An embedding must be finite (and within float16 range).")
    return int(arr.size), half.tobytes()


def decode_embedding(blob: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype="<f2").astype(np.float32)
