"""What plays while editing (J/K/L, scrubs, frame steps) is what the export delivers: the demo's
recorded lines with pauses, reactions and a two-shot's second line, mixed both ways, compared."""

from __future__ import annotations

import numpy as np
import pytest

from engine.media import load_audio
from soul_studio.export.cut import plan_cut
from soul_studio.export.options import ExportOptions
from soul_studio.export.soundtrack import build_soundtrack
from soul_studio.project import load_project
from soul_studio.project.model import dialogue_track
from soul_studio.ui import playback_audio
from tests.render.tiny import tiny_demo


class _DecodedNow:
    """The media cache's audio, decoded on the spot (the real cache decodes on a worker)."""

    def audio(self, path) -> np.ndarray:
        return (np.clip(load_audio(path, 48_000, 2).samples.T, -1.0, 1.0) * 32767.0).astype(np.int16)


def _delivered(project) -> np.ndarray:
    cut = plan_cut(project, ExportOptions())
    for seg in cut.segments:  # the lines themselves, as a shot without a take delivers them
        seg.take, seg.take_path = None, None
    return build_soundtrack(project, cut).samples


def _played(project) -> np.ndarray:
    return playback_audio.mix(project, _DecodedNow(), 0, project.duration_seconds() + 1).T


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return tiny_demo(tmp_path_factory.mktemp("demo") / "demo", seconds=1.0, shots=3)


@pytest.mark.parametrize("fps", [24.0, 29.97])
def test_playback_of_pauses_reactions_and_a_two_shot_is_the_delivered_sound(demo, fps):
    project = load_project(demo)
    project.fps = fps
    a, b, c = project.timeline_shots()
    a.handle_head, b.handle_tail, c.handle_head, c.handle_tail = 0.3, 0.4, 0.17, 0.23  # off the frame grid
    a.partner_id, a.partner_audio, a.partner_audio_in = b.character_id, b.audio, b.audio_in
    a.partner_audio_out, a.partner_audio_length = b.audio_in + 1.5, b.audio_length  # longer than her own line
    delivered, played = _delivered(project), _played(project)
    assert played.shape == delivered.shape and np.abs(delivered).max() > 0.3
    assert np.abs(played - delivered).max() < 1e-3
    project.timeline.track(dialogue_track(a.character_id)).mute = True  # muted lines are silent both ways
    assert np.abs(_played(project) - _delivered(project)).max() < 1e-3
