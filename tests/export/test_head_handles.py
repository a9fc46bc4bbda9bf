"""A shot's head handle is part of its take: the picture plays through the pause, the line starts after it.

Colour-coded takes (green = 10 + 8 × take frame) say which take frame every exported
frame shows; the tone lines say where each line's sound starts.
"""

from __future__ import annotations

import numpy as np
import opentimelineio as otio
import pytest

from soul_studio.export import ExportOptions, export_project
from soul_studio.export import streamed_soundtrack as streamed
from soul_studio.project import save_project
from soul_studio.project.migrations import migrate
from soul_studio.project.model import MusicClip
from soul_studio.render.planner import current_hash, job_for_shot
from soul_studio.render.split import split_keeping_picture
from tests.export.builders import build_project, tone, write_take
from tests.export.conftest import decode_audio, decode_frames

FPS = 24.0
HEAD = 0.25  # 6 frames at 24 fps


def _take_frames(frames: list[np.ndarray], first: int, count: int) -> list[int]:
    """The take frame each exported frame shows, read back from its green level."""
    return [int(round((float(np.median(f[..., 1])) - 10) / 8)) for f in frames[first:first + count]]


def _onset(samples: np.ndarray, rate: int = 48_000) -> float:
    """Seconds to the first 5 ms window louder than -30 dBFS."""
    mono = samples.mean(axis=0)
    win = rate // 200
    rms = np.sqrt(np.mean(mono[: mono.size // win * win].reshape(-1, win) ** 2, axis=1))
    return float(np.argmax(rms > 10 ** (-30 / 20)) * win / rate)


@pytest.fixture
def headed(tmp_path):
    """The export scene whose first shot has a quarter-second pause before its line, rendered with it."""
    project = build_project(tmp_path / "scene")
    shot = project.timeline_shots()[0]
    shot.handle_head = HEAD
    write_take(project.folder / "takes" / "a_headed.mp4", 0, shot.frames(FPS), project.width, project.height, FPS)
    shot.takes[0].file = "takes/a_headed.mp4"
    shot.takes[0].job_hash = current_hash(project, shot, "final", "sketch")
    save_project(project, keep_backups=0)
    return project


def test_the_job_renders_the_pause_with_the_line(headed):
    shot = headed.timeline_shots()[0]
    job = job_for_shot(headed, shot, "final", "sketch")
    assert job.duration == pytest.approx(shot.duration) and job.lead_in == pytest.approx(HEAD)
    assert job.frame_count == shot.frames(FPS) == 30
    shot.handle_head = 0.0  # no pause: the job is what it always was (old takes stay fresh)
    assert "lead_in" not in job_for_shot(headed, shot, "final", "sketch").options


def test_export_plays_the_take_through_the_pause_and_the_line_after_it(headed, tmp_path):
    result = export_project(headed, "mp4", tmp_path / "cut.mp4", ExportOptions())
    frames = decode_frames(result.path)
    assert _take_frames(frames, 0, 30) == list(range(30))  # no held first frame
    sound = decode_audio(result.path)
    assert _onset(sound[:, : 48_000]) == pytest.approx(HEAD, abs=0.01)


def test_a_take_from_before_the_pause_was_rendered_holds_its_first_frame(tmp_path):
    project = build_project(tmp_path / "scene")
    shot = project.timeline_shots()[0]
    data = {"schema_version": 2, "fps": FPS, "shots": [{"id": shot.id, "audio": shot.audio, "handle_head": HEAD,
                                                         "takes": [{"file": "takes/a_final.mp4", "offset": 0}]}]}
    migrated, steps = migrate(data)
    assert steps == [2] and migrated["shots"][0]["takes"][0]["offset"] == -6
    shot.handle_head = HEAD
    shot.takes[0].offset = -6
    frames = decode_frames(export_project(project, "mp4", tmp_path / "old.mp4",
                                          ExportOptions(stale_check=lambda s, t: False)).path)
    assert _take_frames(frames, 0, 30) == [0] * 7 + list(range(1, 24))
    assert shot.takes[0].file_frame(0) == 0 and shot.takes[0].file_frame(6) == 0 and shot.takes[0].file_frame(7) == 1


def test_split_inside_the_pause_keeps_every_frame_and_sample(headed, tmp_path):
    whole = export_project(headed, "mp4", tmp_path / "whole.mp4", ExportOptions())
    shot = headed.timeline_shots()[0]
    edit = split_keeping_picture(headed, shot.id, 10)
    edit.apply(headed)
    assert [t.offset for t in edit.tail_takes] == [10]
    halves = export_project(headed, "mp4", tmp_path / "halves.mp4", ExportOptions())
    assert _take_frames(decode_frames(halves.path), 0, 30) == list(range(30))
    a, b = decode_audio(whole.path), decode_audio(halves.path)
    assert a.shape == b.shape and np.abs(a - b).max() < 2e-3


def test_streamed_sound_equals_the_built_one_with_pauses_and_music(headed, tmp_path, monkeypatch):
    from engine.media import write_audio

    write_audio(headed.folder / "media" / "music.wav", tone(220.0, 3.0))
    headed.timeline.music.append(MusicClip("media/music.wav", start=0, length=3.0, gain_db=-12.0))
    monkeypatch.setattr(streamed, "STREAM_AFTER_S", 1e9)
    held = decode_audio(export_project(headed, "mp4", tmp_path / "held.mp4", ExportOptions()).path)
    monkeypatch.setattr(streamed, "STREAM_AFTER_S", 0.0)
    flowing = decode_audio(export_project(headed, "mp4", tmp_path / "flow.mp4", ExportOptions()).path)
    assert held.shape == flowing.shape and np.abs(held).max() > 0.1
    assert np.abs(held - flowing).max() < 1e-3
    pause = held[:, 200 : int(HEAD * 48_000) - 200]  # under the pause only the music plays
    assert 0.05 < np.abs(pause).max() < 0.2


def test_interchange_puts_the_line_after_the_pause(headed, tmp_path):
    result = export_project(headed, "otio", tmp_path / "cut.otio", ExportOptions(media="takes"))
    timeline = otio.adapters.read_from_file(str(result.path))
    video, audio = timeline.video_tracks()[0], timeline.audio_tracks()[0]
    first = video[0]
    assert isinstance(first, otio.schema.Clip) and first.source_range.duration.value == 30
    take_start = first.media_reference.available_range.start_time.value
    assert first.source_range.start_time.value == take_start  # the take's own first frame: the pause is in it
    assert isinstance(audio[0], otio.schema.Gap) and audio[0].source_range.duration.value == 6
    line = audio[1]
    assert line.source_range.start_time.value == 6  # audio_in 0.25 s at 24 fps
    assert line.source_range.duration.value == 24


def test_split_inside_the_pause_makes_a_silent_head_and_undo_restores_the_shot(headed, tmp_path):
    from soul_studio.project.edits import EditHistory

    whole = export_project(headed, "mp4", tmp_path / "whole.mp4", ExportOptions())
    shot = headed.timeline_shots()[0]
    before = (shot.audio, shot.audio_in, shot.audio_out, shot.handle_head, shot.text, shot.frames(FPS))
    history = EditHistory(headed)
    history.push(split_keeping_picture(headed, shot.id, 3))
    head, tail = headed.timeline_shots()[:2]
    assert head.audio is None and head.frames(FPS) == 3 and tail.handle_head == pytest.approx(HEAD - 3 / FPS)
    assert head.frames(FPS) + tail.frames(FPS) == before[-1]
    assert [t.offset for t in tail.takes] == [3]
    halves = export_project(headed, "mp4", tmp_path / "halves.mp4", ExportOptions())
    assert _take_frames(decode_frames(halves.path), 0, 30) == list(range(30))
    a, b = decode_audio(whole.path), decode_audio(halves.path)
    assert a.shape == b.shape and np.abs(a - b).max() < 2e-3
    history.undo()
    shot = headed.timeline_shots()[0]
    assert (shot.audio, shot.audio_in, shot.audio_out, shot.handle_head, shot.text, shot.frames(FPS)) == before


def test_interchange_of_a_range_that_starts_inside_the_pause(headed, tmp_path):
    result = export_project(headed, "otio", tmp_path / "range.otio", ExportOptions(media="takes", frame_range=(2, 20)))
    audio = otio.adapters.read_from_file(str(result.path)).audio_tracks()[0]
    assert isinstance(audio[0], otio.schema.Gap) and audio[0].source_range.duration.value == 4
    assert audio[1].source_range.start_time.value == 6 and audio[1].source_range.duration.value == 14
