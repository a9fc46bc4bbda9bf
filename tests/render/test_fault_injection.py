"""Random SIGKILLs of the CLI and of its engine across a render + save loop (fixed seed).

Whatever is killed when, the project must still load, list every finished take exactly
once, and leave no orphaned takes, partial files or temp folders behind.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

from soul_studio.project import load_project, save_project
from tests.render.tiny import cli, leftovers, recorded_takes, tiny_demo, wait_until

SEED = 20
KILLS = 8
BUDGET_S = 45.0


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_random_kills_of_cli_and_engine_lose_nothing(tmp_path):
    rng = random.Random(SEED)
    scene = tiny_demo(tmp_path / "scene", seconds=1.5)
    tmpdir = tmp_path / "tmp"
    started = time.monotonic()
    kills = {"cli": 0, "engine": 0}
    for i in range(KILLS + 4):  # a loaded machine may miss a kill (the run ended first): a few more tries
        enough = kills["cli"] >= 2 and kills["engine"] >= 1
        if enough and (i >= KILLS or time.monotonic() - started > BUDGET_S):
            break
        if rng.random() < 0.6:  # new inputs for one shot, so every run has work to do
            project = load_project(scene)
            shot = project.shots[rng.choice(project.timeline.shot_ids())]
            shot.seed += 1
            save_project(project, keep_backups=2)
        proc = cli("render", str(scene), "--quality", "draft", "--quiet", "--wait", "30", tmpdir=tmpdir)
        try:
            target = "engine" if rng.random() < 0.4 or (i >= KILLS - 2 and not kills["engine"]) else "cli"
            # the engine is killed soon after it starts: a render of four short shots can end before 2.5 s
            delay = rng.uniform(0.1, 0.8) if target == "engine" else rng.uniform(0.3, 2.5)
            if target == "engine":  # the engine is the CLI's child once it runs
                wait_until(lambda pid=proc.pid: children(pid), timeout=10)
            time.sleep(delay)
            pids = children(proc.pid) if target == "engine" else [proc.pid]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills[target] += 1
                except ProcessLookupError:
                    pass
            if target == "engine":
                proc.communicate(timeout=60)  # the CLI brings its engine back and finishes
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
    final = cli("render", str(scene), "--quality", "draft", "--quiet", "--wait", "30", tmpdir=tmpdir)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    print(f"kills {kills} in {time.monotonic() - started:.1f} s")
    assert kills["cli"] >= 2 and kills["engine"] >= 1, kills
    project = load_project(scene)
    listed = recorded_takes(scene)
    assert len(listed) == len(set(listed))  # every finished take recorded once
    assert all((scene.parent / f).exists() for f in listed)
    assert leftovers(scene, tmpdir) == []
    data = json.loads(scene.read_text())
    assert all(s.get("takes") for s in data["shots"])
    assert len(project.timeline_shots()) == 4
