# SPDX-License-Identifier: GPL-3.0-or-later
"""Which model bundle a command that matches a catalogue uses.

``--model`` first, then ``$PHOTOLM_MODEL``; given neither, the model the catalogue's photos
were last scanned with, not the shipped one: their stored vectors are that network's, and
learning or grouping them with another network's matches nothing ("re-matched 0") while
mixing two networks' vectors. That bundle is used when its folder still holds it (the
command says so); when it does not, the command stops with one line naming ``--model``.
``photolm scan`` is how a catalogue changes model, so it keeps the plain rule
(:func:`photolm.bundle.load_bundle`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from photolm.bundle import (
    ENV_MODEL,
    MANIFEST,
    Bundle,
    bundle_id,
    default_bundle_path,
    load_bundle,
    read_bundle,
)
from photolm.errors import BundleError, PhotolmError
from photolm.printed_paths import printed

if TYPE_CHECKING:
    from photolm.catalog.scanning import ScannedWith


class ScannedModelGone(BundleError):
    """The catalogue's photos were scanned with a model that is no longer where it was."""


@dataclass(frozen=True)
class Chosen:
    """The bundle to use, and (when it is the catalogue's rather than the one --model's
    default names) a line saying so."""

    bundle: Bundle
    note: str | None = None


def choose_bundle(option: Path | str | None, catalog_path: Path) -> Chosen:
    """The bundle for a command on the catalogue at ``catalog_path`` (see the module)."""
    if option or os.environ.get(ENV_MODEL):
        return Chosen(load_bundle(option))
    scanned = _scanned_with(catalog_path)
    if scanned is None or _manifest_id(default_bundle_path()) == scanned.bundle_id:
        return Chosen(load_bundle(None))  # the shipped one (its id read without loading it)
    bundle = kept_bundle(scanned)
    if bundle is not None:
        return Chosen(bundle, f"using {bundle.name} ({printed(scanned.path)}), the model "
                              "this catalogue's photos were scanned with (--model picks "
                              "another)")
    name = scanned.name or f"model {scanned.bundle_id[:12]}"
    where = (f" from {printed(scanned.path)}, which no longer holds it"
             if scanned.path is not None else "")
    raise ScannedModelGone(
        f"This catalogue's photos were last scanned with {name}{where}, not the shipped "
        f"model: give that model with --model FOLDER (or ${ENV_MODEL}), or scan again with "
        "the model to use.")


def kept_bundle(kept: ScannedWith) -> Bundle | None:
    """The bundle a scan used, read from the folder the scan kept
    (:meth:`~photolm.catalog.Catalog.bundle_kept`) when that folder still holds it; None
    when the scan kept no folder, or the folder is gone or holds another bundle now."""
    if kept.path is None:
        return None
    try:
        bundle = read_bundle(kept.path)
    except PhotolmError:
        return None
    return bundle if bundle.bundle_id == kept.bundle_id else None


def _manifest_id(folder: Path) -> str | None:
    """A bundle folder's id, from its manifest alone (no member read or checksummed)."""
    try:
        return bundle_id((folder / MANIFEST).read_bytes())
    except OSError:
        return None


def _scanned_with(catalog_path: Path) -> ScannedWith | None:
    from photolm.catalog import Catalog, CatalogMissingError

    try:
        with Catalog.open(catalog_path, write=False) as cat:
            return cat.scanned_with()
    except CatalogMissingError:
        return None
