"""The demo project is regenerated from the bundled scene.fountain, and the bundled copy matches it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.media import probe_audio
from soul_studio.project import load_project, missing_media
from soul_studio.script import espeak_available, parse_screenplay

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "resources" / "demo"
TOOL = ROOT / "tools" / "make_demo_project.py"


def check_demo(folder: Path) -> None:
    project = load_project(folder / "demo.soulproj")
    scene = parse_screenplay(DEMO / "scene.fountain").scene(1)
    assert (project.name, project.fps, project.width, project.height) == ("The Lighthouse", 24.0, 1280, 720)
    assert [c.name for c in project.characters] == ["Ben", "Ada"]
    shots = project.timeline_shots()
    assert [s.text for s in shots] == [b.text for b in scene.dialogue]
    assert len(shots) == 4 and sum(bool(b.parenthetical) for b in scene.dialogue) == 1
    assert [project.character(s.character_id).name for s in shots] == [b.speaker for b in scene.dialogue]
    assert missing_media(project) == []
    total = 0
    for shot in shots:
        assert shot.temp_audio, "demo voices are temp lines"
        assert not Path(shot.audio).is_absolute()
        path = project.resolve(shot.audio)
        info = probe_audio(path)
        assert info.channels == 1 and 22_000 <= info.sample_rate <= 24_000 and info.codec == "pcm_s16le"
        assert 2.0 <= info.duration <= 4.0 and abs(info.duration - shot.audio_length) < 0.01
        total += path.stat().st_size
    assert total < 1_000_000
    for character in project.characters:
        assert character.portrait in (f"media/{character.name.lower()}.png", None)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_demo_regenerates_from_the_fountain(tmp_path: Path):
    out = tmp_path / "demo"
    result = subprocess.run([sys.executable, str(TOOL), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    check_demo(out)
    # a second run leaves the same project (fixed ids, content-named voices)
    before = (out / "demo.soulproj").read_bytes()
    assert subprocess.run([sys.executable, str(TOOL), "--out", str(out)], capture_output=True, timeout=120).returncode == 0
    assert (out / "demo.soulproj").read_bytes() == before


def test_bundled_demo_matches_its_script():
    check_demo(DEMO)
