# SPDX-License-Identifier: GPL-3.0-or-later
"""What an embedded tag write replaced, kept so that ``untag`` gives the original bytes back.

Removing photolm's values field by field leaves a photo equivalent to the original but not
identical (a list photolm emptied, padding, the order of IPTC datasets photolm appended to).
So every embedded write also keeps a small patch that turns the tagged file back into the
original, keyed by the tagged file's fingerprint (:func:`photolm.fingerprint.fingerprint`, as
the scan computes it) and its full SHA-256. ``untag`` applies it only when the photo is still
exactly what photolm wrote (both hashes match, so a moved photo is found too, and the
restored bytes must hash to the original's SHA-256); a photo changed since by anybody else
falls back to removing photolm's values.

A patch is the smaller of two encodings, both exact: ``S`` (common prefix and suffix kept,
the original's middle stored: JPEG and PNG, whose metadata sit before the image data) and
``P`` (the original's bytes at every position where the tagged file differs: TIFF, where
photolm patches a few bytes in place and appends the rest).

The store is an interface: :class:`SqliteUndoStore` keeps records in a small SQLite file
beside the catalogue until the catalogue grows a table for them.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

# A record larger than this is not kept (untag then removes photolm's values instead):
# photolm's own blocks are a few KiB, so a bigger patch means a format it rewrites wholesale.
MAX_PATCH_BYTES = 8 * 1024 * 1024
_RUN_GAP = 16  # differing bytes closer than this share one run


@dataclass(frozen=True)
class UndoRecord:
    path: str  # where the photo was tagged (informative: lookups use the hashes)
    fingerprint: str  # of the tagged file
    tagged_sha256: str
    original_sha256: str
    patch: bytes


class UndoStore(Protocol):
    def save(self, record: UndoRecord) -> None: ...

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None: ...

    def forget(self, fingerprint: str, tagged_sha256: str) -> None: ...


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_patch(tagged: bytes, original: bytes) -> bytes | None:
    """A patch turning ``tagged`` into ``original``; ``None`` when it would be too large."""
    best = min(_splice_patch(tagged, original), _runs_patch(tagged, original), key=len)
    return best if len(best) <= MAX_PATCH_BYTES else None


def apply_patch(tagged: bytes, patch: bytes) -> bytes:
    kind = patch[:1]
    if kind == b"S":
        prefix, suffix = struct.unpack(">QQ", patch[1:17])
        return tagged[:prefix] + patch[17:] + tagged[len(tagged) - suffix:]
    if kind == b"P":
        (length,) = struct.unpack(">Q", patch[1:9])
        out = bytearray(tagged[:length].ljust(length, b"\x00"))
        pos = 9
        while pos < len(patch):
            offset, size = struct.unpack(">QI", patch[pos:pos + 12])
            out[offset:offset + size] = patch[pos + 12:pos + 12 + size]
            pos += 12 + size
        return bytes(out)
    raise ValueError("unknown undo patch")


def _splice_patch(tagged: bytes, original: bytes) -> bytes:
    limit = min(len(tagged), len(original))
    prefix = _common_prefix(tagged[:limit], original[:limit])
    rest = limit - prefix
    suffix = _common_prefix(tagged[::-1][:rest], original[::-1][:rest])
    middle = original[prefix:len(original) - suffix]
    return b"S" + struct.pack(">QQ", prefix, suffix) + middle


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.frombuffer(a[:n], np.uint8) != np.frombuffer(b[:n], np.uint8))
    return int(diff[0]) if diff.size else n


def _runs_patch(tagged: bytes, original: bytes) -> bytes:
    n = min(len(tagged), len(original))
    differ = np.flatnonzero(np.frombuffer(tagged[:n], np.uint8)
                            != np.frombuffer(original[:n], np.uint8)).tolist()
    if len(original) > n:
        differ.append(n)  # the original's tail beyond the tagged file's end
    out = bytearray(b"P" + struct.pack(">Q", len(original)))
    i = 0
    while i < len(differ):
        start = end = differ[i]
        while i + 1 < len(differ) and differ[i + 1] - end <= _RUN_GAP:
            i += 1
            end = differ[i]
        stop = len(original) if end >= n else end + 1
        out += struct.pack(">QI", start, stop - start) + original[start:stop]
        i += 1
    return bytes(out)


class SqliteUndoStore:
    """Undo records in one SQLite file (``<catalogue>.undo.sqlite``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, catalog_path: Path | str) -> SqliteUndoStore:
        return cls(os.fspath(catalog_path) + ".undo.sqlite")

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        if not create and not self.path.exists():
            yield None
            return
        conn = sqlite3.connect(self.path, timeout=30)
        try:
            with conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS tag_undo (fingerprint TEXT NOT NULL, "
                    "tagged_sha256 TEXT NOT NULL, path TEXT NOT NULL, original_sha256 TEXT "
                    "NOT NULL, patch BLOB NOT NULL, PRIMARY KEY (fingerprint, tagged_sha256))")
                yield conn
        finally:
            conn.close()

    def save(self, record: UndoRecord) -> None:
        with self._connect(create=True) as conn:
            assert conn is not None
            conn.execute("INSERT OR REPLACE INTO tag_undo VALUES (?, ?, ?, ?, ?)",
                         (record.fingerprint, record.tagged_sha256, record.path,
                          record.original_sha256, record.patch))

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None:
        with self._connect(create=False) as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT path, original_sha256, patch FROM tag_undo WHERE fingerprint = ? AND "
                "tagged_sha256 = ?", (fingerprint, tagged_sha256)).fetchone()
        if row is None:
            return None
        return UndoRecord(row[0], fingerprint, tagged_sha256, row[1], bytes(row[2]))

    def forget(self, fingerprint: str, tagged_sha256: str) -> None:
        with self._connect(create=False) as conn:
            if conn is not None:
                conn.execute("DELETE FROM tag_undo WHERE fingerprint = ? AND tagged_sha256 = ?",
                             (fingerprint, tagged_sha256))


class MemoryUndoStore:
    """Undo records in memory: for library callers that keep them themselves, and tests."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], UndoRecord] = {}

    def save(self, record: UndoRecord) -> None:
        self.records[(record.fingerprint, record.tagged_sha256)] = record

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None:
        return self.records.get((fingerprint, tagged_sha256))

    def forget(self, fingerprint: str, tagged_sha256: str) -> None:
        self.records.pop((fingerprint, tagged_sha256), None)
