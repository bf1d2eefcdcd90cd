# SPDX-License-Identifier: GPL-3.0-or-later
"""The SQLite catalogue: what every scanned photo looks like and which landmark it shows.

Promises, and how they are kept:

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
* **Fast reads.** Search is an indexed query on ``(landmark_id, score)``; embeddings (about
  1 KiB per photo) live in their own table so listing, searching and :meth:`Catalog.load_index`
  never read them. The read path imports only :mod:`sqlite3`: sqlite-utils (which pulls in
  click, pluggy and dateutil, ~50 ms) is imported only when writing, numpy only when
  embeddings are read or written.
* A read-only connection to a WAL catalogue may leave empty ``-wal``/``-shm`` files beside
  it (it may not delete them); the next writer tidies them up. The catalogue itself belongs
  on a local disk: SQLite's WAL does not work over network file systems, so keep it in the
  default place even when the photos live on a NAS.

Paths are stored losslessly: ``path_key`` (BLOB, unique) is ``os.fsencode`` of the absolute
path, so file names that are not valid UTF-8 round-trip exactly; ``path`` and ``folder``
(TEXT) are display forms in which undecodable bytes appear as ``\\xNN``. The API takes and
returns ordinary ``str`` paths (with surrogate escapes where needed, as :func:`os.listdir`
gives them); :func:`normalise_path` is the key form used by :meth:`Catalog.load_index`.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` is an ordered list of
functions, each applied in its own transaction together with the version bump. To change
the schema, append a function — never edit a released one (schema 2, :func:`_v2_evidence`,
added GPS evidence, a person's confirmation and the tag-writing status of issue 5)::

    def _v3_albums(db: Database) -> None:
        db.execute("CREATE TABLE albums (photo_id INTEGER PRIMARY KEY "
                   "REFERENCES photos(id) ON DELETE CASCADE, name TEXT NOT NULL, ...)")

    MIGRATIONS = (_v1_initial, _v2_evidence, _v3_albums)

Migrations are plain SQL rather than sqlite-utils' table helpers because a migration must
produce the same schema forever, whatever sqlite-utils version is installed; sqlite-utils'
own ``Migrations`` class was not used because it records names, not a number, and a number
is what lets an older photolm see that a catalogue is *newer* than it is before writing.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from photolm.errors import CatalogBusyError, CatalogError

if TYPE_CHECKING:
    import numpy as np
    from filelock import BaseFileLock
    from sqlite_utils import Database

    from photolm.bundle import Landmark

StrPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]

ENV_CATALOG = "PHOTOLM_CATALOG"
CATALOG_FILE = "catalog.sqlite"
APPLICATION_ID = 0x50484C4D  # "PHLM" in the header: tells our catalogues from other SQLite files
BUSY_TIMEOUT_MS = 5000
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PAGE_BATCH = 1000
_MMAP_BYTES = 256 << 20


class CatalogMissingError(CatalogError):
    """Read-only open of a catalogue that does not exist (yet): nothing has been scanned.

    A subclass so that a command such as ``info`` may treat it as "empty" while
    ``search`` shows the message as it is.
    """


# --------------------------------------------------------------------------- locations


def default_catalog_path() -> Path:
    """The per-user catalogue (e.g. ``~/.local/share/photolm/catalog.sqlite`` on Linux)."""
    import platformdirs

    return platformdirs.user_data_path("photolm", appauthor=False) / CATALOG_FILE


def resolve_catalog_path(option: Path | str | None = None) -> Path:
    """Pick the catalogue: ``--catalog`` first, then ``$PHOTOLM_CATALOG``, then the default."""
    if option:
        return Path(option).expanduser()
    env = os.environ.get(ENV_CATALOG)
    if env:
        return Path(env).expanduser()
    return default_catalog_path()


def normalise_path(path: StrPath) -> str:
    """The form a photo path is stored and keyed under: absolute, normalised, not resolved.

    Symlinks are deliberately not resolved: the catalogue records the path the user
    scanned. Keys of :meth:`Catalog.load_index` are in this form.
    """
    return os.fsdecode(os.path.abspath(os.fsdecode(path)))


def _key(path: StrPath) -> bytes:
    return os.fsencode(normalise_path(path))


def _display(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class PhotoRecord:
    """What the scan learnt about one photo; written by :meth:`Catalog.write_results`."""

    path: StrPath
    size: int
    mtime_ns: int
    content_hash: str | None = None
    taken: str | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    width: int | None = None
    height: int | None = None
    bundle_id: str | None = None
    model_id: str | None = None  # the model that produced ``embedding``
    landmark_id: str | None = None
    landmark_name: str | None = None
    score: float | None = None
    topk: Sequence[Mapping[str, Any]] = ()  # [{"landmark_id", "name", "score"}, ...]
    embedding: np.ndarray | None = field(default=None, compare=False)  # (D,) float
    error: str | None = None  # why the photo could not be read; None when it could
    scanned_at: str | None = None  # ISO 8601; now when None
    gps: GpsNote | None = None  # what the photo's GPS position said; None without GPS


@dataclass(frozen=True)
class GpsNote:
    """What a photo's EXIF position said about its match (see :mod:`photolm.geo`).

    ``verdict`` is ``"agrees"`` (within 10 km of the recorded landmark), ``"inconclusive"``,
    ``"unknown"`` (the landmark has no coordinates) or ``"rejected"`` (the visual match is
    too far away to be it). ``changed`` says GPS made a difference; ``visual_*`` is what the
    scores alone chose then (``None`` when GPS promoted a candidate just below the threshold).
    Kept so a person can see *why* a photo that looks like the Eiffel Tower has no landmark.
    """

    verdict: str | None
    reason: str | None
    changed: bool = False
    visual_landmark_id: str | None = None
    visual_landmark_name: str | None = None
    visual_score: float | None = None


@dataclass(frozen=True)
class MatchUpdate:
    """A new landmark decision for an already catalogued photo (re-matching, no decoding)."""

    path: StrPath
    bundle_id: str
    landmark_id: str | None
    landmark_name: str | None
    score: float | None
    topk: Sequence[Mapping[str, Any]] = ()
    gps: GpsNote | None = None


REVIEW_VERDICTS = ("confirmed", "corrected", "none")


@dataclass(frozen=True)
class Review:
    """A person's word on a photo's landmark; written by :meth:`Catalog.set_reviews`.

    ``verdict`` is ``"confirmed"`` (the recognised landmark is right), ``"corrected"`` (it is
    ``landmark_id`` instead), ``"none"`` (no landmark) or ``None`` (forget the earlier answer:
    the model's verdict counts again). Reviews live beside the model's verdict, never in
    place of it, so a re-scan (even ``--force``) re-decides the model's columns and leaves the
    person's answer standing.
    """

    path: StrPath
    verdict: str | None
    landmark_id: str | None = None
    landmark_name: str | None = None


TAG_STATUSES = ("written", "unchanged", "removed", "nothing-to-remove", "failed")


@dataclass(frozen=True)
class TagRecord:
    """The outcome of the last ``photolm tag``/``untag`` for a photo (:meth:`Catalog.record_tags`).

    ``size``/``mtime_ns``/``content_hash``, when given, are the photo's new state after photolm
    rewrote it (embedded tags): storing them keeps the next scan from decoding a photo whose
    pixels photolm has just verified to be unchanged.
    """

    path: StrPath
    action: str  # "tag" or "untag"
    status: str  # one of TAG_STATUSES
    mode: str | None = None  # "sidecar", "embed", "embed+sidecar" (untag) or None
    landmark: str | None = None
    files: Sequence[StrPath] = ()
    error: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    content_hash: str | None = None


class PhotoRow(NamedTuple):
    """A photo as the catalogue holds it (without its embedding: see :meth:`Catalog.embedding`).

    A NamedTuple rather than a frozen dataclass: it builds about 3x faster, which is most of
    the cost of listing thousands of photos.
    """

    id: int
    path: str  # exact path, with surrogate escapes for non-UTF-8 names
    display_path: str  # printable form
    folder: str
    size: int
    mtime_ns: int
    content_hash: str | None
    taken: str | None
    camera_make: str | None
    camera_model: str | None
    latitude: float | None
    longitude: float | None
    width: int | None
    height: int | None
    bundle_id: str | None
    model_id: str | None
    landmark_id: str | None
    landmark_name: str | None
    score: float | None
    topk_json: str
    has_embedding: bool
    error: str | None
    missing: bool  # the file was not found by the last scan of its folder
    scanned_at: str
    gps_verdict: str | None  # see GpsNote; None when the photo has no GPS position
    gps_reason: str | None
    gps_changed: bool
    visual_landmark_id: str | None  # what the scores alone chose, when GPS changed it
    visual_landmark_name: str | None
    visual_score: float | None
    review: str | None  # a person's word: "confirmed", "corrected", "none" or None
    review_landmark_id: str | None
    review_landmark_name: str | None
    reviewed_at: str | None
    tag_action: str | None  # last `photolm tag`/`untag`: "tag" or "untag"
    tag_status: str | None  # one of TAG_STATUSES
    tag_mode: str | None
    tag_landmark: str | None
    tag_files_json: str
    tag_error: str | None
    tagged_at: str | None

    @property
    def topk(self) -> list[dict[str, Any]]:
        return list(json.loads(self.topk_json))

    @property
    def tag_files(self) -> list[str]:
        return list(json.loads(self.tag_files_json))

    @property
    def effective_landmark_id(self) -> str | None:
        """The landmark that counts: a person's answer first, else the model's (after GPS)."""
        if self.review is None:
            return self.landmark_id
        return None if self.review == "none" else self.review_landmark_id

    @property
    def effective_landmark_name(self) -> str | None:
        if self.review is None:
            return self.landmark_name
        return None if self.review == "none" else self.review_landmark_name

    @property
    def effective_score(self) -> float | None:
        """The model's score when the landmark that counts is the model's own verdict;
        ``None`` after a person's correction (the model's low score for the landmark a person
        named would only mislead)."""
        wanted = self.effective_landmark_id
        return self.score if wanted is not None and wanted == self.landmark_id else None

    @property
    def status(self) -> str:
        """``"missing"``, ``"error"`` or ``"ok"`` — for listings."""
        if self.missing:
            return "missing"
        return "error" if self.error is not None else "ok"


class IndexEntry(NamedTuple):
    """The little a rescan needs per file to decide "unchanged, skip" in a dict lookup."""

    id: int
    size: int
    mtime_ns: int
    content_hash: str | None
    bundle_id: str | None
    model_id: str | None
    has_embedding: bool
    missing: bool
    error: str | None


# Written by every scan (review_* and tag_* columns never are: they are a person's answer and
# the state of files photolm wrote, which a re-scan must not forget).
_RECORD_COLUMNS = (
    "path_key", "path", "folder", "size", "mtime_ns", "content_hash", "taken", "camera_make",
    "camera_model", "latitude", "longitude", "width", "height", "bundle_id", "model_id",
    "landmark_id", "landmark_name", "score", "topk", "has_embedding", "error", "scanned_at",
    *("gps_verdict", "gps_reason", "gps_changed", "visual_landmark_id", "visual_landmark_name",
      "visual_score"),
)
_ROW_SELECT = (
    "SELECT id, path_key, path, folder, size, mtime_ns, content_hash, taken, camera_make, "
    "camera_model, latitude, longitude, width, height, bundle_id, model_id, landmark_id, "
    "landmark_name, score, topk, has_embedding, error, missing, scanned_at, gps_verdict, "
    "gps_reason, gps_changed, visual_landmark_id, visual_landmark_name, visual_score, review, "
    "review_landmark_id, review_landmark_name, reviewed_at, tag_action, tag_status, tag_mode, "
    "tag_landmark, tag_files, tag_error, tagged_at FROM photos"
)
# The landmark that counts for a photo: a person's answer, else the model's. ``photos`` and
# ``landmark_counts`` filter on it; review_landmark_id is set exactly when the review is
# "confirmed" or "corrected" (Catalog.set_reviews), which the WHERE clauses below rely on.
_EFFECTIVE_LANDMARK = (
    "(CASE WHEN review IS NULL THEN landmark_id WHEN review = 'none' THEN NULL "
    "ELSE review_landmark_id END)"
)
# Statements are built once from the constant column list above; values are always bound.
_UPSERT_PHOTO = (
    f"INSERT INTO photos ({', '.join(_RECORD_COLUMNS)}, missing) "
    f"VALUES ({', '.join('?' for _ in _RECORD_COLUMNS)}, 0) "
    "ON CONFLICT (path_key) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _RECORD_COLUMNS[1:])
    + ", missing = 0"
)
_UPSERT_EMBEDDING = (
    "INSERT INTO embeddings (photo_id, model_id, dim, vector) "
    "SELECT id, ?, ?, ? FROM photos WHERE path_key = ? "
    "ON CONFLICT (photo_id) DO UPDATE SET model_id = excluded.model_id, dim = excluded.dim, "
    "vector = excluded.vector"
)
_DELETE_EMBEDDING = (
    "DELETE FROM embeddings WHERE photo_id = (SELECT id FROM photos WHERE path_key = ?)"
)
_ORDERS = {
    # Photos a person confirmed or corrected come first (their word beats any score), then
    # by the score of the landmark that counts: none after a correction (effective_score).
    "score": " ORDER BY review_landmark_id IS NULL, CASE WHEN review IS NULL OR "
             "review_landmark_id = landmark_id THEN score END DESC, path_key",
    "path": " ORDER BY path_key",
    "taken": " ORDER BY taken IS NULL, taken, path_key",
}


def _row(t: tuple[Any, ...]) -> PhotoRow:
    return PhotoRow(
        t[0], os.fsdecode(t[1]), *t[2:20], bool(t[20]), t[21], bool(t[22]), t[23], t[24], t[25],
        bool(t[26]), *t[27:]
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _json_default(obj: object) -> Any:
    item = getattr(obj, "item", None)  # numpy scalars (np.float32 scores) without numpy
    if callable(item) and getattr(obj, "shape", None) == ():
        return item()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _topk_json(topk: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(
        [dict(t) for t in topk], ensure_ascii=False, separators=(",", ":"), default=_json_default
    )


def _gps_values(note: GpsNote | None) -> tuple[Any, ...]:
    """The six gps_*/visual_* column values, in ``_RECORD_COLUMNS`` order."""
    if note is None:
        return (None, None, 0, None, None, None)
    return (note.verdict, note.reason, int(note.changed), note.visual_landmark_id,
            note.visual_landmark_name, _opt_float(note.visual_score))


def _encode_embedding(vector: np.ndarray) -> tuple[int, bytes]:
    """float16 little-endian bytes: half the space of float32, cosine error ~1e-4."""
    import numpy as np

    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"An embedding must be a non-empty 1-D vector, not shape {arr.shape}.")
    half = arr.astype("<f2")
    if not np.all(np.isfinite(half)):
        raise ValueError("An embedding must be finite (and within float16 range).")
    return int(arr.size), half.tobytes()


def _decode_embedding(blob: bytes) -> np.ndarray:
    import numpy as np

    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def _prefix_range(folder: StrPath) -> tuple[bytes, bytes]:
    """``[lo, hi)`` of path keys under ``folder``: keys are BLOBs compared by bytes."""
    lo = _key(folder)
    sep = os.fsencode(os.sep)
    if not lo.endswith(sep):
        lo += sep
    return lo, lo[:-1] + bytes([lo[-1] + 1])


# --------------------------------------------------------------------------- schema


def _v1_initial(db: Database) -> None:
    """Photos, their embeddings, the landmarks of bundles seen, scan runs, settings."""
    for statement in (
        """CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            path_key BLOB NOT NULL UNIQUE,
            path TEXT NOT NULL,
            folder TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            mtime_ns INTEGER NOT NULL,
            content_hash TEXT,
            taken TEXT,
            camera_make TEXT,
            camera_model TEXT,
            latitude REAL,
            longitude REAL,
            width INTEGER,
            height INTEGER,
            bundle_id TEXT,
            model_id TEXT,
            landmark_id TEXT,
            landmark_name TEXT,
            score REAL,
            topk TEXT NOT NULL DEFAULT '[]',
            has_embedding INTEGER NOT NULL DEFAULT 0 CHECK (has_embedding IN (0, 1)),
            error TEXT,
            missing INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
            scanned_at TEXT NOT NULL
        )""",
        "CREATE INDEX photos_landmark_score ON photos (landmark_id, score DESC)",
        "CREATE INDEX photos_score ON photos (score DESC)",
        "CREATE INDEX photos_content_hash ON photos (content_hash)",
        """CREATE TABLE embeddings (
            photo_id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
            model_id TEXT NOT NULL,
            dim INTEGER NOT NULL CHECK (dim > 0),
            vector BLOB NOT NULL
        )""",
        "CREATE INDEX embeddings_model ON embeddings (model_id)",
        """CREATE TABLE landmarks (
            bundle_id TEXT NOT NULL,
            landmark_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',
            city TEXT,
            country TEXT,
            latitude REAL,
            longitude REAL,
            PRIMARY KEY (bundle_id, landmark_id)
        )""",
        """CREATE TABLE scans (
            id INTEGER PRIMARY KEY,
            started TEXT NOT NULL,
            finished TEXT,
            bundle_id TEXT,
            model_id TEXT,
            roots TEXT NOT NULL DEFAULT '[]',
            counts TEXT NOT NULL DEFAULT '{}'
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # PRAGMA takes no bound parameters; this is a constant of this module.
        f"PRAGMA application_id = {APPLICATION_ID:d}",
    ):
        db.execute(statement)


