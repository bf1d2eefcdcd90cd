# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm places``: places in your photos that no landmark claims yet, and naming them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from photolm.cli.learn import AliasOpt, CityOpt, CountryOpt, LatOpt, LonOpt, run_learn
from photolm.cli.options import CatalogOpt, DeviceChoice, DeviceOpt, JsonOpt, ModelOpt, QuietOpt
from photolm.cli.output import display, out, print_json, reporting, warn_unmatchable

app = typer.Typer(
    help="Places in your photos that no landmark claims yet: **photolm places** lists them, "
    "biggest first; **photolm places name ID NAME** teaches photolm one of them.",
    rich_markup_mode="markdown",
    invoke_without_command=True,
    no_args_is_help=False,
)

MinPhotosOpt = Annotated[int, typer.Option("--min-photos", min=2,
                                           help="Smallest group worth showing.")]


def _places(model: Path | None, catalog: Path | None, min_photos: int) -> list:
    from photolm.bundle import load_bundle
    from photolm.catalog import Catalog, resolve_catalog_path
    from photolm.learning import find_places
    from photolm.prototypes import unmatchable

    bundle = load_bundle(model)
    with Catalog.open(resolve_catalog_path(catalog), write=False) as cat:
        # their photos, no longer claimed, may be what a group here shows
        warn_unmatchable([lm.name for lm in unmatchable(cat, bundle)])
        return find_places(cat, bundle, min_photos=min_photos)


@app.callback()
def places(
    ctx: typer.Context,
    min_photos: MinPhotosOpt = 3,
    model: ModelOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Group the photos no landmark claims into candidate places, biggest first.

    Photos are grouped by what they look like, by where they were taken when they have GPS
    (never more than 1 km apart) and by when: photos taken within 15 minutes of each other
    need to look less alike. A group keeps its id between runs while your photos stay the
    same; name it with **photolm places name ID NAME**.
    """
    if ctx.invoked_subcommand is not None:
        return
    with reporting():
        found = _places(model, catalog, min_photos)
        if json_out:
            print_json([p.to_json() for p in found])
            return
        if not found:
            out.print("No candidate places: every photo is claimed by a landmark, or no "
                      f"{min_photos} unclaimed photos look alike.")
            return
        from rich.table import Table

        table = Table(title=f"{len(found)} candidate place(s)", title_justify="left")
        table.add_column("id")
        table.add_column("photos", justify="right")
        table.add_column("where")
        table.add_column("for example")
        for p in found:
            where = "" if p.latitude is None else f"{p.latitude:.4f}, {p.longitude:.4f}"
            table.add_row(p.id, str(len(p.photos)), where,
                          "\n".join(display(x) for x in p.photos[:3]))
        out.print(table)


@app.command("name")
def name_place(
    place_id: Annotated[str, typer.Argument(metavar="ID", help="A group id from photolm places.",
                                            show_default=False)],
    name: Annotated[str, typer.Argument(help="What the place is called.", show_default=False)],
    alias: AliasOpt = None,
    city: CityOpt = None,
    country: CountryOpt = None,
    lat: LatOpt = None,
    lon: LonOpt = None,
    model: ModelOpt = None,
    catalog: CatalogOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn a group from **photolm places** into a learned landmark (its photos become the
    examples); without --lat/--lon, the group's GPS position is used when it has one."""
    with reporting():
        run_learn(name, [], aliases=alias, city=city, country=country, lat=lat, lon=lon,
                  model=model, catalog=catalog, device=device, json_out=json_out, quiet=quiet,
                  place_id=place_id)
