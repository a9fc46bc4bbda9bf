"""``soul-studio render`` on the demo project: real engine process, real takes, decoded back."""

from __future__ import annotations

import json

import pytest

from engine.media import probe_video
from soul_studio.cli import main
from soul_studio.demo import working_copy
from soul_studio.project import load_project, save_project


@pytest.fixture
def demo(tmp_path):
    return working_copy(tmp_path / "demo")


def test_render_demo_writes_playable_takes_and_reuses_them(demo, capsys):
    assert main(["render", str(demo), "--quality", "draft", "--quiet"]) == 0
    project = load_project(demo)
    shots = project.timeline_shots()
    assert shots and all(len(s.takes) == 1 for s in shots)
    for shot in shots:
        take = shot.takes[0]
        path = project.resolve(take.file)
        info = probe_video(path)
        assert info.frame_count == shot.frames(project.fps)
        assert (info.width, info.height) == (project.width // 2, project.height // 2)
        assert info.audio_codec == "aac"
        assert abs(info.audio_duration - info.duration) <= 1 / project.fps
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar["job"]["shot_id"] == shot.id
        assert take.backend == "sketch" and take.quality == "draft"

    # Same inputs: nothing is rendered again.
    assert main(["render", str(demo), "--quality", "draft", "--quiet"]) == 0
    assert all(len(s.takes) == 1 for s in load_project(demo).timeline_shots())
    out = capsys.readouterr().out
    assert "4/4 shots rendered" in out


def test_edited_shot_renders_again_and_keeps_old_take(demo):
    assert main(["render", str(demo), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    project = load_project(demo)
    first = project.timeline_shots()[0]
    first.seed += 1
    save_project(project)
    assert main(["render", str(demo), "--shots", "1", "--quality", "draft", "--quiet"]) == 0
    takes = load_project(demo).timeline_shots()[0].takes
    assert len(takes) == 2 and takes[0].job_hash != takes[1].job_hash


def test_failing_shot_gives_exit_code_1_and_others_render(demo, capsys):
    project = load_project(demo)
    project.timeline_shots()[1].audio = "media/missing.wav"
    save_project(project)
    assert main(["render", str(demo), "--shots", "1", "2", "--quality", "draft", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "missing" in err
    assert len(load_project(demo).timeline_shots()[0].takes) == 1


def test_bad_usage_exit_codes(tmp_path, demo):
    bad = tmp_path / "bad.soulproj"
    bad.write_text("{oops")
    assert main(["render", str(bad)]) == 2
    assert main(["render", str(demo), "--shots", "99"]) == 2


def test_farm_render_runs_once_and_its_takes_are_saved(demo, monkeypatch, capsys):
    from soul_studio.farm import command as farm_command

    calls: list[list[str]] = []

    def fake_farm(args, project, shot_ids):
        calls.append(list(shot_ids))
        project.name = "rendered on the farm"  # what the farm recorded must reach the saved file
        return {sid: "done" for sid in shot_ids}

    monkeypatch.setattr(farm_command, "run_farm_render", fake_farm)
    assert main(["render", str(demo), "--shots", "1", "--farm", "local", "--quiet"]) == 0
    assert len(calls) == 1 and load_project(demo).name == "rendered on the farm"
