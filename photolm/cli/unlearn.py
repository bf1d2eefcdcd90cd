# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm unlearn``: forget a landmark you taught photolm."""

from __future__ import annotations

from typing import Annotated

import typer

from photolm.cli.learn import chosen_bundle, landmark_json, merged_json, note_adopted, progress
from photolm.cli.options import CatalogOpt, JsonOpt, QuietOpt, ScannedModelOpt
from photolm.cli.output import bar_wanted, print_json, reporting, say
from photolm.wording import counted


def unlearn(
    words: Annotated[list[str], typer.Argument(
        help="The learned landmark's name (or an alias); the quotes may be left out.",
        show_default=False, metavar="NAME")],
    model: ScannedModelOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Forget a landmark you taught photolm (or the examples you added to a shipped one).

    Every catalogued photo is re-matched at once. Photos you confirmed or corrected keep
    your answer.
    """
    with reporting():
        from photolm.catalog import Catalog, resolve_catalog_path
        from photolm.learning import unlearn as do_unlearn
        from photolm.prototypes import adopt_shipped

        name = " ".join(words)  # `photolm unlearn Old Bridge` names one landmark
        path = resolve_catalog_path(catalog)
        bundle = chosen_bundle(model, path)
        with Catalog.open(path, write=True, create=False) as cat, \
                progress(bar_wanted(quiet=quiet, json_out=json_out)) as report:
            merged = adopt_shipped(cat, bundle)  # before the name is looked up
            note_adopted(merged)
            showing = cat.landmark_counts()  # as learn counts the photos that show it
            item, summary, kept = do_unlearn(cat, bundle, name, progress=report)
            before, now = showing.get(item.id, 0), cat.landmark_counts().get(item.id, 0)
        if json_out:
            # "changed" counts every photo re-decided, its list of candidates included
            print_json({"landmark": landmark_json(item.landmark), "shipped": item.shipped,
                        "examples": len(item.examples), "rematched": summary.photos,
                        "changed": summary.changed, "photos_before": before, "photos": now,
                        "kept_answers": kept, "seconds": round(summary.seconds, 3),
                        "merged_learned": [merged_json(m) for m in merged]})
        elif not quiet:
            what = (f"the examples added to {item.landmark.name}" if item.shipped
                    else item.landmark.name)
            keep = f"; {counted(kept, 'photo', 'keeps')} your answer" if kept else ""
            say(f"forgot {what}: {counted(before, 'photo')} showed it, {now} now{keep}")
