# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``photolm tag --embed`` replaced in a photo, so ``untag`` gives the original bytes back.

Table ``tag_undo`` (schema v5). :mod:`photolm.metadata.undo` makes and applies the patches
and does not know the catalogue; :mod:`photolm.tagging` hands these queries to it as its
undo store. A record is keyed by the tagged file's content (fingerprint + SHA-256), not by
a photo row, so a photo moved since is still found; it belongs to the catalogued photo whose
``content_hash`` is that fingerprint (identical copies of a photo tagged alike share one).
It goes when untag restores the photo, when an untag of that photo is recorded (a photo
changed since by another program is untagged value by value, and its record could never
match again), and at ``prune`` when no catalogued photo has that content any more; never
while another catalogued copy still has that content.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable
from typing import NamedTuple

from photolm.catalog.paths import display, path_key
from photolm.catalog.store import CatalogStore


class UndoRow(NamedTuple):
    """How to get the original back from the tagged file :meth:`UndoQueries.find_undo`
    was asked about; ``patch`` is opaque to the catalogue."""

    path: str  # where the photo was tagged (informative: lookups use the hashes)
    original_sha256: str
    patch: bytes


class UndoQueries(CatalogStore):
    """The undo records of embedded tag writes; one transaction per change, like every write."""

    def keep_undo(self, fingerprint: str, tagged_sha256: str, *, path: str,
                      original_sha256: str, patch: bytes) -> None:
        """Remember how to turn the file photolm is about to write back into the original
        (kept before the photo is rewritten, so no crash leaves a tag without its undo)."""
        with self._transaction("keep what the tag write replaced") as db:
            db["tag_undo"].insert({
                "fingerprint": fingerprint, "tagged_sha256": tagged_sha256,
                "path": display(path_key(path)),  # TEXT: a name not in UTF-8 as \xNN
                "original_sha256": original_sha256, "patch": patch,
            }, replace=True)

    def find_undo(self, fingerprint: str, tagged_sha256: str) -> UndoRow | None:
        """The record for a file with this content, if photolm wrote one like it."""
        rows = self._fetch(
            "SELECT path, original_sha256, patch FROM tag_undo WHERE fingerprint = ? "
            "AND tagged_sha256 = ?", (fingerprint, tagged_sha256))
        if not rows:
            return None
        path, original_sha256, patch = rows[0]
        return UndoRow(path, original_sha256, bytes(patch))

    def drop_undo(self, fingerprint: str, tagged_sha256: str, *,
                  unless_copy_of: str | None = None) -> None:
        """Forget one record (the photo was restored, or photolm wrote it again).

        ``unless_copy_of``: that photo's path; the record stays while another catalogued
        photo has the same content (:func:`_copy_has`)."""
        with self._transaction("forget what the tag write replaced") as db:
            if unless_copy_of is not None and _copy_has(db.conn, fingerprint,
                                                        {path_key(unless_copy_of)}):
                return
            db["tag_undo"].delete_where("fingerprint = ? AND tagged_sha256 = ?",
                                        (fingerprint, tagged_sha256))


def _copy_has(conn: sqlite3.Connection, fingerprint: str,
              besides: Collection[bytes] = ()) -> bool:
    """Whether a catalogued photo not among ``besides`` (path keys) has this content: an
    identical copy tagged alike shares the record, and its untag must still give its original
    back. The one rule every drop below keeps (uses the ``photos_content_hash`` index)."""
    return any(key not in besides for (key,) in conn.execute(
        "SELECT path_key FROM photos WHERE content_hash = ?", (fingerprint,)))


def drop_undo_of(conn: sqlite3.Connection, keys: Iterable[bytes]) -> None:
    """Inside a caller's transaction: drop the records of the content the photos at ``keys``
    (path keys) have, unless a catalogued photo not among them (a copy) has it too."""
    keys = set(keys)
    for (fp,) in {row for key in keys for row in conn.execute(
            "SELECT content_hash FROM photos WHERE path_key = ? AND content_hash IS NOT NULL",
            (key,))}:
        if not _copy_has(conn, fp, keys):
            conn.execute("DELETE FROM tag_undo WHERE fingerprint = ?", (fp,))


def drop_orphan_undo(conn: sqlite3.Connection) -> int:
    """Inside a caller's transaction: drop records whose content no catalogued photo has (it
    was forgotten, or changed by another program and scanned since). Uses the
    ``photos_content_hash`` index; returns how many went."""
    return conn.execute(
        "DELETE FROM tag_undo WHERE NOT EXISTS "
        "(SELECT 1 FROM photos WHERE photos.content_hash = tag_undo.fingerprint)").rowcount


def drop_undo_replaced(conn: sqlite3.Connection, fingerprints: Iterable[str]) -> int:
    """Inside a caller's transaction, after photos' ``content_hash`` changed away from
    ``fingerprints``: drop the records of those contents unless a catalogued photo (a copy)
    still has one. Returns how many went."""
    return sum(conn.execute("DELETE FROM tag_undo WHERE fingerprint = ?", (fp,)).rowcount
               for fp in set(fingerprints) if not _copy_has(conn, fp))
