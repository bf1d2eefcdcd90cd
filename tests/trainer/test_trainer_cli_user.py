# SPDX-License-Identifier: GPL-3.0-or-later
"""What a user sees from the trainer commands on awkward data and options (CLI runner)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.trainer.test_trainer_cli import _invoke


def test_evaluate_names_empty_folders_of_its_data(trained_run: Path, tiny_data: Path,
                                                 tmp_path: Path) -> None:
    data = tmp_path / "more"
    shutil.copytree(tiny_data / "red_circle", data / "red_circle")
    (data / "blue_place").mkdir()
    code, _out, err = _invoke("evaluate", str(trained_run), str(data), "--out",
                              str(tmp_path / "ev"), "--prototypes", "head")
    assert code == 0, err
    assert "note:" in err and "more/blue_place" in err and "no photos" in err


def test_explain_says_plainly_that_a_photo_is_missing(trained_run: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jpg"
    code, _out, err = _invoke("explain", str(trained_run), str(missing), "--out",
                              str(tmp_path / "why.png"))
    assert code == 1
    assert err.strip() == f"Error: Cannot read {missing}: no such file or directory."


def test_a_file_that_is_no_checkpoint_is_named_so(tmp_path: Path) -> None:
    """Not torch's paragraph asking to file a torch issue."""
    fake = tmp_path / "fake.pt"
    fake.write_text("{'not': 'a checkpoint'}")
    code, _out, err = _invoke("evaluate", str(fake))
    assert code == 1
    assert err.startswith(f"Error: Cannot read checkpoint {fake}: not a trainer checkpoint")
    assert "file an issue" not in err and len(err.strip().splitlines()) == 1


def test_model_commands_take_threads_like_fit(trained_run: Path, tiny_data: Path,
                                             tmp_path: Path) -> None:
    """evaluate, clean, explain and tune accept --threads (a shared CPU needs it)."""
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        code, _out, err = _invoke("evaluate", str(trained_run), "--threads", "1",
                                  "--out", str(tmp_path / "ev"), "--prototypes", "head")
        assert code == 0, err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    for command in ("clean", "explain", "tune"):
        code, out, _err = _invoke(command, "--help")
        assert code == 0 and "--threads" in out, command


def test_resuming_a_run_that_stopped_early_says_so_instead_of_one_more_epoch(
        trained_run: Path, tmp_path: Path) -> None:
    import torch

    run = shutil.copytree(trained_run, tmp_path / "run")
    state = torch.load(run / "last.pt", weights_only=True)
    state["metrics"]["epochs_since_best"] = 2  # as if the last 2 epochs had not improved
    torch.save(state, run / "last.pt")
    epochs_logged = len((run / "log.jsonl").read_text().splitlines())

    code, _out, err = _invoke("fit", "--out", str(run), "--resume", "--epochs", "5",
                              "--patience", "2")
    assert code == 0, err
    assert "stopped early after 1 epoch: no better validation GAP for 2 epochs" in err
    assert "--patience" in err
    assert len((run / "log.jsonl").read_text().splitlines()) == epochs_logged


