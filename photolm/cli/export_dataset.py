# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm export-dataset``: your answers as a training set for ``trainer fit``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from photolm.cli.options import CatalogOpt, JsonOpt, QuietOpt
from photolm.cli.output import display, err, print_json, reporting, warn
from photolm.wording import counted


def export_dataset(
    out_dir: Annotated[Path, typer.Argument(metavar="DIR", show_default=False,
                                            help="A new (or empty) folder to write.")],
    include_shipped: Annotated[bool, typer.Option(
        "--include-shipped", help="Also the landmarks the model shipped with: photos you "
        "confirmed or corrected as one, and examples you added to one.")] = False,
    copy: Annotated[bool, typer.Option(
        "--copy", help="Copy the photos instead of linking to them (for another machine).")
    ] = False,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write what you confirmed, corrected and taught photolm as a training set.

    A folder per landmark (links to your photos, or copies with --copy) and a classes.csv
    with name, aliases, city, country and coordinates: the layout **trainer fit** reads.
    Then `trainer fit ... DIR` -> `photolm-export` -> `photolm scan --model NEW`.
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.dataset_export import (
            DatasetExportError,
            dataset_items,
            plan,
            write_dataset,
        )

        with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
            unknown: list[str] = []
            classes = plan(dataset_items(cat, include_shipped=include_shipped,
                                         unknown=unknown))
        for path in unknown:  # an answer is never dropped without a word
            warn(path, "you answered it with a landmark photolm no longer knows (unlearned, "
                 "or gone from the model): not in the training set; learn that landmark "
                 "again to export it")
        if not classes:
            # the catalogue holds nothing to export: a data error, the command line was right
            raise DatasetExportError(
                "Nothing to export yet: teach photolm a place with `photolm learn`, or confirm "
                "photos with `photolm confirm` (and pass --include-shipped for the model's own "
                "landmarks).")
        problems = write_dataset(out_dir, classes, copy=copy)
        for path, why in problems:
            warn(path, why)
        for c in classes:
            if not c.photos:
                warn(c.landmark.name, "none of its photos is left: not in the training set")
        classes = [c for c in classes if c.photos]
        if json_out:
            print_json({"dir": display(out_dir), "landmarks": [
                {"id": c.landmark.id, "name": c.landmark.name, "folder": c.folder,
                 "photos": len(c.photos)} for c in classes],
                "photos": sum(len(c.photos) for c in classes), "skipped": len(problems)})
        elif not quiet:
            total = sum(len(c.photos) for c in classes)
            # Alone, the set would train a model that knows only these landmarks.
            err.print(f"wrote {counted(total, 'photo')} of {counted(len(classes), 'landmark')} to "
                      f"{display(out_dir)}; train with: trainer fit DATA... "
                      f"{shell_word(out_dir)} --out RUN, DATA being the photo sets "
                      "the new model should know as well", markup=False, highlight=False)


def shell_word(path: Path) -> str:
    """``path`` as one word a shell (bash, zsh, ksh) reads back to the name, for a command
    the person copies: quoted as :func:`shlex.quote` does when its printed form is the name
    itself, else as ``$'...'``, whose escapes are the printed form's own (``\\n``,
    ``\\t``, ``\\xNN``, ``\\\\``): quoting the printed text would name another folder."""
    shown = display(path)
    if shown == os.fsdecode(path):
        return shlex.quote(shown)
    return "$'" + shown.replace("'", "\\'") + "'"
