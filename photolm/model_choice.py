# SPDX-License-Identifier: GPL-3.0-or-later
"""Which model bundle a command that matches a catalogue uses.

``--model`` first, then ``$PHOTOLM_MODEL``; given neither, the model the catalogue's photos
were last scanned with, not the shipped one: their stored vectors are that network's, and
learning or grouping them with another network's matches nothing ("re-matched 0") while
mixing two networks' vectors. That bundle is used when its folder still holds it (the
command says so); when it does not, the command stops with one line naming ``--model``.
A model no folder of the user's ever held (an earlier photolm's shipped one, replaced by an
upgrade) is :class:`EarlierModel`: the commands that match no stored vector go on with the
shipped model (:func:`choose_for_viewing`), the others say a scan is the way on.
``photolm scan`` is how a catalogue changes model, so it keeps the plain rule
(:func:`photolm.bundle.load_bundle`).
"""

from __future__ import annotations

import json
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


class EarlierModel(ScannedModelGone):
    """The catalogue's photos were scanned with a model this photolm does not have and no
    folder of the user's holds: the shipped model of an earlier photolm (an upgrade that
    changed the network), or, from a scan that kept no folder, one given with --model.

    Only commands that match stored vectors (learn, unlearn, places) stop on it; the ones
    that only show or change what is catalogued (landmarks, info, serve) go on with the
    shipped model and say so (:func:`choose_for_viewing`): refusing them would lock a user
    out of their catalogue until a rescan that they do not need for it."""

    def __init__(self, message: str, note: str) -> None:
        super().__init__(message)
        self.note = note


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
    shipped = _manifest_ids(default_bundle_path())  # read without loading the bundle
    if scanned is None or shipped[0] == scanned.bundle_id:
        return Chosen(load_bundle(None))
    bundle = kept_bundle(scanned)
    if bundle is not None and not _same_folder(bundle.path, default_bundle_path()):
        return Chosen(bundle, f"using {bundle.name} ({printed(scanned.path)}), the model "
                              "this catalogue's photos were scanned with (--model picks "
                              "another)")
    if bundle is not None or (scanned.model_id is not None and shipped[1] == scanned.model_id):
        return Chosen(load_bundle(None))  # the shipped network, its manifest updated since
    name = scanned.name or f"model {scanned.bundle_id[:12]}"
    if scanned.path is None or scanned.shipped or is_shipped_folder(scanned.path):
        raise _earlier(scanned, name)
    where = (f" from {printed(scanned.path)}, which no longer holds it"
             if scanned.path is not None else "")
    raise ScannedModelGone(
        f"This catalogue's photos were last scanned with {name}{where}, not the shipped "
        f"model: give that model with --model FOLDER (or ${ENV_MODEL}), or scan again with "
        "the model to use.")


def choose_for_viewing(option: Path | str | None, catalog_path: Path) -> Chosen:
    """:func:`choose_bundle` for a command that matches no stored vector (landmarks, info,
    serve): given a catalogue scanned with a model this photolm does not have
    (:class:`EarlierModel`), the shipped one, with a line saying a scan recognises the
    photos with it."""
    try:
        return choose_bundle(option, catalog_path)
    except EarlierModel as exc:
        return Chosen(load_bundle(None), exc.note)


def _earlier(scanned: ScannedWith, name: str) -> EarlierModel:
    """Why a catalogue's model cannot be found when no folder of the user's held it."""
    if scanned.path is not None:  # the shipped folder, holding another network now
        what = f"{name}, the model an earlier photolm shipped"
    else:  # a scan before the folder was kept (2026-12-07): shipped, or given with --model
        what = f"{name} (an earlier photolm's shipped model, or one given with --model)"
    rescan = ("run photolm scan on your folders once to recognise them with the shipped "
              "model (your answers, learned landmarks and tags are kept)")
    return EarlierModel(
        f"This catalogue's photos were scanned with {what}, which this photolm does not "
        f"have: {rescan}, or give that model with --model FOLDER (or ${ENV_MODEL}).",
        f"this catalogue's photos were scanned with {what}: using the shipped model; "
        f"{rescan}")


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
    if bundle.bundle_id == kept.bundle_id:
        return bundle
    # the same network with its manifest rewritten in place (new metrics or landmark
    # records, a photolm upgrade of the shipped one): the stored vectors are still its own
    return bundle if kept.model_id is not None and bundle.model_id == kept.model_id else None


def _manifest_ids(folder: Path) -> tuple[str | None, str | None]:
    """A bundle folder's id and its network's (model.onnx's sha256), from its manifest
    alone (no member read or checksummed); ``(None, None)`` when it cannot be read."""
    try:
        raw = (folder / MANIFEST).read_bytes()
    except OSError:
        return None, None
    try:
        network = json.loads(raw)["files"]["model"]["sha256"]
    except (ValueError, KeyError, TypeError):
        network = None
    return bundle_id(raw), network if isinstance(network, str) else None


def is_shipped_folder(path: Path | str) -> bool:
    """Whether ``path`` is (or was) the folder of the model photolm ships: this install's,
    or an earlier install's that a reinstall elsewhere (a new venv, another Python) left
    behind, known by its place in the package (scans before photolm kept the flag)."""
    return (_same_folder(path, default_bundle_path())
            or Path(path).parts[-3:] == default_bundle_path().parts[-3:])


def _same_folder(a: Path | str, b: Path | str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _scanned_with(catalog_path: Path) -> ScannedWith | None:
    from photolm.catalog import Catalog, CatalogMissingError

    try:
        with Catalog.open(catalog_path, write=False) as cat:
            return cat.scanned_with()
    except CatalogMissingError:
        return None
