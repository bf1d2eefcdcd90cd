# SPDX-License-Identifier: GPL-3.0-or-later
"""A catalogue from a newer photolm, or a damaged one: every command says so in one line and
leaves the file exactly as it was (it may be the user's only copy of months of scanning)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from photolm.catalog import SCHEMA_VERSION
from tests.robustness.helpers import cli, snapshot
from tests.tinybundle import COLOURS, write_photo

COMMANDS: list[tuple[str, ...]] = [("scan", "{photos}"), ("search", "Eiffel Tower"), ("list",),
                                   ("landmarks",), ("info",), ("tag",), ("tag", "--dry-run"),
                                   ("untag",), ("confirm", "{photos}", "--none")]


def _newer(good: bytes, path: Path) -> None:
    path.write_bytes(good)
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()


def _foreign(good: bytes, path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE accounts (name TEXT, balance REAL)")
    raw.commit()
    raw.close()


def _truncated(good: bytes, path: Path) -> None:
    path.write_bytes(good[: len(good) // 2])


def _scribbled(good: bytes, path: Path) -> None:
    """The middle third of the file overwritten: b-tree pages of the photos table."""
    third = len(good) // 3
    path.write_bytes(good[:third] + b"\xa5" * third + good[2 * third:])


def _header_damaged(good: bytes, path: Path) -> None:
    """Page 1 after the 100-byte header overwritten: the schema table is unreadable."""
    path.write_bytes(good[:100] + b"\xa5" * 3000 + good[3100:])


def _not_sqlite(good: bytes, path: Path) -> None:
    path.write_bytes(b"Photo notes from 2019, not a database.\n" * 10)


VARIANTS: dict[str, tuple[Callable[[bytes, Path], None], str]] = {
    "newer-schema": (_newer, f"was written by a newer photolm (schema 99, this one knows "
                             f"{SCHEMA_VERSION}); upgrade photolm."),
    "another-programs-db": (_foreign, "is not a photolm catalogue"),
    "truncated": (_truncated, "is damaged or unreadable"),
    "scribbled-pages": (_scribbled, "is damaged or unreadable"),
    "damaged-schema-page": (_header_damaged, "is damaged or unreadable"),
    "not-sqlite": (_not_sqlite, "is not a photolm catalogue"),
}


@pytest.fixture(scope="module")
def good_catalogue(tmp_path_factory: pytest.TempPathFactory, tiny_bundle_dir: Path) -> bytes:
    """A real catalogue of 200 photos, big enough to span many b-tree pages."""
    base = tmp_path_factory.mktemp("good")
    colours = list(COLOURS.values())
    for i in range(200):
        write_photo(base / "photos" / f"p{i:03d}.jpg", colours[i % 4], size=(16, 16))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
        code, _, err = cli("scan", base / "photos", "--quiet", "--catalog", base / "c.sqlite")
    assert code == 0, err
    assert not (base / "c.sqlite-wal").exists()  # checkpointed on close: all in one file
    return (base / "c.sqlite").read_bytes()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_command_refuses_in_one_line_and_changes_nothing(
    variant: str, good_catalogue: bytes, tmp_path: Path, tiny_bundle_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make, message = VARIANTS[variant]
    folder = tmp_path / "catalogue"
    folder.mkdir()
    catalog = folder / "catalog.sqlite"
    make(good_catalogue, catalog)
    photos = tmp_path / "photos"
    write_photo(photos / "eiffel.jpg", COLOURS["eiffel-tower"])
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    before, photos_before = snapshot(folder), snapshot(photos)
    for command in COMMANDS:  # scan first: it must leave nothing but the lock file
        args = [a.format(photos=photos) for a in command]
        code, out, err = cli(*args, "--catalog", catalog)
        assert code == 1, (command, out, err)
        assert (err.count("\n") == 1 and err.startswith(f"Error: Catalogue {catalog} ")) or (
            err.startswith(f"Error: {catalog} ")), (command, err)
        assert message in err, (command, err)
        assert "Traceback" not in err
        after = snapshot(folder)
        key = bytes(catalog)
        assert after[key] == before[key], command  # the catalogue itself untouched
        extra = {Path(p.decode()).name: s for p, s in after.items() if p not in before}
        # Allowed beside it: the empty write-lock file, and (read-only SQLite connections to
        # a WAL-mode file cannot avoid them) an empty -wal and its -shm index. The scan's
        # own probe leaves no -wal/-shm.
        allowed = {"catalog.sqlite.lock"} | (set() if args[0] == "scan" else
                                             {"catalog.sqlite-wal", "catalog.sqlite-shm"})
        assert set(extra) <= allowed, (command, sorted(extra))
        assert all(s.size == 0 for n, s in extra.items() if not n.endswith("-shm")), extra
        before = after
    assert snapshot(photos) == photos_before