def test_a_config_file_that_does_not_parse_says_what_and_where(tmp_path: Path) -> None:
    config = tmp_path / "cpu.yaml"
    config.write_text("image_size: 160\nfreeze_stages: [4\n", encoding="utf-8")
    code, _out, err = _invoke("fit", str(tmp_path), "--out", str(tmp_path / "run"),
                              "--config", str(config))
    assert code == 1
    assert err.startswith(f"Error: Cannot parse config file {config}: expected ',' or ']'")
    assert "(line 3, column 1)" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_an_output_that_is_a_file_is_one_error_line(trained_run: Path, tiny_data: Path,
                                                    tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("keep")
    photo = next((tiny_data / "red_circle").glob("*.jpg"))
    for args in (["fit", str(tiny_data), "--out", str(taken)],
                 ["evaluate", str(trained_run), "--out", str(taken)],
                 ["eda", str(tiny_data), "--out", str(taken)],
                 ["clean", str(tiny_data), "--out", str(taken / "sub")],
                 ["explain", str(trained_run), str(photo), "--out", str(taken / "why.png")],
                 ["tune", str(tiny_data), "--out", str(taken)]):
        code, _out, err = _invoke(*args)
        assert code == 1, (args, err)
        assert err.startswith("Error:") and str(taken) in err, (args, err)
        assert len(err.strip().splitlines()) == 1, (args, err)
    assert taken.read_text() == "keep"


def test_fit_refuses_data_with_a_single_landmark(tiny_data: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data / "red_circle", data / "red_circle")
    code, _out, err = _invoke("fit", str(data), "--out", str(tmp_path / "run"),
                              "--backbone", "test_efficientnet", "--no-pretrained",
                              "--image-size", "64", "--workers", "0")
    assert code == 1
    assert err.startswith("Error: Only one landmark (Red Circle) in the data")
    assert not (tmp_path / "run" / "last.pt").exists()


def test_evaluate_and_clean_refuse_impossible_values_in_one_line(trained_run: Path,
                                                                 tiny_data: Path) -> None:
    for args, option in ((["evaluate", str(trained_run), "--threshold", "2"], "--threshold"),
                         (["evaluate", str(trained_run), "--batch-size", "0"], "--batch-size"),
                         (["clean", str(tiny_data), "--out", "x", "--batch-size", "0"],
                          "--batch-size"),
                         (["evaluate", str(trained_run), "--workers", "-1"], "--workers")):
        code, _out, err = _invoke(*args)
        assert code == 2, (args, err)
        assert f"Invalid value for '{option}'" in err, (args, err)


def test_resuming_a_run_that_ended_before_its_first_epoch_says_how_to_start_over(
        tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run killed before its first epoch ended (it cannot tidy up, as a failed one does)
    leaves config.json but no last.pt; --resume then says there is nothing to resume and
    the command that starts it over, and that command works."""
    import shlex

    from trainer import fit as fit_module
    from trainer.errors import TrainerError
    from trainer.unsaved_run import RunFolderBefore

    run = tmp_path / "run"
    tiny = ["--backbone", "test_efficientnet", "--no-pretrained", "--image-size", "64",
            "--embedding-dim", "32", "--batch-size", "8", "--epochs", "1",
            "--max-steps-per-epoch", "2", "--workers", "0", "--threads", "1"]

    def fails(*_args: object, **_kwargs: object) -> None:
        raise TrainerError("the machine went away")

    with monkeypatch.context() as patch:
        patch.setattr(fit_module._Trainer, "train_epoch", fails)
        patch.setattr(RunFolderBefore, "tidy", lambda _self: "")  # killed: no tidying
        code, _out, err = _invoke("fit", str(tiny_data), "--out", str(run), *tiny)
    assert code == 1 and "the machine went away" in err
    assert (run / "config.json").is_file() and not (run / "last.pt").exists()

    code, _out, err = _invoke("fit", "--out", str(run), "--resume")
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    start_over = f"trainer fit --config {run / 'config.json'} --out {run}"
    assert err.strip() == (f"Error: Nothing to resume in {run}: it holds no last.pt (the run "
                           f"ended before its first epoch did). Start it over with: "
                           f"{start_over}")
    code, _out, err = _invoke(*shlex.split(start_over)[1:])
    assert code == 0, err
    assert (run / "last.pt").is_file()

    empty = tmp_path / "empty"  # a run refused before it wrote anything
    empty.mkdir()
    code, _out, err = _invoke("fit", "--out", str(empty), "--resume")
    assert code == 1 and err.strip().endswith(f"Start it over with: trainer fit DATA... "
                                              f"--out {empty}")


def test_threads_default_is_what_help_says_all_usable_cores(
        trained_run: Path, tiny_data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --threads, evaluate, clean, explain and tune run torch on every core this
    process may use, as their --help says, whatever torch's own default was (physical
    cores, $OMP_NUM_THREADS, a value left by an earlier command)."""
    import os

    import torch

    for command in ("evaluate", "clean", "explain", "tune"):
        code, out, _err = _invoke(command, "--help")
        assert code == 0 and "[default: all usable cores]" in " ".join(out.split()), command
    photo = next((tiny_data / "red_circle").glob("*.jpg"))

    def runs(out: Path) -> dict[str, list[str]]:
        return {
            "evaluate": ["evaluate", str(trained_run), "--out", str(out / "ev"),
                         "--prototypes", "head"],
            "clean": ["clean", str(tiny_data), "--out", str(out / "clean"),
                      "--checkpoint", str(trained_run / "best.pt")],
            "explain": ["explain", str(trained_run), str(photo), "--out", str(out / "w.png")],
            "tune": ["tune", str(tiny_data), "--out", str(out / "tune"), "--trials", "1",
                     "--epochs", "1", "--max-steps-per-epoch", "1", "--params", "lr",
                     "--backbone", "test_efficientnet", "--no-pretrained", "--image-size",
                     "64", "--batch-size", "8", "--workers", "0", "--device", "cpu"],
        }

    before = torch.get_num_threads()
    try:
        for usable in ({0}, {0, 1, 2}):  # the cores the process may use, as the OS says
            monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, cores=usable: cores)
            for command, args in runs(tmp_path / str(len(usable))).items():
                torch.set_num_threads(2 if len(usable) == 1 else 1)  # torch's own, elsewhere
                code, _out, err = _invoke(*args)
                assert code == 0, (command, err)
                assert torch.get_num_threads() == len(usable), command
    finally:
        torch.set_num_threads(before)


def test_fit_ends_by_naming_the_export_command(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The retraining loop's next step, with the checkpoint quoted for the shell."""
    from trainer import cli as trainer_cli

    best = tmp_path / "my runs" / "best.pt"

    class Result:
        run_dir, last, best_gap, epochs_done, stopped_early = (
            best.parent, best.parent / "last.pt", 0.5, 1, False)

    Result.best = best  # type: ignore[attr-defined]
    monkeypatch.setattr(trainer_cli, "_run_fit", lambda config, resume: Result())
    code, _out, err = _invoke("fit", str(tmp_path), "--out", str(best.parent))
    assert code == 0, err
    assert err.strip().splitlines()[-1] == (
        f"best: {best} (val GAP 0.5000); export it with: photolm-export '{best}' --out "
        "BUNDLE --distractors NON_LANDMARK_PHOTOS")


@pytest.mark.parametrize(("rows", "says"), [
    ("red_circle,Red,,,,48.85,2.35\nblue_triangle,Blue,,,,,\nred_circle,Rouge,,,,,\n",
     "line 4: folder 'red_circle' is already described on line 2; keep one row per folder."),
    ("red_circle,Red,,,,48.85,\n",
     "line 2: a latitude without a longitude; give both or neither."),
    ("red_circle,Red,,,,,2.35\n",
     "line 2: a longitude without a latitude; give both or neither."),
    ("blue_triangle,Blue,,,,,\nred_circle,Red,,,,north,2.35\n",
     "line 3: latitude 'north' is not a number; fix or blank it."),
    ("red_circle,Red,,,,nan,2.35\n", "line 2: latitude nan is outside [-90, 90]."),
    ("red_circle,Red,,,,91,2.35\n", "line 2: latitude 91 is outside [-90, 90]."),
    ("blue_triangle,Blue,,,,,\nred_circle,Red,,,,48.85,181\n",
     "line 3: longitude 181 is outside [-180, 180]."),
], ids=["duplicate folder", "latitude alone", "longitude alone", "not a number", "nan",
        "latitude 91", "longitude 181"])
def test_a_classes_csv_that_says_two_things_is_refused_with_its_line(
        rows: str, says: str, dataset_factory, tmp_path: Path) -> None:
    """Which of two rows for one folder wins, or half a place, is nowhere written: say
    where the table is wrong instead of training on a guess."""
    data = dataset_factory(tmp_path / "shapes", per_class=2)
    csv_file = data / "classes.csv"
    csv_file.write_text("folder,name,aliases,city,country,latitude,longitude\n" + rows,
                        encoding="utf-8")
    code, _out, err = _invoke("fit", str(data), "--out", str(tmp_path / "run"))
    assert code == 1
    assert err.strip() == f"Error: {csv_file}, {says}"
    assert not (tmp_path / "run" / "last.pt").exists()


def test_a_landmark_with_no_decodable_photo_stops_the_run_after_its_first_epoch(
        tiny_data: Path, tiny: dict, tmp_path: Path) -> None:
    """Its photos are skipped one by one, but the export could give it no prototype: the
    run stops once they have all been tried, not after the last epoch."""
    import json

    data = shutil.copytree(tiny_data, tmp_path / "data")
    (data / "junk").mkdir()
    for name in ("a.jpg", "b.png", "c.jpg"):
        (data / "junk" / name).write_bytes(b"not a photo at all")
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps({**tiny, "epochs": 3, "max_steps_per_epoch": None}))
    run = tmp_path / "run"

    code, _out, err = _invoke("fit", str(data), "--out", str(run), "--config", str(config))

    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"Error: No training photo of Junk could be decoded (listed in {run / 'bad_images.txt'}"
        "), so photolm-export could make no prototype for it: fix or remove those photos, "
        f"then start the run again. Removed the files this run wrote in {run}, all but "
        "bad_images.txt: it held no checkpoint.")
    assert "epoch 1:" not in err
    assert [p.name for p in run.iterdir()] == ["bad_images.txt"]  # the photos to fix
    assert f"{data / 'junk'}/" in (run / "bad_images.txt").read_text()


