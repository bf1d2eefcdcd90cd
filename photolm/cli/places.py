# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm places``: places in your photos that no landmark claims yet, and naming them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from photolm.cli.learn import (
    AliasOpt,
    CityOpt,
    CountryOpt,
    LatOpt,
    LonOpt,
    NewOpt,
    chosen_bundle,
    run_learn,
)
from photolm.cli.options import (
    CatalogOpt,
    DeviceChoice,
    DeviceOpt,
    JsonOpt,
    QuietOpt,
    ScannedModelOpt,
)
from photolm.cli.output import (
    Column,
    display,
    print_json,
    print_rows,
    reporting,
    say,
    warn_unmatchable,
)
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.learning import FoundPlace

app = typer.Typer(
    help="Places in your photos that no landmark claims yet: **photolm places** lists them, "
    "biggest first; **photolm places name ID NAME** teaches photolm one of them.",
    rich_markup_mode="markdown",
    invoke_without_command=True,
    no_args_is_help=False,
)

EXAMPLES = 3  # photos shown for each group in the text output
MinPhotosOpt = Annotated[int, typer.Option("--min-photos", min=2,
                                           help="Smallest group worth showing.")]
AllOpt = Annotated[bool, typer.Option(
    "--all", help="Also list groups that look like no place (portraits, pets, food).")]


def _places(model: Path | None, catalog: Path | None, min_photos: int
            ) -> tuple[list[FoundPlace], dict[str, list[str]]]:
    """The groups, and the camera RAWs of their photos (a group holds only paths; a RAW +
    JPEG pair is one photo, shown with its RAW as ``list`` and ``search`` show it)."""
    from photolm.catalog import Catalog, resolve_catalog_path
    from photolm.learning import find_places
    from photolm.prototypes import unmatchable

    path = resolve_catalog_path(catalog)
    bundle = chosen_bundle(model, path)
    with Catalog.open(path, write=False) as cat:
        # their photos, no longer claimed, may be what a group here shows
        warn_unmatchable([lm.name for lm in unmatchable(cat, bundle)])
        found = find_places(cat, bundle, min_photos=min_photos)
        raws = cat.companions_by_photo() if found else {}
    return found, raws


def place_json(place: FoundPlace, raws: dict[str, list[str]]) -> dict[str, Any]:
    """One group for ``--json``: :meth:`FoundPlace.to_json`, plus ``companions``: each of
    its photos that has camera RAWs beside it -> their paths. Every path is printable, as
    ``list --json`` shows it (:func:`display`): a name with a newline or bytes that are not
    UTF-8 reads the same in both, and cannot break the JSON."""
    found = place.to_json()
    return {**found, "photos": [display(p) for p in found["photos"]],
            "examples": [display(p) for p in found["examples"]],
            "companions": {display(p): [display(r) for r in raws[p]]
                           for p in sorted(place.photos) if p in raws}}


@app.callback()
def places(
    ctx: typer.Context,
    min_photos: MinPhotosOpt = 3,
    everything: AllOpt = False,
    model: ScannedModelOpt = None,
    catalog: CatalogOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Group the photos no landmark claims into candidate places, biggest first.

    Photos are grouped by what they look like, by where they were taken when they have GPS
    (never more than 1 km apart) and by when: photos taken within 15 minutes of each other
    need to look less alike. Groups that look like no known kind of place (portraits, pets,
    food) are left out unless you ask for **--all**. A group keeps its id between runs while
    your photos stay the same; name it with **photolm places name ID NAME**.
    """
    if ctx.invoked_subcommand is not None:
        return
    with reporting():
        from photolm.learning import listed_places

        found, raws = _places(model, catalog, min_photos)
        found, hidden = listed_places(found, everything=everything)
        if json_out:
            print_json([place_json(p, raws) for p in found])
        elif not found:
            say("No candidate places: every photo is claimed by a landmark, or no "
                f"{min_photos} unclaimed photos look alike.")
        else:
            _render_all(found, raws)
        if hidden:  # after the table it is about, as list's and search's notes
            say(f"{counted(hidden, 'group')} not listed, looking like no place (portraits, pets, "
                "food); --all lists them.")


def _render_all(found: list[FoundPlace], raws: dict[str, list[str]]) -> None:
    """With --all, the groups that look like no place under a title of their own: the
    lines keep their fields, and a person can tell them apart."""
    places = [p for p in found if p.looks_like_a_place is not False]
    others = [p for p in found if p.looks_like_a_place is False]
    if places or not others:
        _render(places, raws, counted(len(places), "candidate place"))
    if others:
        _render(others, raws, f"{counted(len(others), 'group')} looking like no place "
                "(portraits, pets, food)")


def _render(found: list[FoundPlace], raws: dict[str, list[str]], title: str) -> None:
    """A table on a terminal, a group's examples one under another; in a pipe one line per
    example photo, its group's id, size and position repeated (as ``list``: one path a
    line, its RAWs the last field)."""
    rows, photos = [], []
    for p in found:
        where = "" if p.latitude is None else f"{p.latitude:.4f}, {p.longitude:.4f}"
        for photo in p.photos[:EXAMPLES]:
            rows.append((p.id, str(len(p.photos)), where, display(photo)))
            photos.append([display(r) for r in raws.get(photo, ())])
    print_rows(title,
               [Column("id", whole=True), Column("photos", justify="right"), Column("where"),
                Column("for example", path=True)], rows, raws=photos, grouped_by=3)


@app.command("name")
def name_place(
    place_id: Annotated[str, typer.Argument(metavar="ID", help="A group id from photolm places.",
                                            show_default=False)],
    name: Annotated[str, typer.Argument(metavar="NAME", help="What the place is called.",
                                        show_default=False)],
    alias: AliasOpt = None,
    city: CityOpt = None,
    country: CountryOpt = None,
    lat: LatOpt = None,
    lon: LonOpt = None,
    model: ScannedModelOpt = None,
    catalog: CatalogOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    new: NewOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Turn a group from **photolm places** into a learned landmark (its photos become the
    examples); without --lat/--lon, the group's GPS position is used when it has one."""
    with reporting():
        run_learn(name, [], aliases=alias, city=city, country=country, lat=lat, lon=lon,
                  model=model, catalog=catalog, device=device, json_out=json_out, quiet=quiet,
                  place_id=place_id, new=new)