def _v2_evidence(db: Database) -> None:
    """Issue 5: GPS evidence, a person's confirmation or correction, and tag-writing status.

    Plain columns on ``photos`` rather than side tables: each is one value per photo, read by
    every listing, and the scan's upsert names its columns, so it leaves ``review_*`` and
    ``tag_*`` alone (a re-scan must not overwrite a person's correction).
    """
    for statement in (
        "ALTER TABLE photos ADD COLUMN gps_verdict TEXT",
        "ALTER TABLE photos ADD COLUMN gps_reason TEXT",
        "ALTER TABLE photos ADD COLUMN gps_changed INTEGER NOT NULL DEFAULT 0 "
        "CHECK (gps_changed IN (0, 1))",
        "ALTER TABLE photos ADD COLUMN visual_landmark_id TEXT",
        "ALTER TABLE photos ADD COLUMN visual_landmark_name TEXT",
        "ALTER TABLE photos ADD COLUMN visual_score REAL",
        "ALTER TABLE photos ADD COLUMN review TEXT "
        "CHECK (review IN ('confirmed', 'corrected', 'none'))",
        "ALTER TABLE photos ADD COLUMN review_landmark_id TEXT",
        "ALTER TABLE photos ADD COLUMN review_landmark_name TEXT",
        "ALTER TABLE photos ADD COLUMN reviewed_at TEXT",
        "ALTER TABLE photos ADD COLUMN tag_action TEXT CHECK (tag_action IN ('tag', 'untag'))",
        "ALTER TABLE photos ADD COLUMN tag_status TEXT CHECK (tag_status IN "
        "('written', 'unchanged', 'removed', 'nothing-to-remove', 'failed'))",
        "ALTER TABLE photos ADD COLUMN tag_mode TEXT",
        "ALTER TABLE photos ADD COLUMN tag_landmark TEXT",
        "ALTER TABLE photos ADD COLUMN tag_files TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE photos ADD COLUMN tag_error TEXT",
        "ALTER TABLE photos ADD COLUMN tagged_at TEXT",
        "CREATE INDEX photos_review_landmark ON photos (review_landmark_id) "
        "WHERE review_landmark_id IS NOT NULL",
    ):
        db.execute(statement)


