# SPDX-License-Identifier: GPL-3.0-or-later
"""Learned landmarks in the catalogue: records, example photos, prototypes, descriptors.

Prototypes are stored per *model key* (the ONNX model's sha256 plus the vector space), so a
new bundle with the same network keeps them and a new network re-makes them from the example
photos (:mod:`photolm.learning`). A person's answers live on ``photos`` and are never
touched here: unlearning a landmark leaves every confirmation naming it as it was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from photolm.bundle_records import LEARNED_PREFIX
from photolm.catalog.paths import StrPath, display, now, path_key
from photolm.catalog.records import EFFECTIVE_LANDMARK, encode_embedding, id_chunks
from photolm.catalog.store import CatalogStore

if TYPE_CHECKING:
    import numpy as np

    from photolm.bundle import Landmark
    from photolm.learned import Learned

REMATCH_PAGE = 20_000
# Photos ``places`` groups: present on disk, claimed by no landmark, answered for by no one
# (:meth:`LearnedQueries.vector_pages` and :meth:`LearnedQueries.unclaimed_digest` share it).
UNCLAIMED = " AND p.landmark_id IS NULL AND p.review IS NULL AND p.missing = 0"
_DIGEST_PAGE = 4096


# One statement for every writer of descriptors: the scan stores them in the same transaction
# as the photo rows they belong to (Catalog.write_results), learning stores them on its own.
UPSERT_DESCRIPTOR = (
    "INSERT INTO descriptors (photo_id, model_id, dim, vector) "
    "SELECT id, ?, ?, ? FROM photos WHERE path_key = ? "
    "ON CONFLICT (photo_id) DO UPDATE SET model_id = excluded.model_id, "
    "dim = excluded.dim, vector = excluded.vector"
)


def descriptor_rows(items: Sequence[tuple[StrPath, str, np.ndarray]]) -> list[tuple[Any, ...]]:
    """``(path, model_id, vector)`` triples as parameters of :data:`UPSERT_DESCRIPTOR`."""
    rows = []
    for path, model_id, vector in items:
        dim, blob = encode_embedding(vector)
        rows.append((model_id, dim, blob, path_key(path)))
    return rows


@dataclass(frozen=True)
class VectorPage:
    """Stored vectors of a page of photos, for scoring without decoding."""

    ids: np.ndarray  # (n,) photo ids
    embeddings: np.ndarray  # (n, D) float32
    descriptors: np.ndarray | None  # (n, D') float32, zero rows where missing; or None
    has_descriptor: np.ndarray | None  # (n,) bool
    landmark_ids: list[str | None]  # the model's current verdict


@dataclass(frozen=True)
class RematchRow:
    """What re-deciding one photo needs beside its vectors."""

    id: int
    path: str
    latitude: float | None
    longitude: float | None
    landmark_id: str | None
    score: float | None
    topk: str
    taken: str | None = None


def _descriptor_join(with_descriptors: bool) -> tuple[str, str]:
    """The JOIN that brings each embedding row (``e``) its photo's descriptor for the same
    model, and the column to select (NULL without)."""
    if not with_descriptors:
        return "", "NULL"
    return ("LEFT JOIN descriptors d ON d.photo_id = e.photo_id AND d.model_id = e.model_id",
            "d.vector")


def _matrix(blobs: Sequence[bytes]) -> np.ndarray:
    import numpy as np

    flat = np.frombuffer(b"".join(blobs), dtype="<f2")
    return flat.reshape(len(blobs), -1).astype(np.float32)


class LearnedQueries(CatalogStore):
    """What ``learn``, ``unlearn``, ``places`` and ``export-dataset`` read and write."""

    # ----------------------------------------------------------------- reading
    def learned(self) -> list[Learned]:
        from photolm.learned import Learned

        examples: dict[str, list[str]] = {}
        for lid, key in self._fetch(
            "SELECT landmark_id, path_key FROM learned_examples ORDER BY landmark_id, position"
        ):
            examples.setdefault(lid, []).append(os.fsdecode(key))
        return [Learned(landmark, shipped, tuple(examples.get(landmark.id, ())))
                for landmark, shipped in self._learned_landmarks()]

    def _learned_landmarks(self) -> list[tuple[Landmark, bool]]:
        """Each learned landmark's record and whether it is now the model's (shipped), as
        :meth:`learned` orders them; without :mod:`photolm.learned` (numpy), which
        ``search`` does not otherwise need (docs/performance.md)."""
        from photolm.bundle import Landmark

        return [
            (Landmark(id=r["landmark_id"], name=r["name"],
                      aliases=tuple(json.loads(r["aliases"])), city=r["city"],
                      country=r["country"], latitude=r["latitude"], longitude=r["longitude"]),
             bool(r["shipped"]))
            for r in self._fetch_named(
                "SELECT landmark_id, name, aliases, city, country, latitude, longitude, shipped "
                "FROM learned_landmarks ORDER BY created, landmark_id")
        ]

    def landmarks(self, bundle_id: str | None = None) -> list[Landmark]:
        """The bundle's landmarks (see :meth:`ReadQueries.landmarks`) and then the learned
        ones, so search, confirm and tags find a learned name like a shipped one."""
        shipped = super().landmarks(bundle_id)  # type: ignore[misc]
        known = {lm.id for lm in shipped}
        return shipped + [landmark for landmark, is_shipped in self._learned_landmarks()
                          if not is_shipped and landmark.id not in known]

    def learned_prototypes(self, model_key: str) -> dict[str, np.ndarray]:
        """Prototype rows per learned landmark id, for one model key."""
        rows: dict[str, list[bytes]] = {}
        for lid, blob in self._fetch(
            "SELECT landmark_id, vector FROM learned_prototypes WHERE model_key = ? "
            "ORDER BY landmark_id, position", (model_key,)
        ):
            rows.setdefault(lid, []).append(blob)
        return {lid: _matrix(blobs) for lid, blobs in rows.items()}

    def photo_vectors(self, paths: Sequence[StrPath], model_id: str
                      ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """Stored (embedding, descriptor) of catalogued photos embedded by ``model_id``."""
        from photolm.catalog.records import decode_embedding

        out: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
        for path in paths:
            rows = self._fetch(
                "SELECT e.vector, d.vector FROM photos p JOIN embeddings e ON e.photo_id = p.id "
                "LEFT JOIN descriptors d ON d.photo_id = p.id AND d.model_id = e.model_id "
                "WHERE p.path_key = ? AND e.model_id = ?", (path_key(path), model_id))
            if rows:
                emb, desc = rows[0]
                out[os.fsdecode(path)] = (decode_embedding(emb),
                                          None if desc is None else decode_embedding(desc))
        return out

    def vector_pages(self, model_id: str, *, page: int = REMATCH_PAGE,
                     with_descriptors: bool = False,
                     unclaimed: bool = False) -> Iterator[VectorPage]:
        """Every photo embedded by ``model_id``, a page at a time (one query each).

        Walks embeddings in photo-id (rowid) order without the model index, so each page is a
        range read, never a sort. ``unclaimed``: only photos present on disk that no landmark
        claims and no person answered for (what ``places`` groups).
        """
        import numpy as np

        only = UNCLAIMED if unclaimed else ""
        join, desc_col = _descriptor_join(with_descriptors)
        last = 0
        while True:
            rows = self._fetch(
                f"SELECT e.photo_id, e.vector, {desc_col}, p.landmark_id "
                f"FROM embeddings e NOT INDEXED JOIN photos p ON p.id = e.photo_id {join} "
                f"WHERE e.photo_id > ? AND e.model_id = ?{only} ORDER BY e.photo_id LIMIT ?",
                (last, model_id, page))
            if not rows:
                return
            ids, vecs, descs, lids = zip(*rows, strict=True)
            mask = desc_matrix = None
            if with_descriptors:
                mask = np.array([d is not None for d in descs])
                if mask.any():
                    present = _matrix([d for d in descs if d is not None])
                    desc_matrix = np.zeros((len(rows), present.shape[1]), dtype=np.float32)
                    desc_matrix[mask] = present
            yield VectorPage(np.asarray(ids, dtype=np.int64), _matrix(vecs), desc_matrix, mask,
                             list(lids))
            if len(rows) < page:
                return
            last = int(ids[-1])

    def unclaimed_digest(self, model_id: str, *, with_descriptors: bool) -> str:
        """A digest of everything ``places`` reads of the photos it groups (those
        :meth:`vector_pages` gives with ``unclaimed=True``): id, path key, GPS position and
        time taken of each, and the bytes of its stored vectors (a descriptor's absence
        too). The vectors' own bytes, not a column beside them: no column changes whenever
        a vector does (a re-scan may keep ``scanned_at``; descriptors are stored on their
        own). One pass without decoding anything, a page of rows at a time."""
        import hashlib

        join, desc_col = _descriptor_join(with_descriptors)
        digest = hashlib.sha256(f"{model_id}\0{with_descriptors}".encode())
        last = 0
        while True:
            rows = self._fetch(
                "SELECT e.photo_id, p.path_key, p.latitude, p.longitude, p.taken, "
                f"length(e.vector), length({desc_col}), e.vector, {desc_col} "
                f"FROM embeddings e NOT INDEXED JOIN photos p ON p.id = e.photo_id {join} "
                f"WHERE e.photo_id > ? AND e.model_id = ?{UNCLAIMED} ORDER BY e.photo_id "
                "LIMIT ?", (last, model_id, _DIGEST_PAGE))
            if not rows:
                break
            # repr of the fields is exact (floats round-trip) and the lengths delimit blobs
            digest.update(repr([r[:7] for r in rows]).encode("utf-8", "backslashreplace"))
            for r in rows:
                digest.update(r[7])
                if r[8] is not None:
                    digest.update(r[8])
            if len(rows) < _DIGEST_PAGE:
                break
            last = int(rows[-1][0])
        return digest.hexdigest()

    def rematch_rows(self, ids: Sequence[int]) -> list[RematchRow]:
        """Path, GPS position and current verdict of photos ``ids``, in the order given."""
        found: dict[int, RematchRow] = {}
        wanted = [int(i) for i in ids]
        for chunk in id_chunks(wanted):
            for r in self._fetch(
                "SELECT id, path_key, latitude, longitude, landmark_id, score, topk, taken "
                "FROM photos WHERE id IN (SELECT value FROM json_each(?))", (chunk,)
            ):
                found[r[0]] = RematchRow(r[0], os.fsdecode(r[1]), *r[2:])
        return [found[i] for i in wanted if i in found]

    def listing_candidates(self, landmark_ids: Sequence[str]) -> set[int]:
        """Photos whose stored candidate list (``topk``) names one of ``landmark_ids``: an
        unlearned landmark must leave those lists too, not only the verdicts. (A photo
        whose list holds the id's text elsewhere is found too: it is only re-decided.)"""
        found: set[int] = set()
        for landmark_id in landmark_ids:  # the id as JSON writes it: text search, no parsing
            found.update(int(r[0]) for r in self._fetch(
                "SELECT id FROM photos WHERE instr(topk, ?) > 0", (json.dumps(landmark_id),)))
        return found

    def learned_verdicts(self, ids: Collection[int]) -> dict[int, tuple[str, str]]:
        """Of photos ``ids``, those the model named with a learned landmark (not examples
        added to a shipped one) and no person answered for: ``id -> (landmark id, name)``.
        Read before a scan re-decides them for a changed model (photolm.model_changes);
        one range read of the counting index (for a photo no person answered, what counts
        is the model's landmark), as such photos are few."""
        wanted = set(ids)
        if not wanted:
            return {}
        end = LEARNED_PREFIX[:-1] + chr(ord(LEARNED_PREFIX[-1]) + 1)
        return {int(r[0]): (r[1], r[2]) for r in self._fetch(
            f"SELECT id, landmark_id, landmark_name FROM photos WHERE {EFFECTIVE_LANDMARK} "
            f">= ? AND {EFFECTIVE_LANDMARK} < ? AND review IS NULL", (LEARNED_PREFIX, end))
            if r[0] in wanted}

    def verdicts_of(self, ids: Sequence[int]) -> dict[int, tuple[str, str | None, str | None]]:
        """``id -> (path, the model's landmark id, error)`` of photos ``ids``."""
        found: dict[int, tuple[str, str | None, str | None]] = {}
        for chunk in id_chunks(ids):
            for photo_id, key, landmark_id, error in self._fetch(
                "SELECT id, path_key, landmark_id, error FROM photos "
                "WHERE id IN (SELECT value FROM json_each(?))", (chunk,)
            ):
                found[int(photo_id)] = (os.fsdecode(key), landmark_id, error)
        return found

    def count_embedded(self, model_id: str) -> int:
        return int(self._fetch("SELECT count(*) FROM embeddings WHERE model_id = ?",
                               (model_id,))[0][0])

    def embedded_by_another(self, model_id: str) -> bool:
        """Whether photos hold vectors of another network only: read before an upgrade
        changed the shipped model, they need a scan before any grouping or learning."""
        return not self.count_embedded(model_id) and bool(self._fetch(
            "SELECT 1 FROM embeddings LIMIT 1"))

    def paths_of(self, ids: Sequence[int]) -> list[str]:
        """Paths of photos ``ids``, in the order given."""
        return [r.path for r in self.rematch_rows(ids)]

    def review_count(self, landmark_id: str) -> int:
        """Photos a person confirmed or corrected as ``landmark_id``."""
        return int(self._fetch(
            "SELECT count(*) FROM photos WHERE review IN ('confirmed', 'corrected') AND "
            "review_landmark_id = ?", (landmark_id,))[0][0])

    def reviewed_photos(self) -> list[tuple[str, str, str]]:
        """``(path, review, landmark id)`` of photos a person confirmed or corrected."""
        return [(os.fsdecode(k), v, lid) for k, v, lid in self._fetch(
            "SELECT path_key, review, review_landmark_id FROM photos "
            "WHERE review IN ('confirmed', 'corrected') AND missing = 0 ORDER BY path_key")]

    # ----------------------------------------------------------------- writing
    def save_learned(self, item: Learned, prototypes: Mapping[str, np.ndarray],
                     model_key: str) -> None:
        """Store a learned landmark, its examples and its prototypes for ``model_key``
        (other model keys' prototypes are dropped: they were made from other examples)."""
        lm = item.landmark
        with self._transaction("store the learned landmark") as db:
            conn = db.conn
            conn.execute(
                "INSERT INTO learned_landmarks (landmark_id, name, aliases, city, country, "
                "latitude, longitude, shipped, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (landmark_id) DO UPDATE SET name = excluded.name, "
                "aliases = excluded.aliases, city = excluded.city, country = excluded.country, "
                "latitude = excluded.latitude, longitude = excluded.longitude",
                (lm.id, lm.name, json.dumps(list(lm.aliases), ensure_ascii=False), lm.city,
                 lm.country, lm.latitude, lm.longitude, int(item.shipped), now()))
            conn.execute("DELETE FROM learned_examples WHERE landmark_id = ?", (lm.id,))
            conn.executemany(
                "INSERT OR IGNORE INTO learned_examples (landmark_id, path_key, path, position) "
                "VALUES (?, ?, ?, ?)",
                [(lm.id, path_key(p), display(path_key(p)), i)  # TEXT: as photos.path
                 for i, p in enumerate(item.examples)])
            self._put_prototypes(conn, {lm.id: prototypes[lm.id]} if lm.id in prototypes
                                 else {}, model_key, replace_all=True, ids=[lm.id])

    def store_prototypes(self, prototypes: Mapping[str, np.ndarray], model_key: str) -> None:
        """Add prototypes re-made for another network (keeps those of other model keys)."""
        with self._transaction("store re-made prototypes") as db:
            self._put_prototypes(db.conn, prototypes, model_key, replace_all=False,
                                 ids=list(prototypes))

    @staticmethod
    def _put_prototypes(conn: Any, prototypes: Mapping[str, np.ndarray], model_key: str, *,
                        replace_all: bool, ids: Sequence[str]) -> None:
        for lid in ids:
            if replace_all:
                conn.execute("DELETE FROM learned_prototypes WHERE landmark_id = ?", (lid,))
            else:
                conn.execute("DELETE FROM learned_prototypes WHERE landmark_id = ? AND "
                             "model_key = ?", (lid, model_key))
        rows = []
        for lid, matrix in prototypes.items():
            for i, vector in enumerate(matrix):
                dim, blob = encode_embedding(vector)
                rows.append((lid, model_key, i, dim, blob))
        conn.executemany("INSERT INTO learned_prototypes (landmark_id, model_key, position, "
                         "dim, vector) VALUES (?, ?, ?, ?, ?)", rows)

    def drop_unused_prototypes(self) -> int:
        """Forget learned prototypes of every network no catalogued photo holds vectors of
        any more, the latest scan's network aside, for landmarks that have prototypes of a
        network kept; returns the rows removed.

        Prototypes are kept per network (:mod:`photolm.prototypes`), and a scan with a new
        network re-makes them beside the old ones: the old ones are still what the photos
        not yet scanned with it are matched against. Once no photo holds that network's
        vectors they could match nothing without every photo read again, and were never
        read; a network that comes back re-makes them from the example photos, as any
        new network does. But where the examples are gone (a card since wiped) the new
        network could make none, and the old network's prototypes are all that is left of
        the landmark: those stay, so going back to that model still recognises it.
        Called after a scan's work and by ``prune``; nothing to drop (the usual case)
        costs one read."""
        stale = (
            "WITH keys AS (SELECT DISTINCT model_key, "
            "substr(model_key, 1, instr(model_key, ':') - 1) AS network "
            "FROM learned_prototypes), "
            "kept AS (SELECT model_key FROM keys WHERE "
            "EXISTS (SELECT 1 FROM embeddings WHERE model_id = keys.network) "
            "OR network = (SELECT model_id FROM scans WHERE model_id IS NOT NULL "
            "ORDER BY id DESC LIMIT 1)) ")
        where = ("model_key NOT IN (SELECT model_key FROM kept) AND landmark_id IN "
                 "(SELECT landmark_id FROM learned_prototypes "
                 "WHERE model_key IN (SELECT model_key FROM kept))")
        if not self._fetch(f"{stale}SELECT 1 FROM learned_prototypes WHERE {where} LIMIT 1"):
            return 0
        with self._transaction("forget prototypes of a network no photo holds") as db:
            return int(db.conn.execute(f"{stale}DELETE FROM learned_prototypes WHERE {where}"
                                       ).rowcount)

    def delete_learned(self, landmark_id: str) -> bool:
        """Forget a learned landmark (examples and prototypes go with it). Photos the model
        gave it lose it; a person's confirmations naming it are left exactly as they are."""
        with self._transaction("forget the learned landmark") as db:
            gone = db.conn.execute("DELETE FROM learned_landmarks WHERE landmark_id = ?",
                                   (landmark_id,)).rowcount
            db.conn.execute("DELETE FROM learned_examples WHERE landmark_id = ?",
                            (landmark_id,))
            db.conn.execute("DELETE FROM learned_prototypes WHERE landmark_id = ?",
                            (landmark_id,))
            return bool(gone)

    def adopt_learned(self, learned_id: str, landmark: Landmark) -> int:
        """Fold the learned landmark ``learned_id`` into the model's ``landmark`` (a new model
        ships its name): its example photos become examples added to the model's landmark
        (as ``photolm learn NAME`` on a shipped name stores them), and every photo naming it,
        a person's answer included, names the model's landmark instead. Its prototypes go
        (they are re-made for the model's id from the examples). One transaction; returns
        how many of a person's answers now name the model's landmark."""
        new_id = landmark.id
        with self._transaction("fold a learned landmark into the model's") as db:
            conn = db.conn
            conn.execute(
                "INSERT OR IGNORE INTO learned_landmarks (landmark_id, name, aliases, city, "
                "country, latitude, longitude, shipped, created) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, 1, created FROM learned_landmarks "
                "WHERE landmark_id = ?",
                (new_id, landmark.name, json.dumps(list(landmark.aliases), ensure_ascii=False),
                 landmark.city, landmark.country, landmark.latitude, landmark.longitude,
                 learned_id))
            start = conn.execute("SELECT coalesce(max(position) + 1, 0) FROM learned_examples "
                                 "WHERE landmark_id = ?", (new_id,)).fetchone()[0]
            conn.execute(
                "INSERT OR IGNORE INTO learned_examples (landmark_id, path_key, path, position) "
                "SELECT ?, path_key, path, position + ? FROM learned_examples "
                "WHERE landmark_id = ?", (new_id, start, learned_id))
            for table in ("learned_examples", "learned_prototypes", "learned_landmarks"):
                conn.execute(f"DELETE FROM {table} WHERE landmark_id = ?", (learned_id,))
            conn.execute("DELETE FROM learned_prototypes WHERE landmark_id = ?", (new_id,))
            for column in ("landmark", "visual_landmark"):
                conn.execute(f"UPDATE photos SET {column}_id = ?, {column}_name = ? "
                             f"WHERE {column}_id = ?", (new_id, landmark.name, learned_id))
            return conn.execute(
                "UPDATE photos SET review_landmark_id = ?, review_landmark_name = ? "
                "WHERE review_landmark_id = ?", (new_id, landmark.name, learned_id)).rowcount

    def clear_model_landmark(self, landmark_id: str) -> int:
        """The model's verdict ``landmark_id`` becomes "no landmark" wherever it is left
        (photos embedded by another model, which a re-match did not reach)."""
        with self._transaction("clear a forgotten landmark") as db:
            return db.conn.execute(
                "UPDATE photos SET landmark_id = NULL, landmark_name = NULL, score = NULL "
                "WHERE landmark_id = ?", (landmark_id,)).rowcount

    def descriptors_of(self, ids: Sequence[int], model_id: str
                       ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Stored descriptors of photos ``ids`` (zero rows where missing) and which exist;
        ``(None, None)`` when none does."""
        import numpy as np

        found: dict[int, bytes] = {}
        wanted = [int(i) for i in ids]
        for chunk in id_chunks(wanted):
            found.update(self._fetch(
                "SELECT photo_id, vector FROM descriptors WHERE model_id = ? AND photo_id IN "
                "(SELECT value FROM json_each(?))", (model_id, chunk)))
        if not found:
            return None, None
        mask = np.array([i in found for i in wanted])
        present = _matrix([found[i] for i in wanted if i in found])
        out = np.zeros((len(wanted), present.shape[1]), dtype=np.float32)
        out[mask] = present
        return out, mask

    def store_descriptors(self, items: Sequence[tuple[StrPath, str, np.ndarray]]) -> None:
        """Generic descriptors ``(path, model_id, vector)`` of catalogued photos."""
        rows = descriptor_rows(items)
        if not rows:
            return
        with self._transaction("store descriptors") as db:
            db.conn.executemany(UPSERT_DESCRIPTOR, rows)
