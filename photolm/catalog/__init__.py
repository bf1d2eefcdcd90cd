# SPDX-License-Identifier: GPL-3.0-or-later
"""The SQLite catalogue: what every scanned photo looks like and which landmark it shows.

One class, :class:`Catalog`, assembled from the package's parts (see docs/architecture.md):

=============  ===============================================================================
``paths``      where the catalogue lives; the one key form of a photo's path
``store``      file safety: header check, probe, lock, open, migrate, one transaction per change
``schema``     the tables, as an ordered list of migrations (``PRAGMA user_version``)
``records``    what goes in and comes out, from ONE field list; the rule "which landmark counts"
``reading``    listing, search, counts, landmark table, ``info`` figures (works read-only)
``scanning``   what the scan reads and writes: index, results, re-match, moves, missing photos
``reviews``    a person's answers (``confirm``) and the outcomes of ``tag``/``untag``
``undo``       what an embedded tag write replaced, for a byte-exact ``untag`` (schema v5)
=============  ===============================================================================
"""

from __future__ import annotations

from photolm.catalog.learned import LearnedQueries, RematchRow, VectorPage
from photolm.catalog.paths import (
    CATALOG_FILE,
    ENV_CATALOG,
    StrPath,
    default_catalog_path,
    normalise_path,
    resolve_catalog_path,
)
from photolm.catalog.reading import UNCERTAIN_MARGIN, ReadQueries
from photolm.catalog.records import (
    EFFECTIVE_LANDMARK,
    REVIEW_VERDICTS,
    TAG_STATUSES,
    IndexEntry,
    MatchUpdate,
    PhotoRecord,
    PhotoRow,
    Review,
    ScanResult,
    TagRecord,
)
from photolm.catalog.reviews import ReviewQueries
from photolm.catalog.scanning import Embedded, ScanQueries
from photolm.catalog.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from photolm.catalog.store import (
    BUSY_TIMEOUT_MS,
    CatalogMissingError,
    CatalogReadOnlyError,
    refuse_read_only,
)
from photolm.catalog.undo import UndoQueries, UndoRow
from photolm.errors import CatalogBusyError, CatalogError


class Catalog(LearnedQueries, ReadQueries, ScanQueries, ReviewQueries, UndoQueries):
    """An open catalogue. Use :meth:`open`, preferably as a context manager."""


__all__ = [
    "APPLICATION_ID",
    "BUSY_TIMEOUT_MS",
    "CATALOG_FILE",
    "EFFECTIVE_LANDMARK",
    "ENV_CATALOG",
    "MIGRATIONS",
    "REVIEW_VERDICTS",
    "SCHEMA_VERSION",
    "TAG_STATUSES",
    "UNCERTAIN_MARGIN",
    "Catalog",
    "CatalogBusyError",
    "CatalogError",
    "CatalogMissingError",
    "CatalogReadOnlyError",
    "Embedded",
    "IndexEntry",
    "LearnedQueries",
    "MatchUpdate",
    "PhotoRecord",
    "PhotoRow",
    "RematchRow",
    "Review",
    "ScanResult",
    "StrPath",
    "TagRecord",
    "UndoQueries",
    "UndoRow",
    "VectorPage",
    "default_catalog_path",
    "normalise_path",
    "refuse_read_only",
    "resolve_catalog_path",
]