MIGRATIONS: tuple[Callable[[Database], None], ...] = (_v1_initial, _v2_evidence)
SCHEMA_VERSION = len(MIGRATIONS)


# --------------------------------------------------------------------------- opening


def _not_ours(path: Path) -> CatalogError:
    return CatalogError(
        f"{path} is not a photolm catalogue; move it aside or pick another path with --catalog."
    )


def _damaged(path: Path, detail: object) -> CatalogError:
    return CatalogError(
        f"Catalogue {path} is damaged or unreadable ({_one_line(detail)}); move it aside (keep "
        "it as a backup) and scan again, or pick another path with --catalog."
    )


def _one_line(detail: object, limit: int = 200) -> str:
    """SQLite's integrity reports span lines ("*** in database main ***\\nPage 90: ..."):
    the CLI promises one ``Error:`` line, so keep the findings and join them."""
    lines = [line.strip() for line in str(detail).splitlines()]
    findings = [line for line in lines if line and not line.startswith("***")]
    text = "; ".join(findings) or " ".join(lines).strip() or type(detail).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _newer(path: Path, version: int) -> CatalogError:
    return CatalogError(
        f"Catalogue {path} was written by a newer photolm (schema {version}, this one knows "
        f"{SCHEMA_VERSION}); upgrade photolm."
    )


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
            f"Catalogue path {path} is a folder; pass a file name such as "
            f"{path / CATALOG_FILE} to --catalog."
        ) from None
    except OSError as exc:
        raise CatalogError(f"Cannot read catalogue {path}: {exc.strerror or exc}.") from None
    if not head:
        return False
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise CatalogError(
            f"{path} is not a photolm catalogue (not a SQLite database); move it aside or "
            "pick another path with --catalog."
        )
    version = int.from_bytes(head[60:64], "big", signed=True)
    app_id = int.from_bytes(head[68:72], "big", signed=True)
    if app_id not in (0, APPLICATION_ID):
        raise _not_ours(path)
    if app_id == APPLICATION_ID and version > SCHEMA_VERSION:
        raise _newer(path, version)
    return True


