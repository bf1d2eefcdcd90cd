# SPDX-License-Identifier: GPL-3.0-or-later
"""The catalogue's schema, as an ordered list of migrations.

Schema versions live in ``PRAGMA user_version``; :data:`MIGRATIONS` is an ordered list of
functions, each applied in its own transaction together with the version bump. To change
the schema, append a function — never edit a released one::

    def _v4_albums(db: Database) -> None:
        db.execute("CREATE TABLE albums (photo_id INTEGER PRIMARY KEY "
                   "REFERENCES photos(id) ON DELETE CASCADE, name TEXT NOT NULL, ...)")

    MIGRATIONS = (_v1_initial, _v2_evidence, _v3_counting_index, _v4_albums)

Migrations are plain SQL rather than sqlite-utils' table helpers because a migration must
produce the same schema forever, whatever sqlite-utils version is installed; sqlite-utils'
own ``Migrations`` class was not used because it records names, not a number, and a number
is what lets an older photolm see that a catalogue is *newer* than it is before writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database

APPLICATION_ID = 0x50484C4D  # "PHLM" in the header: tells our catalogues from other SQLite files


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


def _v3_counting_index(db: Database) -> None:
    """Issue 11: search filters on "the landmark that counts" as ONE expression
    (:data:`photolm.catalog.records.EFFECTIVE_LANDMARK`), so index that expression and drop
    the two indexes the older, hand-split WHERE clause needed. The expression is written out
    here because a released migration must never change; a test checks that search's query
    plan still uses this index."""
    for statement in (
        "CREATE INDEX photos_counting ON photos ((CASE WHEN review IS NULL THEN landmark_id "
        "WHEN review = 'none' THEN NULL ELSE review_landmark_id END))",
        "DROP INDEX photos_landmark_score",
        "DROP INDEX photos_review_landmark",
    ):
        db.execute(statement)


def _v4_learned(db: Database) -> None:
    """Issue 12: landmarks a person taught photolm (their example photos, and prototypes per
    model), and the generic descriptor of each photo for matching them."""
    for statement in (
        """CREATE TABLE learned_landmarks (
            landmark_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            aliases TEXT NOT NULL DEFAULT '[]',
            city TEXT,
            country TEXT,
            latitude REAL,
            longitude REAL,
            shipped INTEGER NOT NULL DEFAULT 0 CHECK (shipped IN (0, 1)),
            created TEXT NOT NULL
        )""",
        """CREATE TABLE learned_examples (
            landmark_id TEXT NOT NULL REFERENCES learned_landmarks (landmark_id)
                ON DELETE CASCADE,
            path_key BLOB NOT NULL,
            path TEXT NOT NULL,
            position INTEGER NOT NULL,
            PRIMARY KEY (landmark_id, path_key)
        )""",
        """CREATE TABLE learned_prototypes (
            landmark_id TEXT NOT NULL REFERENCES learned_landmarks (landmark_id)
                ON DELETE CASCADE,
            model_key TEXT NOT NULL,
            position INTEGER NOT NULL,
            dim INTEGER NOT NULL CHECK (dim > 0),
            vector BLOB NOT NULL,
            PRIMARY KEY (landmark_id, model_key, position)
        )""",
        """CREATE TABLE descriptors (
            photo_id INTEGER PRIMARY KEY REFERENCES photos (id) ON DELETE CASCADE,
            model_id TEXT NOT NULL,
            dim INTEGER NOT NULL CHECK (dim > 0),
            vector BLOB NOT NULL
        )""",
    ):
        db.execute(statement)


def _v5_tag_undo(db: Database) -> None:
    """Issue 10: what an embedded tag write replaced, so that ``untag`` gives the original
    bytes back (:mod:`photolm.metadata.undo`). Keyed by the tagged file's fingerprint and
    SHA-256, not by photo: a photo moved since is found by its content. Belongs to a photo
    through ``photos.content_hash`` (= the fingerprint), which is how ``prune`` drops it."""
    db.execute("""CREATE TABLE tag_undo (
        fingerprint TEXT NOT NULL,
        tagged_sha256 TEXT NOT NULL,
        path TEXT NOT NULL,
        original_sha256 TEXT NOT NULL,
        patch BLOB NOT NULL,
        PRIMARY KEY (fingerprint, tagged_sha256)
    )""")


def _v6_companions(db: Database) -> None:
    """Issue 15: a camera RAW beside a JPEG of the same stem is that photo's companion, the
    same shot: one photo in the catalogue, the RAW listed with it (and tagged in its own
    sidecar). A table, not a column: a RAW belongs to one photo (the primary key), goes when
    its photo is forgotten (the cascade), and ``tag IMG_0001.CR2`` finds its photo by index."""
    for statement in (
        """CREATE TABLE companions (
            path_key BLOB PRIMARY KEY,
            photo_id INTEGER NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
            path TEXT NOT NULL
        )""",
        "CREATE INDEX companions_photo ON companions (photo_id)",
    ):
        db.execute(statement)


def _v7_recognised_from(db: Database) -> None:
    """A RAW pair whose JPEG (or HEIC) cannot be read is recognised from the preview in its
    RAW (:mod:`photolm.scan`); the row stays the JPEG's, so record which file the verdict and
    the stored embedding came from: NULL, the photo's own file (every row until now, and every
    photo but those); else the RAW's file name. A name, not a path or a key: a companion
    always sits in its photo's folder, and a name stays right when the pair moves together.
    A column, not a ``companions`` flag: it describes the photo's verdict, written with it by
    every scan (cleared by one that reads the JPEG) and kept by a re-match of the same
    embedding, and it stays true if the RAW is deleted later."""
    db.execute("ALTER TABLE photos ADD COLUMN recognised_from TEXT")


def _v8_lossless_names(db: Database) -> None:
    """The names the catalogue keeps only as text, beside no key: a scan's roots
    (``scans.roots``) and the files a tag wrote (``photos.tag_files``), both JSON lists, and
    the RAW a verdict came from (``photos.recognised_from``). Until now in
    ``backslashreplace`` form, in which a folder named ``a\\xffb`` (a backslash, ``x``,
    ``f``, ``f``) and one named ``a<0xff>b`` are one text, so a re-scan knew only one of
    them. From now on they are kept in photolm's printed form
    (:func:`photolm.catalog.paths.as_text`), which reads back exactly; each older text is
    rewritten as the name photolm read it as (:func:`photolm.printed_paths.read_replaced`:
    ``\\xNN`` from ``\\x80`` up is that byte). Only rows whose text changes are written (a
    backslash or a control character in it)."""
    import json

    from photolm.printed_paths import printed, read_replaced

    def lossless(name: str) -> str:
        return printed(read_replaced(name))

    def listed(text: str) -> str:
        try:
            names = json.loads(text)
        except ValueError:  # not written by photolm: left as it is, as photolm reads it
            return text
        if not isinstance(names, list):
            return text
        return json.dumps([lossless(str(name)) for name in names], ensure_ascii=False)

    for table, column, rewrite in (("scans", "roots", listed), ("photos", "tag_files", listed),
                                   ("photos", "recognised_from", lossless)):
        rows = db.execute(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL "
                          f"AND {column} != '[]'").fetchall()
        # a name with no backslash and nothing printed as an escape is its own printed form
        changes = [(new, row_id) for row_id, old in rows
                   if ("\\" in old or not old.isprintable()) and (new := rewrite(old)) != old]
        db.conn.executemany(f"UPDATE {table} SET {column} = ? WHERE id = ?", changes)


MIGRATIONS: tuple[Callable[[Database], None], ...] = (_v1_initial, _v2_evidence,
                                                      _v3_counting_index, _v4_learned,
                                                      _v5_tag_undo, _v6_companions,
                                                      _v7_recognised_from, _v8_lossless_names)
SCHEMA_VERSION = len(MIGRATIONS)