def test_a_fresh_run_in_the_same_folder_starts_its_bad_images_list_over(
        tiny_data: Path, tiny: dict, tmp_path: Path) -> None:
    """A run that stopped on a landmark without one decodable photo leaves bad_images.txt
    to fix from; the next fresh run in that folder appended to it, so it listed photos
    fixed since. A fresh run starts it (and log.jsonl) over; a resumed one goes on with it,
    a photo it lists already not written twice."""
    import json

    from trainer.fit import read_log

    data = shutil.copytree(tiny_data, tmp_path / "data")
    (data / "junk").mkdir()
    for name in ("a.jpg", "b.png", "c.jpg"):
        (data / "junk" / name).write_bytes(b"not a photo at all")
    config = tmp_path / "tiny.json"
    # one batch an epoch holds every training photo: each epoch meets the broken one
    config.write_text(json.dumps({**tiny, "max_steps_per_epoch": None, "batch_size": 64}))
    run = tmp_path / "run"
    code, _out, err = _invoke("fit", str(data), "--out", str(run), "--config", str(config))
    assert code == 1 and "No training photo of Junk" in err, err
    assert f"{data / 'junk'}/" in (run / "bad_images.txt").read_text()
    (run / "log.jsonl").write_text('{"epoch": 1, "from": "a run killed before"}\n')

    shutil.rmtree(data / "junk")  # fixed: the run starts again, fresh, in the same folder
    code, _out, err = _invoke("fit", str(data), "--out", str(run), "--config", str(config))
    assert code == 0, err
    listed = (run / "bad_images.txt").read_text()
    assert [line.split("\t")[0] for line in listed.splitlines()] == [
        str(data / "green_square" / "broken.jpg")], listed
    assert [r["epoch"] for r in read_log(run)] == [1] and "from" not in read_log(run)[0]

    newly = data / "red_circle" / "00.jpg"  # broken since: the resumed run adds it
    newly.write_bytes(b"broken after the first run")
    code, _out, err = _invoke("fit", "--out", str(run), "--resume", "--epochs", "2")
    assert code == 0, err
    assert "broken.jpg" in err  # said again, listed once
    assert (run / "bad_images.txt").read_text().startswith(listed)
    assert [line.split("\t")[0] for line in (run / "bad_images.txt").read_text().splitlines()
            ] == [str(data / "green_square" / "broken.jpg"), str(newly)]
    assert [r["epoch"] for r in read_log(run)] == [1, 2]


