"""``soul-studio new-from-script``: projects from a scene, and exit codes 0 / 1 / 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from engine.media import AudioClip, write_audio
from engine.media.synthetic import speech_like_audio
from soul_studio.project import load_project
from soul_studio.script import espeak_available
from soul_studio.script.command import main, register

SCRIPT = """\
Title: Harbour

INT. HARBOUR OFFICE - DAY

NILS
Any ships today?

GRETA (O.S.)
(from the window)
Just the ferry, running late.

INT. QUAY - NIGHT

Fog. Nothing moves.
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "harbour.fountain"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def test_register_adds_the_subcommand():
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["new-from-script", "x.fountain", "--scene", "2", "--out", "y.soulproj"])
    assert args.func is not None and args.scene == 2 and args.fps == 24.0


def test_new_project_with_portraits(script: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    face = tmp_path / "nils.png"
    face.write_bytes(b"png")
    out = tmp_path / "proj" / "scene.soulproj"
    out.parent.mkdir()
    code = main(["new-from-script", str(script), "--scene", "1", "--out", str(out), "--fps", "25",
                 "--resolution", "1920x1080", "--portrait", f"NILS={face}"])
    assert code == 0, capsys.readouterr().err
    project = load_project(out)
    assert (project.name, project.fps, project.width, project.height) == ("Harbour", 25.0, 1920, 1080)
    assert [c.name for c in project.characters] == ["Nils", "Greta"]
    assert project.characters[0].portrait == "../nils.png"
    assert project.resolve(project.characters[0].portrait) == face.resolve()
    shots = project.timeline_shots()
    assert [s.text for s in shots] == ["Any ships today?", "Just the ferry, running late."]
    assert shots[1].prompt == "(from the window)"
    assert all(s.audio is None for s in shots)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_temp_voices_from_the_cli(script: Path, tmp_path: Path):
    out = tmp_path / "voiced.soulproj"
    assert main(["new-from-script", str(script), "--scene", "1", "--out", str(out), "--temp-voices",
                 "--voice", "greta=en-gb+f4:70:150"]) == 0
    project = load_project(out)
    assert project.character_by_name("Greta").voice.voice == "en-gb+f4"
    for shot in project.timeline_shots():
        assert shot.temp_audio and project.resolve(shot.audio).is_file() and shot.audio_length > 0.5


def test_recording_from_the_cli(script: Path, tmp_path: Path):
    rate = 16_000
    clip = speech_like_audio(3.6, rate, segments=[(0.3, 1.2), (1.9, 3.3)], seed=5)
    recording = tmp_path / "take.wav"
    write_audio(recording, AudioClip(clip.samples, rate))
    out = tmp_path / "rec.soulproj"
    assert main(["new-from-script", str(script), "--scene", "1", "--out", str(out), "--recording", str(recording),
                 "--padding", "0", "--temp-voices"]) == 0
    a, b = load_project(out).timeline_shots()
    assert a.audio == b.audio == "take.wav"
    assert not a.temp_audio and not b.temp_audio  # recorded lines need no temp voice
    assert a.audio_in == pytest.approx(0.3, abs=0.05) and b.audio_in == pytest.approx(1.9, abs=0.05)
    assert a.audio_out <= b.audio_in and b.audio_out == pytest.approx(3.3, abs=0.08)
    assert np.isclose(a.audio_length, 3.6, atol=0.01)


def test_list(script: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["new-from-script", str(script), "--list"]) == 0
    out = capsys.readouterr().out
    assert "1    2 lines  INT. HARBOUR OFFICE - DAY  [Nils, Greta]" in out
    assert "2    0 lines  INT. QUAY - NIGHT" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scene", "7"], "there is no scene 7"),
        (["--scene", "2"], "has no dialogue"),
        (["--scene", "1", "--resolution", "big"], "is not WIDTHxHEIGHT"),
        (["--scene", "1", "--resolution", "641x480"], "must be even"),
        (["--scene", "1", "--fps", "12"], "unsupported frame rate 12"),
        (["--scene", "1", "--portrait", "ZED=zed.png"], "file not found"),
        (["--scene", "1", "--portrait", "nils"], "is not NAME=VALUE"),
        (["--scene", "1", "--recording", "missing.wav"], "file not found"),
    ],
)
def test_usage_errors_exit_2(script: Path, tmp_path: Path, capsys, extra, message):
    out = tmp_path / "x.soulproj"
    assert main(["new-from-script", str(script), "--out", str(out), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_portrait_for_someone_not_in_the_scene_exits_2(script: Path, tmp_path: Path, capsys):
    face = tmp_path / "zed.png"
    face.write_bytes(b"png")
    code = main(["new-from-script", str(script), "--scene", "1", "--out", str(tmp_path / "x.soulproj"),
                 "--portrait", f"ZED={face}"])
    assert code == 2 and "who does not speak in this scene (cast: Nils, Greta)" in capsys.readouterr().err


def test_existing_project_is_not_overwritten(script: Path, tmp_path: Path, capsys):
    out = tmp_path / "keep.soulproj"
    out.write_text("precious", encoding="utf-8")
    assert main(["new-from-script", str(script), "--scene", "1", "--out", str(out)]) == 2
    assert out.read_text(encoding="utf-8") == "precious" and "--force" in capsys.readouterr().err
    assert main(["new-from-script", str(script), "--scene", "1", "--out", str(out), "--force"]) == 0
    assert len(load_project(out).shots) == 2


def test_broken_script_exits_1(tmp_path: Path, capsys):
    bad = tmp_path / "bad.fountain"
    bad.write_text("INT. ROOM - DAY\n\nTOM\nHi. [[unclosed\n", encoding="utf-8")
    assert main(["new-from-script", str(bad), "--scene", "1", "--out", str(tmp_path / "x.soulproj")]) == 1
    assert f"{bad}:4: note [[ is never closed" in capsys.readouterr().err


def test_silent_recording_exits_1(script: Path, tmp_path: Path, capsys):
    silent = tmp_path / "silent.wav"
    write_audio(silent, AudioClip.silence(2.0, 16_000))
    code = main(["new-from-script", str(script), "--scene", "1", "--out", str(tmp_path / "x.soulproj"),
                 "--recording", str(silent)])
    assert code == 1 and "no speech found" in capsys.readouterr().err
