"""What ``soul-studio render`` says when media is damaged: warnings with times, each hint once."""

from __future__ import annotations

import numpy as np

from engine.media.audio import AudioClip, write_audio
from soul_studio.cli import main
from soul_studio.project import load_project, save_project
from tests.render.tiny import tiny_demo


def test_truncated_recording_warns_once_with_the_time_and_bad_audio_says_its_hint_once(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.setenv("SOUL_STUDIO_LOG_DIR", str(tmp_path / "logs"))
    scene = tiny_demo(tmp_path / "scene", seconds=1.0)
    rate = 48_000
    t = np.arange(3 * rate) / rate
    full = scene.parent / "media" / "long.mp3"
    write_audio(full, AudioClip((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate))
    cut = scene.parent / "media" / "cut.mp3"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    (scene.parent / "media" / "noise.wav").write_bytes(b"RIFF" + bytes(range(256)) * 8)
    project = load_project(scene)
    first, second = project.timeline_shots()[:2]
    first.audio, first.audio_in, first.audio_out = "media/cut.mp3", 0.0, 2.5
    second.audio = "media/noise.wav"
    save_project(project)
    code = main(["render", str(scene), "--shots", "1", "2", "--quality", "draft", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    warnings = [line for line in err.splitlines() if "warning:" in line and "cut.mp3" in line]
    assert len(warnings) == 1 and "ends at" in warnings[0]  # said once, though two engines' logs could repeat it
    failed = [line for line in err.splitlines() if "failed" in line]
    assert len(failed) == 1 and "noise.wav" in failed[0]
    assert failed[0].count("use WAV, MP3") == 1, failed[0]
    assert "Traceback" not in err