def test_weights_that_do_not_fit_their_config_say_what_does_not_fit(
        trained_run: Path, tmp_path: Path) -> None:
    import torch

    state = torch.load(trained_run / "best.pt", weights_only=True)
    state["config"]["embedding_dim"] = 2 * state["config"]["embedding_dim"]
    edited = tmp_path / "edited.pt"
    torch.save(state, edited)
    code, _out, err = _invoke("evaluate", str(edited))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert err.startswith(f"Error: {edited}: model weights do not fit its config (size "
                          "mismatch for ")


def test_a_folder_of_heic_photos_is_not_called_empty(tiny_data: Path, tmp_path: Path) -> None:
    """Its photos are there, in a format the trainer does not read: the note says which."""
    data = shutil.copytree(tiny_data, tmp_path / "data")
    (data / "iphone").mkdir()
    (data / "iphone" / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    code, out, err = _invoke("eda", str(data), "--out", str(tmp_path / "eda"))
    assert code == 0, err
    assert (f"note: skipped 1 folder with no photos in a format the trainer reads (JPEG, PNG, "
            f"WebP, BMP, TIFF; not HEIC or RAW): {data.name}/iphone") in out.splitlines()


def test_a_classes_csv_row_whose_folder_is_not_there_is_named_with_its_line(
        dataset_factory, tmp_path: Path) -> None:
    """A typo in the folder column would train the landmark under its folder's name, without
    the row's aliases and place, and say nothing. A row for a folder that is there but empty
    is not named twice: the empty folder has its own note."""
    data = dataset_factory(tmp_path / "shapes", per_class=2)
    (data / "empty_one").mkdir()
    csv_file = data / "classes.csv"
    csv_file.write_text("folder,name,aliases,city,country,latitude,longitude\n"
                        "red_circle,Red Circle,,,,,\n"
                        "green_sqaure,Green Square,Vert,Paris,France,48.85,2.35\n"
                        "empty_one,Empty,,,,,\n", encoding="utf-8")
    code, out, err = _invoke("eda", str(data), "--out", str(tmp_path / "eda"))
    assert code == 0, err
    notes = [line for line in out.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: skipped 1 folder with no photos in a format the trainer reads (JPEG, PNG, WebP, "
        "BMP, TIFF; not HEIC or RAW): shapes/empty_one",
        f"note: {csv_file}: no folder for the row on line 3 (green_sqaure); it describes no "
        "landmark (check the folder names)."]


def test_rows_of_a_shared_table_each_find_their_source_folder(
        dataset_factory, tmp_path: Path) -> None:
    """root/<source>/<landmark>: rows in the root's table and in a source's own table that
    name folders under the sources are used, so nothing is said about them."""
    data = tmp_path / "sets"
    dataset_factory(data / "famous", per_class=2,
                    classes={"red_circle": ("ellipse", (220, 30, 30)),
                             "green_square": ("rectangle", (30, 200, 40))})
    dataset_factory(data / "more", per_class=2,
                    classes={"blue_triangle": ("polygon", (30, 60, 220))})
    (data / "classes.csv").write_text("source,folder,name\nfamous,red_circle,Red\n"
                                      ",blue_triangle,Blue\nmore,gone,Gone\n", encoding="utf-8")
    (data / "famous" / "classes.csv").write_text("folder,name\ngreen_square,Green\n",
                                                 encoding="utf-8")
    code, out, err = _invoke("eda", str(data), "--out", str(tmp_path / "eda"))
    assert code == 0, err
    assert [line for line in out.splitlines() if line.startswith("note:")] == [
        f"note: {data / 'classes.csv'}: no folder for the row on line 4 (more/gone); it "
        "describes no landmark (check the folder names)."]
