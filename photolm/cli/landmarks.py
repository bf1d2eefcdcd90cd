# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm landmarks``: what the active model can recognise, with photo counts."""

from __future__ import annotations

from photolm.cli.options import CatalogOpt, JsonOpt, ModelOpt
from photolm.cli.output import out, print_json, reporting


def landmarks(
    model: ModelOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List the landmarks the model knows and how many catalogued photos show each."""
    with reporting():
        from photolm.bundle import load_bundle
        from photolm.catalog import Catalog, CatalogMissingError, resolve_catalog_path

        bundle = load_bundle(model)
        try:
            with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
                counts = cat.landmark_counts()
        except CatalogMissingError:
            counts = {}
        rows = [
            {"id": lm.id, "name": lm.name, "aliases": list(lm.aliases), "city": lm.city,
             "region": lm.region, "country": lm.country, "country_code": lm.country_code,
             "latitude": lm.latitude, "longitude": lm.longitude,
             "photos": counts.get(lm.id, 0)}
            for lm in sorted(bundle.landmarks, key=lambda lm: lm.name.casefold())
        ]
        if json_out:
            print_json(rows)
            return
        from rich.table import Table

        table = Table(title=f"{bundle.name}: {len(rows)} landmarks", title_justify="left")
        table.add_column("landmark")
        table.add_column("place")
        table.add_column("photos", justify="right")
        for r in rows:
            place = ", ".join(x for x in (r["city"], r["region"], r["country"]) if x)
            table.add_row(r["name"], place, str(r["photos"]))
        out.print(table)
