#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Privacy audit by observation: what every photolm, trainer and export command writes
outside the paths it was given, and every network call it tries.

Each command runs under ``strace -f -e trace=file,network`` in an empty network namespace
(``unshare -n``, loopback up so ``serve`` can be fetched), with a fresh empty HOME, no
``XDG_*`` variables, a fresh TMPDIR and an empty working folder, as a user's first run
would. The report lists, per command, every file created or written (grouped: under HOME,
TMPDIR, the working folder, the folders given to it, elsewhere), every write that was
refused (a library trying to create a cache), every socket other than a local one and every
connect/bind/send, and what was left in TMPDIR. A scan and a tag run are also stopped with
Ctrl-C (SIGINT) to see what they leave behind. docs/guarantees.md holds the result.

    sudo-or-root$ nice -n 10 python scripts/privacy_audit.py [--only scan,serve] [--json F]

Needs Linux, root (for ``unshare -n``), strace, the shared photos (../shared/data) and the
``[cpu,train,desktop]`` extras. About 4 minutes on 2 cores (the grep of site-packages and
the trainer steps dominate).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PY = sys.executable
CLASSES = ("eiffel_tower", "taj_mahal", "roman_colosseum")
PER_CLASS = 8
SAMPLES = ("QuickTime.heic", "DNG.dng", "Nikon.nef")


@dataclass
class Step:
    name: str
    argv: list[str]
    given: list[str] = field(default_factory=list)  # paths the command was given to write
    interrupt_after: float | None = None  # SIGINT after this many seconds
    serve: bool = False


def steps(w: Path) -> list[Step]:
    """Every command, in an order where each has what it needs from the ones before."""
    photos, data, runs = str(w / "photos"), str(w / "data"), w / "runs"
    many = str(w / "many")
    one = str(next(iter(sorted((w / "photos").glob("*.jpg")))))
    ph = [PY, "-m", "photolm"]
    tr = [PY, "-m", "trainer"]
    tiny = ["--image-size", "96", "--epochs", "1", "--max-steps-per-epoch", "2",
            "--batch-size", "8", "--workers", "0", "--threads", "1"]
    run = str(runs / "fit")
    return [
        Step("photolm scan", [*ph, "scan", photos, "--json"], [photos]),
        Step("photolm search", [*ph, "search", "Eiffel Tower", "--json"]),
        Step("photolm list", [*ph, "list", "--uncertain"]),
        Step("photolm landmarks", [*ph, "landmarks", "--json"]),
        Step("photolm info", [*ph, "info", "--json"]),
        Step("photolm confirm", [*ph, "confirm", one, "--landmark", "taj mahal"]),
        Step("photolm confirm (HEIC)", [*ph, "confirm", str(w / "photos" / SAMPLES[0]),
                                        "--landmark", "eiffel tower"]),
        Step("photolm tag", [*ph, "tag", "--json"], [photos]),
        Step("photolm untag", [*ph, "untag", "--json"], [photos]),
        Step("photolm tag --embed", [*ph, "tag", "--embed", "--json"], [photos]),
        Step("photolm untag (embedded)", [*ph, "untag", "--json"], [photos]),
        Step("photolm learn", [*ph, "learn", "Home Church", one, "--json"]),
        Step("photolm places", [*ph, "places", "--json"]),
        Step("photolm unlearn", [*ph, "unlearn", "Home Church", "--json"]),
        Step("photolm export-dataset", [*ph, "export-dataset", str(w / "exported"),
                                         "--include-shipped"],
             [str(w / "exported")]),
        Step("photolm prune", [*ph, "prune", "--json"]),
        Step("photolm serve (+ page loads)", [*ph, "serve", "--port", "8765", "--no-browser"],
             serve=True),
        Step("photolm scan (120 photos)", [*ph, "scan", many], [many]),
        Step("photolm scan --force, Ctrl-C", [*ph, "scan", many, "--force"], [many],
             interrupt_after=4.0),
        Step("photolm tag --embed, Ctrl-C", [*ph, "tag", many, "--embed"], [many],
             interrupt_after=2.5),
        Step("photolm untag (after Ctrl-C)", [*ph, "untag", many], [many]),
        Step("trainer eda", [*tr, "eda", data, "--out", str(runs / "eda")], [str(runs)]),
        Step("trainer fit", [*tr, "fit", data, "--out", run, *tiny], [str(runs)]),
        Step("trainer evaluate", [*tr, "evaluate", run, data, "--out", str(runs / "ev"),
                                  "--threads", "1"], [str(runs)]),
        Step("trainer clean", [*tr, "clean", data, "--checkpoint", run,
                               "--out", str(runs / "clean"), "--threads", "1"], [str(runs)]),
        Step("trainer explain", [*tr, "explain", run, one, "--out",
                                 str(runs / "cam.png"), "--threads", "1"], [str(runs)]),
        Step("trainer tune", [*tr, "tune", data, "--out", str(runs / "tune"), "--trials", "1",
                              *tiny], [str(runs)]),
        Step("photolm-export", [PY, "-m", "export", run, "--out", str(w / "bundle"),
                                "--distractors", str(w / "negatives"),
                                "--parity-images", "4"], [str(w / "bundle")]),
        Step("export.descriptor", [PY, "-m", "export.descriptor", str(w / "bundle"),
                                   "--out", str(w / "bundle2"), "--known", data,
                                   "--negatives", str(w / "negatives"),
                                   "--per-landmark", "5"], [str(w / "bundle2")]),
    ]


