# SPDX-License-Identifier: GPL-3.0-or-later
"""Curated names and places of the shipped landmarks, merged into a bundle's landmark table.

The training class lists (``classes.csv`` in the shared data) carry English names, a few
aliases and loose place text ("Canaima National Park (Bolívar)" as a city). What users see
needs more: ``photolm search "埃菲尔铁塔"`` must find the Eiffel Tower, and tags need a real
place hierarchy (city / region / country / ISO 3166-1 alpha-2 code) for the IPTC location
fields. ``landmark_names.json`` beside this module holds that, per landmark id, checked by
hand; landmarks it does not list (a model trained on other data) pass through unchanged.

Per id: ``city``, ``region``, ``country``, ``country_code`` (``null`` means "none": a
waterfall in a national park has no city), optional ``note`` (why a place field is what it
is), and ``names``: language tag (BCP 47) -> names in that language. The names become the
landmark's aliases; the language tags are kept in the file so people can review them.

The exporter applies it with :func:`with_landmark_names`; an existing bundle is refreshed
without retraining by ``python -m export.landmark_names BUNDLE_DIR``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from export.errors import ExportError
from photolm.bundle import Bundle, Landmark, read_bundle, write_bundle
from photolm.errors import PhotolmError

DATA_FILE = Path(__file__).with_name("landmark_names.json")
PLACE_FIELDS = ("city", "region", "country", "country_code")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,8})*")


def load_landmark_names(path: Path = DATA_FILE) -> dict[str, dict[str, Any]]:
    """The table, validated: a typo in a hand-edited file must fail the export, not ship."""
    try:
        table = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"Cannot read the landmark names table {path}: {exc}.") from None
    if not isinstance(table, dict):
        raise ExportError(f"{path} must map landmark ids to records.")
    for landmark_id, record in table.items():
        where = f"{path}: {landmark_id!r}"
        if not isinstance(record, dict) or not isinstance(record.get("names"), dict):
            raise ExportError(f"{where} needs a record with a 'names' table.")
        unknown = set(record) - {*PLACE_FIELDS, "names", "note"}
        if unknown:
            raise ExportError(f"{where} has unknown fields {sorted(unknown)}.")
        for fld in PLACE_FIELDS:
            value = record.get(fld)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ExportError(f"{where}: {fld} must be text or null, not {value!r}.")
        code = record.get("country_code")
        if code is not None and not _COUNTRY_CODE.fullmatch(code):
            raise ExportError(f"{where}: country_code {code!r} is not ISO 3166-1 alpha-2.")
        if (code is None) != (record.get("country") is None):
            raise ExportError(f"{where}: give both country and country_code, or neither.")
        for language, names in record["names"].items():
            if not _LANGUAGE_TAG.fullmatch(language):
                raise ExportError(f"{where}: {language!r} is not a language tag.")
            if not isinstance(names, list) or not all(
                isinstance(n, str) and n.strip() for n in names
            ):
                raise ExportError(f"{where}: names[{language!r}] must be a list of names.")
    return table


def with_landmark_names(
    landmarks: Sequence[Landmark], table: Mapping[str, Mapping[str, Any]] | None = None
) -> list[Landmark]:
    """The landmarks with the table's place fields and its names added as aliases.

    Place fields in the table replace the class list's (they were checked by hand; ``null``
    clears a field). Existing aliases come first and keep their order, so nothing a user
    searched for before stops working.
    """
    table = load_landmark_names() if table is None else table
    out: list[Landmark] = []
    for lm in landmarks:
        record = table.get(lm.id)
        if record is None:
            out.append(lm)
            continue
        extra = [name for names in record["names"].values() for name in names]
        aliases = tuple(dict.fromkeys(a for a in (*lm.aliases, *extra) if a != lm.name))
        places = {fld: record[fld] for fld in PLACE_FIELDS if fld in record}
        out.append(dataclasses.replace(lm, aliases=aliases, **places))
    return out


def refresh_bundle(path: Path, table_path: Path = DATA_FILE) -> Bundle:
    """Rewrite a bundle's landmark table from the names table, keeping everything else.

    Goes through :func:`photolm.bundle.write_bundle`, so the manifest's checksums are
    recomputed; the model file is copied unchanged (same ``model_id``: stored embeddings
    stay valid and a re-scan only re-matches).
    """
    bundle = read_bundle(path)
    landmarks = with_landmark_names(bundle.landmarks, load_landmark_names(table_path))
    provenance = dict(bundle.provenance)
    provenance["landmark_names"] = {
        "file": table_path.name,
        "sha256": hashlib.sha256(table_path.read_bytes()).hexdigest(),
    }
    return write_bundle(
        bundle.path,
        model_file=bundle.model_path,
        landmarks=landmarks,
        prototypes=bundle.prototypes,
        prototype_landmark=bundle.prototype_landmark,
        preprocess=bundle.preprocess,
        threshold=bundle.threshold,
        name=bundle.name,
        input_name=bundle.input_name,
        output_name=bundle.output_name,
        precision=bundle.precision,
        calibration=bundle.calibration,
        metrics=bundle.metrics,
        provenance=provenance,
        overwrite=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m export.landmark_names",
        description="Refresh a bundle's landmark names and places from landmark_names.json "
                    "(no retraining; the model file is kept).",
    )
    parser.add_argument("bundle", type=Path, help="bundle folder, e.g. photolm/models/default")
    parser.add_argument("--table", type=Path, default=DATA_FILE, help="names table (JSON)")
    args = parser.parse_args(argv)
    try:
        bundle = refresh_bundle(args.bundle, args.table)
    except PhotolmError as exc:  # ExportError (the table) or BundleError (the bundle)
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    known = sum(lm.id in load_landmark_names(args.table) for lm in bundle.landmarks)
    print(f"{bundle.path}: {known} of {len(bundle.landmarks)} landmarks updated "
          f"(bundle {bundle.short_id}).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
