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

The store is an interface because this package does not know the catalogue: ``photolm tag``
keeps the records in the catalogue (table ``tag_undo``, :mod:`photolm.catalog.undo`, handed
over by :mod:`photolm.tagging`); :class:`MemoryUndoStore` serves library callers and tests.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from photolm.fingerprint import fingerprint_bytes

# A record larger than this is not kept (untag then removes photolm's values instead):
# photolm's own blocks are a few KiB, so a bigger patch means a format it rewrites wholesale.
MAX_PATCH_BYTES = 8 * 1024 * 1024
_RUN_GAP = 16  # differing bytes closer than this share one run
_BLOCK = 64 * 1024
_SMALL = 4096  # a splice this small is as good as it gets


@dataclass(frozen=True)
class UndoRecord:
    path: str  # where the photo was tagged (informative: lookups use the hashes)
    fingerprint: str  # of the tagged file
    tagged_sha256: str
    original_sha256: str
    patch: bytes


class UndoStoreError(Exception):
    """A store could not read or keep a record. A record it cannot *keep* stops that one
    write, the photo untouched (no photo is rewritten without its way back); one it cannot
    *read* or *forget* is not fatal: untag then removes photolm's values field by field."""


class UndoStore(Protocol):
    """Where embedded writes keep what they replaced; a failure raises :class:`UndoStoreError`."""

    def save(self, record: UndoRecord) -> None: ...

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None: ...

    def forget(self, fingerprint: str, tagged_sha256: str, *, photo: str | None = None
               ) -> None:
        """``photo``: the file restored or rewritten; a store that knows of other copies
        of that content (identical photos tagged alike share a record) keeps it for them."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def find_original(store: UndoStore, tagged: bytes) -> tuple[UndoRecord, bytes] | None:
    """The record of ``tagged`` (a whole file) as photolm's write, and the original bytes it
    gives back; ``None`` when the store knows no such write, cannot be read, or its patch
    does not give back bytes with the original's SHA-256. Both the untag that restores a
    photo and the tag run that recognises its own interrupted write look a file up so."""
    try:
        record = store.find(fingerprint_bytes(tagged), sha256(tagged))
    except UndoStoreError:
        return None
    if record is None:
        return None
    try:
        original = apply_patch(tagged, record.patch)
    except ValueError:  # a record cut short or garbled on disk: no way back, not a crash
        return None
    if sha256(original) != record.original_sha256:
        return None
    return record, original


def make_patch(tagged: bytes, original: bytes) -> bytes | None:
    """A patch turning ``tagged`` into ``original``; ``None`` when it would be too large."""
    best = _splice_patch(tagged, original)
    if len(best) > _SMALL:  # metadata not all at one place: try in-place runs too
        best = min(best, _runs_patch(tagged, original), key=len)
    return best if len(best) <= MAX_PATCH_BYTES else None


def apply_patch(tagged: bytes, patch: bytes) -> bytes:
    """``tagged`` turned back by ``patch``; ``ValueError`` for a patch that is cut short,
    garbled or of an unknown kind (never an allocation a damaged length asks for)."""
    kind = patch[:1]
    try:
        if kind == b"S":
            prefix, suffix = struct.unpack(">QQ", patch[1:17])
            if prefix + suffix > len(tagged):
                raise ValueError("damaged undo patch")
            return tagged[:prefix] + patch[17:] + tagged[len(tagged) - suffix:]
        if kind == b"P":
            (length,) = struct.unpack(">Q", patch[1:9])
            if length > len(tagged) + len(patch):  # the original is tagged's bytes + the runs
                raise ValueError("damaged undo patch")
            out = bytearray(tagged[:length].ljust(length, b"\x00"))
            pos = 9
            while pos < len(patch):
                offset, size = struct.unpack(">QI", patch[pos:pos + 12])
                if offset + size > length or pos + 12 + size > len(patch):
                    raise ValueError("damaged undo patch")
                out[offset:offset + size] = patch[pos + 12:pos + 12 + size]
                pos += 12 + size
            return bytes(out)
    except struct.error as exc:
        raise ValueError(f"damaged undo patch: {exc}") from None
    raise ValueError("unknown undo patch")


def _splice_patch(tagged: bytes, original: bytes) -> bytes:
    limit = min(len(tagged), len(original))
    prefix = _common_prefix(tagged, original, limit)
    suffix = _common_suffix(tagged, original, limit - prefix)
    middle = original[prefix:len(original) - suffix]
    return b"S" + struct.pack(">QQ", prefix, suffix) + middle


def _common_prefix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common prefix (at most ``limit``): block by block with memcmp, then
    the first differing block byte by byte."""
    pos = 0
    while pos < limit:
        end = min(pos + _BLOCK, limit)
        if a[pos:end] != b[pos:end]:
            diff = np.flatnonzero(np.frombuffer(a[pos:end], np.uint8)
                                  != np.frombuffer(b[pos:end], np.uint8))
            return pos + int(diff[0])
        pos = end
    return limit


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    """Length of the common suffix (at most ``limit``)."""
    done = 0
    while done < limit:
        size = min(_BLOCK, limit - done)
        x, y = a[len(a) - done - size:len(a) - done], b[len(b) - done - size:len(b) - done]
        if x != y:
            diff = np.flatnonzero(np.frombuffer(x, np.uint8) != np.frombuffer(y, np.uint8))
            return done + (size - 1 - int(diff[-1]))
        done += size
    return limit


def _runs_patch(tagged: bytes, original: bytes) -> bytes:
    n = min(len(tagged), len(original))
    differ = np.flatnonzero(np.frombuffer(tagged[:n], np.uint8)
                            != np.frombuffer(original[:n], np.uint8))
    out = bytearray(b"P" + struct.pack(">Q", len(original)))
    if differ.size > MAX_PATCH_BYTES:  # shifted data: the splice encoding is the one
        return bytes(out) + original
    runs: list[tuple[int, int]] = []
    if differ.size:
        breaks = np.flatnonzero(np.diff(differ) > _RUN_GAP)
        starts = np.concatenate(([differ[0]], differ[breaks + 1]))
        ends = np.concatenate((differ[breaks], [differ[-1]])) + 1
        runs = list(zip(starts.tolist(), ends.tolist(), strict=True))
    if len(original) > n:  # the original's tail beyond the tagged file's end
        if runs and runs[-1][1] >= n - _RUN_GAP:
            runs[-1] = (runs[-1][0], len(original))
        else:
            runs.append((n, len(original)))
    for start, stop in runs:
        out += struct.pack(">QI", start, stop - start) + original[start:stop]
    return bytes(out)


class MemoryUndoStore:
    """Undo records in memory: for library callers that keep them themselves, and tests."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], UndoRecord] = {}

    def save(self, record: UndoRecord) -> None:
        self.records[(record.fingerprint, record.tagged_sha256)] = record

    def find(self, fingerprint: str, tagged_sha256: str) -> UndoRecord | None:
        return self.records.get((fingerprint, tagged_sha256))

    def forget(self, fingerprint: str, tagged_sha256: str, *, photo: str | None = None
               ) -> None:
        self.records.pop((fingerprint, tagged_sha256), None)
