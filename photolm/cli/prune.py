# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm prune``: forget photos whose files are gone, once you say so."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from photolm.cli.options import CatalogOpt, JsonOpt, PathsArg
from photolm.cli.output import display, err, print_json, print_paths, reporting, warn
from photolm.wording import counted

if TYPE_CHECKING:
    from collections.abc import Iterable

    from photolm.catalog import Catalog, PhotoRow


def prune(
    paths: PathsArg = None,
    catalog: CatalogOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the photos that would be forgotten (and "
                           "the files photolm wrote for them); forget nothing.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Forget photos that the last scan of their folder did not find.

    A scan only marks such photos missing (search then leaves them out), so that a drive
    that is not mounted does not wipe their results: mount it and scan before pruning.
    A photo whose file is back on disk is kept (scan it to update it). Sidecars photolm
    wrote for forgotten photos stay on disk; they are listed. Exit status: 0; 1 when a path
    given names no catalogued photo.
    """
    with reporting():
        from photolm import storage
        from photolm.case_paths import catalogues, given_catalogued
        from photolm.catalog import Catalog, resolve_catalog_path

        with Catalog.open(resolve_catalog_path(catalog), write=not dry_run,
                          create=False) as cat:
            # as `photolm list` prints them too (a missing photo's file is gone from disk),
            # in the catalogue's letter case
            roots = [str(p) for p in given_catalogued(
                cat, paths or (), names=lambda p: os.path.lexists(p) or catalogues(cat, p))]
            rows = {}  # overlapping roots: one entry per photo
            unmatched = []  # a typo is said, as tag, untag and confirm say it
            for root in roots or [None]:
                matched = False
                for row in _photos_at(cat, root):
                    matched = True
                    if row.missing:
                        rows[row.path] = row
                if not matched and root is not None:  # no path given: nothing mistyped
                    unmatched.append(root)
            back, gone = [], []
            for r in rows.values():  # one look at the disk per photo
                (gone if storage.gone(r.path) else back).append(r)
            if not dry_run:
                cat.forget([r.path for r in gone])
                # the last photos of an older network may have gone with them
                cat.drop_unused_prototypes()
        photos = [{"path": display(r.path), "landmark": r.effective_landmark_name,
                   "tag_files": [display(f) for f in r.tag_files],
                   "companions": [display(c) for c in r.companions]}
                  for r in gone]
        for root in unmatched:
            warn(root, "no catalogued photos there")
        if json_out:
            print_json({"dry_run": dry_run, "photos": photos,
                        "back_on_disk": [display(r.path) for r in back]})
        else:
            _report(photos, [display(r.path) for r in back], _left_behind(gone), dry_run)
        raise typer.Exit(1 if unmatched else 0)


def _left_behind(rows: Iterable[PhotoRow]) -> list[str]:
    """The files photolm wrote for these photos that are still on disk, printed: their
    sidecars, not the photo itself (embedded tags went with it) nor a sidecar `untag`
    removed since."""
    return [display(f) for r in rows for f in r.tag_files
            if f != r.path and os.path.lexists(f)]


def _photos_at(cat: Catalog, root: str | None) -> Iterable[PhotoRow]:
    """The catalogued photo at ``root``, else the photos under it (all of them: ``None``)."""
    row = None if root is None else cat.get_photo(root)
    return [row] if row is not None else cat.iter_photos(under=root)


def _report(photos: list[dict[str, Any]], back: list[str], sidecars: list[str],
            dry_run: bool) -> None:
    print_paths([p["path"] for p in photos], [p["companions"] for p in photos])
    verb = "would forget" if dry_run else "forgot"
    lines = [f"prune: {verb} {counted(len(photos), 'photo')} missing since the last scan"
             + ("; run without --dry-run to forget them" if dry_run and photos else "")]
    if sidecars:
        lines.append(f"{counted(len(sidecars), 'file')} photolm wrote for them "
                     f"{'stays' if len(sidecars) == 1 else 'stay'} on disk: "
                     + ", ".join(sidecars))
    if back:
        lines.append(f"kept {len(back)} whose files are back; `photolm scan` updates them")
    for line in lines:
        err.print(line, markup=False, highlight=False, emoji=False)
