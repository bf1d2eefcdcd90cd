# SPDX-License-Identifier: GPL-3.0-or-later
"""Dataset discovery, label-space merging and the deterministic stratified split."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from trainer.config import parse_split
from trainer.data import DatasetIndex, discover, split_dataset
from trainer.errors import DataError


def test_discovers_nested_sources_and_merges_by_display_name(tmp_path, dataset_factory):
    flat = dataset_factory(tmp_path / "flat", per_class=3,
                           classes={"taj_mahal": ("ellipse", (250, 250, 250))})
    (flat / "classes.csv").write_text(
        "folder,name,aliases,city,country,latitude,longitude\n"
        "taj_mahal,Taj Mahal,,Agra,India,27.1751,78.0421\n", encoding="utf-8")
    nested = tmp_path / "nested"
    dataset_factory(nested / "src_a", per_class=2,
                    classes={"Taj_Mahal": ("ellipse", (1, 1, 1)),
                             "Big_Ben": ("polygon", (9, 9, 9))})
    dataset_factory(nested / "src_b", per_class=2, classes={"TajM": ("rectangle", (5, 5, 5))})
    (nested / "classes.csv").write_text(
        "source,folder,name,aliases,city,country,latitude,longitude\n"
        "src_a,Taj_Mahal,Taj Mahal,Taj;Tajmahal,Agra,India,27.1751,78.0421\n"
        "src_b,TajM,Taj Mahal,Crown of Palaces,,,,\n", encoding="utf-8")

    index = discover([flat, nested])

    ids = [c.id for c in index.classes]
    assert ids == ["big-ben", "taj-mahal"]  # sorted ids; folder-derived name for Big_Ben
    taj = index.classes[1]
    assert taj.name == "Taj Mahal" and taj.city == "Agra" and taj.latitude == pytest.approx(27.1751)
    assert taj.aliases == ("Taj", "Tajmahal", "Crown of Palaces")
    assert index.classes[0].name == "Big Ben" and index.classes[0].city is None
    assert index.class_counts() == [2, 3 + 2 + 2]
    assert all(Path(s.path).is_absolute() for s in index.samples)


def test_reads_google_landmarks_v2_layout(tmp_path, dataset_factory):
    root = tmp_path / "gldv2"
    ids = {"7": ["abc0001", "abd0002"], "42": ["f000003"]}
    rows = ["id,url,landmark_id"]
    for landmark, images in ids.items():
        for image_id in images:
            rows.append(f"{image_id},http://example.invalid/{image_id},{landmark}")
            target = root / "train" / image_id[0] / image_id[1] / image_id[2] / f"{image_id}.jpg"
            dataset_factory(tmp_path / "tmp", per_class=1,
                            classes={"x": ("ellipse", (1, 2, 3))})
            target.parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "tmp" / "x" / "00.jpg").rename(target)
    rows.append("zzz9999,http://example.invalid/missing,42")  # listed but not downloaded
    (root / "train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "train_label_to_category.csv").write_text(
        "landmark_id,category\n7,http://commons.wikimedia.org/wiki/Category:Happy_Valley\n",
        encoding="utf-8")

    index = discover([root])

    names = {c.name: index.class_counts()[i] for i, c in enumerate(index.classes)}
    assert names == {"Happy Valley": 2, "GLDv2 landmark 42": 1}
    assert any("not on disk" in note for note in index.notes)


def test_file_list_and_exclude_list_filter_photos(tiny_data, tmp_path):
    everything = discover([tiny_data])
    keep = [s.path for s in everything.samples][:10]
    (tmp_path / "keep.txt").write_text("\n".join(keep) + "\n", encoding="utf-8")
    (tmp_path / "drop.txt").write_text(keep[0] + "\n", encoding="utf-8")
    filtered = discover([tiny_data], file_list=tmp_path / "keep.txt",
                        exclude_list=tmp_path / "drop.txt")
    assert sorted(s.path for s in filtered.samples) == sorted(keep[1:])


def test_missing_root_is_a_one_line_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        discover([tmp_path / "nope"])


def _index(sizes: dict[str, int], tmp: Path, dataset_factory) -> DatasetIndex:
    classes = {name: ("ellipse", (i, i, i)) for i, name in enumerate(sizes)}
    root = tmp / "split"
    for name, count in sizes.items():
        dataset_factory(root, per_class=count, classes={name: classes[name]})
    return discover([root])


def test_split_is_deterministic_stratified_and_reports_small_classes(tmp_path, dataset_factory):
    index = _index({"big": 20, "mid": 10, "tiny": 2}, tmp_path, dataset_factory)
    val, holdout = parse_split("72/18/10")
    assert (val, holdout) == pytest.approx((0.18, 0.10))

    first = split_dataset(index, val_ratio=val, holdout_ratio=holdout, seed=3)
    shuffled = DatasetIndex(index.classes, random.Random(1).sample(index.samples,
                                                                   len(index.samples)),
                            index.roots)
    again = split_dataset(shuffled, val_ratio=val, holdout_ratio=holdout, seed=3)
    other_seed = split_dataset(index, val_ratio=val, holdout_ratio=holdout, seed=4)

    def paths(part):
        return sorted(s.path for s in part)

    for name in ("train", "val", "holdout"):
        assert paths(first.part(name)) == paths(again.part(name))  # order-independent
    assert paths(first.val) != paths(other_seed.val)
    assert not set(paths(first.train)) & set(paths(first.val) + paths(first.holdout))
    assert not set(paths(first.val)) & set(paths(first.holdout))
    assert len(first.train) + len(first.val) + len(first.holdout) == len(index.samples)

    def per_class(part):
        counts = {c.name: 0 for c in index.classes}
        for sample in part:
            counts[index.classes[sample.label].name] += 1
        return counts

    # round(20 * .18) = 4 val, round(20 * .1) = 2 holdout; 10 -> 2 and 1; "tiny" stays in train
    assert per_class(first.val) == {"Big": 4, "Mid": 2, "Tiny": 0}
    assert per_class(first.holdout) == {"Big": 2, "Mid": 1, "Tiny": 0}
    assert first.too_small == ["Tiny"]


def test_taj_mahal_merges_across_the_shared_sources(shared_data):
    sources = [shared_data / "wonders" / "taj_mahal"] + [
        shared_data / "landmarks-extra" / s / "Taj_Mahal"
        for s in ("historical13", "famous10", "indian24")
    ]
    expected = sum(len(list(folder.glob("*.jpg"))) for folder in sources)

    index = discover([shared_data / "wonders", shared_data / "landmarks-extra"])

    taj = [i for i, c in enumerate(index.classes) if "taj" in c.name.lower()]
    assert len(taj) == 1
    info = index.classes[taj[0]]
    assert (info.id, info.name, info.city, info.country) == ("taj-mahal", "Taj Mahal",
                                                             "Agra", "India")
    assert {"Taj", "Tajmahal"} <= set(info.aliases)
    assert index.class_counts()[taj[0]] == expected
    keys = {s.key.split("/")[1] for s in index.samples if s.label == taj[0]}
    assert keys == {"taj_mahal", "historical13", "famous10", "indian24"}
    # Other landmarks shared between the sets are single classes too.
    names = [c.name for c in index.classes]
    assert names.count("Colosseum") == 1 and names.count("Christ the Redeemer") == 1


def test_empty_class_folders_are_named_not_skipped_silently(tmp_path, dataset_factory):
    flat = dataset_factory(tmp_path / "flat", per_class=2,
                           classes={"big_ben": ("polygon", (9, 9, 9))})
    (flat / "eiffel_tower").mkdir()
    nested = tmp_path / "nested"
    dataset_factory(nested / "src_a", per_class=2, classes={"taj": ("ellipse", (1, 1, 1))})
    (nested / "src_a" / "colosseum").mkdir()

    index = discover([flat, nested])

    assert [c.id for c in index.classes] == ["big-ben", "taj"]
    assert any("flat/eiffel_tower" in n and "no photos" in n for n in index.notes), index.notes
    assert any("nested/src_a/colosseum" in n for n in index.notes), index.notes


def test_a_photo_added_to_a_class_is_a_changed_dataset(trained_run, tiny_data, tmp_path):
    """A checkpoint records which photo went where; rebuilding its split checks that, so
    export and evaluate never use a silently different split (docs/export.md)."""
    import shutil

    from trainer.checkpoint import load_checkpoint
    from trainer.data import split_from_config

    ckpt = load_checkpoint(trained_run)
    assert ckpt.photos_sha256 == split_from_config(ckpt.config).photos_sha256()

    data = shutil.copytree(tiny_data, tmp_path / tiny_data.name)
    config = {**ckpt.config_dict, "data": [str(data)]}
    split_from_config(config, expected_photos=ckpt.photos_sha256)  # moved folder: same split
    shutil.copy(data / "red_circle" / "00.jpg", data / "red_circle" / "00-copy.jpg")
    with pytest.raises(DataError, match="photos in the dataset folders changed"):
        split_from_config(config, expected_classes=ckpt.classes,
                          expected_photos=ckpt.photos_sha256)


def test_an_exclude_list_naming_photos_elsewhere_says_so(tmp_path, dataset_factory):
    data = dataset_factory(tmp_path / "flat", per_class=2,
                           classes={"big_ben": ("polygon", (9, 9, 9))})
    listed = tmp_path / "outliers.txt"
    elsewhere = tmp_path / "moved" / "big_ben" / "00.jpg"
    listed.write_text(f"{elsewhere}\n{data / 'big_ben' / '01.jpg'}\n")
    index = discover([data], exclude_list=listed)
    assert len(index.samples) == 1
    assert any("The exclude list names 1 photo not under the dataset" in n
               for n in index.notes), index.notes


def test_landmarks_named_in_other_scripts_stay_separate_classes(tmp_path, dataset_factory):
    """Folders named in Chinese or Cyrillic (or `photolm export-dataset`'s classes.csv naming
    a learned "老桥") are each their own landmark, not one class merged under one id; a second
    root's aliases in those scripts are kept, and a Latin letter with no ASCII base is
    spelled in ASCII ("Ø" -> "o")."""
    first = dataset_factory(tmp_path / "mine", per_class=2,
                            classes={"老桥": ("ellipse", (200, 20, 20)),
                                     "新桥": ("rectangle", (20, 200, 20)),
                                     "Кремль": ("polygon", (20, 20, 200)),
                                     "Øresund Bridge": ("ellipse", (9, 9, 9))})
    second = dataset_factory(tmp_path / "more", per_class=2,
                             classes={"kremlin": ("polygon", (20, 20, 201))})
    (second / "classes.csv").write_text(
        "folder,name,aliases\nkremlin,Кремль,Московский Кремль;Kremlin\n", encoding="utf-8")

    index = discover([first, second])

    by_name = {c.name: c for c in index.classes}
    assert sorted(by_name) == ["Øresund Bridge", "Кремль", "新桥", "老桥"]
    assert len({c.id for c in index.classes}) == 4
    assert by_name["Øresund Bridge"].id == "oresund-bridge"
    assert by_name["Кремль"].aliases == ("Московский Кремль", "Kremlin")
    assert index.class_counts()[index.classes.index(by_name["Кремль"])] == 4


@pytest.mark.parametrize(("name", "ids"), [
    ("Wrocław Hall", ("wroclaw-hall", "wroc-aw-hall")),
    ("Pałac Kultury", ("palac-kultury", "pa-ac-kultury")),
    ("Smørrebrød Hall", ("smorrebrod-hall", "sm-rrebr-d-hall")),
    ("Ærøskøbing", ("aeroskobing", "r-sk-bing")),
    ("Øresund Bridge", ("oresund-bridge", "resund-bridge")),
    ("Kadıköy Pier", ("kadikoy-pier", "kad-koy-pier")),
    ("Þingvellir", ("thingvellir", "ingvellir")),
    ("Đà Nẵng Bridge", ("da-nang-bridge", "a-nang-bridge")),
    ("Øresund 大桥", ("oresund-大桥", "resund-大桥", "resund")),
    # no such letter: the id every earlier run gave, and no other
    ("Straße des 17. Juni", ("strasse-des-17-juni",)), ("Chichén Itzá", ("chichen-itza",)),
    ("Humayun's Tomb", ("humayuns-tomb",)), ("Saint-Basil's", ("saint-basils",)),
    ("İstanbul Modern", ("istanbul-modern",))])
def test_latin_letters_are_spelled_and_the_earlier_ids_are_known(
        name: str, ids: tuple[str, ...]) -> None:
    """"Øresund Bridge" is "oresund-bridge" (one class with "Oresund Bridge"), where NFKD
    alone dropped the Ø ("resund-bridge"); class_ids lists the ids earlier runs gave, which
    their checkpoints and bundles hold (review: "Wrocław Hall" once became "wrocaw-hall",
    and the run no longer exported). A name without such a letter keeps its id."""
    from trainer.data import class_ids, normalise_name

    assert normalise_name(name) == ids[0]
    assert class_ids(name) == ids


def test_a_name_spelled_with_or_without_its_letters_is_one_class(tmp_path, dataset_factory):
    first = dataset_factory(tmp_path / "mine", per_class=2,
                            classes={"Øresund Bridge": ("ellipse", (9, 9, 9))})
    second = dataset_factory(tmp_path / "more", per_class=2,
                             classes={"oresund": ("ellipse", (9, 9, 10))})
    (second / "classes.csv").write_text("folder,name\noresund,Oresund Bridge\n",
                                        encoding="utf-8")
    index = discover([first, second])
    assert [(c.id, c.name) for c in index.classes] == [("oresund-bridge", "Øresund Bridge")]
    assert index.class_counts() == [4]


def test_a_run_from_before_latin_spellings_rebuilds_its_split_exactly(tmp_path,
                                                                    dataset_factory):
    """A checkpoint trained when "Øresund Bridge" was "resund-bridge" (sorted after
    "pont-neuf", so with another label) and "Øresund 大桥" "resund-大桥" gets its own
    split back: the same ids, label order and photos per part as before the change."""
    from trainer.data import _ID_RULE, UNSPELLED_IDS, split_from_config

    root = dataset_factory(tmp_path / "mine", per_class=5,
                           classes={"Øresund Bridge": ("ellipse", (200, 20, 20)),
                                    "Pont Neuf": ("rectangle", (20, 200, 20)),
                                    "Øresund 大桥": ("polygon", (20, 20, 200))})
    config = {"data": [str(root)], "val_ratio": 0.2, "holdout_ratio": 0.2, "seed": 0}
    token = _ID_RULE.set(UNSPELLED_IDS)  # the split as that run made it
    try:
        before = split_from_config(config)
    finally:
        _ID_RULE.reset(token)
    old_ids = ["pont-neuf", "resund-bridge", "resund-大桥"]
    assert [c.id for c in before.index.classes] == old_ids
    assert [c.id for c in split_from_config(config).index.classes] == [
        "oresund-bridge", "oresund-大桥", "pont-neuf"]

    split = split_from_config(config, expected_classes=[{"id": i} for i in old_ids],
                              expected_photos=before.photos_sha256())

    assert [c.id for c in split.index.classes] == old_ids
    for part in ("train", "val", "holdout"):
        assert [(s.path, s.label) for s in split.part(part)] == \
            [(s.path, s.label) for s in before.part(part)], part


def test_a_run_from_before_non_latin_ids_still_rebuilds_its_split(tmp_path, dataset_factory):
    """A run trained when "老桥" became the id "unnamed" (its checkpoint's class table says
    so) still exports and resumes: its split is rebuilt under the ids it was trained with, in
    its label order; a data set that really changed is still refused."""
    from trainer.data import split_from_config

    root = dataset_factory(tmp_path / "mine", per_class=4,
                           classes={"老桥": ("ellipse", (200, 20, 20)),
                                    "zoo": ("rectangle", (20, 200, 20))})
    config = {"data": [str(root)], "val_ratio": 0.25, "seed": 0}
    assert [c.id for c in split_from_config(config).index.classes] == ["zoo", "老桥"]

    split = split_from_config(config, expected_classes=[{"id": "unnamed"}, {"id": "zoo"}])

    assert [(c.id, c.name) for c in split.index.classes] == [("unnamed", "老桥"), ("zoo", "Zoo")]
    assert {Path(s.path).parent.name for s in split.index.samples if s.label == 0} == {"老桥"}
    with pytest.raises(DataError, match="no longer match"):
        split_from_config(config, expected_classes=[{"id": "unnamed"}, {"id": "yak"}])


def test_a_run_from_before_mixed_script_ids_still_rebuilds_its_split(tmp_path,
                                                                    dataset_factory):
    """"Tokyo Tower 東京タワー" was "tokyo-tower" before ids kept other scripts: such a run
    still rebuilds its split (review: the fallback ran only for an "unnamed" id)."""
    from trainer.data import split_from_config

    root = dataset_factory(tmp_path / "mine", per_class=4,
                           classes={"Tokyo Tower 東京タワー": ("ellipse", (200, 20, 20)),
                                    "zoo": ("rectangle", (20, 200, 20))})
    config = {"data": [str(root)], "val_ratio": 0.25, "seed": 0}
    assert [c.id for c in split_from_config(config).index.classes] == [
        "tokyo-tower-東京タワー", "zoo"]
    split = split_from_config(config, expected_classes=[{"id": "tokyo-tower"}, {"id": "zoo"}])
    assert [c.id for c in split.index.classes] == ["tokyo-tower", "zoo"]