def prepare(w: Path) -> None:
    """Photos to scan (copies: tags are written into them), a 3-class training set, negatives."""
    for sub in ("home", "tmp", "cwd", "photos", "many", "negatives", "runs", "traces"):
        (w / sub).mkdir(parents=True, exist_ok=True)
    for cls in CLASSES:
        for n, src in enumerate(sorted((SHARED / "wonders" / cls).glob("*.jpg"))[:PER_CLASS]):
            (w / "data" / cls).mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, w / "data" / cls / src.name)
            if n < 10:
                shutil.copyfile(src, w / "photos" / f"{cls}-{n}.jpg")  # writable: tagged
        for src in sorted((SHARED / "wonders" / cls).glob("*.jpg"))[:40]:
            shutil.copyfile(src, w / "many" / f"{cls}-{src.name}")
    for name in SAMPLES:  # pillow-heif, rawpy; a confirmed HEIC is tagged through ExifTool
        shutil.copyfile(SHARED / "metadata-samples" / "images" / name, w / "photos" / name)
    shutil.copy2(SHARED / "wonders" / "classes.csv", w / "data" / "classes.csv")
    for n, src in enumerate(sorted((SHARED / "distractors").rglob("*.jpg"))[:12]):
        shutil.copy2(src, w / "negatives" / f"{n:02d}-{src.name}")
        if n < 8:
            shutil.copyfile(src, w / "photos" / f"other-{n}.jpg")


def environment(w: Path) -> dict[str, str]:
    """A first run's environment: nothing but PATH, a locale, an empty HOME and TMPDIR."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
            "HOME": str(w / "home"), "TMPDIR": str(w / "tmp"), "PYTHONPATH": str(REPO),
            "TERM": "dumb", "COLUMNS": "100"}


def tree(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*")} if root.exists() else set()


def run_step(step: Step, w: Path, index: int) -> dict:
    trace = w / "traces" / f"{index:02d}.txt"
    tmp = w / "tmp"
    before_tmp = tree(tmp)
    cmd = ["strace", "-f", "-qq", "-y", "-s", "400", "-e", "trace=file,network,chdir",
           "-o", str(trace), "--", *step.argv]
    proc = subprocess.Popen(cmd, cwd=w / "cwd", env=environment(w), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    pages: dict[str, int] = {}
    if step.serve:
        pages = fetch_pages(proc)
    elif step.interrupt_after is not None:
        time.sleep(step.interrupt_after)
    if step.serve or step.interrupt_after is not None:
        # strace forwards nothing: signal the traced command, as a terminal's Ctrl-C does.
        for child in children(proc.pid):
            os.kill(child, signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
    result = parse(trace.read_text(errors="replace"), w, step)
    result.update(name=step.name, code=proc.returncode, pages=pages,
                  left_in_tmp=sorted(rel(p, w) for p in tree(tmp) - before_tmp),
                  stderr_tail=stderr[-600:] if proc.returncode not in (0, 130) else "")
    return result


def children(pid: int) -> list[int]:
    """The traced command (strace's child), not strace itself."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()] or [pid]


def fetch_pages(proc: subprocess.Popen) -> dict[str, int]:
    """Read the tokened address serve prints, then load the pages a user would."""
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    match = re.search(r"http://[^/]+/\?token=\S+", line)
    if not match:
        return {"no address printed": -1}
    url = match.group(0)
    base = url.split("/?")[0]
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    got: dict[str, int] = {}
    for path in (url, "/", "/search?q=eiffel", "/uncertain", "/places", "/map", "/tags",
                 "/scan", "/photo/1", "/thumb/1", "/photo/1/image", "/static/style.css",
                 "/static/app.js"):
        try:
            with opener.open(path if path.startswith("http") else base + path,
                             timeout=60) as res:
                body = res.read()
                got[path.split("?token")[0] or "/"] = res.status
                external = re.findall(rb"(?:src|href)=[\"']?(?:https?:)?//[^\"' >]+", body)
                if external:
                    got[f"{path} external refs: {external[:3]}"] = -1
        except Exception as exc:  # a report, not a check
            got[path] = getattr(exc, "code", -1)
    return got


SYSCALL = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+|\?)(.*)$")
WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")
CHANGES = {"mkdir", "mkdirat", "rename", "renameat", "renameat2", "unlink", "unlinkat",
           "rmdir", "link", "linkat", "symlink", "symlinkat", "creat", "truncate",
           "chmod", "fchmodat", "utimensat", "utime", "utimes"}
