# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm landmarks``: what photolm can recognise (the model's landmarks and the
learned ones), with photo counts."""

from __future__ import annotations

from photolm.cli.learn import chosen_bundle, landmark_json, merged_json, note_adopted
from photolm.cli.options import CatalogOpt, JsonOpt, ScannedModelOpt
from photolm.cli.output import Column, print_json, print_rows, reporting, warn_unmatchable
from photolm.wording import counted


def landmarks(
    model: ScannedModelOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the landmarks photolm knows and how many catalogued photos show each: the
    model's and the ones you taught it with **learn** (marked learned)."""
    with reporting():
        from photolm.catalog import Catalog, CatalogMissingError, resolve_catalog_path
        from photolm.prototypes import Adopted, adopt_shipped, shipped_namesakes, unmatchable

        path = resolve_catalog_path(catalog)
        bundle = chosen_bundle(model, path, viewing=True)
        try:
            merged: list[Adopted] = []
            with Catalog.open(path, write=False) as cat:
                fold = bool(shipped_namesakes(bundle, cat.learned()))
            if fold:  # learned names the model now ships: one landmark each, said once
                with Catalog.open(path, write=True, create=False) as cat:
                    merged = adopt_shipped(cat, bundle)
                note_adopted(merged)
            with Catalog.open(path, write=False) as cat:
                counts = cat.landmark_counts()
                taught = cat.learned()
                lost = {lm.id for lm in unmatchable(cat, bundle)}
        except CatalogMissingError:
            counts, taught, lost, merged = {}, [], set(), []
        examples = {item.id: len(item.examples) for item in taught}
        known = {lm.id for lm in bundle.landmarks}
        learned = [item.landmark for item in taught if not item.shipped and item.id not in known]
        rows = [
            {**landmark_json(lm),
             "photos": counts.get(lm.id, 0), "learned": lm.id not in known,
             "examples": examples.get(lm.id, 0), "recognisable": lm.id not in lost,
             # learned landmarks this run folded into this one (said once, as the note is)
             "merged_learned": [merged_json(m, into=False) for m in merged
                                if m.landmark.id == lm.id]}
            for lm in sorted([*bundle.landmarks, *learned], key=lambda lm: lm.name.casefold())
        ]
        warn_unmatchable([r["name"] for r in rows if not r["recognisable"]])
        if json_out:
            print_json(rows)
            return
        title = f"{bundle.name}: {counted(len(rows), 'landmark')}"
        if learned:
            title += f" ({len(learned)} learned)"
        cells = []
        for r in rows:
            # "Dubai, United Arab Emirates", not "Dubai, Dubai, ...": a city-state or a
            # province named for its city is said once (--json keeps each field)
            place = ", ".join(dict.fromkeys(x for x in (r["city"], r["region"], r["country"])
                                            if x))
            # a learned one, or a shipped one you added example photos to
            mark = ("learned, lost: examples gone" if not r["recognisable"] else
                    "learned" if r["learned"] else
                    f"+{counted(r['examples'], 'example')}"
                    if r["examples"] else "")
            cells.append([r["name"], place, str(r["photos"]), mark])
        # a table on a terminal, one tab-separated line a landmark in a pipe (as list)
        print_rows(title, [Column("landmark"), Column("place"),
                           Column("photos", justify="right"), Column("yours")], cells)
