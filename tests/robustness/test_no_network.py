# SPDX-License-Identifier: GPL-3.0-or-later
"""photolm never talks to the network: every registered command (scan, search, list,
landmarks, info, confirm, tag, untag) runs with every socket operation recorded and refused.

Two layers: in-process with the socket API patched (fast, catches calls made at run time),
and a fresh interpreter with a ``sys.addaudithook`` installed before photolm is imported
(catches import-time calls and anything that swallows the error), run inside an empty
network namespace (``unshare -n``) where the platform allows it, so native code that bypasses
Python's socket module would fail too.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.robustness.helpers import RUN_COMMANDS, cli
from tests.tinybundle import COLOURS, write_photo


def _commands(photos: Path) -> list[list[str]]:
    # Tagging writes for real (sidecars, then embedded) and removes again; the rest read.
    return [["scan", str(photos), "--json"], ["search", "Eiffel Tower", "--json"],
            ["search", "paris"], ["list", "--json"], ["landmarks", "--json"],
            ["info", "--json"], ["scan", str(photos), "--force"],
            ["confirm", str(photos / "eiffel-tower.jpg"), "--landmark", "eifel tower"],
            ["tag", "--json"], ["tag", "--embed", "--dry-run"], ["untag", "--json"],
            ["scan", str(photos), "--write-tags", "--embed", "--json"], ["untag"],
            ["list", "--uncertain"], ["prune", "--dry-run", "--json"], ["prune"],
            ["learn", "Home Church", str(photos / "taj-mahal.jpg"), "--json"],
            ["places", "--json"], ["export-dataset", str(photos.parent / "dataset")],
            ["unlearn", "Home Church", "--json"]]


def test_tag_command_is_covered(tmp_path: Path) -> None:
    from photolm.cli.app import app

    registered = {c.name for c in app.registered_commands}
    covered = {command[0] for command in _commands(tmp_path)}
    # `serve` listens on a loopback socket by design; tests/desktop checks that it binds
    # 127.0.0.1, that its pages make no outbound call and load nothing from elsewhere.
    listening = {"serve"}
    missing = sorted(registered - listening - covered)
    assert not missing, f"add {missing} to _commands()"


@pytest.fixture
def library(tmp_path: Path, tiny_bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    photos = tmp_path / "photos"
    for name, colour in COLOURS.items():
        write_photo(photos / f"{name}.jpg", colour)
    monkeypatch.setenv("PHOTOLM_MODEL", str(tiny_bundle_dir))
    monkeypatch.setenv("PHOTOLM_CATALOG", str(tmp_path / "cat.sqlite"))
    return photos


def test_commands_make_no_network_call_in_process(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def refuse(name: str):  # type: ignore[no-untyped-def]
        def blocked(*args, **kwargs):  # type: ignore[no-untyped-def]
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"network access attempted in a test: {name}")
        return blocked

    real_init = socket.socket.__init__

    def guarded_init(self, family=-1, *args, **kwargs):  # type: ignore[no-untyped-def]
        if family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(f"socket(family={family})")
            raise OSError("network socket created in a test")
        real_init(self, family, *args, **kwargs)

    for name in ("connect", "connect_ex", "sendto", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse(f"socket.{name}"))
    monkeypatch.setattr(socket.socket, "__init__", guarded_init)
    for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                 "gethostbyaddr", "getnameinfo"):
        monkeypatch.setattr(socket, name, refuse(name))
    for command in _commands(library):
        code, _, err = cli(*command)
        assert code == 0, (command, err)
    assert attempts == []


AUDITED = r"""
import json, os, sys
attempts = []
def hook(event, args):
    if event.startswith("socket.") and event not in ("socket.sethostname",):
        attempts.append([event, repr(args)[:200]])
sys.addaudithook(hook)
commands = json.loads(sys.argv[1])
""" + RUN_COMMANDS + r"""
with open(os.environ["AUDIT_OUT"], "w") as handle:
    json.dump({"codes": codes, "attempts": attempts}, handle)
"""


def _network_namespace() -> list[str]:
    """``unshare -n`` where it works (root on Linux, CI included); else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        return []
    try:
        ok = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [unshare, "-n"] if ok.returncode == 0 else []


# Variables under which onnxruntime keeps no telemetry by itself: its two opt-outs (the name
# changed after 1.32), CI markers it honours, and a cache folder elsewhere.
NOT_TELEMETRY = ("ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED", "ORT_RUNNING_UNIT_TESTS",
                 "XDG_CACHE_HOME", "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI",
                 "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION",
                 "APPVEYOR", "BITBUCKET_BUILD_NUMBER", "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI")


def _clean_home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A home folder of its own and an environment that does not turn telemetry off."""
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in NOT_TELEMETRY}
    return home, {**env, "HOME": str(home)}


def _telemetry_store(home: Path) -> list[str]:
    """What onnxruntime's 1DS telemetry leaves: a device id and a queue of events to upload
    (~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db})."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*")
                  if "Microsoft" in p.parts or ".onnxruntime" in p.parts)


def test_onnxruntime_on_its_own_keeps_a_telemetry_store(tmp_path: Path) -> None:
    """The check below can fail: imported without photolm, this onnxruntime starts its
    telemetry (skipped for an onnxruntime that has none, where there is nothing to stop)."""
    home, env = _clean_home(tmp_path)
    res = subprocess.run([sys.executable, "-c", "import onnxruntime"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    if not _telemetry_store(home):
        pytest.skip("this onnxruntime keeps no telemetry store: nothing for photolm to stop")


@pytest.mark.parametrize("code", [
    "import photolm.runtime as r; r.import_onnxruntime()",
    "import export, onnxruntime",
    "from export import quantize, descriptor; import onnxruntime",
    "import photolm.cli.app, onnxruntime",
])
def test_every_entry_point_turns_onnxruntime_telemetry_off(tmp_path: Path, code: str) -> None:
    home, env = _clean_home(tmp_path)
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert _telemetry_store(home) == []


def test_fresh_interpreter_without_network_makes_no_socket_call(
    library: Path, tmp_path: Path
) -> None:
    """... and leaves nothing queued for later either: onnxruntime's telemetry writes its
    events to disk for upload when a network is there (a scan on a laptop offline now)."""
    report = tmp_path / "audit.json"
    commands = _commands(library)
    home, env = _clean_home(tmp_path)
    env["AUDIT_OUT"] = str(report)
    res = subprocess.run([*_network_namespace(), sys.executable, "-c", AUDITED,
                          json.dumps(commands)], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    result = json.loads(report.read_text())
    assert result["codes"] == [0] * len(commands), res.stderr
    assert result["attempts"] == []
    assert _telemetry_store(home) == []


def test_the_trainer_keeps_the_model_hub_offline(tmp_path: Path) -> None:
    """timm brings huggingface_hub; the trainer turns its offline switch on before timm is
    imported, so a request made by mistake fails at once instead of downloading."""
    _, env = _clean_home(tmp_path)
    env = {k: v for k, v in env.items() if not k.startswith("HF_")}
    code = ("import trainer.weights, huggingface_hub.constants as c; "
            "print(c.HF_HUB_OFFLINE, c.HF_HUB_DISABLE_TELEMETRY)")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]
