# SPDX-License-Identifier: GPL-3.0-or-later
"""Queries the scan runs: the index it classifies against, its results, moves, missing files.

A rescan loads :meth:`ScanQueries.load_index` once (~100k rows in well under a second), after
which "is this file unchanged?" is a dict lookup. Each batch of results is one transaction.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from photolm.catalog.learned import UPSERT_DESCRIPTOR, descriptor_rows
from photolm.catalog.paths import (
    StrPath,
    as_text,
    display,
    from_text,
    now,
    path_key,
    prefix_range,
)
from photolm.catalog.reading import PAGE_SIZE
from photolm.catalog.records import (
    INDEX_SELECT,
    MATCH_COLUMNS,
    SCAN_COLUMNS,
    IndexEntry,
    MatchUpdate,
    ScanResult,
    decode_embedding,
    encode_embedding,
    id_chunks,
    index_entries,
    json_default,
    match_values,
    opt_float,
    scan_values,
)
from photolm.catalog.store import CatalogStore
from photolm.catalog.undo import drop_orphan_undo, drop_undo_replaced
from photolm.storage import gone

if TYPE_CHECKING:
    import numpy as np

    from photolm.bundle import Landmark

# sqlite-utils' upsert matches on the primary key (``id``); a scan knows the path, and must
# keep the review_*/tag_* columns of a row it updates, so this one statement is hand-written
# (from the one column list, values bound by name).
_UPSERT_PHOTO = (
    f"INSERT INTO photos ({', '.join(SCAN_COLUMNS)}, missing) "
    f"VALUES ({', '.join(':' + c for c in SCAN_COLUMNS)}, 0) "
    "ON CONFLICT (path_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in SCAN_COLUMNS[1:])
    + ", missing = 0"
)
_UPDATE_MATCH = (
    "UPDATE photos SET " + ", ".join(f"{c} = :{c}" for c in MATCH_COLUMNS)
    + " WHERE path_key = :path_key"
)
_UPSERT_EMBEDDING = (
    "INSERT INTO embeddings (photo_id, model_id, dim, vector) "
    "SELECT id, ?, ?, ? FROM photos WHERE path_key = ? "
    "ON CONFLICT (photo_id) DO UPDATE SET model_id = excluded.model_id, dim = excluded.dim, "
    "vector = excluded.vector"
)
_DELETE_EMBEDDING = (
    "DELETE FROM embeddings WHERE photo_id = (SELECT id FROM photos WHERE path_key = ?)"
)
_MOVE = ("UPDATE photos SET path_key = ?, path = ?, folder = ?, size = ?, mtime_ns = ?, "
         "missing = 0, recognised_from = ? WHERE id = ?")
_DELETE_DESCRIPTOR = (
    "DELETE FROM descriptors WHERE photo_id = (SELECT id FROM photos WHERE path_key = ?)"
)


# Photo rows that are now some photo's RAW companion: (the photo's id, the RAW row's id,
# the photo's path key).
_ABSORBABLE = ("SELECT c.photo_id, p.id, o.path_key FROM companions c "
               "JOIN photos p ON p.path_key = c.path_key JOIN photos o ON o.id = c.photo_id")
# A person's answer on a RAW passes to its photo, unless the photo has an answer of its own.
_CARRY_REVIEW = (
    "UPDATE photos SET (review, review_landmark_id, review_landmark_name, reviewed_at) = "
    "(SELECT review, review_landmark_id, review_landmark_name, reviewed_at FROM photos "
    "WHERE id = ?) WHERE id = ? AND review IS NULL"
)


def _renamed_raw(raw: str | None, old: bytes, new: bytes) -> str | None:
    """The RAW file name ``raw`` (as stored: :func:`~photolm.catalog.paths.as_text`) of the
    photo ``old``, for the photo renamed ``new``: the photo's new stem, the RAW's own
    extension."""
    if raw is None:
        return None
    name = from_text(raw)
    stem = os.fsdecode(os.path.splitext(os.path.basename(old))[0])
    if name[:len(stem)].casefold() != stem.casefold():
        return raw
    return as_text(os.fsdecode(os.path.splitext(os.path.basename(new))[0]) + name[len(stem):])


BUNDLE_KEY = "bundle:"  # meta key prefix: a scanned bundle's name and folder, as JSON


class Move(NamedTuple):
    """A catalogued photo found under another path (:meth:`ScanQueries.move_photos`)."""

    old: StrPath
    new: StrPath
    size: int
    mtime_ns: int


class Companions(NamedTuple):
    """What :meth:`ScanQueries.sync_companions` changed, by the photo's path (normalised, as
    :meth:`ScanQueries.load_index` keys them)."""

    merged: list[str]  # the photo each RAW row merged into was (once per row)
    joined: list[str]  # photos that had no RAW companion before and have one now


class ScannedWith(NamedTuple):
    """The bundle a catalogue's photos were last scanned with (name and path: None when
    the scan did not keep them, i.e. before photolm did)."""

    bundle_id: str
    name: str | None
    path: str | None
    # the network (sha256 of model.onnx) its scans recorded: its stored vectors are that
    # network's whatever else in the bundle changed since
    model_id: str | None = None
    # the model photolm ships, as the scan recorded (since 2026-12-07, 21:00)
    shipped: bool = False


class Embedded(NamedTuple):
    """A stored embedding with what re-matching weighs beside it (no file is read)."""

    id: int
    path: str
    vector: np.ndarray
    latitude: float | None
    longitude: float | None


class ScanQueries(CatalogStore):
    """What ``photolm scan`` reads and writes."""

    def load_index(self, under: StrPath | None = None) -> dict[str, IndexEntry]:
        """Everything a rescan needs, for all photos (or those under a folder), in one query.

        Keys are :func:`~photolm.catalog.normalise_path` strings.
        """
        sql, params = INDEX_SELECT, ()
        if under is not None:
            sql += " WHERE path_key >= ? AND path_key < ?"
            params = prefix_range(under)
        return index_entries(self._fetch(sql, params))

    def stored_embeddings(self, ids: Sequence[int]) -> Iterator[Embedded]:
        """Stored embeddings (and GPS positions) of the photos ``ids``, a page per query.

        A bundle with the same ONNX model but new prototypes or threshold re-decides photos
        from these vectors instead of decoding them again. Photos without an embedding are
        left out. Pages are separate queries, so the caller may write between them.
        """
        wanted = sorted(set(ids))
        for i in range(0, len(wanted), PAGE_SIZE):
            page = json.dumps(wanted[i : i + PAGE_SIZE])
            for photo_id, key, blob, lat, lon in self._fetch(
                "SELECT p.id, p.path_key, e.vector, p.latitude, p.longitude FROM embeddings e "
                "JOIN photos p ON p.id = e.photo_id "
                "WHERE e.photo_id IN (SELECT value FROM json_each(?)) ORDER BY p.id", (page,)
            ):
                yield Embedded(photo_id, os.fsdecode(key), decode_embedding(blob), lat, lon)

    def write_results(
        self,
        records: Sequence[ScanResult],
        descriptors: Sequence[tuple[StrPath, str, np.ndarray]] = (),
    ) -> None:
        """Insert or replace a batch of photos in ONE transaction: all stored, or none.

        A path that appears twice in the batch keeps its last record. Storing a photo
        clears its ``missing`` flag; a record without an embedding drops any stored one
        (it would belong to an older decode). ``descriptors`` (``(path, model_id, vector)``)
        go into the same transaction, so a killed scan never keeps a photo without the
        descriptor its decode produced; a photo of the batch given no descriptor (its decode
        failed, or the model has none) drops any stored one, so the embedding and descriptor
        of a photo always come from the same decode.
        """
        latest = {path_key(r.path): r for r in records}
        if not latest:
            return
        stamp = now()
        vectors: list[tuple[Any, ...]] = []
        no_vector: list[tuple[bytes]] = []
        for key, rec in latest.items():
            if rec.embedding is None:
                no_vector.append((key,))
                continue
            if not rec.model_id:
                raise ValueError(f"{display(key)}: an embedding needs its model_id.")
            dim, blob = encode_embedding(rec.embedding)
            vectors.append((rec.model_id, dim, blob, key))
        rows = [scan_values(key, rec, stamp) for key, rec in latest.items()]
        generic = descriptor_rows(descriptors)
        described = {row[-1] for row in generic}
        # contents these photos had until now: an undo record of one is dropped below
        replaced = {h for key, h in self._content_hashes(list(latest)).items()
                    if h is not None and h != latest[key].content_hash}
        undescribed = [(key,) for key in latest if key not in described]
        with self._transaction("store scan results") as db:
            db.conn.executemany(_UPSERT_PHOTO, rows)
            db.conn.executemany(_UPSERT_EMBEDDING, vectors)
            db.conn.executemany(_DELETE_EMBEDDING, no_vector)
            db.conn.executemany(_DELETE_DESCRIPTOR, undescribed)
            db.conn.executemany(UPSERT_DESCRIPTOR, generic)
            drop_undo_replaced(db.conn, replaced)

    def _content_hashes(self, keys: Sequence[bytes]) -> dict[bytes, str | None]:
        """The stored ``content_hash`` of the photos ``keys`` that are catalogued."""
        found: dict[bytes, str | None] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            found.update(self._fetch(
                "SELECT path_key, content_hash FROM photos WHERE path_key IN "
                f"({', '.join('?' * len(chunk))})", chunk))
        return found

    def update_matches(self, updates: Sequence[MatchUpdate]) -> int:
        """Store new landmark decisions (re-matching) in one transaction; returns rows changed."""
        rows = [
            {"path_key": path_key(u.path), "bundle_id": u.bundle_id,
             **match_values(u.landmark_id, u.landmark_name, u.score, u.topk, u.gps)}
            for u in updates
        ]
        if not rows:
            return 0
        with self._transaction("store re-matched landmarks") as db:
            return db.conn.executemany(_UPDATE_MATCH, rows).rowcount

    def move_photo(self, old_path: StrPath, new_path: StrPath, size: int, mtime_ns: int) -> bool:
        """Give a catalogued photo its new path, keeping its results (and its id).

        A row already at ``new_path`` is replaced: the moved file now lives there. Returns
        ``False`` (changing nothing) when ``old_path`` is not catalogued. A photo recognised
        from its RAW's preview keeps naming that RAW, renamed as the photo was (a pair is
        renamed together: a RAW always has its photo's stem).
        """
        return self.move_photos([Move(old_path, new_path, size, mtime_ns)]) == 1

    def move_photos(self, moves: Sequence[Move]) -> int:
        """:meth:`move_photo` for each of ``moves``, in order, in ONE transaction; returns
        how many were catalogued (and moved). A scan that finds a library's top folder
        renamed moves every photo: a transaction each cost it a commit per photo (see
        docs/performance.md, "Moved photos")."""
        done = 0
        with self._transaction("record moved photos") as db:
            conn = db.conn
            for move in moves:
                old, new = path_key(move.old), path_key(move.new)
                found = conn.execute("SELECT id, recognised_from FROM photos WHERE path_key = ?",
                                     (old,)).fetchone()
                if found is None:
                    continue
                if new != old:
                    conn.execute("DELETE FROM photos WHERE path_key = ?", (new,))
                conn.execute(_MOVE, (new, display(new), display(os.path.dirname(new)),
                                     int(move.size), int(move.mtime_ns),
                                     _renamed_raw(found[1], old, new), found[0]))
                done += 1
        return done

    def with_landmark(self, ids: Sequence[int]) -> int:
        """How many of the photos ``ids`` the model named a landmark (their results came with
        them when they moved: the scan counts them as its own)."""
        return sum(self._fetch("SELECT count(*) FROM photos WHERE landmark_id IS NOT NULL AND "
                               "id IN (SELECT value FROM json_each(?))", (chunk,))[0][0]
                   for chunk in id_chunks(ids))

    def sync_missing(self, roots: Iterable[StrPath], present: Iterable[StrPath]) -> int:
        """After walking ``roots``: flag catalogued photos under them whose files are gone.

        Rows are kept rather than deleted so that an unmounted NAS does not wipe its
        results; :meth:`forget` removes them for good. Photos in ``present`` (what the walk
        found, and what it excluded: those are still there) lose their flag. A photo the walk
        passed over is looked at on disk: one still there (hidden, given by name to an
        earlier scan; in a folder that could not be read) is not flagged either, because
        "missing" means its file is gone. One transaction; returns how many photos under the
        roots are flagged missing.
        """
        seen = {path_key(p) for p in present}
        flags: dict[bytes, int] = {}
        for root in roots:
            flags.update(self._fetch(
                "SELECT path_key, missing FROM photos WHERE path_key >= ? AND path_key < ?",
                prefix_range(root),
            ))
        wanted = {key: int(key not in seen and gone(os.fsdecode(key))) for key in flags}
        changes = [(want, key) for key, want in wanted.items() if flags[key] != want]
        if changes:
            with self._transaction("flag missing photos") as db:
                db.conn.executemany("UPDATE photos SET missing = ? WHERE path_key = ?", changes)
        return sum(wanted.values())

    def sync_companions(self, found: Mapping[str, Sequence[StrPath]]) -> Companions:
        """After a walk: store each photo's camera RAW companions, in one transaction.

        ``found``: every photo the walk found, keyed like :meth:`load_index` (normalised
        paths), with the RAWs beside it. The walk is the authority on what is a photo and
        what a companion: a file found as a photo stops being anyone's companion (its JPEG
        was deleted), and a RAW catalogued as a photo of its own that is now a companion (a
        JPEG appeared beside it) is merged into its photo: its row goes, and a person's
        answer on it passes to the photo when the photo has none. Returns the photo each such
        row was merged into, once per row (so the scan can say whether RAWs joined JPEGs or
        HEICs), and the photos that have a RAW now and had none before: the pairs this run
        joined, where every pair it found would be news on every re-scan. Photos without
        companions cost a dict lookup: re-scans stay cheap.
        """
        current: dict[str, list[bytes]] = {}
        for photo, companion in self._fetch(
                "SELECT p.path_key, c.path_key FROM companions c JOIN photos p "
                "ON p.id = c.photo_id ORDER BY c.path_key"):
            current.setdefault(os.fsdecode(photo), []).append(companion)
        changed: dict[bytes, list[bytes]] = {}
        joined: list[str] = []
        for path, companions in found.items():
            if companions or path in current:
                wanted = sorted({path_key(c) for c in companions})
                if wanted != current.get(path, []):
                    changed[path_key(path)] = wanted
                    if wanted and not current.get(path):
                        joined.append(path)
        now_photos = [(key,) for keys in current.values() for key in keys
                      if os.fsdecode(key) in found]
        if not changed and not now_photos and not self._fetch(_ABSORBABLE + " LIMIT 1"):
            return Companions([], [])
        with self._transaction("store RAW companions") as db:
            conn = db.conn
            conn.executemany("DELETE FROM companions WHERE path_key = ?", now_photos)
            for key, companions in changed.items():
                conn.execute("DELETE FROM companions WHERE photo_id = "
                             "(SELECT id FROM photos WHERE path_key = ?)", (key,))
                conn.executemany(
                    "INSERT OR REPLACE INTO companions (path_key, photo_id, path) "
                    "SELECT ?, id, ? FROM photos WHERE path_key = ?",
                    [(c, display(c), key) for c in companions])
            merged = conn.execute(_ABSORBABLE).fetchall()
            for photo_id, raw_id, _ in merged:
                conn.execute(_CARRY_REVIEW, (raw_id, photo_id))
            conn.executemany("DELETE FROM photos WHERE id = ?", [(r,) for _, r, _ in merged])
        return Companions([os.fsdecode(photo) for _, _, photo in merged], joined)

    def forget(self, paths: Iterable[StrPath]) -> int:
        """Delete photos (and their embeddings) from the catalogue; returns rows removed.

        Undo records of tags written into photos go too, once no catalogued photo has the
        content they restore from (a copy catalogued elsewhere keeps its record)."""
        params = [(path_key(p),) for p in paths]
        if not params:
            return 0
        with self._transaction("forget photos") as db:
            removed = db.conn.executemany("DELETE FROM photos WHERE path_key = ?",
                                          params).rowcount
            drop_orphan_undo(db.conn)
            return removed

    def replace_landmarks(self, bundle_id: str, landmarks: Sequence[Landmark]) -> None:
        """Store a bundle's landmark records so search works without loading the model."""
        rows = [
            {"bundle_id": bundle_id, "landmark_id": lm.id, "position": i, "name": lm.name,
             "aliases": json.dumps(list(lm.aliases), ensure_ascii=False), "city": lm.city,
             "country": lm.country, "latitude": opt_float(lm.latitude),
             "longitude": opt_float(lm.longitude)}
            for i, lm in enumerate(landmarks)
        ]
        with self._transaction("store the landmark list") as db:
            db["landmarks"].delete_where("bundle_id = ?", (bundle_id,))
            db["landmarks"].insert_all(rows)

    def start_scan(
        self,
        roots: Sequence[StrPath],
        bundle_id: str | None = None,
        model_id: str | None = None,
    ) -> int:
        """Record the start of a scan run; returns its id for :meth:`finish_scan`."""
        names = [as_text(path_key(r)) for r in roots]
        with self._transaction("record the scan") as db:
            table = db["scans"].insert({
                "started": now(), "bundle_id": bundle_id, "model_id": model_id,
                "roots": json.dumps(names, ensure_ascii=False),
            })
            return int(table.last_pk)

    def finish_scan(self, scan_id: int, counts: Mapping[str, Any]) -> None:
        """Record the end of a scan run with its counters (scanned, skipped, errors, ...)."""
        with self._transaction("record the scan") as db:
            db["scans"].update(int(scan_id), {
                "finished": now(), "counts": json.dumps(dict(counts), default=json_default),
            })

    def remember_bundle(self, bundle_id: str, name: str, path: StrPath, *,
                        shipped: bool = False) -> None:
        """Keep where a scan's bundle lives, its name and whether it is the model photolm
        ships (an upgrade or a reinstall elsewhere replaces that one: a scan is the way on,
        not --model), so a command given no --model can use the model the catalogue's
        photos were scanned with (photolm.model_choice)."""
        where = os.path.abspath(os.fsdecode(path))
        kept = {"name": name, "path": where, **({"shipped": True} if shipped else {})}
        with self._transaction("store the model's place") as db:
            db["meta"].upsert({"key": f"{BUNDLE_KEY}{bundle_id}", "value": json.dumps(kept)},
                              pk="key")

    def scanned_with(self) -> ScannedWith | None:
        """The bundle of the catalogue's latest scan (its photos' vectors are that model's),
        with its name and folder when the scan kept them; None before any scan."""
        bundle_id = self.last_bundle_id()  # type: ignore[attr-defined]
        return None if bundle_id is None else self.bundle_kept(bundle_id)

    def bundle_kept(self, bundle_id: str) -> ScannedWith:
        """The bundle ``bundle_id``, with its name and folder when a scan with it kept them
        (:meth:`remember_bundle`): where the model that recognised a photo is found."""
        rows = self._fetch("SELECT value FROM meta WHERE key = ?", (f"{BUNDLE_KEY}{bundle_id}",))
        kept = json.loads(rows[0][0]) if rows else {}
        # scans record the network since 2026-12-07; before, the photos it recognised did
        network = self._fetch("SELECT model_id FROM scans WHERE bundle_id = ? AND model_id IS "
                              "NOT NULL ORDER BY id DESC LIMIT 1", (bundle_id,)) or \
            self._fetch("SELECT model_id FROM photos WHERE bundle_id = ? AND model_id IS NOT "
                        "NULL LIMIT 1", (bundle_id,))
        return ScannedWith(bundle_id, kept.get("name"), kept.get("path"),
                           network[0][0] if network else None, kept.get("shipped") is True)

    def remember_threshold(self, bundle_id: str, threshold: float) -> None:
        """Keep a bundle's "no landmark" threshold, so ``list`` can say how far a photo's
        best candidate was from it without loading the bundle."""
        with self._transaction("store the model's threshold") as db:
            db["meta"].upsert({"key": f"threshold:{bundle_id}", "value": repr(float(threshold))},
                              pk="key")
