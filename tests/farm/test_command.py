"""``soul-studio farm-render`` and the ``--farm`` options on the demo project, and the farm render manager."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from engine.media import probe_video
from soul_studio.demo import working_copy
from soul_studio.farm.command import add_farm_arguments, register, run_farm_render
from soul_studio.farm.manager import FarmRenderManager, farm_manager_factory
from soul_studio.project import load_project
from soul_studio.project.edits import EditHistory
from soul_studio.render.manager import RenderManager

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(tmp_path):
    return working_copy(tmp_path / "demo")


def farm_main(argv: list[str]) -> int:
    """``soul-studio`` with the farm sub-command registered, as the dispatcher will do."""
    parser = argparse.ArgumentParser(prog="soul-studio")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_farm_render_demo_writes_takes_and_reuses_them(ray_cluster, demo, capsys):
    argv = ["farm-render", str(demo), "--quality", "draft", "--backend", "sketch", "--workers", "2"]
    assert farm_main(argv) == 0
    project = load_project(demo)
    shots = project.timeline_shots()
    assert len(shots) == 4 and all(len(s.takes) == 1 for s in shots)
    for shot in shots:
        path = project.resolve(shot.takes[0].file)
        info = probe_video(path)
        assert info.frame_count == shot.frames(project.fps)
        assert (info.width, info.height) == (project.width // 2, project.height // 2)
        assert info.audio_codec == "aac"
        assert json.loads(path.with_suffix(".json").read_text())["job"]["shot_id"] == shot.id
    err = capsys.readouterr().err
    assert "[farm]" in err and "done 100%" in err
    # Same inputs: every take is reused, nothing is sent to the farm.
    assert farm_main([*argv, "--quiet"]) == 0
    assert all(len(s.takes) == 1 for s in load_project(demo).timeline_shots())
    assert "4/4 shots rendered on the farm" in capsys.readouterr().out
    takes = sorted(p.name for p in (demo.parent / "takes").iterdir())
    assert len(takes) == 8 and not any(n.startswith(".") for n in takes)


def test_render_options_hook_into_a_render_parser(ray_cluster, demo):
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", default="final")
    parser.add_argument("--backend", default=None)
    add_farm_arguments(parser)
    args = parser.parse_args(["--farm", "local", "--workers", "1", "--quality", "draft", "--backend", "sketch"])
    project = load_project(demo)
    first = project.timeline.shot_ids()[:1]
    assert run_farm_render(args, project, first) == {first[0]: "done"}
    assert len(project.shots[first[0]].takes) == 1


def test_bad_project_is_a_usage_error(tmp_path, capsys):
    assert farm_main(["farm-render", str(tmp_path / "missing.soulproj")]) == 2
    assert "soul-studio:" in capsys.readouterr().err


def test_farm_manager_has_the_render_manager_api(ray_cluster, demo):
    for name in ("start", "stop", "render", "cancel", "retry", "set_priority", "add_listener",
                 "remove_listener", "wait_idle", "active_jobs", "clear_finished", "set_project"):
        assert callable(getattr(FarmRenderManager, name)), name
    project = load_project(demo)
    history = EditHistory(project)
    document = type("Document", (), {"project": project})()  # what the studio's render controller passes
    manager = farm_manager_factory("local", workers=1, backend="sketch")(document, history.push)
    assert isinstance(manager, RenderManager)
    seen: list[tuple[str, str]] = []

    async def go() -> list[str]:
        info = await manager.start()
        assert info["workers"] == 1 and info["farm"]["cpus"] >= 1
        manager.add_listener(lambda kind, state: seen.append((kind, state.status if state else "")))
        shot = project.timeline.shot_ids()[1]
        ids = manager.render([shot, shot], "draft")  # the second draft supersedes the first
        assert await manager.wait_idle(120)
        await manager.stop()
        return ids

    ids = asyncio.run(go())
    statuses = [manager.jobs[j].status for j in ids]
    assert statuses == ["cancelled", "done"]
    shot = project.shots[project.timeline.shot_ids()[1]]
    assert len(shot.takes) == 1 and history.undo() and not shot.takes
    assert ("progress", "running") in seen and ("job", "done") in seen
    assert manager.engine_state == "stopped"
