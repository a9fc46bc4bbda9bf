"""Tiny real projects for the interruption tests, and a way to run the CLI as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from soul_studio.demo import working_copy
from soul_studio.project import load_project, save_project

ROOT = Path(__file__).resolve().parents[2]


def tiny_demo(folder: Path, seconds: float = 1.0, shots: int | None = None) -> Path:
    """The demo scene (real portraits, recorded temp voices) at 128x72, each shot ``seconds`` long."""
    path = working_copy(folder)
    project = load_project(path)
    project.width, project.height = 128, 72
    for shot in project.shots.values():
        shot.audio_out = shot.audio_in + seconds
    if shots is not None:
        project.timeline.entries = project.timeline.entries[:shots]
    save_project(project, keep_backups=0)
    return path


def cli(*args: str, tmpdir: Path, **kw: object) -> subprocess.Popen[str]:
    """``soul-studio ARGS`` as a child process whose temp folder is ``tmpdir``."""
    tmpdir.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    return subprocess.Popen([sys.executable, "-m", "soul_studio.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[arg-type]


def recorded_takes(path: Path) -> list[str]:
    """Take files the project file lists now (read raw: it is replaced atomically)."""
    data = json.loads(path.read_text())
    return [t["file"] for s in data["shots"] for t in s.get("takes", [])]


def wait_until(predicate, timeout: float = 60.0, poll: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (OSError, ValueError):
            pass
        time.sleep(poll)
    return False


def leftovers(project_path: Path, tmpdir: Path) -> list[str]:
    """Everything an interrupted run must not leave: partials, unlisted takes, temp folders."""
    folder = project_path.parent
    listed = set(recorded_takes(project_path))
    bad = [p.name for p in (folder / "takes").iterdir() if ".partial" in p.name]
    for movie in (folder / "takes").glob("*.mp4"):
        if f"takes/{movie.name}" not in listed:
            bad.append(f"orphan {movie.name}")
    for sidecar in (folder / "takes").glob("*.json"):
        if not sidecar.with_suffix(".mp4").exists():
            bad.append(f"lone sidecar {sidecar.name}")
    bad += [f"temp {p.name}" for p in tmpdir.iterdir() if p.name.startswith("soul-")]
    bad += [p.name for p in folder.iterdir() if ".partial" in p.name or p.name.endswith(".tmp")]
    return bad


def one_take_per_shot(project_path: Path) -> bool:
    data = json.loads(project_path.read_text())
    order = [e["shot_id"] for e in data["timeline"]["entries"]]
    takes = {s["id"]: s.get("takes", []) for s in data["shots"]}
    return all(len(takes[sid]) == 1 for sid in order)
