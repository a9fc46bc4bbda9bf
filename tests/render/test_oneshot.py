"""``soul-studio shot``: a real photograph and real speech to a take, through the engine process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from engine.media import AudioClip, probe_video, save_image, write_audio
from soul_studio.cli import main
from soul_studio.render import oneshot

ALSA = Path("/usr/share/sounds/alsa/Front_Center.wav")  # alsa-utils: a recorded voice saying "front center"
needs_alsa = pytest.mark.skipif(not ALSA.exists(), reason="alsa-utils' voice clips are not installed")


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    skimage_data = pytest.importorskip("skimage.data")
    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    save_image(path, skimage_data.astronaut())  # NASA, public domain: a real photograph of a person
    return path


@pytest.fixture(scope="module")
def wall(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "wall.png"
    rng = np.random.default_rng(3)
    save_image(path, (np.full((240, 320, 3), 140) + rng.integers(-8, 8, (240, 320, 3))).astype(np.uint8))
    return path


@needs_alsa
def test_shot_renders_a_photograph_speaking_a_recorded_line(astronaut, tmp_path, capsys):
    out = tmp_path / "take.mp4"
    code = main(["shot", str(astronaut), str(ALSA), "--text", "Front center.", "--out", str(out),
                 "--quality", "draft", "--fps", "25", "--size", "320x240", "--quiet"])
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    audio_s = 1.428  # the recording's length
    assert info.frame_count == round(audio_s * 25)
    assert (info.width, info.height) == (320, 240)
    assert abs(info.duration - audio_s) <= 1 / 25 + 0.01
    assert abs(info.audio_duration - audio_s) <= 0.05
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["take"] == "take.mp4" and sidecar["frame_count"] == info.frame_count
    assert sidecar["job"]["text"] == "Front center." and sidecar["job"]["output_path"] == str(out)
    mouth = sidecar["metadata"]["mouth"]
    assert mouth["method"] == "aligned"
    assert len(mouth["shapes"]) == info.frame_count and set(mouth["shapes"]) <= set("XABCDEFGH")
    assert [w[0] for w in mouth["words"]] == ["front", "center"]
    assert any(p[0] == "F" for p in mouth["phones"]) and "G" in mouth["shapes"]  # F of "front": lip tuck
    stdout = capsys.readouterr().out
    assert "shot 'Front_Center' written" in stdout and "aligned" in stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no hidden partials left


@needs_alsa
def test_a_photo_without_a_face_names_the_shot_and_both_fixes(wall, tmp_path, capsys):
    out = tmp_path / "wall.mp4"
    args = ["shot", str(wall), str(ALSA), "--out", str(out), "--quality", "draft", "--size", "160x120", "--quiet"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "shot 'Front_Center' failed" in err and "wall.png" in err
    assert "--mouth-box" in err and "Cast panel" in err
    assert not out.exists() and not list(tmp_path.iterdir())
    # The fix it names works, in pixels of the portrait.
    assert main([*args, "--mouth-box", "130,150,60,30"]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["job"]["mouth_box"] == pytest.approx([130 / 320, 150 / 240, 60 / 320, 30 / 240], abs=1e-3)


@needs_alsa
def test_face_picks_the_speaker_in_a_photo_of_two(astronaut, tmp_path, capsys):
    from engine.media import load_portrait

    one = load_portrait(astronaut)
    pair = tmp_path / "pair.png"
    save_image(pair, np.concatenate([one, one[:, ::-1]], axis=1))  # two people side by side
    out = tmp_path / "pair.mp4"
    assert main(["shot", str(pair), str(ALSA), "--text", "Front center.", "--out", str(out), "--face", "2",
                 "--quality", "draft", "--size", "320x160", "--framing", "full_body", "--quiet"]) == 0
    analysis = json.loads(out.with_suffix(".json").read_text())["metadata"]["analysis"]
    if len(analysis.get("faces") or []) < 2:
        pytest.skip("this face detector finds one face in the pair")
    assert analysis["face_index"] == 1
    face = analysis["face"]
    assert face[0] > one.shape[1] * 0.9  # the right-hand person's face
    stdout = capsys.readouterr().out
    assert "2 faces found" in stdout and "--face N" in stdout


def test_bad_usage_exits_2_with_the_fix(astronaut, tmp_path, capsys):
    audio = tmp_path / "line.wav"
    write_audio(audio, AudioClip(np.zeros((1, 16000), np.float32), 16000))
    base = ["shot", str(astronaut), str(audio), "--out", str(tmp_path / "t.mp4")]
    cases = [
        (["shot", str(tmp_path / "nobody.jpg"), str(audio)], "portrait"),
        (["shot", str(astronaut), str(tmp_path / "silence.wav")], "audio"),
        ([*base, "--size", "1280x719"], "even"),
        ([*base, "--size", "big"], "--size 1280x720"),
        ([*base, "--fps", "26"], "--fps"),
        ([*base, "--face", "0"], "counted from 1"),
        ([*base, "--mouth-box", "0.9,0.9,0.3,0.3"], "outside"),
        ([*base, "--mouth-box", "1,2,3"], "x,y,w,h"),
        (["shot", str(astronaut), str(audio), "--out", str(tmp_path / "t.mov")], ".mp4"),
        (["shot", str(astronaut), str(audio), "--out", str(tmp_path / "no" / "t.mp4")], "does not exist"),
        (["shot", str(astronaut), str(astronaut), "--out", str(tmp_path / "t.mp4")], "audio"),
    ]
    for args, needle in cases:
        assert main(args) == 2, args
        assert needle in capsys.readouterr().err, args
    (tmp_path / "t.mp4").write_bytes(b"precious")
    assert main(base) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / "t.mp4").read_bytes() == b"precious"


def test_face_and_mouth_box_reach_the_job(astronaut, tmp_path):
    import argparse

    audio = tmp_path / "line.wav"
    write_audio(audio, AudioClip(np.zeros((1, 24000), np.float32), 16000))
    args = argparse.Namespace(portrait=astronaut, audio=audio, out=tmp_path / "x.mp4", text="Hello there.",
                              quality="draft", fps=24.0, size="640x360", framing="upper_body", face=2,
                              mouth_box="0.4,0.5,0.2,0.1", backend="sketch", seed=3, force=False)
    req = oneshot.request_from_args(args)
    job = oneshot.build_job(req, tmp_path)
    assert job.options["face_index"] == 1  # --face is 1-based, the engine's face_index 0-based
    assert job.mouth_box == (0.4, 0.5, 0.2, 0.1)
    assert (job.width, job.height, job.fps, job.framing) == (640, 360, 24.0, "upper_body")
    assert job.text == "Hello there." and job.frame_count == 36 and job.seed == 3
    assert Path(job.output_path).parent == tmp_path and Path(job.output_path).name.startswith(".x.rendering-")
    assert oneshot.failure_message("line", "only 1 face found", "click a face in the Cast panel").count("--face") == 1
    # An engine hint that only repeats the error is replaced by the studio's own fix.
    soul = oneshot.failure_message("line", "backend 'soul' is not available: no model folder set", "no model folder set",
                                   backend="soul")
    assert "--backend sketch" in soul and "Preferences" in soul and soul.count("no model folder set") == 1


def test_cancel_stops_the_render_and_leaves_nothing(astronaut, tmp_path):
    audio = tmp_path / "long.wav"
    write_audio(audio, AudioClip(np.zeros((1, 16000 * 60), np.float32), 16000))
    out = tmp_path / "out" / "long.mp4"
    out.parent.mkdir()
    req = oneshot.ShotRequest(portrait=astronaut, audio=audio, out=out, quality="draft", size=(320, 240))

    async def go() -> None:
        task = asyncio.ensure_future(oneshot.render_shot(req, show_progress=False))
        for _ in range(600):  # until the engine is writing the hidden take
            await asyncio.sleep(0.05)
            if any(out.parent.iterdir()) or task.done():
                break
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert not list(out.parent.iterdir())


def test_render_names_a_failing_shot_and_gives_both_fixes(wall, tmp_path, capsys):
    from soul_studio.demo import working_copy
    from soul_studio.project import load_project, save_project

    demo = working_copy(tmp_path / "demo")
    project = load_project(demo)
    shot = project.timeline_shots()[0]
    project.character(shot.character_id).portrait = str(wall)
    save_project(project)
    assert main(["render", str(demo), "--shots", "1", "--quality", "draft", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"shot '{shot.name}' failed: no face found" in err
    assert "soul-studio shot PORTRAIT AUDIO --mouth-box" in err and "in the studio" in err and "Cast panel" in err
