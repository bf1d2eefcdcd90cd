# SPDX-License-Identifier: GPL-3.0-or-later
"""Queries for what people and ``photolm tag`` add to a photo: reviews and tag outcomes.

Both live in their own columns beside the model's verdict, never in place of it, so a
re-scan (even ``--force``) re-decides the model's columns and leaves them standing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from photolm.catalog.paths import as_text, now, path_key
from photolm.catalog.records import REVIEW_VERDICTS, TAG_STATUSES, Review, TagRecord
from photolm.catalog.store import CatalogStore
from photolm.catalog.undo import drop_undo_of


class ReviewQueries(CatalogStore):
    """``photolm confirm`` and ``photolm tag``/``untag`` write through these."""

    def set_reviews(self, reviews: Sequence[Review]) -> int:
        """Store people's answers (confirm, correct, "no landmark", forget) in one transaction.

        Returns the number of catalogued photos changed; paths not in the catalogue are
        ignored (the caller reports them). ``review_landmark_id`` is set exactly when the
        review names a landmark, which the rule in :func:`~photolm.catalog.records.counting`
        relies on.
        """
        rows: list[dict[str, Any]] = []
        stamp = now()
        for r in reviews:
            if r.verdict is not None and r.verdict not in REVIEW_VERDICTS:
                raise ValueError(f"review must be one of {REVIEW_VERDICTS} or None, not "
                                 f"{r.verdict!r}")
            named = r.verdict in ("confirmed", "corrected")
            if named and not r.landmark_id:
                raise ValueError(f"a {r.verdict} review needs the landmark's id")
            rows.append({
                "review": r.verdict,
                "review_landmark_id": r.landmark_id if named else None,
                "review_landmark_name": (r.landmark_name or r.landmark_id) if named else None,
                "reviewed_at": stamp if r.verdict is not None else None,
                "path_key": path_key(r.path),
            })
        if not rows:
            return 0
        with self._transaction("store your answer") as db:
            return db.conn.executemany(
                "UPDATE photos SET review = :review, review_landmark_id = :review_landmark_id, "
                "review_landmark_name = :review_landmark_name, reviewed_at = :reviewed_at "
                "WHERE path_key = :path_key", rows,
            ).rowcount

    def record_tags(self, records: Sequence[TagRecord]) -> int:
        """Store the outcome of ``photolm tag``/``untag`` per photo, in one transaction.

        A record carrying the photo's new ``size``/``mtime_ns``/``content_hash`` also updates
        those, so the next scan sees the photo photolm just rewrote as unchanged. A photo
        untagged loses its undo record (:mod:`photolm.catalog.undo`), found through the
        content the catalogue knew it by before this change.
        """
        tags: list[dict[str, Any]] = []
        files: list[dict[str, Any]] = []
        untagged: list[tuple[bytes]] = []
        stamp = now()
        for r in records:
            if r.action not in ("tag", "untag") or r.status not in TAG_STATUSES:
                raise ValueError(f"unknown tag outcome {r.action!r}/{r.status!r}")
            key = path_key(r.path)
            # tag_files is also how untag and prune find the sidecars photolm wrote (a photo
            # moved without its own): a run that wrote nothing ("already tagged", failed)
            # keeps the list, and a write elsewhere (tag --embed after sidecars) adds to it
            files_rule = ("keep" if r.status in ("unchanged", "failed")
                          else "add" if r.action == "tag" else "set")
            tags.append({
                "files_rule": files_rule,
                "tag_action": r.action, "tag_status": r.status, "tag_mode": r.mode,
                "tag_landmark": r.landmark, "tag_error": r.error, "tagged_at": stamp,
                "tag_files": json.dumps([as_text(f) for f in r.files],
                                        ensure_ascii=False),
                "path_key": key,
            })
            if r.action == "untag" and r.status in ("removed", "nothing-to-remove"):
                untagged.append((key,))
            if r.size is not None and r.mtime_ns is not None:
                files.append({"size": int(r.size), "mtime_ns": int(r.mtime_ns),
                              "content_hash": r.content_hash, "path_key": key})
        if not tags:
            return 0
        with self._transaction("record the tags written") as db:
            drop_undo_of(db.conn, [key for (key,) in untagged])
            changed = db.conn.executemany(
                "UPDATE photos SET tag_action = :tag_action, tag_status = :tag_status, "
                "tag_mode = :tag_mode, tag_landmark = :tag_landmark, "
                "tag_files = CASE WHEN :files_rule = 'keep' THEN tag_files "
                "WHEN :files_rule = 'add' AND tag_action = 'tag' THEN ("
                " SELECT json_group_array(value) FROM ("
                "  SELECT value FROM json_each(photos.tag_files) WHERE lower(value) LIKE '%.xmp'"
                "  UNION ALL SELECT value FROM json_each(:tag_files) WHERE value NOT IN ("
                "   SELECT value FROM json_each(photos.tag_files)))) "
                "ELSE :tag_files END, "
                "tag_error = :tag_error, tagged_at = :tagged_at WHERE path_key = :path_key",
                tags,
            ).rowcount
            db.conn.executemany(
                "UPDATE photos SET size = :size, mtime_ns = :mtime_ns, "
                "content_hash = coalesce(:content_hash, content_hash) WHERE path_key = :path_key",
                files,
            )
            return changed