OPENS = {"open", "openat", "openat2", "creat"}
NET = {"socket", "connect", "bind", "sendto", "sendmsg", "listen"}


def _strings(args: str) -> list[str]:
    return [m.encode("latin-1", "backslashreplace").decode("unicode_escape", "replace")
            for m in re.findall(r'"((?:[^"\\]|\\.)*)"', args)]


def _dirfd(args: str) -> str | None:
    m = re.match(r"\s*(?:AT_FDCWD|-?\d+<([^>]*)>)", args)
    return m.group(1) if m else None


def _target(call: str, args: str, cwd: str) -> list[str]:
    names = _strings(args)
    if not names:
        return []
    if call in ("rename", "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat"):
        names = names[-1:]
    elif call not in ("rename",):
        names = names[:1]
    base = _dirfd(args) if call.endswith("at") or call == "openat2" else None
    out = []
    for name in names:
        if not name.startswith("/"):
            name = os.path.join(base or cwd, name)
        out.append(os.path.normpath(name))
    return out


def parse(text: str, w: Path, step: Step) -> dict:
    cwd: dict[str, str] = {}
    wrote: set[str] = set()
    refused: set[str] = set()
    network: list[str] = []
    loaded: set[str] = set()
    for line in text.splitlines():
        m = SYSCALL.match(line)
        if not m:
            continue
        pid, call, args, ret, rest = m.groups()
        here = cwd.get(pid, str(w / "cwd"))
        if call in ("chdir",) and ret == "0":
            cwd[pid] = os.path.normpath(os.path.join(here, (_strings(args) or [here])[0]))
        if call in NET:
            if call == "socket" and ("AF_UNIX" in args or "AF_NETLINK" in args):
                continue
            if call in ("connect", "sendto", "sendmsg", "bind") and "sa_family=AF_UNIX" in args \
                    and "nscd" not in args:
                continue
            if call in ("sendto", "sendmsg") and "sa_family=AF_INET" not in args \
                    and "sa_family=AF_INET6" not in args:
                continue
            network.append(f"{call}({args[:160]}) = {ret}{rest[:40]}")
            continue
        is_write = call in CHANGES or (call in OPENS and any(f in args for f in WRITE_FLAGS))
        if not is_write:
            if call in OPENS and ret != "-1":
                site = re.search(r"/site-packages/([^/\"]+)/", args)
                if site:
                    loaded.add(site.group(1))
            continue
        if ret == "-1" and (
                "EEXIST" in rest or ("ENOENT" in rest and call.startswith("unlink"))):
            continue  # an existing folder, or a file already gone: nothing was written
        for path in _target(call, args, here):
            (refused if ret == "-1" else wrote).add(path)
    refused -= wrote  # makedirs: a refused mkdir, its parent made, then the same mkdir done
    return {"wrote": group(wrote, w, step), "refused": group(refused, w, step),
            "network": network, "loaded": sorted(loaded)}


def rel(path: str, w: Path) -> str:
    for label, root in (("~", w / "home"), ("$TMPDIR", w / "tmp"), ("$CWD", w / "cwd"),
                        ("$W", w)):
        if path == str(root) or path.startswith(str(root) + "/"):
            return label + path[len(str(root)):]
    return path


def group(paths: set[str], w: Path, step: Step) -> dict[str, list[str]]:
    """Paths by where they are; folders under HOME summarised to three levels."""
    out: dict[str, set[str]] = defaultdict(set)
    for path in paths:
        shown = rel(path, w)
        if any(path == g or path.startswith(g + "/") for g in step.given):
            where = "given"
        elif shown.startswith("~"):
            where = "home"
            shown = "/".join(shown.split("/")[:5])
        elif shown.startswith("$TMPDIR"):
            where = "tmpdir"
            shown = re.sub(r"[A-Za-z0-9_]{6,}(?=[^/]*$)", "*", "/".join(shown.split("/")[:3]))
        elif shown.startswith("$CWD"):
            where = "cwd"
        elif shown.startswith("$W"):
            where = "audit folder (catalogue, inputs)"
        elif path.startswith(("/dev/", "/proc/")):
            where = "device"
        elif "__pycache__" in path:
            where = "bytecode"
            shown = re.sub(r"/[^/]+\.pyc(\.\d+)?$", "/*.pyc", path)
        else:
            where = "elsewhere"
        out[where].add(shown)
    return {k: sorted(v) for k, v in sorted(out.items())}


