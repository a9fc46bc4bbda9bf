"""A pause before the line is rendered with it: the real photo waits with its mouth shut, then speaks on time.

The demo's real portrait and recorded voice, rendered by the real engine process, then
exported; the take and the delivered movie are decoded back.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.media import load_audio, probe_video
from soul_studio.cli import main
from soul_studio.export import ExportOptions, export_project
from soul_studio.project import load_project, save_project
from soul_studio.render.takes import take_in_use
from tests.export.conftest import decode_frames
from tests.render.tiny import tiny_demo

HEAD = 0.5


def _onset(path, rate: int = 16_000) -> float:
    """Seconds to the first 10 ms window within 25 dB of the loudest one."""
    mono = load_audio(path, rate, 1).mono()
    win = rate // 100
    rms = np.sqrt(np.mean(mono[: mono.size // win * win].reshape(-1, win) ** 2, axis=1)) + 1e-9
    return float(np.argmax(20 * np.log10(rms / rms.max()) > -25) * win / rate)


@pytest.fixture
def headed(tmp_path):
    path = tiny_demo(tmp_path / "demo", seconds=1.5, shots=1)
    project = load_project(path)
    shot = project.timeline_shots()[0]
    shot.audio_in = max(0.0, shot.audio_in - 0.1)  # start the range just before the voice
    shot.audio_out = shot.audio_in + 1.5
    shot.handle_head = HEAD
    save_project(project, keep_backups=0)
    return path


def test_pause_is_rendered_and_the_line_lands_after_it(headed, tmp_path):
    assert main(["render", str(headed), "--quality", "draft", "--quiet"]) == 0
    project = load_project(headed)
    shot = project.timeline_shots()[0]
    take = take_in_use(project, shot)
    assert take is not None and take.offset == 0
    movie = project.resolve(take.file)
    info = probe_video(movie)
    assert info.frame_count == shot.frames(project.fps)  # the pause is in the take, not held
    voice = project.resolve(shot.audio)
    own = _onset_in_range(voice, shot.audio_in)
    assert _onset(movie) == pytest.approx(HEAD + own, abs=0.03)

    mouth = json.loads(movie.with_suffix(".json").read_text())["metadata"]["mouth"]["shapes"]
    head = shot.head_frames(project.fps)
    assert len(mouth) == info.frame_count
    assert set(mouth[:head - 1]) == {"X"}  # mouth shut through the pause
    assert len(set(mouth[head:]) - {"X"}) >= 2  # and speaking after it

    # The delivered movie shows the take frame for frame and its sound starts with the take's.
    out = export_project(project, "mp4", tmp_path / "cut.mp4", ExportOptions())
    delivered, rendered = decode_frames(out.path), decode_frames(movie)
    assert len(delivered) == len(rendered)
    small = [np.asarray(f[::2, ::2], np.float32) for f in delivered]
    scaled = [np.asarray(f, np.float32) for f in rendered]
    h, w = min(small[0].shape[0], scaled[0].shape[0]), min(small[0].shape[1], scaled[0].shape[1])
    for i in (0, head // 2, head, len(rendered) - 1):  # the same picture at every point, none held
        assert np.abs(small[i][:h, :w] - scaled[i][:h, :w]).mean() < 12
    assert _onset(out.path) == pytest.approx(_onset(movie), abs=0.03)


def _onset_in_range(path, start: float) -> float:
    """Onset of the voice counted from ``start`` seconds into its file."""
    clip = load_audio(path, 16_000, 1, start=start, end=start + 1.5).mono()
    win = 160
    rms = np.sqrt(np.mean(clip[: clip.size // win * win].reshape(-1, win) ** 2, axis=1)) + 1e-9
    return float(np.argmax(20 * np.log10(rms / rms.max()) > -25) * win / 16_000)
