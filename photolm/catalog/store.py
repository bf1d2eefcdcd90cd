# SPDX-License-Identifier: GPL-3.0-or-later
"""The file-safety core: open, lock, probe, migrate, and run every change as one transaction.

* **Never half-written.** Every change is one SQLite transaction (a whole batch of scan
  results, a move, a landmark table), so a ``kill -9`` or a full disk leaves the previous
  state. WAL journal with ``synchronous=NORMAL``: a crash of photolm loses nothing
  committed; a power cut may lose the last batches but never corrupts.
* **One writer.** Write mode takes an exclusive cross-process lock (``<catalogue>.lock``,
  the ``filelock`` package; the OS drops it when a process dies, so there are no stale
  locks). Readers take no lock: ``search``/``list``/``info`` work while a scan writes (WAL).
* **Hands off what it does not understand.** Before SQLite touches a file for writing, the
  header is read by hand and the database is probed through a read-only connection: a file
  that is not SQLite, is damaged, belongs to another program or was written by a newer
  photolm raises :class:`~photolm.errors.CatalogError` and is left byte-for-byte unchanged.
* The read path imports only :mod:`sqlite3`: sqlite-utils (which pulls in click, pluggy and
  dateutil) is imported only when writing.
* **A writer killed mid-change** leaves a hot rollback journal (or a WAL whose index must
  be rebuilt) that a read-only connection may not replay. A reader then lets SQLite replay
  it under the write lock (:func:`_recover`: the file goes back to its last committed state,
  as the next writer would do anyway), or, where nothing may be written, says so in one line.
* **An older catalogue where nothing may be written** (a read-only share or snapshot) is
  read from a copy upgraded in memory, a large one in a temp file
  (:mod:`photolm.catalog.upgraded_copy`); the file stays as it is, and writing commands
  refuse it as they refuse any read-only catalogue.
* A read-only connection to a WAL catalogue may leave empty ``-wal``/``-shm`` files beside
  it (it may not delete them); the next writer tidies them up. The catalogue itself belongs
  on a local disk: SQLite's WAL does not work over network file systems.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from photolm.catalog import schema, upgraded_copy
from photolm.catalog.paths import CATALOG_FILE
from photolm.catalog.upgraded_copy import UpgradedCopy
from photolm.errors import CatalogBusyError, CatalogError
from photolm.printed_paths import printed
from photolm.storage import nearly_full, no_space, no_space_message, read_only_file_system

if TYPE_CHECKING:
    from filelock import BaseFileLock
    from sqlite_utils import Database

_Store = TypeVar("_Store", bound="CatalogStore")
_T = TypeVar("_T")

BUSY_TIMEOUT_MS = 5000
_SQLITE_MAGIC = b"SQLite format 3\x00"
_MMAP_BYTES = 256 << 20


class CatalogMissingError(CatalogError):
    """Read-only open of a catalogue that does not exist (yet): nothing has been scanned.

    A subclass so that a command such as ``info`` may treat it as "empty" while
    ``search`` shows the message as it is.
    """


class CatalogReadOnlyError(CatalogError):
    """A writing command on a catalogue photolm may read but not change (read-only mount,
    a file or folder without write permission)."""


def refuse_read_only(path: Path) -> None:
    """Raise the one refusal every change to a catalogue photolm may read but not change
    gets: the CLI's writing commands as they open it, and the desktop's actions (an answer,
    a scan, a tag run, a place named) before they start work that could not be stored."""
    path = Path(path).expanduser().absolute()
    if path.exists() and (why := _read_only_reason(path)) is not None:
        raise CatalogReadOnlyError(
            f"Catalogue {printed(path)} is read-only ({why}): search, list and info can read "
            "it, but this command changes it. Make it writable, or pick another with --catalog."
        )


def _missing(path: Path) -> CatalogMissingError:
    return CatalogMissingError(f"No catalogue at {printed(path)} yet: run `photolm scan FOLDER` "
                               "first.")


def _not_ours(path: Path) -> CatalogError:
    return CatalogError(
        f"{printed(path)} is not a photolm catalogue; move it aside or pick another path with "
        "--catalog."
    )


def damaged(path: Path, detail: object) -> CatalogError:
    """A catalogue SQLite cannot use; a full disk is worded as what it is (see
    :func:`out_of_space`), never as damage a person should move the file aside for."""
    if out_of_space(path, detail):
        return CatalogError(f"Cannot use catalogue {printed(path)} ({_one_line(detail)}): "
                            f"{no_space_message(path.parent)}; the catalogue is unchanged")
    if _code(detail) == _SQLITE_IOERR:  # the disk or share failed, not the file's content
        return CatalogError(
            f"Cannot use catalogue {printed(path)} ({_one_line(detail)}): the disk or share it is "
            "on failed a read or write; check that it is connected and has free space, then run "
            "the command again.")
    return CatalogError(
        f"Catalogue {printed(path)} is damaged or unreadable ({_one_line(detail)}); move it aside "
        "(keep it as a backup) and scan again, or pick another path with --catalog."
    )


_SQLITE_FULL = 13
_SQLITE_IOERR = 10


def out_of_space(path: Path, detail: object) -> bool:
    """Whether SQLite's (or the OS's) failure ``detail`` is the disk holding ``path`` being
    full: SQLITE_FULL, ENOSPC, or an I/O error while next to no space is left (SQLite
    reports a WAL index it cannot grow on a full disk as a bare "disk I/O error")."""
    if isinstance(detail, OSError):
        return no_space(detail)
    code = _code(detail)
    return code == _SQLITE_FULL or (code == _SQLITE_IOERR and nearly_full(path.parent))


def _write_advice(path: Path, exc: sqlite3.Error) -> str:
    """What a person can do about a write to the catalogue at ``path`` that failed: free
    space where the disk is full, otherwise check the disk and the file."""
    if out_of_space(path, exc):
        return no_space_message(path.parent)
    return "free disk space or check the file, then run the command again"


def _code(detail: object) -> int | None:
    """SQLite's primary result code of an error (``SQLITE_IOERR`` for all its kinds)."""
    code = getattr(detail, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def _one_line(detail: object, limit: int = 200) -> str:
    """SQLite's integrity reports span lines ("*** in database main ***\\nPage 90: ..."):
    the CLI promises one ``Error:`` line, so keep the findings and join them."""
    lines = [line.strip() for line in str(detail).splitlines()]
    findings = [line for line in lines if line and not line.startswith("***")]
    text = "; ".join(findings) or " ".join(lines).strip() or type(detail).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _newer(path: Path, version: int) -> CatalogError:
    return CatalogError(
        f"Catalogue {printed(path)} was written by a newer photolm (schema {version}, this one "
        f"knows {schema.SCHEMA_VERSION}); upgrade photolm."
    )


def _check_kind(path: Path) -> None:
    """Refuse anything but a regular file (or nothing) before creating anything beside it:
    ``--catalog /dev/null`` must not leave ``/dev/null.lock`` behind."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CatalogError(f"Cannot read catalogue {printed(path)}: "
                           f"{exc.strerror or exc}.") from None
    if stat.S_ISDIR(mode):
        raise CatalogError(
            f"Catalogue path {printed(path)} is a folder; pass a file name such as "
            f"{printed(path / CATALOG_FILE)} to --catalog."
        )
    if not stat.S_ISREG(mode):
        raise CatalogError(
            f"Catalogue path {printed(path)} is not a regular file (a device, pipe or socket); "
            "pick a file name with --catalog."
        )


def _read_only_reason(path: Path) -> str | None:
    """Why photolm may read but not change the catalogue at ``path``, or ``None``.

    The folder matters as much as the file: SQLite writes its journal and photolm its lock
    file beside the catalogue.
    """
    folder = path.parent
    for target, what in ((path, "the file"), (folder, "its folder")):
        if not target.exists():
            continue
        if read_only_file_system(target):  # POSIX only; Windows: os.access below
            return "it is on a read-only file system"
        if not os.access(target, os.W_OK):
            return f"{what} is not writable for you"
    return None


# SQLite's extended result codes for "this read-only connection cannot replay what a killed
# writer left": a hot rollback journal, a WAL index to rebuild, a WAL index it cannot create.
_NEEDS_REPLAY = frozenset({776, 264, 1288})  # READONLY_ROLLBACK, _RECOVERY, _CANTINIT


_CANTOPEN = 14  # SQLITE_CANTOPEN: e.g. a -wal whose -shm cannot be created


def _needs_replay(exc: sqlite3.Error, *also: int) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _NEEDS_REPLAY.union(also)


def _hot_journal(path: Path) -> bool:
    """A non-empty rollback journal beside the catalogue: a writer stopped mid-change (a live
    photolm writer holds the lock, so callers that hold it or find it free may trust this)."""
    try:
        return os.path.getsize(os.fspath(path) + "-journal") > 0
    except OSError:
        return False


def _replay(path: Path) -> None:
    """Let SQLite roll back a hot journal / rebuild a WAL index; call with the write lock."""
    conn = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA user_version").fetchone()  # the first read replays
    finally:
        conn.close()


def _stopped_mid_change(path: Path, why: str) -> CatalogError:
    return CatalogError(
        f"Catalogue {printed(path)} was left by a photolm that was stopped mid-change, and reading "
        f"it needs its -journal or -wal file replayed first, which cannot be done here ({why}); "
        "make it writable (or copy it with those files somewhere writable) and run the "
        "command again."
    )


def _recover(path: Path) -> None:
    """For a reader: replay what a killed writer left, under the write lock, so no photolm
    writer is live meanwhile (one is: :class:`CatalogBusyError`, "try again")."""
    why = _read_only_reason(path)
    if why is not None:
        raise _stopped_mid_change(path, why)
    lock = _acquire_lock(path, 0.0)
    try:
        _replay(path)
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None
    finally:
        lock.release()


def _check_header(path: Path) -> bool:
    """Refuse non-SQLite files and newer schemas by reading the header ourselves.

    Returns ``False`` when there is no file or it is empty (a new catalogue). The header's
    version can lag behind a WAL file that was never checkpointed, so this is only a
    pre-filter that keeps SQLite away from foreign files; :func:`_validate` is the authority.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(100)
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        raise CatalogError(
            f"Catalogue path {printed(path)} is a folder; pass a file name such as "
            f"{printed(path / CATALOG_FILE)} to --catalog."
        ) from None
    except OSError as exc:
        raise CatalogError(f"Cannot read catalogue {printed(path)}: "
                           f"{exc.strerror or exc}.") from None
    if not head:
        return False
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise CatalogError(
            f"{printed(path)} is not a photolm catalogue (not a SQLite database); move it aside or "
            "pick another path with --catalog."
        )
    version = int.from_bytes(head[60:64], "big", signed=True)
    app_id = int.from_bytes(head[68:72], "big", signed=True)
    if app_id not in (0, schema.APPLICATION_ID):
        raise _not_ours(path)
    if app_id == schema.APPLICATION_ID and version > schema.SCHEMA_VERSION:
        raise _newer(path, version)
    return True


def _validate(path: Path, conn: sqlite3.Connection) -> int:
    """Schema version of an open database after checking it is ours and not too new."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()[0]
    if (version or tables) and app_id != schema.APPLICATION_ID:
        raise _not_ours(path)
    if version > schema.SCHEMA_VERSION:
        raise _newer(path, version)
    return version


def _read_only_uri(path: Path) -> str:
    # as_uri() percent-encodes '?', '#', '%' and non-UTF-8 bytes, which a raw f-string would not.
    return f"{path.absolute().as_uri()}?mode=ro"


def _connect_read(path: Path) -> tuple[sqlite3.Connection, int]:
    """A read-only connection and the schema version, or the :class:`sqlite3.Error`.

    On a full disk SQLite cannot size the ``-shm`` file a reader of a WAL catalogue needs
    ("disk I/O error"): ``search`` and ``list`` still work there when no ``-wal`` holds
    anything (no writer is mid-change; none could write much on that disk anyway), reading
    the file as ``immutable``, as on a read-only disk.
    """
    try:
        return _connect_read_once(path, immutable=False)
    except sqlite3.Error as exc:
        if not out_of_space(path, exc) or _has_wal(path) or _hot_journal(path):
            raise
    return _connect_read_once(path, immutable=True)


def _connect_read_once(path: Path, *, immutable: bool) -> tuple[sqlite3.Connection, int]:
    uri = _read_only_uri(path)
    why = _read_only_reason(path)
    # Where nothing may be written, nobody can change the file under us: ``immutable`` then
    # spares SQLite the -shm file it could not create. But immutable ignores a hot journal
    # (and would read half-written pages) and a -wal file (and would miss what it holds).
    if why is not None and _hot_journal(path):
        raise _stopped_mid_change(path, why)
    wal_here = why is not None and _has_wal(path)
    if (why is not None or immutable) and not wal_here:
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        if wal_here and _needs_replay(exc, _CANTOPEN):  # no usable -shm beside the -wal
            raise _stopped_mid_change(path, why or "") from None
        raise
    try:
        _configure(conn, write=False)
        return conn, _validate(path, conn)
    except sqlite3.Error as exc:
        conn.close()
        if wal_here and _needs_replay(exc, _CANTOPEN):
            raise _stopped_mid_change(path, why or "") from None
        raise
    except BaseException:
        conn.close()
        raise


def _copy_source(path: Path) -> sqlite3.Connection:
    """A new read-only connection to copy an older catalogue from (see
    :func:`photolm.catalog.upgraded_copy.connect`)."""
    try:
        return _connect_read(path)[0]
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None


def _has_wal(path: Path) -> bool:
    try:
        return os.path.getsize(os.fspath(path) + "-wal") > 0
    except OSError:
        return False


def _probe(path: Path, *, quick_check: bool) -> None:
    """Look at an existing file through a read-only connection before writing to it.

    Called with the write lock held, so no other photolm writes meanwhile. Without a
    ``-wal`` file everything is in the main file and it is opened ``immutable``: a plain
    read-only connection to a WAL-mode file creates ``-wal``/``-shm`` beside it, which a
    damaged catalogue (never opened for writing afterwards) would then keep as litter.
    """
    if _hot_journal(path):  # immutable would read the half-written pages: replay first
        try:
            _replay(path)
        except sqlite3.Error as exc:
            raise damaged(path, exc) from None
    uri = _read_only_uri(path)
    if not os.path.exists(os.fspath(path) + "-wal"):
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None
    try:
        _validate(path, conn)
        if quick_check:
            result = conn.execute("PRAGMA quick_check(1)").fetchall()
            if result != [("ok",)]:
                raise damaged(path, result[0][0] if result else "quick_check failed")
    except sqlite3.Error as exc:
        raise damaged(path, exc) from None
    finally:
        conn.close()


def _configure(conn: sqlite3.Connection, *, write: bool) -> None:
    for pragma in (
        f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS:d}",
        "PRAGMA foreign_keys = ON",
        "PRAGMA temp_store = MEMORY",
        f"PRAGMA mmap_size = {_MMAP_BYTES:d}",
    ):
        conn.execute(pragma)
    if write:
        # WAL lets readers run beside the writer; a file system that cannot do WAL (some
        # network shares) keeps its journal mode, which is slower but still atomic.
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = NORMAL")
    else:
        conn.execute("PRAGMA query_only = ON")


def _acquire_lock(path: Path, timeout: float) -> BaseFileLock:
    from filelock import FileLock, Timeout

    lock_path = os.fspath(path) + ".lock"
    try:  # filelock retries a lock file it cannot create until the timeout: "busy" would lie
        os.close(os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644))
    except OSError as exc:
        raise _no_lock_file(path, exc) from None
    lock = FileLock(lock_path, timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise CatalogBusyError(
            f"Another photolm process is writing catalogue {printed(path)}; wait for it to finish "
            "or use --catalog to pick another."
        ) from None
    except OSError as exc:
        raise _no_lock_file(path, exc) from None
    return lock


def _no_lock_file(path: Path, exc: OSError) -> CatalogError:
    if no_space(exc):
        return CatalogError(f"Cannot create the lock file for catalogue {printed(path)} "
                            f"({exc.strerror or exc}): {no_space_message(path.parent)}")
    return CatalogError(
        f"Cannot create the lock file for catalogue {printed(path)} ({exc.strerror or exc}); "
        "check the folder's permissions or pick another path with --catalog."
    )


class _StepFailed(Exception):
    def __init__(self, target: int, error: sqlite3.Error) -> None:
        super().__init__(target, error)
        self.target, self.error = target, error


def _run_migrations(db: Database, version: int) -> None:
    """The steps after ``version``, each in one transaction with its version bump; a step
    that fails raises :class:`_StepFailed` (the schema it was going to)."""
    for target, step in enumerate(schema.MIGRATIONS[version:], start=version + 1):
        try:
            with db.atomic():
                step(db)
                # PRAGMA takes no bound parameters; ``target`` is an int we computed.
                db.execute(f"PRAGMA user_version = {int(target):d}")
        except sqlite3.Error as exc:
            raise _StepFailed(target, exc) from exc


def _migrate_copy(conn: sqlite3.Connection, version: int) -> None:
    """Upgrade a copy as :meth:`CatalogStore._migrate` upgrades the file."""
    from sqlite_utils import Database

    conn.execute("PRAGMA foreign_keys = ON")
    try:
        _run_migrations(Database(conn, recursive_triggers=False, execute_plugins=False), version)
    except _StepFailed as failed:
        raise failed.error from None


class CatalogStore:
    """An open catalogue file; the queries live in the parts :class:`photolm.catalog.Catalog`
    is assembled from."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, *, write: bool, lock: BaseFileLock | None
    ) -> None:
        self.path = path
        self.conn = conn
        self.writable = write
        self._lock = lock
        self._db: Database | None = None
        self._closed = False
        # set when an older catalogue that may not be written is read from an upgraded copy
        self.upgraded_copy: UpgradedCopy | None = None

    @classmethod
    def open(
        cls: type[_Store],
        path: Path | str,
        *,
        write: bool,
        lock_timeout: float = 0.0,
        quick_check: bool = True,
        create: bool = True,
    ) -> _Store:
        """Open (and in write mode create or migrate) the catalogue at ``path``.

        ``write=True`` takes the cross-process lock, waiting up to ``lock_timeout`` seconds
        (0: fail at once with :class:`CatalogBusyError`), checks an existing file with
        ``PRAGMA quick_check`` unless ``quick_check=False``, and applies pending migrations.
        ``create=False`` refuses to create one (:class:`CatalogMissingError`): commands such
        as ``tag`` work on what a scan stored and must not leave an empty catalogue behind.
        ``write=False`` takes no lock, except to upgrade a catalogue an older photolm wrote
        (when it can be written now; where nothing may be written, it reads an upgraded copy
        instead, :attr:`upgraded_copy` saying so); a missing catalogue raises
        :class:`CatalogMissingError`.
        """
        path = Path(path).expanduser().absolute()
        _check_kind(path)
        if write and not create and not _check_header(path):
            raise _missing(path)
        return cls._open_write(path, lock_timeout, quick_check) if write else cls._open_read(path)

    @classmethod
    def _open_read(cls: type[_Store], path: Path) -> _Store:
        if not _check_header(path):
            raise _missing(path)
        try:
            conn, version = _connect_read(path)
        except sqlite3.Error as exc:
            if not _needs_replay(exc):
                raise damaged(path, exc) from None
            _recover(path)  # a writer was killed mid-change: replay, then read
            try:
                conn, version = _connect_read(path)
            except sqlite3.Error as again:
                raise damaged(path, again) from None
        if version == 0:
            conn.close()
            raise _missing(path)
        if version < schema.SCHEMA_VERSION and (why := _read_only_reason(path)) is not None:
            # read here from an upgraded copy, made through a connection of its own
            conn.close()
            try:
                conn, copy = upgraded_copy.connect(path, lambda: _copy_source(path), version,
                                                   why, _migrate_copy, schema.SCHEMA_VERSION)
            except upgraded_copy.UpgradedMeanwhile:  # by the photolm writing it: read it now
                return cls._open_read(path)
            try:
                _configure(conn, write=False)
            except sqlite3.Error as exc:
                conn.close()
                raise damaged(path, exc) from None
            store = cls(path, conn, write=False, lock=None)
            store.upgraded_copy = copy
            return store
        if version < schema.SCHEMA_VERSION:
            conn.close()
            cls._upgrade(path, version)
            try:
                conn, version = _connect_read(path)
            except sqlite3.Error as exc:
                raise damaged(path, exc) from None
            if version < schema.SCHEMA_VERSION:  # not expected: the upgrade said it was done
                conn.close()
                raise CatalogError(f"Catalogue {printed(path)} is still at schema {version} after "
                                   "an upgrade; run `photolm scan` once to upgrade it.")
        return cls(path, conn, write=False, lock=None)

    @classmethod
    def _upgrade(cls, path: Path, version: int) -> None:
        """Bring a catalogue an older photolm wrote up to date before reading it, as any
        command that writes would: after an upgrade, ``search`` and ``list`` work at once
        instead of asking for a scan. Only when it can be written now (one that may not be
        written is read from an upgraded copy: :mod:`photolm.catalog.upgraded_copy`); one
        another photolm is writing (that writer upgrades it) is one clear line."""
        try:
            cls._open_write(path, 0.0, quick_check=True).close()
        except CatalogBusyError:
            raise CatalogError(
                f"Catalogue {printed(path)} is at schema {version}, older than this photolm's "
                f"{schema.SCHEMA_VERSION}, and another photolm is writing it now (a scan "
                "creating it, or an older photolm); run this again when that finishes."
            ) from None

    @classmethod
    def _open_write(
        cls: type[_Store], path: Path, lock_timeout: float, quick_check: bool
    ) -> _Store:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(
                f"Cannot create the folder for catalogue {printed(path)} ({exc.strerror or exc}); "
                "pick another path with --catalog."
            ) from None
        _check_header(path)  # before the lock: a foreign file gets no lock file beside it
        refuse_read_only(path)
        lock = _acquire_lock(path, lock_timeout)
        conn: sqlite3.Connection | None = None
        try:
            if _check_header(path):  # again: it may have changed while we waited
                _probe(path, quick_check=quick_check)
            conn = sqlite3.connect(os.fspath(path), timeout=BUSY_TIMEOUT_MS / 1000)
            catalog = cls(path, conn, write=True, lock=lock)
            _configure(conn, write=True)
            catalog._migrate()
        except BaseException as exc:
            if conn is not None:
                conn.close()
            lock.release()
            if isinstance(exc, sqlite3.Error):
                raise damaged(path, exc) from None
            raise
        return catalog

    def _migrate(self) -> None:
        """Bring the schema up to the latest version, one transaction per step."""
        version = _validate(self.path, self.conn)
        try:
            _run_migrations(self.db, version)
        except _StepFailed as failed:
            exc, target = failed.error, failed.target
            raise CatalogError(
                f"Could not upgrade catalogue {printed(self.path)} to schema {target} ({exc}); "
                f"it was left at schema {target - 1}: {_write_advice(self.path, exc)}."
            ) from exc

    @property
    def db(self) -> Database:
        """sqlite-utils' view of the connection (imported on first use: writes only)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self.conn, recursive_triggers=False, execute_plugins=False)
        return self._db

    @property
    def schema_version(self) -> int:
        """The file's schema (an upgraded copy's file keeps the older one)."""
        if self.upgraded_copy is not None:
            return self.upgraded_copy.from_version
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read in the block sees the catalogue as at the block's first read (one read
        transaction): ``list`` of more than ten thousand photos reads it twice, measuring
        then drawing, and a scan writing in between made a row wider than measured (its
        path cut). Only on a reading store; inside a transaction already, a no-op."""
        if self.writable or self.conn.in_transaction:
            yield
            return
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            with suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")  # it read only: nothing to keep

    def close(self) -> None:
        """Close the connection and release the write lock (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.conn.close()
        finally:
            if self._lock is not None:
                self._lock.release()

    def __enter__(self: _Store) -> _Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    def _fetch_named(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows as ``{column: value}``, for queries whose callers pick columns by name."""
        cursor = self._execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._guard(cursor.fetchall)]

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self._guard(self._execute(sql, params).fetchall)

    def _execute(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        return self._guard(lambda: self.conn.execute(sql, params))

    def _guard(self, call: Callable[[], _T]) -> _T:
        """Run a read, turning SQLite's failures into one actionable :class:`CatalogError`."""
        try:
            return call()
        except sqlite3.OperationalError as exc:  # busy, I/O error, out of memory...
            raise CatalogError(
                f"Cannot read catalogue {printed(self.path)} ({exc}); try again in a moment."
            ) from None
        except sqlite3.DatabaseError as exc:  # corrupt pages
            raise damaged(self.path, exc) from None

    @contextmanager
    def atomic(self, what: str) -> Iterator[None]:
        """Several changes as ONE transaction: the changes inside nest as savepoints, and
        any error stores none of them. ``what`` words the error ("store the ...")."""
        with self._transaction(what):
            yield

    def data_version(self) -> int:
        """A number that changes whenever another connection (in any process) commits to
        the file: work computed without the write lock checks it before it is stored."""
        return int(self._fetch("PRAGMA data_version")[0][0])

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Database]:
        """One atomic change: all of it is stored, or (on any error) none of it."""
        if not self.writable:
            raise CatalogError(
                f"Catalogue {printed(self.path)} is open read-only; cannot {what}. Open it with "
                "write=True."
            )
        try:
            with self.db.atomic():
                yield self.db
        except sqlite3.Error as exc:
            raise CatalogError(
                f"Could not {what} in catalogue {printed(self.path)} ({exc}); nothing of this "
                f"change was stored: {_write_advice(self.path, exc)}."
            ) from exc
