# SPDX-License-Identifier: GPL-3.0-or-later
"""``photolm learn``: teach photolm a place from a few of your photos."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from photolm.cli.options import (
    CatalogOpt,
    DeviceChoice,
    DeviceOpt,
    JsonOpt,
    QuietOpt,
    ScannedModelOpt,
)
from photolm.cli.output import (
    bar_wanted,
    display,
    note,
    print_json,
    progress_bar,
    reporting,
    say,
    warn,
)
from photolm.wording import counted

if TYPE_CHECKING:
    from photolm.bundle import Bundle, Landmark
    from photolm.learning import ExamplesPosition, LearnResult
    from photolm.prototypes import Adopted

AliasOpt = Annotated[
    list[str] | None,
    typer.Option("--alias", "-a", show_default=False,
                 help="Another name search should find it by (repeat for several)."),
]
CityOpt = Annotated[str | None, typer.Option("--city", show_default=False,
                                             help="City (or town) it is in.")]
CountryOpt = Annotated[str | None, typer.Option("--country", show_default=False,
                                                help="Country it is in.")]
LatOpt = Annotated[float | None, typer.Option(
    "--lat", min=-90, max=90, show_default=False,
    help="Latitude in degrees (with --lon): photos with GPS far from it are never given it. "
         "Default: where the example photos were taken, when their GPS agrees (within 1 km).")]
NewOpt = Annotated[bool, typer.Option(
    "--new", help="Learn NAME as a new landmark even though it is spelt almost like one "
    "photolm knows (without it, that is refused as a likely typo).")]
LonOpt = Annotated[float | None, typer.Option("--lon", min=-180, max=180, show_default=False,
                                              help="Longitude in degrees (with --lat).")]


@contextmanager
def progress(show: bool) -> Iterator[Callable[[str, int, int], None]]:
    """A ``(stage, done, total)`` callback drawing one transient bar per stage, named for
    it ("reading examples", "re-matching")."""
    with progress_bar("", show=show) as bar:
        state: dict[str, Any] = {"stage": None, "done": 0}

        def update(stage: str, done: int, total: int) -> None:
            if stage != state["stage"]:
                state["stage"], state["done"] = stage, 0
                bar.start(total, stage)
            if done > state["done"]:
                bar.advance(done - state["done"])
                state["done"] = done

        yield update


def landmark_json(lm: Landmark) -> dict[str, Any]:
    """A landmark as ``photolm landmarks --json`` describes one (the same keys), so a
    script reads learn's, unlearn's and places name's landmark the same way."""
    return {"id": lm.id, "name": lm.name, "aliases": list(lm.aliases), "city": lm.city,
            "region": lm.region, "country": lm.country, "country_code": lm.country_code,
            "latitude": lm.latitude, "longitude": lm.longitude}


def result_json(result: LearnResult, merged: Sequence[Adopted] = ()) -> dict[str, Any]:
    return {
        "landmark": landmark_json(result.landmark),
        "new": result.new,
        "shipped": result.shipped,
        "examples": result.examples,
        "added": result.added,
        "photos": result.photos,
        "rematched": result.rematch.photos,
        "changed": result.rematch.changed,
        "seconds": round(result.rematch.seconds, 3),
        "skipped": [{"path": display(p), "error": why} for p, why in result.skipped.items()],
        "position_from_examples": None if result.position is None else {
            "latitude": result.position.latitude, "longitude": result.position.longitude,
            "photos": result.position.photos,
            "spread_km": round(result.position.spread_km, 3), "used": result.position.used},
        "merged_learned": [merged_json(item) for item in merged],
    }


def position_line(position: ExamplesPosition) -> str:
    """What the examples' GPS did to the landmark's position, for the terminal."""
    if position.used:
        return (f"position from the GPS of {counted(position.photos, 'example photo')}: "
                f"{position.latitude:.5f}, {position.longitude:.5f} (--lat/--lon set another)")
    return (f"the example photos' GPS positions lie up to {position.spread_km:,.1f} km apart, "
            "more than one place: no position set (--lat/--lon set one)")


def chosen_bundle(model: Path | None, catalog_path: Path, *, viewing: bool = False) -> Bundle:
    """The bundle a command on this catalogue uses (:mod:`photolm.model_choice`): said on
    stderr when it is the model the catalogue was scanned with rather than the shipped one.
    ``viewing``: the command matches no stored vector, so a catalogue scanned with a model
    this photolm lacks gets the shipped one (said) rather than a refusal."""
    from photolm.model_choice import choose_bundle, choose_for_viewing

    chosen = (choose_for_viewing if viewing else choose_bundle)(model, catalog_path)
    if chosen.note:
        say(chosen.note)
    return chosen.bundle


def note_adopted(adopted: Sequence[Adopted]) -> None:
    """One line for each learned landmark the model now ships by name: it is said once,
    by the command that folded it into the model's (scan, learn, unlearn, places,
    landmarks), as nothing of it is left to fold again."""
    for item in adopted:
        note(item.name, item.sentence())


