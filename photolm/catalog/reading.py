# SPDX-License-Identifier: GPL-3.0-or-later
"""Queries for reading: listing, search, counts, the landmark table, figures for ``info``.

Search is one indexed query on the landmark that counts (schema 3's expression index);
embeddings (about 1 KiB per photo) live in their own table, so listing and searching never
read them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from photolm.catalog.paths import StrPath, from_text, path_key, prefix_range
from photolm.catalog.records import (
    EFFECTIVE_LANDMARK,
    ROW_SELECT,
    PhotoRow,
    id_chunks,
    photo_row,
)
from photolm.catalog.store import CatalogStore

if TYPE_CHECKING:
    from photolm.bundle import Landmark

PAGE_SIZE = 1000
# How close to its bundle's threshold a best candidate's score must be for a photo to be
# "uncertain" (`photolm list --uncertain`, the desktop's review): cosine, about the spread of
# scores between photos of one landmark.
UNCERTAIN_MARGIN = 0.1
_THRESHOLD = "threshold:"  # meta key prefix: threshold:<bundle id>
_T = "bundle_threshold"  # the alias of the thresholds in uncertain()'s query
_ORDERS = {
    # Photos a person confirmed or corrected come first (their word beats any score), then
    # by the score of the landmark that counts (none after a correction).
    "score": " ORDER BY review_landmark_id IS NULL, effective_score DESC, path_key",
    "path": " ORDER BY path_key",
    "taken": " ORDER BY taken IS NULL, taken, path_key",
}


# The photos the map shows: present, with a position on the globe.
_ON_MAP = ("latitude IS NOT NULL AND longitude IS NOT NULL AND missing = 0 "
           "AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180")


def _near(latitude: float, longitude: float, precision: int) -> tuple[str, tuple[Any, ...]]:
    """The photos of one map group: :meth:`ReadQueries.gps_places`' photos and rounding."""
    return (f"round(latitude, ?) = ? AND round(longitude, ?) = ? AND {_ON_MAP}",
            (int(precision), float(latitude), int(precision), float(longitude)))