PATTERN = (r"telemetry|analytics|sentry_sdk|posthog|segment\.io|mixpanel|amplitude\.com|"
           r"events\.data\.microsoft|google-analytics")


def deps_with_tracking(loaded: dict[str, set[str]]) -> dict:
    """Installed distributions whose code (Python or native) names telemetry or analytics
    services (grep: gigabytes of torch libraries are read at grep's speed, not Python's),
    and the commands that loaded them (``loaded``: command -> site-packages folders it
    opened, from the traces)."""
    import importlib.metadata as md
    import sysconfig

    site = sysconfig.get_paths()["purelib"]
    found = subprocess.run(["grep", "-rioaE", "--include=*.py", "--include=*.so*", PATTERN,
                            site], capture_output=True, text=True, errors="replace",
                           env={"LC_ALL": "C", "PATH": os.environ["PATH"]}).stdout
    owner: dict[str, str] = {}
    top: dict[str, set[str]] = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        top[name] = set()
        for f in dist.files or ():
            owner[str(Path(site) / f)] = name
            if len(f.parts) > 1 and not f.parts[0].endswith((".dist-info", "__pycache__")):
                top[name].add(f.parts[0])
    hits: dict[str, set[str]] = defaultdict(set)
    for line in found.splitlines():
        path, _, word = line.rpartition(":")
        hits[owner.get(path, path.removeprefix(site + "/").split("/")[0])].add(word.lower())
    return {name: {"strings": sorted(words),
                   "imported_by": sorted(e for e, mods in loaded.items()
                                         if top.get(name, set()) & mods)}
            for name, words in sorted(hits.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated substrings of step names")
    parser.add_argument("--json", type=Path, help="write the full report here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside is None:
        if shutil.which("strace") is None or shutil.which("unshare") is None:
            sys.exit("needs strace and unshare (Linux, root)")
        w = Path(tempfile.mkdtemp(prefix="photolm-privacy-"))
        try:
            prepare(w)
            inner = [a for a in sys.argv[1:]]
            # The whole audit runs in one empty network namespace, loopback up for serve.
            code = subprocess.call(["unshare", "-n", "sh", "-c",
                                    'ip link set lo up && exec "$@"', "-", PY, __file__,
                                    "--inside", str(w), *inner])
        finally:
            if not args.keep:
                shutil.rmtree(w, ignore_errors=True)
            else:
                print(f"work folder kept: {w}", file=sys.stderr)
        sys.exit(code)
    w = args.inside
    chosen = [s for s in steps(w)
              if not args.only or any(o in s.name for o in args.only.split(","))]
    report: dict = {"steps": []}
    for index, step in enumerate(chosen):
        print(f"== {step.name}", file=sys.stderr, flush=True)
        result = run_step(step, w, index)
        report["steps"].append(result)
        show(result)
    if args.only:
        return _write(report, args.json)
    programs: dict[str, set[str]] = defaultdict(set)
    for result in report["steps"]:
        programs[result["name"].split()[0]] |= set(result["loaded"])
    report["dependencies"] = deps_with_tracking(programs)
    print("== dependencies whose code names telemetry or analytics")
    for name, info in report["dependencies"].items():
        print(f"  {name}: {', '.join(info['strings'])}; imported by: "
              f"{', '.join(info['imported_by']) or 'no command'}")
    _write(report, args.json)


def _write(report: dict, path: Path | None) -> None:
    if path:
        path.write_text(json.dumps(report, indent=1, default=sorted))


def show(r: dict) -> None:
    print(f"== {r['name']}: exit {r['code']}")
    for kind in ("wrote", "refused"):
        for where, paths in r[kind].items():
            if where in ("given", "audit folder (catalogue, inputs)", "device") \
                    and kind == "wrote":
                continue
            print(f"  {kind} [{where}] {', '.join(paths[:12])}"
                  + (f" (+{len(paths) - 12})" if len(paths) > 12 else ""))
    for call in r["network"]:
        print(f"  network: {call}")
    if r["left_in_tmp"]:
        print(f"  left in TMPDIR: {r['left_in_tmp'][:8]}")
    if r["pages"]:
        print(f"  pages: {r['pages']}")
    if r["stderr_tail"]:
        print("  stderr: " + r["stderr_tail"].replace("\n", "\n          "))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
