# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm info``: where the catalogue is, which model is active, where it really runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photolm.cli.options import CatalogOpt, DeviceChoice, DeviceOpt, JsonOpt, ScannedModelOpt
from photolm.cli.output import display, print_json, reporting

if TYPE_CHECKING:
    from photolm.bundle import Bundle
    from photolm.scan import Concurrency


def info(
    catalog: CatalogOpt = None,
    model: ScannedModelOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    json_out: JsonOpt = False,
) -> None:
    """Show the catalogue, the model bundle and the execution provider actually in use.

    The model is the one **learn**, **places** and the others use now: given no --model,
    the one the catalogue's photos were last scanned with."""
    with reporting():
        from photolm import __version__
        from photolm.catalog import Catalog, CatalogMissingError, resolve_catalog_path
        from photolm.errors import DeviceError, PhotolmError
        from photolm.model_choice import choose_for_viewing
        from photolm.prototypes import unmatchable
        from photolm.scan import ScanOptions, concurrency, scan_session

        data: dict[str, Any] = {"version": __version__}
        standing_in: str | None = None
        threads: Concurrency | None = None  # the scan's threads, when a session could be made
        path = resolve_catalog_path(catalog)
        try:  # the model learn, places... use now: without --model, the one scanned with
            chosen = choose_for_viewing(model, path)
        except PhotolmError as exc:
            bundle, problem = None, exc
        else:  # a note: the shipped one, standing in for a model this photolm lacks
            bundle, standing_in = chosen.bundle, chosen.note
        try:
            with Catalog.open(path, write=False) as cat:
                taught = cat.learned()
                scanned = cat.scanned_with()
                data["catalog"] = {
                    **_printed_roots(cat.stats()), "path": display(path),
                    "learned_landmarks": sum(not item.shipped for item in taught),
                    "learned_examples": sum(len(item.examples) for item in taught)}
                if scanned is not None:  # the model the photos' stored vectors are from
                    data["catalog"]["scanned_with"] = {
                        "name": scanned.name, "id": scanned.bundle_id[:12],
                        "path": None if scanned.path is None else display(scanned.path)}
                if bundle is not None:  # learned ones this model cannot recognise
                    data["catalog"]["learned_unrecognisable"] = [
                        lm.name for lm in unmatchable(cat, bundle)]
        except CatalogMissingError:
            scanned = None
            data["catalog"] = {"path": display(path), "photos": 0, "note": "not created yet"}
        if bundle is None:
            data["model"] = {"error": str(problem)}
        else:
            data["model"] = {
                "name": bundle.name, "path": display(bundle.path), "id": bundle.short_id,
                "landmarks": len(bundle.landmarks), "prototypes": int(bundle.prototypes.shape[0]),
                "embedding_dim": bundle.embedding_dim, "precision": bundle.precision,
                "threshold": bundle.threshold, "created": bundle.created,
                "metrics": bundle.metrics, **_learning(bundle),
            }
            if standing_in:
                data["model"]["note"] = standing_in
            if scanned is not None:  # False: --model/$PHOTOLM_MODEL names another model
                # the network, not the manifest: stored vectors depend on model.onnx alone
                data["model"]["scanned_with"] = (
                    scanned.model_id == bundle.model_id if scanned.model_id is not None
                    else scanned.bundle_id == bundle.bundle_id)
            try:  # the session a scan makes, and how the scan's threads would run it
                emb = scan_session(bundle, device=device.value)
            except DeviceError:  # a device asked for and unusable: an error, as in scan
                raise
            except PhotolmError as exc:
                data["runtime"] = {"error": str(exc)}
            else:
                threads = concurrency(emb, ScanOptions())
                data["runtime"] = {"provider": emb.provider, "requested": list(emb.info.requested),
                                   **threads.to_json()}
        if json_out:
            print_json(data)
            return
        from photolm.cli.info_text import render_info

        render_info(data, threads)


def _printed_roots(stats: dict[str, Any]) -> dict[str, Any]:
    """The catalogue's figures, the last scan's folders printed as every path is
    (``Catalog.last_scan`` gives them back as the paths they are)."""
    scan = stats.get("last_scan")
    if not scan or not scan.get("roots"):
        return stats
    return {**stats, "last_scan": {**scan, "roots": [display(r) for r in scan["roots"]]}}


def _learning(bundle: Bundle) -> dict[str, Any]:
    """What decides how well ``learn`` works with this model: its place descriptor (``None``
    when the graph has none) and the thresholds learned landmarks are judged by, as
    photolm.learned decides them (its space, its table, where the table comes from)."""
    from photolm.learned import learning_thresholds

    chosen = learning_thresholds(bundle)
    return {"descriptor": None if bundle.descriptor is None else {"dim": bundle.descriptor.dim},
            "learning": {"space": chosen.space, "thresholds_from": chosen.source,
                         "thresholds": {str(k): v for k, v in sorted(chosen.table.items())}}}
