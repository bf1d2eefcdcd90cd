# SPDX-License-Identifier: GPL-3.0-or-later
"""An older catalogue where it may not be written: read from a copy, upgraded.

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
goes with the process. A catalogue larger than :data:`MEMORY_LIMIT_BYTES` is copied into a
file in the user's temp folder instead, removed when the process ends (or, were it killed,
by the next copy made there). Opening another catalogue that needs a copy drops the last one.

Another photolm may be writing the file meanwhile (a scan upgrading it, where it is writable
for its owner): the copy is what was committed when it was made, as any reader of the
catalogue sees while a scan writes, and it is upgraded from the schema the copy itself holds,
not the one read before it was made: an upgrade committed in between would otherwise be
applied twice (schema 8's step rewrote a scan folder ``my\\photos`` as ``my\\\\photos``). A
file found upgraded by then (:class:`UpgradedMeanwhile`) is read as it is.

Whoever shows the person what happens (the CLI) hears about each open that reads a copy
through :func:`telling`; this module never prints.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from photolm.errors import CatalogError
from photolm.printed_paths import printed
from photolm.storage import no_space_message

# A larger catalogue is copied into a file in the user's temp folder instead of memory, so
# that a very large library does not take as much memory as its catalogue's size; the
# figures are in docs/performance.md ("An older catalogue on a read-only place").
MEMORY_LIMIT_BYTES = 1 << 30
_TEMP_PREFIX = "photolm-upgraded-"


@dataclass(frozen=True)
class UpgradedCopy:
    """A catalogue read from an upgraded copy: which, from which schema, why, and where the
    copy is (``None``: in memory; else the temporary file)."""

    path: Path
    from_version: int
    why: str
    temp_file: Path | None = None

    def notice(self) -> str:
        """The one line a person is told: what is read, and how it gets upgraded for good."""
        where = ("in memory" if self.temp_file is None
                 else f"in the temporary file {printed(self.temp_file)}")
        return (
            f"catalogue {printed(self.path)} uses an older format (schema {self.from_version}) "
            f"and is read-only here ({self.why}): photolm reads a copy upgraded {where}, so "
            "nothing is saved to the file; a command that changes the catalogue (scan, tag, "
            "confirm, learn, ...) run where it is writable upgrades it."
        )


class UpgradedMeanwhile(Exception):
    """The file holds the current schema by the time it is copied: another photolm upgraded
    it since its version was read, so it needs no copy; read it as it is."""


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


def connect(path: Path, open_source: Callable[[], sqlite3.Connection], version: int, why: str,
            migrate: Callable[[sqlite3.Connection, int], None],
            current: int) -> tuple[sqlite3.Connection, UpgradedCopy]:
    """A new connection to the upgraded copy of the catalogue at ``path`` (at schema
    ``version`` on disk when it was looked at), copied through ``open_source()`` (a new
    read-only connection to it) and upgraded with ``migrate(conn, from_version)`` from the
    schema the copy holds, unless this process holds a copy of the same file already.
    :class:`UpgradedMeanwhile` when the copy holds schema ``current`` already."""
    global _held
    identity = _identity(path, version)
    with _lock:
        # a temporary copy a temp-folder cleaner removed (a long `serve`) is made again
        if (_held is None or _held.identity != identity or _held.copy.path != path
                or (_held.copy.temp_file is not None
                    and not _held.copy.temp_file.exists())):
            _drop()
            source = open_source()
            try:
                _held = _make(path, source, version, why, identity, migrate, current)
            finally:
                source.close()
        held = _held
        # under the lock: a copy dropped meanwhile would leave its name to a new, empty one
        conn = sqlite3.connect(held.uri, uri=True)
    for listener in list(_listeners):
        listener(held.copy)
    return conn, held.copy


def _make(path: Path, source: sqlite3.Connection, version: int, why: str,
          identity: tuple[object, ...], migrate: Callable[[sqlite3.Connection, int], None],
          current: int) -> _Held:
    """The copy, from a connection of its own: one that looked at the file before (its
    version) may hold those pages still, an ``immutable`` one above all (it is told the file
    never changes), and would copy them beside pages a writer wrote since."""
    # the source's pages are read once: mapped, they would count in this process's memory
    source.execute("PRAGMA mmap_size = 0")
    temp: Path | None = None
    if _size(path) <= MEMORY_LIMIT_BYTES:
        uri = f"file:{_TEMP_PREFIX}{next(_names)}?mode=memory&cache=shared"
    else:
        try:
            temp = _temp_file()
        except OSError as exc:
            raise _failed(path, version, why, Path(tempfile.gettempdir()) / "-", exc) from None
        uri = f"{temp.as_uri()}?mode=ro&immutable=1"
    target = sqlite3.connect(uri if temp is None else os.fspath(temp), uri=temp is None,
                             check_same_thread=False)
    try:
        source.backup(target)
        # what was committed when the backup read it: a writer may have upgraded it since
        # ``version`` was read (the module docstring)
        version = int(target.execute("PRAGMA user_version").fetchone()[0])
        if version >= current:
            raise UpgradedMeanwhile
        if temp is not None:  # a throwaway: no journal of its own (the source's may be WAL)
            target.execute("PRAGMA journal_mode = OFF").fetchone()
            target.execute("PRAGMA synchronous = OFF")
        migrate(target, version)
        target.commit()
        if temp is not None:
            target.close()
            target = sqlite3.connect(uri, uri=True, check_same_thread=False)
    except (sqlite3.Error, OSError) as exc:
        target.close()
        _remove(temp)
        raise _failed(path, version, why, temp, exc) from None
    except BaseException:
        target.close()
        _remove(temp)
        raise
    return _Held(identity, uri, target, UpgradedCopy(path, version, why, temp))


def _failed(path: Path, version: int, why: str, temp: Path | None,
            exc: BaseException) -> CatalogError:
    from photolm.catalog.store import out_of_space  # store imports this module

    where = "in memory" if temp is None else f"in {printed(temp.parent)}"
    full = temp is not None and out_of_space(temp, exc)
    problem = no_space_message(temp.parent) if full and temp is not None else str(exc)
    elsewhere = "" if temp is None else "set TMPDIR to a folder with room for it, "
    return CatalogError(
        f"Could not read catalogue {printed(path)}: it uses an older format (schema {version}) "
        f"and is read-only here ({why}), and upgrading a copy of it {where} failed ({problem}); "
        f"{elsewhere}make it writable once, or read it with the photolm that wrote it.")


def _temp_file() -> Path:
    """A new file in the user's temp folder, named for this process: copies that processes
    killed before they could remove theirs are removed here."""
    folder = Path(tempfile.gettempdir())
    _sweep(folder)
    handle, name = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".sqlite",
                                    dir=folder)
    os.close(handle)
    return Path(name)


def _sweep(folder: Path) -> None:
    """Remove the copies of processes that are gone (POSIX: a process id is checkable)."""
    if os.name != "posix":
        return
    for left in folder.glob(f"{_TEMP_PREFIX}*.sqlite"):
        pid = left.name[len(_TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            _remove(left)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


def _remove(temp: Path | None) -> None:
    if temp is None:
        return
    for name in (temp, Path(f"{temp}-journal"), Path(f"{temp}-wal"), Path(f"{temp}-shm")):
        with suppress(OSError):
            name.unlink()


def _drop() -> None:
    """Let the copy held go (connections still open to an in-memory one keep it until they
    close; a temporary file is removed, which POSIX lets them read on)."""
    global _held
    if _held is not None:
        _held.anchor.close()
        _remove(_held.copy.temp_file)
        _held = None


def _dropped_at_exit() -> None:
    with _lock:
        _drop()


atexit.register(_dropped_at_exit)


def _size(path: Path) -> int:
    total = 0
    for name in (os.fspath(path), os.fspath(path) + "-wal"):
        with suppress(OSError):
            total += os.path.getsize(name)
    return total


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
