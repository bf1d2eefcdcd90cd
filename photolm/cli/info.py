# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm info``: where the catalogue is, which model is active, where it really runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from photolm.cli.options import CatalogOpt, DeviceChoice, DeviceOpt, JsonOpt, ModelOpt
from photolm.cli.output import print_fields, print_json, reporting

if TYPE_CHECKING:
    from photolm.scan import Concurrency


def info(
    catalog: CatalogOpt = None,
    model: ModelOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    json_out: JsonOpt = False,
) -> None:
    """Show the catalogue, the model bundle and the execution provider actually in use."""
    with reporting():
        from photolm import __version__
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog, CatalogMissingError, resolve_catalog_path
        from photolm.errors import PhotolmError
        from photolm.prototypes import unmatchable
        from photolm.scan import ScanOptions, concurrency, scan_session

        data: dict[str, Any] = {"version": __version__}
        threads: Concurrency | None = None  # the scan's threads, when a session could be made
        path = resolve_catalog_path(catalog)
        try:
            bundle = load_bundle(model)
        except PhotolmError as exc:
            bundle, problem = None, exc
        try:
            with Catalog.open(path, write=False) as cat:
                taught = cat.learned()
                data["catalog"] = {
                    **cat.stats(), "path": str(path),
                    "learned_landmarks": sum(not item.shipped for item in taught),
                    "learned_examples": sum(len(item.examples) for item in taught)}
                if bundle is not None:  # learned ones this model cannot recognise
                    data["catalog"]["learned_unrecognisable"] = [
                        lm.name for lm in unmatchable(cat, bundle)]
        except CatalogMissingError:
            data["catalog"] = {"path": str(path), "photos": 0, "note": "not created yet"}
        if bundle is None:
            data["model"] = {"error": str(problem)}
        else:
            data["model"] = {
                "name": bundle.name, "path": str(bundle.path), "id": bundle.short_id,
                "landmarks": len(bundle.landmarks), "prototypes": int(bundle.prototypes.shape[0]),
                "embedding_dim": bundle.embedding_dim, "precision": bundle.precision,
                "threshold": bundle.threshold, "created": bundle.created,
                "metrics": bundle.metrics,
            }
            try:  # the session a scan makes, and how the scan's threads would run it
                emb = scan_session(bundle, device=device.value)
            except PhotolmError as exc:
                data["runtime"] = {"error": str(exc)}
            else:
                threads = concurrency(emb, ScanOptions())
                data["runtime"] = {"provider": emb.provider, "requested": list(emb.info.requested),
                                   **threads.to_json()}
        if json_out:
            print_json(data)
            return
        _render(data, threads)


def _render(data: dict[str, Any], threads: Concurrency | None) -> None:
    """One ``key  value`` line each, never a table: a long catalogue or model path is
    printed whole (the terminal may wrap it, nothing folds it mid-name). The scan's threads
    are told from ``threads``, the object ``--json``'s keys are made from, never by reading
    those keys' words back."""
    lines: list[tuple[str, str]] = [("photolm", data["version"])]
    for section in ("catalog", "model", "runtime"):
        for key, value in data.get(section, {}).items():
            if key in _SCAN_THREADS:
                if key == "scan_workers" and threads is not None:
                    lines.append(("runtime scan", _scan_threads(threads, data["runtime"]
                                                                ["provider"])))
                continue
            if key == "metrics" and isinstance(value, dict):
                value = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                  for k, v in value.items() if not isinstance(v, dict))
            elif key == "threshold" and isinstance(value, float):
                value = f"{value:.4f}"
            elif key == "last_scan" and isinstance(value, dict):
                counts = value.get("counts") or {}
                value = (f"{value.get('finished') or value.get('started')}: "
                         f"{counts.get('found', '?')} photos found, "
                         f"{counts.get('processed', '?')} recognised")
            elif key == "learned_unrecognisable" and isinstance(value, list):
                value = ", ".join(value) + " (example photos gone: learn again)" if value \
                    else "none"
            elif key == "file_bytes":
                key, value = "size", f"{int(value) / 1e6:.1f} MB"
            elif isinstance(value, list):  # words, not a Python list's repr
                value = ", ".join(map(str, value)) or "none"
            lines.append((f"{section} {key}", str(value)))
    print_fields(lines)


_SCAN_THREADS = ("scan_workers", "threads_per_run", "model_runs", "model_threads")


def _scan_threads(threads: Concurrency, provider: str) -> str:
    """The scan's threads in words: on the CPU every worker runs the model on the photo it
    read, so the cores in use are workers x threads a run, not one session's threads."""
    per_run = threads.threads_per_run
    runs = f"{per_run} onnxruntime thread{'s' if per_run != 1 else ''}"
    if threads.in_workers:
        text = (f"{threads.workers} worker(s), each reading a photo and running the model on "
                f"it with {runs}: {threads.model_threads} at once")
    else:
        text = (f"{threads.workers} worker(s) read photos; one thread runs the model on whole "
                f"batches on {provider} with {runs}")
    return text + "; scan --workers and --threads change these"
