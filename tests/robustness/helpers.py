# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared checks for the robustness suite: photo snapshots, row consistency, CLI calls.

The suite's promises are about the user's files and the catalogue, so the checks live here
once: :func:`snapshot` proves that nothing was written to (or beside) any photo, and
:func:`check_rows` proves that every catalogue row is either a complete result or an error,
never something in between.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.clirun import cli as cli  # re-exported: the robustness tests import it from here

# Python source a fresh interpreter runs after its own set-up: every photolm command in
# ``commands`` (a list of argument lists) in turn, in this one process, their exit codes in
# ``codes`` (what the no-network audit and the written-files check both need).
RUN_COMMANDS = r"""
from photolm.cli.app import main
codes = []
for command in commands:
    sys.argv = ["photolm", *command]
    try:
        main()
    except SystemExit as exc:
        codes.append(exc.code or 0)
    else:
        codes.append(0)
"""


@dataclass(frozen=True)
class FileState:
    """What "unchanged" means for one file: same bytes, same mtime, same inode."""

    sha256: str
    size: int
    mtime_ns: int
    inode: int


def snapshot(root: Path) -> dict[bytes, FileState | str]:
    """Every entry under ``root`` (bytes paths, so non-UTF-8 names are kept exactly).

    Regular files map to their :class:`FileState`; folders, symlinks and other entries to a
    marker, so a new sidecar, temporary file or folder anywhere in the tree shows up as a
    difference. Symlinks are not followed (a loop must not loop here either).
    """
    state: dict[bytes, FileState | str] = {}
    base = os.fsencode(root)
    for folder, dirs, files in os.walk(base, followlinks=False):
        for name in dirs:
            path = os.path.join(folder, name)
            state[path] = "link" if os.path.islink(path) else "dir"
        for name in files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if os.path.islink(path):
                state[path] = "link -> " + os.fsdecode(os.readlink(path))
            elif not os.path.isfile(path):
                state[path] = "special"
            else:
                try:
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                except PermissionError:  # only when not root; the mtime still counts
                    digest = "unreadable"
                state[path] = FileState(digest, st.st_size, st.st_mtime_ns, st.st_ino)
    return state


def changed(before: dict[bytes, FileState | str], after: dict[bytes, FileState | str]) -> list[str]:
    """Human-readable differences between two snapshots (empty: nothing changed)."""
    out = [f"new: {os.fsdecode(p)}" for p in sorted(set(after) - set(before))]
    out += [f"gone: {os.fsdecode(p)}" for p in sorted(set(before) - set(after))]
    out += [f"changed: {os.fsdecode(p)}" for p in sorted(set(before) & set(after))
            if before[p] != after[p]]
    return out


@contextlib.contextmanager
def native_stderr() -> Iterator[list[str]]:
    """Capture what is written to file descriptor 2 itself (C libraries such as libtiff
    print there directly, bypassing ``sys.stderr``); the list is filled on exit."""
    captured: list[str] = []
    with tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


@contextlib.contextmanager
def loud_log_records(level: int = logging.WARNING) -> Iterator[list[logging.LogRecord]]:
    """Collect log records at ``level`` or above from any logger.

    A library that logs an error while photolm runs unconfigured (the CLI sets up no
    logging) gets it printed on stderr by Python's last-resort handler: an extra line the
    user did not ask for. Under pytest that handler never runs, so tests look for the
    records instead; a record exists only if its logger was enabled for its level.
    """
    records: list[logging.LogRecord] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Collect(level)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)


# Columns of a consistent row: a full result or an error, never half of each.
_ROW_SQL = (
    "SELECT p.path, p.error, p.bundle_id, p.model_id, p.landmark_id, p.landmark_name, "
    "p.score, p.topk, p.has_embedding, p.content_hash, e.photo_id, e.model_id, e.dim, "
    "length(e.vector) FROM photos p LEFT JOIN embeddings e ON e.photo_id = p.id"
)


def open_after_crash(catalog: Path) -> sqlite3.Connection:
    """A read-write connection that is used read-only (``query_only``), waiting out locks.

    A writer killed at the wrong moment leaves SQLite's crash recovery to the next opener:
    a hot rollback journal to play back (photolm's ``PRAGMA journal_mode = WAL`` on a new
    catalogue always writes through a rollback journal; a kill while it waits for its
    fsync, likely on a loaded machine, leaves ``-journal`` behind) or a WAL index to
    rebuild. A ``mode=ro`` connection may not do that work and fails with
    SQLITE_READONLY_ROLLBACK ("attempt to write a readonly database"); the next photolm
    command, which opens the catalogue for writing, does it. So does this connection, and
    the checks then see what any later reader sees. ``mode=rw`` never creates the file.
    """
    conn = sqlite3.connect(f"{catalog.absolute().as_uri()}?mode=rw", uri=True, timeout=30)
    conn.execute("PRAGMA query_only = ON")
    return conn


def check_rows(catalog: Path) -> dict[str, str | None]:
    """Assert every row of the catalogue is whole; return ``{path: error}``.

    Reads through its own connection (the catalogue API would hide a malformed row behind
    its own types), opened as :func:`open_after_crash` says. Checked: ``PRAGMA
    integrity_check`` is ``ok``; a catalogue without schema version has no tables at all
    (migrations are atomic); paths are unique; a row without error has a bundle, a model,
    an embedding of the right size, a fingerprint and a non-empty top-k, and a landmark
    name, id and score together or not at all; a row with an error has no embedding and no
    landmark; no embedding lacks its photo.
    """
    import json

    conn = open_after_crash(catalog)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            # Created but never migrated (e.g. killed right then): the schema is applied in
            # one transaction with its version number, so no table may exist yet.
            assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
            return {}
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = conn.execute(_ROW_SQL).fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM embeddings WHERE photo_id NOT IN (SELECT id FROM photos)"
        ).fetchone()[0]
    finally:
        conn.close()
    assert orphans == 0
    out: dict[str, str | None] = {}
    for (path, error, bundle_id, model_id, lm_id, lm_name, score, topk, has_emb, fp,
         e_id, e_model, dim, nbytes) in rows:
        assert path not in out, f"two rows for {path}"
        out[path] = error
        landmark = (lm_id, lm_name, score)
        assert all(v is None for v in landmark) or all(v is not None for v in landmark), path
        if error is None:
            assert bundle_id and model_id and fp, path
            assert has_emb == 1 and e_id is not None and e_model == model_id, path
            assert dim > 0 and nbytes == 2 * dim, path  # float16
            assert json.loads(topk), path
        else:
            assert error.strip() and "\n" not in error, path
            assert has_emb == 0 and e_id is None, path
            assert all(v is None for v in landmark), path
            assert json.loads(topk) == [], path
    return out