class ReadQueries(CatalogStore):
    """Reading a catalogue; works on a read-only connection."""

    def get_photo(self, path: StrPath) -> PhotoRow | None:
        rows = self._fetch(f"{ROW_SELECT} WHERE path_key = ?", (path_key(path),))
        return photo_row(rows[0]) if rows else None

    def photo_of_companion(self, path: StrPath) -> PhotoRow | None:
        """The photo a camera RAW belongs to (``IMG_0001.CR2`` -> ``IMG_0001.JPG``), if any."""
        rows = self._fetch(f"{ROW_SELECT} WHERE id = (SELECT photo_id FROM companions "
                           "WHERE path_key = ?)", (path_key(path),))
        return photo_row(rows[0]) if rows else None

    def companions_by_photo(self) -> dict[str, list[str]]:
        """Each photo that has camera RAW companions -> their paths, sorted: for results that
        carry only paths (``places``' groups). Only pairs are stored, so one query is cheap."""
        found: dict[str, list[str]] = {}
        for photo, raw in self._fetch(
                "SELECT p.path_key, c.path_key FROM companions c JOIN photos p "
                "ON p.id = c.photo_id ORDER BY c.path_key"):
            found.setdefault(os.fsdecode(photo), []).append(os.fsdecode(raw))
        return found

    def photo_by_id(self, photo_id: int) -> PhotoRow | None:
        """A photo by its catalogue id (how the desktop names photos: never by path)."""
        rows = self._fetch(f"{ROW_SELECT} WHERE id = ?", (int(photo_id),))
        return photo_row(rows[0]) if rows else None

    def uncertain(self, margin: float = UNCERTAIN_MARGIN, *,
                  among: Sequence[int] | None = None) -> list[PhotoRow]:
        """Photos whose best candidate scored within ``margin`` of their bundle's threshold
        (either side), closest first: readable, present, and not answered by a person.

        The one rule behind ``photolm list --uncertain`` and the desktop's review; photos of
        a bundle whose threshold was never stored are left out. ``among``: only those of
        these photo ids (what a scan tells of photos a changed model unnamed).
        """
        if among is not None:
            return [row for chunk in id_chunks(among) for row in self._uncertain(margin, chunk)]
        return self._uncertain(margin, None)

    def _uncertain(self, margin: float, among: str | None) -> list[PhotoRow]:
        """:meth:`uncertain`, of the photo ids in the JSON array ``among`` when given."""
        only = "" if among is None else " AND id IN (SELECT value FROM json_each(?))"
        # One query, never a walk over every photo in Python (docs/performance.md); each
        # bundle's threshold comes from the meta rows :meth:`thresholds` reads.
        distance = f"abs(json_extract(topk, '$[0].score') - {_T}.value)"
        return [photo_row(r) for r in self._fetch(
            # CROSS JOIN: photos is the outer loop, read once; with a plain join SQLite
            # builds a throw-away index over all photos first.
            f"{ROW_SELECT} CROSS JOIN (SELECT substr(key, {len(_THRESHOLD) + 1}) AS bundle, "
            f"CAST(value AS REAL) AS value FROM meta WHERE key LIKE '{_THRESHOLD}%') AS {_T} "
            f"WHERE review IS NULL AND error IS NULL AND missing = 0 "
            f"AND {_T}.bundle = photos.bundle_id AND {distance} <= ?{only} "
            f"ORDER BY {distance}, path_key",
            (float(margin),) if among is None else (float(margin), among))]

    def without_threshold(self) -> int:
        """How many photos :meth:`uncertain` must leave out: readable, present, unanswered,
        with a candidate, from a bundle whose threshold was never stored (a scan by a photolm
        before thresholds were kept: only a new scan can tell how near they are)."""
        return self._fetch(
            "SELECT count(*) FROM photos WHERE review IS NULL AND error IS NULL AND "
            "missing = 0 AND json_extract(topk, '$[0].score') IS NOT NULL AND "
            f"('{_THRESHOLD}' || coalesce(bundle_id, '')) NOT IN "
            f"(SELECT key FROM meta WHERE key LIKE '{_THRESHOLD}%')")[0][0]

    def unreadable(self) -> list[PhotoRow]:
        """Photos a scan could not read, each with its one-line reason (``error``), by path:
        the one list behind ``photolm list --errors`` and the desktop's page of them."""
        return [photo_row(r) for r in self._fetch(
            f"{ROW_SELECT} WHERE error IS NOT NULL ORDER BY path_key")]

    def scan_roots(self) -> list[str]:
        """Every folder (or photo) a scan was asked to look at, oldest first, each once, as
        the path it is (:func:`_roots`)."""
        roots: dict[str, None] = {}
        for (text,) in self._fetch("SELECT roots FROM scans ORDER BY id"):
            for root in _roots(text):
                roots.setdefault(root)
        return list(roots)

    def gps_places(self, precision: int = 1) -> list[tuple[float, float, int, int]]:
        """Photos with a GPS position grouped by rounded coordinates (``precision``
        decimals): ``(latitude, longitude, count, a photo id)`` per group (the map)."""
        return [tuple(r) for r in self._fetch(
            "SELECT round(latitude, ?), round(longitude, ?), count(*), min(id) FROM photos "
            f"WHERE {_ON_MAP} GROUP BY 1, 2", (int(precision), int(precision)))]

    def photos_near(self, latitude: float, longitude: float, precision: int = 1,
                    limit: int = 500, offset: int = 0) -> list[PhotoRow]:
        """The photos of one :meth:`gps_places` group (the same photos, the same rounding),
        oldest first: what a dot on the map stands for, a page of ``limit`` from ``offset``
        (the group's count says how many there are in all)."""
        where, params = _near(latitude, longitude, precision)
        return [photo_row(r) for r in self._fetch(
            f"{ROW_SELECT} WHERE {where} ORDER BY taken IS NULL, taken, id LIMIT ? OFFSET ?",
            (*params, int(limit), max(0, int(offset))))]

    def photos(
        self,
        landmark_ids: Sequence[str] | None = None,
        *,
        order: str = "score",
        under: StrPath | None = None,
        include_missing: bool = True,
        limit: int | None = None,
    ) -> list[PhotoRow]:
        """Photos whose landmark that counts is any of ``landmark_ids`` (all when ``None``).

        ``order`` is ``"score"`` (photos a person confirmed first, then by descending score,
        photos without a score last), ``"path"`` or ``"taken"``.
        """
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {sorted(_ORDERS)}, not {order!r}")
        clauses: list[str] = []
        params: list[Any] = []
        if landmark_ids is not None:
            ids = list(dict.fromkeys(landmark_ids))
            if not ids:
                return []
            clauses.append(f"{EFFECTIVE_LANDMARK} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(ids))
        if under is not None:
            clauses.append("path_key >= ? AND path_key < ?")
            params.extend(prefix_range(under))
        if not include_missing:
            clauses.append("missing = 0")
        sql = ROW_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
        sql += _ORDERS[order]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [photo_row(r) for r in self._fetch(sql, params)]

    def count_photos(self, landmark_ids: Sequence[str], *, include_missing: bool = True) -> int:
        """How many photos :meth:`photos` would list without a limit (``search -n``)."""
        ids = list(dict.fromkeys(landmark_ids))
        sql = (f"SELECT count(*) FROM photos WHERE {EFFECTIVE_LANDMARK} IN "
               "(SELECT value FROM json_each(?))")
        if not include_missing:
            sql += " AND missing = 0"
        return int(self._fetch(sql, (json.dumps(ids),))[0][0]) if ids else 0

    def iter_photos(self, *, under: StrPath | None = None) -> Iterator[PhotoRow]:
        """All photos in id order, fetched in pages so memory stays flat on huge catalogues."""
        extra, params = "", ()
        if under is not None:
            extra, params = " AND path_key >= ? AND path_key < ?", prefix_range(under)
        last = 0
        while True:
            rows = self._fetch(
                f"{ROW_SELECT} WHERE id > ?{extra} ORDER BY id LIMIT ?",
                (last, *params, PAGE_SIZE),
            )
            for r in rows:
                yield photo_row(r)
            if len(rows) < PAGE_SIZE:
                return
            last = rows[-1][0]

    def landmark_counts(
        self, bundle_id: str | None = None, *, include_missing: bool = False
    ) -> dict[str, int]:
        """Photos per landmark that counts (matched by ``bundle_id``, or by any bundle)."""
        sql = (f"SELECT {EFFECTIVE_LANDMARK} AS shown, count(*) FROM photos "
               "WHERE shown IS NOT NULL")
        params: list[Any] = []
        if bundle_id is not None:
            sql += " AND bundle_id = ?"
            params.append(bundle_id)
        if not include_missing:
            sql += " AND missing = 0"
        return dict(self._fetch(sql + " GROUP BY shown", params))

    def landmarks(self, bundle_id: str | None = None) -> list[Landmark]:
        """The landmark records stored for a bundle (default: :meth:`last_bundle_id`).

        In the bundle's order; ``[]`` when nothing is stored. This is what lets ``search``
        build its name index without reading the bundle or loading the model.
        """
        from photolm.bundle import Landmark

        if bundle_id is None:
            bundle_id = self.last_bundle_id()
            if bundle_id is None:
                return []
        return [
            Landmark(**{**r, "aliases": tuple(json.loads(r["aliases"]))})
            for r in self._fetch_named(
                "SELECT landmark_id AS id, name, aliases, city, country, latitude, longitude "
                "FROM landmarks WHERE bundle_id = ? ORDER BY position", (bundle_id,))
        ]

    def last_bundle_id(self) -> str | None:
        """The bundle of the most recent scan (or of the last landmark table stored)."""
        rows = self._fetch(
            "SELECT bundle_id FROM scans WHERE bundle_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ) or self._fetch("SELECT bundle_id FROM landmarks ORDER BY rowid DESC LIMIT 1")
        return rows[0][0] if rows else None

    def last_scan(self) -> dict[str, Any] | None:
        rows = self._fetch_named(
            "SELECT id, started, finished, bundle_id, model_id, roots, counts FROM scans "
            "ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        scan = rows[0]
        return {**scan, "roots": _roots(scan["roots"]), "counts": json.loads(scan["counts"])}

    def counts(self, under: Sequence[StrPath] | None = None) -> dict[str, int]:
        """How many photos, with a landmark that counts, unreadable, missing, reviewed and
        tagged: all of them, or those under the folders (or single photos) ``under``."""
        where, params = "", []
        if under is not None:
            terms = []
            for place in under:
                terms.append("(path_key >= ? AND path_key < ?) OR path_key = ?")
                params.extend((*prefix_range(place), path_key(place)))
            where = " WHERE " + " OR ".join(terms) if terms else " WHERE 0"
        return self._fetch_named(
            f"SELECT count(*) AS photos, count({EFFECTIVE_LANDMARK}) AS with_landmark, "
            "count(error) AS errors, coalesce(sum(missing), 0) AS missing, "
            "count(review) AS reviewed, count(CASE WHEN tag_action = 'tag' AND tag_status IN "
            f"('written', 'unchanged') THEN 1 END) AS tagged FROM photos{where}", params)[0]

    def stats(self) -> dict[str, Any]:
        """Figures for ``photolm info``."""
        size = 0
        for suffix in ("", "-wal"):
            try:
                size += os.stat(os.fspath(self.path) + suffix).st_size
            except FileNotFoundError:
                continue
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            **self.counts(),
            "file_bytes": size,
            "last_scan": self.last_scan(),
        }

    def any_companions(self) -> bool:
        """Whether any photo has a camera RAW companion: ``list`` in a pipe adds the RAWs'
        field to every line only then, and must know before its first line."""
        return bool(self._fetch("SELECT 1 FROM companions LIMIT 1"))

    def thresholds(self) -> dict[str, float]:
        """The "no landmark" threshold of every bundle a scan used, by bundle id: what a
        photo's best score is measured against in ``list``."""
        return {key.removeprefix(_THRESHOLD): float(value) for key, value in self._fetch(
            "SELECT key, value FROM meta WHERE key LIKE 'threshold:%'")}


def _roots(text: str | None) -> list[str]:
    """A scan record's roots as the paths they are (kept in
    :func:`~photolm.catalog.paths.as_text`'s form, which reads back exactly)."""
    return [from_text(str(root)) for root in json.loads(text or "[]")]