def merged_json(item: Adopted, *, into: bool = True) -> dict[str, Any]:
    """One entry of ``--json``'s ``merged_learned``: the learned landmark this run folded
    into the model's (its id is gone from then on), and ``into`` that landmark, as
    :func:`landmark_json` (``landmarks --json`` says it on that landmark's row instead)."""
    entry: dict[str, Any] = {"id": item.id, "name": item.name, "examples": item.examples,
                             "answers": item.answers}
    return {**entry, "into": landmark_json(item.landmark)} if into else entry


def run_learn(name: str, sources: list[Path], *, aliases: list[str] | None, city: str | None,
              country: str | None, lat: float | None, lon: float | None, model: Path | None,
              catalog: Path | None, device: DeviceChoice, json_out: bool, quiet: bool,
              place_id: str | None = None, new: bool = False) -> None:
    """Shared by ``learn`` and ``places name`` (``place_id``: that group's photos are the
    examples, ``sources`` is ignored)."""
    from photolm.case_paths import given_catalogued
    from photolm.catalog import Catalog, resolve_catalog_path
    from photolm.cli.usage import options_clash
    from photolm.embedding import onnx_embed_fn
    from photolm.errors import NotKnownError, UsageError
    from photolm.learning import (
        NearMissWords,
        find_place,
        learn_place,
        one_line,
        refuse_near_miss,
    )
    from photolm.learning import learn as do_learn
    from photolm.prototypes import adopt_shipped

    if (lat is None) != (lon is None):
        raise options_clash("places name" if place_id else "learn",
                            "Give both --lat and --lon, or neither.")
    name = one_line(name, "The landmark's name")
    aliases = [one_line(a, "An alias") for a in aliases or ()]
    city = None if city is None else one_line(city, "The city")
    country = None if country is None else one_line(country, "The country")
    if not name:
        raise UsageError("The landmark needs a name.")
    path = resolve_catalog_path(catalog)
    bundle = chosen_bundle(model, path)
    with Catalog.open(path, write=True, create=place_id is None) as cat, \
            progress(bar_wanted(quiet=quiet, json_out=json_out)) as report:
        options: dict[str, Any] = {
            "aliases": aliases or (), "city": city, "country": country, "latitude": lat,
            "longitude": lon, "embed": onnx_embed_fn(bundle, device.value), "progress": report}
        merged = adopt_shipped(cat, bundle)  # before the name is looked up
        note_adopted(merged)
        if not new:  # before the name is used: a typo of a known one, --new to mean it
            refuse_near_miss(name, bundle, cat.learned(),
                             NearMissWords(use="give", new="--new to learn a new landmark"))
        if place_id is None:
            # as `photolm list` prints them too, in the catalogue's letter case
            sources = given_catalogued(cat, sources, names=os.path.lexists)
            result = do_learn(cat, bundle, name, sources, **options)
        else:
            place = find_place(cat, bundle, place_id)
            if place is None:
                # an id that names no place is no usage error, as unlearn's unknown name
                raise NotKnownError(f"No place {place_id!r} now; `photolm places` lists "
                                    "the current groups' ids.")
            result = learn_place(cat, bundle, place, name, **options)
    for path, why in result.skipped.items():
        warn(path, f"{why} (not used as an example)")
    ignored = [flag for flag, given in (("--alias", aliases), ("--city", city),
                                        ("--country", country), ("--lat/--lon", lat))
               if given is not None and given != []]
    if result.shipped and ignored:  # the model's own record is not the person's to edit
        warn(result.landmark.name, f"one of the model's landmarks: its names, place and "
             f"position stay the model's ({', '.join(ignored)} not used)")
    if json_out:
        print_json(result_json(result, merged))
    elif not quiet:
        what = "learned" if result.new else "added examples to"
        say(f"{what} {result.landmark.name}: {counted(result.examples, 'example photo')} "
            f"({result.added} new); {counted(result.photos, 'catalogued photo', 'shows')} it now "
            f"(re-matched {result.rematch.photos} in {result.rematch.seconds:.1f} s)")
        if result.position is not None:
            say(position_line(result.position))


def learn(
    name: Annotated[str, typer.Argument(
        metavar="NAME", show_default=False,
        help="The landmark's name, e.g. \"Old Town Bridge\". A name photolm knows adds "
        "examples to it.")],
    photos: Annotated[list[Path], typer.Argument(
        metavar="PHOTOS", show_default=False,
        help="Example photos, or folders of them (as `photolm list` prints them, too).")],
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
    """Teach photolm a landmark from a few of your photos, then find it in all the others.

    Photos you scanned are not decoded again. Every catalogued photo is re-matched right
    away, so **search**, **list** and **tag** know the new landmark at once. Give more
    photos later with the same name to make it better; **unlearn** takes it back.
    """
    with reporting():
        run_learn(name, photos, aliases=alias, city=city, country=country, lat=lat,
                  lon=lon, model=model, catalog=catalog, device=device, json_out=json_out,
                  quiet=quiet, new=new)
