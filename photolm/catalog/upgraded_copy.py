# SPDX-License-Identifier: GPL-3.0-or-later
"""An older catalogue where it may not be written: read from an upgraded copy in memory.

After an upgrade of photolm, the first command upgrades a catalogue an older photolm wrote
in place (:meth:`photolm.catalog.store.CatalogStore._upgrade`). Where nothing may be written
(a NAS share mounted read-only, a snapshot or backup, a file or folder without write
permission) that cannot happen, yet ``list``, ``search``, ``info`` or ``serve`` only read:
the catalogue is copied with SQLite's backup API from the read-only connection (what a
``-wal`` holds included) into memory, migrated there, and read from there. The file is left
as it is; writing commands still refuse it, and the first one run where it is writable
upgrades it for good.

One copy per process, kept while the file stays the same (its inode, size, times and its
``-wal``'s): ``landmarks`` opens the catalogue three times and ``serve`` once per page, and
each open then costs a connection, not a copy. The copy is a named shared-cache in-memory
database, so every open gets a connection of its own (the desktop's threads) and the memory
goes with the process. Opening another catalogue that needs a copy drops the last one.

Whoever shows the person what happens (the CLI) hears about each open that reads a copy
through :func:`telling`; this module never prints.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from photolm.errors import CatalogError
from photolm.printed_paths import printed


@dataclass(frozen=True)
class UpgradedCopy:
    """A catalogue read from an upgraded copy: which, from which schema, and why."""

    path: Path
    from_version: int
    why: str

    def notice(self) -> str:
        """The one line a person is told: what is read, and how it gets upgraded for good."""
        return (
            f"catalogue {printed(self.path)} uses an older format (schema {self.from_version}) "
            f"and is read-only here ({self.why}): photolm reads an upgraded copy in memory, "
            "so nothing is saved to the file; a command that changes the catalogue (scan, "
            "tag, confirm, learn, ...) run where it is writable upgrades it."
        )


@dataclass
class _Held:
    identity: tuple[object, ...]
    uri: str
    anchor: sqlite3.Connection  # keeps the shared in-memory database alive
    copy: UpgradedCopy


_held: _Held | None = None
_lock = threading.Lock()
_names = itertools.count()
_listeners: list[Callable[[UpgradedCopy], None]] = []


@contextmanager
def telling(listener: Callable[[UpgradedCopy], None]) -> Iterator[None]:
    """Call ``listener`` for each open that reads an upgraded copy while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def connect(path: Path, source: sqlite3.Connection, version: int, why: str,
            migrate: Callable[[sqlite3.Connection, int], None]) -> tuple[sqlite3.Connection,
                                                                          UpgradedCopy]:
    """A new connection to the upgraded copy of the catalogue at ``path`` (at schema
    ``version`` on disk), copied from ``source`` (a read-only connection to it, closed here)
    and upgraded with ``migrate(conn, version)``, unless this process holds a copy of the
    same file already."""
    global _held
    try:
        identity = _identity(path, version)
        with _lock:
            if _held is None or _held.identity != identity or _held.copy.path != path:
                _drop()
                _held = _make(path, source, version, why, identity, migrate)
            held = _held
    finally:
        source.close()
    conn = sqlite3.connect(held.uri, uri=True, check_same_thread=True)
    for listener in list(_listeners):
        listener(held.copy)
    return conn, held.copy


def _make(path: Path, source: sqlite3.Connection, version: int, why: str,
          identity: tuple[object, ...],
          migrate: Callable[[sqlite3.Connection, int], None]) -> _Held:
    uri = f"file:photolm-upgraded-{next(_names)}?mode=memory&cache=shared"
    anchor = sqlite3.connect(uri, uri=True, check_same_thread=False)
    try:
        source.backup(anchor)
        migrate(anchor, version)
        anchor.commit()
    except sqlite3.Error as exc:
        anchor.close()
        raise CatalogError(
            f"Could not read catalogue {printed(path)}: it uses an older format (schema "
            f"{version}) and is read-only here ({why}), and upgrading a copy of it in memory "
            f"failed ({exc}); make it writable once, or read it with the photolm that wrote it."
        ) from None
    except BaseException:
        anchor.close()
        raise
    return _Held(identity, uri, anchor, UpgradedCopy(path, version, why))


def _drop() -> None:
    """Let the copy held go (connections still open to it keep it until they close)."""
    global _held
    if _held is not None:
        _held.anchor.close()
        _held = None


def _identity(path: Path, version: int) -> tuple[object, ...]:
    """What tells the same file from one changed since (by a writer elsewhere on a share)."""
    parts: list[object] = [version]
    for name in (os.fspath(path), os.fspath(path) + "-wal"):
        try:
            st = os.stat(name)
        except OSError:
            parts.append(None)
            continue
        parts.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(parts)