def _validate(path: Path, conn: sqlite3.Connection) -> int:
    """Schema version of an open database after checking it is ours and not too new."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    tables = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ).fetchone()[0]
    if (version or tables) and app_id != APPLICATION_ID:
        raise _not_ours(path)
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    return version


def _read_only_uri(path: Path) -> str:
    # as_uri() percent-encodes '?', '#', '%' and non-UTF-8 bytes, which a raw f-string would not.
    return f"{path.absolute().as_uri()}?mode=ro"


def _probe(path: Path, *, quick_check: bool) -> None:
    """Look at an existing file through a read-only connection before writing to it.

    Called with the write lock held, so no other photolm writes meanwhile. Without a
    ``-wal`` file everything is in the main file and it is opened ``immutable``: a plain
    read-only connection to a WAL-mode file creates ``-wal``/``-shm`` beside it, which a
    damaged catalogue (never opened for writing afterwards) would then keep as litter.
    """
    uri = _read_only_uri(path)
    if not os.path.exists(os.fspath(path) + "-wal"):
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None
    try:
        _validate(path, conn)
        if quick_check:
            result = conn.execute("PRAGMA quick_check(1)").fetchall()
            if result != [("ok",)]:
                raise _damaged(path, result[0][0] if result else "quick_check failed")
    except sqlite3.Error as exc:
        raise _damaged(path, exc) from None
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

    lock = FileLock(os.fspath(path) + ".lock", timeout=timeout)
    try:
        lock.acquire()
    except Timeout:
        raise CatalogBusyError(
            f"Another photolm process is writing catalogue {path}; wait for it to finish or "
            "use --catalog to pick another."
        ) from None
    except OSError as exc:
        raise CatalogError(
            f"Cannot create the lock file for catalogue {path} ({exc.strerror or exc}); "
            "check the folder's permissions or pick another path with --catalog."
        ) from None
    return lock


# --------------------------------------------------------------------------- the catalogue


class Catalog:
    """An open catalogue. Use :meth:`open`, preferably as a context manager."""

    def __init__(
        self, path: Path, conn: sqlite3.Connection, *, write: bool, lock: BaseFileLock | None
    ) -> None:
        self.path = path
        self.conn = conn
        self.writable = write
        self._lock = lock
        self._db: Database | None = None
        self._closed = False

    # ----------------------------------------------------------------- life cycle

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        write: bool,
        lock_timeout: float = 0.0,
        quick_check: bool = True,
        create: bool = True,
    ) -> Catalog:
        """Open (and in write mode create or migrate) the catalogue at ``path``.

        ``write=True`` takes the cross-process lock, waiting up to ``lock_timeout`` seconds
        (0: fail at once with :class:`CatalogBusyError`), checks an existing file with
        ``PRAGMA quick_check`` unless ``quick_check=False``, and applies pending migrations.
        ``create=False`` refuses to create one (:class:`CatalogMissingError`): commands such
        as ``tag`` work on what a scan stored and must not leave an empty catalogue behind.
        ``write=False`` takes no lock and refuses catalogues that need a migration; a
        missing catalogue raises :class:`CatalogMissingError`.
        """
        path = Path(path).expanduser().absolute()
        if write and not create and not _check_header(path):
            raise CatalogMissingError(
                f"No catalogue at {path} yet: run `photolm scan FOLDER` first."
            )
        return cls._open_write(path, lock_timeout, quick_check) if write else cls._open_read(path)

    @classmethod
    def _open_read(cls, path: Path) -> Catalog:
        if not _check_header(path):
            raise CatalogMissingError(
                f"No catalogue at {path} yet: run `photolm scan FOLDER` first."
            )
        try:
            conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise _damaged(path, exc) from None
        try:
            _configure(conn, write=False)
            version = _validate(path, conn)
        except CatalogError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise _damaged(path, exc) from None
        if version == 0:
            conn.close()
            raise CatalogMissingError(
                f"No catalogue at {path} yet: run `photolm scan FOLDER` first."
            )
        if version < SCHEMA_VERSION:
            conn.close()
            raise CatalogError(
                f"Catalogue {path} uses an older format (schema {version}); run "
                "`photolm scan` once to upgrade it."
            )
        return cls(path, conn, write=False, lock=None)

    @classmethod
    def _open_write(cls, path: Path, lock_timeout: float, quick_check: bool) -> Catalog:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CatalogError(
                f"Cannot create the folder for catalogue {path} ({exc.strerror or exc}); "
                "pick another path with --catalog."
            ) from None
        _check_header(path)  # before the lock: a foreign file gets no lock file beside it
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
                raise _damaged(path, exc) from None
            raise
        return catalog

    def _migrate(self) -> None:
        """Bring the schema up to :data:`SCHEMA_VERSION`, one transaction per step."""
        version = _validate(self.path, self.conn)
        for target, step in enumerate(MIGRATIONS[version:], start=version + 1):
            try:
                with self.db.atomic():
                    step(self.db)
                    # PRAGMA takes no bound parameters; ``target`` is an int we computed.
                    self.db.execute(f"PRAGMA user_version = {int(target):d}")
            except sqlite3.Error as exc:
                raise CatalogError(
                    f"Could not upgrade catalogue {self.path} to schema {target} ({exc}); it "
                    f"was left at schema {target - 1}. Free disk space or check the file, "
                    "then run the command again."
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
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

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

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- plumbing

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:  # busy, I/O error, out of memory...
            raise CatalogError(
                f"Cannot read catalogue {self.path} ({exc}); try again in a moment."
            ) from None
        except sqlite3.DatabaseError as exc:  # corrupt pages
            raise _damaged(self.path, exc) from None

    @contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One atomic change: all of it is stored, or (on any error) none of it."""
        if not self.writable:
            raise CatalogError(
                f"Catalogue {self.path} is open read-only; cannot {what}. Open it with "
                "write=True."
            )
        try:
            with self.db.atomic():
                yield self.conn
        except sqlite3.Error as exc:
            raise CatalogError(
                f"Could not {what} in catalogue {self.path} ({exc}); nothing of this change "
                "was stored. Free disk space or check the file, then run the command again."
            ) from exc

    # ----------------------------------------------------------------- reading

    def get_photo(self, path: StrPath) -> PhotoRow | None:
        rows = self._fetch(f"{_ROW_SELECT} WHERE path_key = ?", (_key(path),))
        return _row(rows[0]) if rows else None

    def load_index(self, under: StrPath | None = None) -> dict[str, IndexEntry]:
        """Everything a rescan needs, for all photos (or those under a folder), in one query.

        Keys are :func:`normalise_path` strings. ~100k rows load in well under a second,
        after which "is this file unchanged?" is a dict lookup.
        """
        sql = (
            "SELECT path_key, id, size, mtime_ns, content_hash, bundle_id, model_id, "
            "has_embedding, missing, error FROM photos"
        )
        params: tuple[Any, ...] = ()
        if under is not None:
            sql += " WHERE path_key >= ? AND path_key < ?"
            params = _prefix_range(under)
        fsdecode = os.fsdecode
        return {
            fsdecode(r[0]): IndexEntry(r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]),
                                       bool(r[8]), r[9])
            for r in self._fetch(sql, params)
        }

    def paths_under(self, folder: StrPath) -> list[str]:
        """Catalogued photo paths below ``folder`` (to find files that disappeared)."""
        return [
            os.fsdecode(r[0])
            for r in self._fetch(
                "SELECT path_key FROM photos WHERE path_key >= ? AND path_key < ? "
                "ORDER BY path_key",
                _prefix_range(folder),
            )
        ]

    def find_by_hash(self, content_hash: str) -> list[PhotoRow]:
        """Photos with this content hash: how a moved or renamed file is recognised."""
        return [
            _row(r)
            for r in self._fetch(
                f"{_ROW_SELECT} WHERE content_hash = ? ORDER BY missing DESC, id",
                (content_hash,),
            )
        ]

    def photos(
        self,
        landmark_ids: Sequence[str] | None = None,
        *,
        order: str = "score",
        under: StrPath | None = None,
        include_missing: bool = True,
        limit: int | None = None,
    ) -> list[PhotoRow]:
        """Photos showing any of ``landmark_ids`` (all photos when ``None``), best first.

        A person's answer counts over the model's verdict (:attr:`PhotoRow.effective_landmark_id`).
        ``order`` is ``"score"`` (photos a person confirmed first, then by descending score,
        photos without a score last), ``"path"`` or ``"taken"``. Uses the
        ``(landmark_id, score)`` index: a few ms on 100k photos.
        """
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {sorted(_ORDERS)}, not {order!r}")
        clauses: list[str] = []
        params: list[Any] = []
        if landmark_ids is not None:
            ids = list(dict.fromkeys(landmark_ids))
            if not ids:
                return []
            # The landmark that counts (see _EFFECTIVE_LANDMARK), written as two indexed
            # terms: the model's verdict where no person answered, and people's answers.
            if len(ids) == 1:
                clauses.append("((review IS NULL AND landmark_id = ?) OR review_landmark_id = ?)")
                params.extend((ids[0], ids[0]))
            else:
                clauses.append(
                    "((review IS NULL AND landmark_id IN (SELECT value FROM json_each(?))) "
                    "OR review_landmark_id IN (SELECT value FROM json_each(?)))"
                )
                params.extend((json.dumps(ids), json.dumps(ids)))
        if under is not None:
            clauses.append("path_key >= ? AND path_key < ?")
            params.extend(_prefix_range(under))
        if not include_missing:
            clauses.append("missing = 0")
        sql = _ROW_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
        sql += _ORDERS[order]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [_row(r) for r in self._fetch(sql, params)]

    def iter_photos(self, *, under: StrPath | None = None) -> Iterator[PhotoRow]:
        """All photos in id order, fetched in pages so memory stays flat on huge catalogues."""
        extra, params = "", ()
        if under is not None:
            extra, params = " AND path_key >= ? AND path_key < ?", _prefix_range(under)
        last = 0
        while True:
            rows = self._fetch(
                f"{_ROW_SELECT} WHERE id > ?{extra} ORDER BY id LIMIT ?",
                (last, *params, _PAGE_BATCH),
            )
            for r in rows:
                yield _row(r)
            if len(rows) < _PAGE_BATCH:
                return
            last = rows[-1][0]

    def embedding(self, path: StrPath) -> np.ndarray | None:
        rows = self._fetch(
            "SELECT e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id "
            "WHERE p.path_key = ?",
            (_key(path),),
        )
        return _decode_embedding(rows[0][0]) if rows else None

    def embeddings(self, paths: Iterable[StrPath]) -> dict[str, np.ndarray]:
        """Stored embeddings of several photos, keyed by the paths as given (absent: left out)."""
        out: dict[str, np.ndarray] = {}
        sql = (
            "SELECT e.vector FROM embeddings e JOIN photos p ON p.id = e.photo_id "
            "WHERE p.path_key = ?"
        )
        for path in paths:
            rows = self._fetch(sql, (_key(path),))
            if rows:
                out[os.fsdecode(path)] = _decode_embedding(rows[0][0])
        return out

    def positions(self, paths: Iterable[StrPath]) -> dict[str, tuple[float, float]]:
        """EXIF GPS positions ``(latitude, longitude)`` of catalogued photos that have one,
        keyed by the paths as given: re-matching weighs GPS evidence without reading files."""
        out: dict[str, tuple[float, float]] = {}
        sql = "SELECT latitude, longitude FROM photos WHERE path_key = ?"
        for path in paths:
            rows = self._fetch(sql, (_key(path),))
            if rows and rows[0][0] is not None and rows[0][1] is not None:
                out[os.fsdecode(path)] = (float(rows[0][0]), float(rows[0][1]))
        return out

    def embeddings_for_rematch(
        self, model_id: str, *, exclude_bundle_id: str | None = None
    ) -> Iterator[tuple[str, np.ndarray]]:
        """``(path, embedding)`` of photos embedded by ``model_id``, for re-matching.

        A bundle with the same ONNX model but new prototypes or threshold re-decides every
        photo from these vectors instead of decoding it again. ``exclude_bundle_id`` skips
        photos already matched by that bundle. Fetched in pages by id, so the caller may
        write results (e.g. :meth:`update_matches`) between items.
        """
        extra: tuple[str, ...] = ()
        if exclude_bundle_id is not None:
            extra = (exclude_bundle_id,)
        sql = (
            "SELECT e.photo_id, p.path_key, e.vector FROM embeddings e "
            "JOIN photos p ON p.id = e.photo_id WHERE e.model_id = ? AND e.photo_id > ?"
            + (" AND p.bundle_id IS NOT ?" if extra else "")
            + " ORDER BY e.photo_id LIMIT ?"
        )
        last = 0
        while True:
            rows = self._fetch(sql, (model_id, last, *extra, _PAGE_BATCH))
            for _, key, blob in rows:
                yield os.fsdecode(key), _decode_embedding(blob)
            if len(rows) < _PAGE_BATCH:
                return
            last = rows[-1][0]

    def landmark_counts(
        self, bundle_id: str | None = None, *, include_missing: bool = False
    ) -> dict[str, int]:
        """Photos per landmark id (matched by ``bundle_id``, or by any bundle when ``None``).

        Counts the landmark that counts: a person's answer over the model's verdict.
        """
        sql = (f"SELECT {_EFFECTIVE_LANDMARK} AS shown, count(*) FROM photos "
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
            Landmark(
                id=r[0], name=r[1], aliases=tuple(json.loads(r[2])), city=r[3], country=r[4],
                latitude=r[5], longitude=r[6],
            )
            for r in self._fetch(
                "SELECT landmark_id, name, aliases, city, country, latitude, longitude "
                "FROM landmarks WHERE bundle_id = ? ORDER BY position",
                (bundle_id,),
            )
        ]

    def last_bundle_id(self) -> str | None:
        """The bundle of the most recent scan (or of the last landmark table stored)."""
        rows = self._fetch(
            "SELECT bundle_id FROM scans WHERE bundle_id IS NOT NULL ORDER BY id DESC LIMIT 1"
        ) or self._fetch("SELECT bundle_id FROM landmarks ORDER BY rowid DESC LIMIT 1")
        return rows[0][0] if rows else None

    def last_scan(self) -> dict[str, Any] | None:
        rows = self._fetch(
            "SELECT id, started, finished, bundle_id, model_id, roots, counts FROM scans "
            "ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        sid, started, finished, bundle_id, model_id, roots, counts = rows[0]
        return {
            "id": sid, "started": started, "finished": finished, "bundle_id": bundle_id,
            "model_id": model_id, "roots": json.loads(roots), "counts": json.loads(counts),
        }

    def stats(self) -> dict[str, Any]:
        """Figures for ``photolm info``."""
        total, with_landmark, errors, missing, reviewed, tagged = self._fetch(
            f"SELECT count(*), count({_EFFECTIVE_LANDMARK}), count(error), "
            "coalesce(sum(missing), 0), count(review), "
            "count(CASE WHEN tag_action = 'tag' AND tag_status IN ('written', 'unchanged') "
            "THEN 1 END) FROM photos"
        )[0]
        size = 0
        for suffix in ("", "-wal"):
            try:
                size += os.stat(os.fspath(self.path) + suffix).st_size
            except FileNotFoundError:
                continue
        return {
            "path": str(self.path),
            "schema_version": self.schema_version,
            "photos": total,
            "with_landmark": with_landmark,
            "errors": errors,
            "missing": missing,
            "reviewed": reviewed,
            "tagged": tagged,
            "file_bytes": size,
            "last_scan": self.last_scan(),
        }

    def get_meta(self, key: str) -> str | None:
        rows = self._fetch("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    # ----------------------------------------------------------------- writing

    def write_results(self, records: Sequence[PhotoRecord]) -> None:
        """Insert or replace a batch of photos in ONE transaction: all stored, or none.

        A path that appears twice in the batch keeps its last record. Storing a photo
        clears its ``missing`` flag; a record without an embedding drops any stored one
        (it would belong to an older decode).
        """
        latest: dict[bytes, PhotoRecord] = {}
        for record in records:
            latest[_key(record.path)] = record
        photo_rows: list[tuple[Any, ...]] = []
        vectors: list[tuple[Any, ...]] = []
        no_vector: list[tuple[bytes]] = []
        stamp = _now()
        for key, rec in latest.items():
            if rec.embedding is not None:
                if not rec.model_id:
                    raise ValueError(f"{_display(key)}: an embedding needs its model_id.")
                dim, blob = _encode_embedding(rec.embedding)
                vectors.append((rec.model_id, dim, blob, key))
            else:
                no_vector.append((key,))
            photo_rows.append((
                key, _display(key), _display(os.path.dirname(key)), int(rec.size),
                int(rec.mtime_ns), rec.content_hash, rec.taken, rec.camera_make,
                rec.camera_model, _opt_float(rec.latitude), _opt_float(rec.longitude),
                _opt_int(rec.width), _opt_int(rec.height), rec.bundle_id, rec.model_id,
                rec.landmark_id, rec.landmark_name, _opt_float(rec.score), _topk_json(rec.topk),
                int(rec.embedding is not None), rec.error, rec.scanned_at or stamp,
                *_gps_values(rec.gps),
            ))
        if not photo_rows:
            return
        with self._transaction("store scan results") as conn:
            conn.executemany(_UPSERT_PHOTO, photo_rows)
            if vectors:
                conn.executemany(_UPSERT_EMBEDDING, vectors)
            if no_vector:
                conn.executemany(_DELETE_EMBEDDING, no_vector)

    def update_matches(self, updates: Sequence[MatchUpdate]) -> int:
        """Store new landmark decisions (re-matching) in one transaction; returns rows changed."""
        params = [
            (u.bundle_id, u.landmark_id, u.landmark_name, _opt_float(u.score),
             _topk_json(u.topk), *_gps_values(u.gps), _key(u.path))
            for u in updates
        ]
        if not params:
            return 0
        with self._transaction("store re-matched landmarks") as conn:
            cursor = conn.executemany(
                "UPDATE photos SET bundle_id = ?, landmark_id = ?, landmark_name = ?, "
                "score = ?, topk = ?, gps_verdict = ?, gps_reason = ?, gps_changed = ?, "
                "visual_landmark_id = ?, visual_landmark_name = ?, visual_score = ? "
                "WHERE path_key = ?",
                params,
            )
            return cursor.rowcount

    def set_reviews(self, reviews: Sequence[Review]) -> int:
        """Store people's answers (confirm, correct, "no landmark", forget) in one transaction.

        Returns the number of catalogued photos changed; paths not in the catalogue are
        ignored (the caller reports them). The model's own columns are left as they are.
        """
        params: list[tuple[Any, ...]] = []
        stamp = _now()
        for r in reviews:
            if r.verdict is not None and r.verdict not in REVIEW_VERDICTS:
                raise ValueError(f"review must be one of {REVIEW_VERDICTS} or None, not "
                                 f"{r.verdict!r}")
            named = r.verdict in ("confirmed", "corrected")
            if named and not r.landmark_id:
                raise ValueError(f"a {r.verdict} review needs the landmark's id")
            params.append((
                r.verdict, r.landmark_id if named else None,
                (r.landmark_name or r.landmark_id) if named else None,
                stamp if r.verdict is not None else None, _key(r.path),
            ))
        if not params:
            return 0
        with self._transaction("store your answer") as conn:
            return conn.executemany(
                "UPDATE photos SET review = ?, review_landmark_id = ?, review_landmark_name = ?, "
                "reviewed_at = ? WHERE path_key = ?",
                params,
            ).rowcount

    def record_tags(self, records: Sequence[TagRecord]) -> int:
        """Store the outcome of ``photolm tag``/``untag`` per photo, in one transaction.

        A record carrying the photo's new ``size``/``mtime_ns``/``content_hash`` also updates
        those, so the next scan sees the photo photolm just rewrote as unchanged.
        """
        tag_params: list[tuple[Any, ...]] = []
        file_params: list[tuple[Any, ...]] = []
        stamp = _now()
        for r in records:
            if r.action not in ("tag", "untag") or r.status not in TAG_STATUSES:
                raise ValueError(f"unknown tag outcome {r.action!r}/{r.status!r}")
            key = _key(r.path)
            files = json.dumps([_display(os.fsencode(f)) for f in r.files], ensure_ascii=False)
            tag_params.append((r.action, r.status, r.mode, r.landmark, files, r.error, stamp,
                               key))
            if r.size is not None and r.mtime_ns is not None:
                file_params.append((int(r.size), int(r.mtime_ns), r.content_hash, key))
        if not tag_params:
            return 0
        with self._transaction("record the tags written") as conn:
            changed = conn.executemany(
                "UPDATE photos SET tag_action = ?, tag_status = ?, tag_mode = ?, "
                "tag_landmark = ?, tag_files = ?, tag_error = ?, tagged_at = ? "
                "WHERE path_key = ?",
                tag_params,
            ).rowcount
            if file_params:
                conn.executemany(
                    "UPDATE photos SET size = ?, mtime_ns = ?, "
                    "content_hash = coalesce(?, content_hash) WHERE path_key = ?",
                    file_params,
                )
            return changed

    def move_photo(self, old_path: StrPath, new_path: StrPath, size: int, mtime_ns: int) -> bool:
        """Give a catalogued photo its new path, keeping its results (and its id).

        A row already at ``new_path`` is replaced: the moved file now lives there. Returns
        ``False`` (changing nothing) when ``old_path`` is not catalogued.
        """
        old, new = _key(old_path), _key(new_path)
        with self._transaction("record a moved photo") as conn:
            if conn.execute("SELECT 1 FROM photos WHERE path_key = ?", (old,)).fetchone() is None:
                return False
            if new != old:
                conn.execute("DELETE FROM photos WHERE path_key = ?", (new,))
            conn.execute(
                "UPDATE photos SET path_key = ?, path = ?, folder = ?, size = ?, mtime_ns = ?, "
                "missing = 0 WHERE path_key = ?",
                (new, _display(new), _display(os.path.dirname(new)), int(size), int(mtime_ns),
                 old),
            )
        return True

    def mark_missing(self, paths: Iterable[StrPath], *, missing: bool = True) -> int:
        """Flag photos whose files were not found (or found again, ``missing=False``).

        Rows are kept rather than deleted so that an unmounted NAS does not wipe its
        results; :meth:`forget` removes them for good. Returns the number of rows changed.
        """
        params = [(int(missing), _key(p), int(missing)) for p in paths]
        if not params:
            return 0
        with self._transaction("flag missing photos") as conn:
            return conn.executemany(
                "UPDATE photos SET missing = ? WHERE path_key = ? AND missing != ?", params
            ).rowcount

    def sync_missing(self, roots: Iterable[StrPath], present: Iterable[StrPath]) -> int:
        """After walking ``roots``: flag catalogued photos under them that were not found.

        Photos in ``present`` lose their flag. One transaction; returns how many photos
        under the roots are flagged missing afterwards.
        """
        seen = {_key(p) for p in present}
        flags: dict[bytes, int] = {}
        for root in roots:
            flags.update(self._fetch(
                "SELECT path_key, missing FROM photos WHERE path_key >= ? AND path_key < ?",
                _prefix_range(root),
            ))
        changes = [
            (int(key not in seen), key) for key, flag in flags.items()
            if flag != int(key not in seen)
        ]
        if changes:
            with self._transaction("flag missing photos") as conn:
                conn.executemany("UPDATE photos SET missing = ? WHERE path_key = ?", changes)
        return sum(key not in seen for key in flags)

    def forget(self, paths: Iterable[StrPath]) -> int:
        """Delete photos (and their embeddings) from the catalogue; returns rows removed."""
        params = [(_key(p),) for p in paths]
        if not params:
            return 0
        with self._transaction("forget photos") as conn:
            return conn.executemany("DELETE FROM photos WHERE path_key = ?", params).rowcount

    def replace_landmarks(self, bundle_id: str, landmarks: Sequence[Landmark]) -> None:
        """Store a bundle's landmark records so search works without loading the model."""
        rows = [
            (bundle_id, lm.id, i, lm.name, json.dumps(list(lm.aliases), ensure_ascii=False),
             lm.city, lm.country, _opt_float(lm.latitude), _opt_float(lm.longitude))
            for i, lm in enumerate(landmarks)
        ]
        with self._transaction("store the landmark list") as conn:
            conn.execute("DELETE FROM landmarks WHERE bundle_id = ?", (bundle_id,))
            conn.executemany(
                "INSERT INTO landmarks (bundle_id, landmark_id, position, name, aliases, city, "
                "country, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def start_scan(
        self,
        roots: Sequence[StrPath],
        bundle_id: str | None = None,
        model_id: str | None = None,
    ) -> int:
        """Record the start of a scan run; returns its id for :meth:`finish_scan`."""
        names = [_display(_key(r)) for r in roots]
        with self._transaction("record the scan") as conn:
            cursor = conn.execute(
                "INSERT INTO scans (started, bundle_id, model_id, roots) VALUES (?, ?, ?, ?)",
                (_now(), bundle_id, model_id, json.dumps(names, ensure_ascii=False)),
            )
            return int(cursor.lastrowid or 0)

    def finish_scan(self, scan_id: int, counts: Mapping[str, Any]) -> None:
        """Record the end of a scan run with its counters (scanned, skipped, errors, ...)."""
        with self._transaction("record the scan") as conn:
            conn.execute(
                "UPDATE scans SET finished = ?, counts = ? WHERE id = ?",
                (_now(), json.dumps(dict(counts), default=_json_default), int(scan_id)),
            )

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction("store a setting") as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
