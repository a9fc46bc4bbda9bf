"""Splitting one scene recording into its lines: real spoken lines and synthetic speech, cut within 50 ms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.media import AudioClip, load_audio, write_audio
from engine.media.synthetic import speech_like_audio
from soul_studio.project import Project, Shot
from soul_studio.project.edits import AddShot, EditHistory, trim_shot
from soul_studio.project.model import Voice
from soul_studio.script import ScriptError, espeak_available, recording_edits, render_temp_voice, split_clip

RATE = 16_000
TOLERANCE = 0.050


def assemble(lines: list[np.ndarray], pauses: list[float], noise_dbfs: float | None = None):
    """Concatenate lines with pauses (pauses[0] before the first, pauses[-1] after the last).

    Returns the recording and each line's true (first, last) audible sample time.
    """
    parts, truth, t = [], [], 0.0
    for i, line in enumerate(lines):
        parts.append(np.zeros(int(round(pauses[i] * RATE)), np.float32))
        t += pauses[i]
        loud = np.flatnonzero(np.abs(line) > 1e-3)
        truth.append((t + loud[0] / RATE, t + (loud[-1] + 1) / RATE))
        parts.append(line.astype(np.float32))
        t += len(line) / RATE
    parts.append(np.zeros(int(round(pauses[-1] * RATE)), np.float32))
    samples = np.concatenate(parts)
    if noise_dbfs is not None:
        samples = samples + np.random.default_rng(3).normal(0, 10 ** (noise_dbfs / 20), samples.size).astype(np.float32)
    return AudioClip(samples, RATE), truth


def babble(seconds: float, seed: int) -> np.ndarray:
    return speech_like_audio(seconds, RATE, seed=seed).mono()


def assert_close(spans, truth):
    assert len(spans) == len(truth)
    for (start, end), (t_start, t_end) in zip(spans, truth):
        assert abs(start - t_start) <= TOLERANCE, (spans, truth)
        assert abs(end - t_end) <= TOLERANCE, (spans, truth)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")
def test_spoken_scene_is_split_back_at_the_right_places(tmp_path: Path):
    texts = [
        "Morning, Ada. You are up early.",
        "I never went to bed. The lamp failed again at midnight.",
        "Then we row out before the storm.",
        "No. We wait for the tide, and we pray it holds.",
    ]
    voices = [Voice(voice="en-us+m3", pitch=40), Voice(voice="en-us+f3", pitch=62)]
    lines = [
        load_audio(render_temp_voice(t, voices[i % 2], tmp_path).path, sample_rate=RATE, channels=1).mono()
        for i, t in enumerate(texts)
    ]
    clip, truth = assemble(lines, [0.4, 0.7, 0.5, 0.8, 0.6])
    assert_close(split_clip(clip, texts, min_silence=0.3, padding=0.0), truth)
    # padding widens each line but never into its neighbour
    padded = split_clip(clip, texts, min_silence=0.3, padding=0.2)
    for (start, end), (t_start, t_end) in zip(padded, truth):
        assert start <= t_start - 0.15 and end >= t_end + 0.15
    assert all(padded[i][1] <= padded[i + 1][0] for i in range(3))


def test_pause_inside_a_line_is_bridged_by_expected_lengths():
    # the second line has a 0.5 s pause inside it, longer than the 0.4 s between lines 2 and 3
    line2 = np.concatenate([babble(0.8, 2), np.zeros(int(0.5 * RATE), np.float32), babble(1.3, 3)])
    clip, truth = assemble([babble(1.2, 1), line2, babble(1.0, 4)], [0.3, 0.6, 0.4, 0.3])
    texts = ["Where were you?", "Out at the point, watching the boats come in.", "All night?"]
    assert_close(split_clip(clip, texts, min_silence=0.3, padding=0.0), truth)


def test_short_pause_between_lines_is_still_found():
    # lines 2 and 3 follow each other after only 0.15 s, under the 0.3 s minimum
    clip, truth = assemble([babble(1.5, 5), babble(1.2, 6), babble(1.4, 7), babble(1.0, 8)], [0.3, 0.6, 0.15, 0.7, 0.3])
    texts = ["The boat is tied up tight.", "Then come inside.", "I will, in a minute.", "Now."]
    assert_close(split_clip(clip, texts, min_silence=0.3, padding=0.0), truth)


def test_noisy_room():
    clip, truth = assemble([babble(1.4, 9), babble(2.0, 10), babble(1.1, 11)], [0.5, 0.6, 0.7, 0.5], noise_dbfs=-55)
    texts = ["Is the lamp lit?", "It has been lit since six o'clock.", "Good."]
    assert_close(split_clip(clip, texts, padding=0.0), truth)


def test_lines_without_any_pause_still_get_one_span_each():
    clip, truth = assemble([babble(1.0, 12), babble(2.0, 13)], [0.3, 0.0, 0.3])
    spans = split_clip(clip, ["Yes.", "And then we sail home together."], padding=0.0)
    assert len(spans) == 2 and spans[0][1] <= spans[1][0]
    assert abs(spans[0][1] - truth[0][1]) < 0.5  # cut near the join, guided by the word counts


def test_silence_is_refused():
    with pytest.raises(ScriptError, match="no speech found"):
        split_clip(AudioClip(np.zeros(RATE * 2, np.float32), RATE), ["Hello."])


def test_recording_edits_set_editable_ranges(tmp_path: Path):
    clip, truth = assemble([babble(1.2, 14), babble(1.6, 15)], [0.4, 0.6, 0.4])
    stereo = AudioClip(np.repeat(clip.resample(48_000).samples, 2, axis=0), 48_000)
    recording = tmp_path / "audio" / "scene1.wav"
    recording.parent.mkdir()
    write_audio(recording, stereo)
    project = Project(name="r")
    project.path = tmp_path / "r.soulproj"
    shots = [Shot(text="Who is there?"), Shot(text="Only the keeper, same as always.")]
    for s in shots:
        AddShot(s).apply(project)
    history = EditHistory(project)
    for edit in recording_edits(project, shots, recording, padding=0.05):
        history.push(edit)
    for shot, (t_start, t_end) in zip(shots, truth):
        assert shot.audio == "audio/scene1.wav" and not shot.temp_audio
        assert abs(shot.audio_length - clip.duration) < 0.01
        assert abs(shot.audio_in - (t_start - 0.05)) <= TOLERANCE
        assert abs(shot.audio_out - (t_end + 0.05)) <= TOLERANCE
    # the cut points are ordinary in/out points: trimming on the timeline moves them
    old_out = shots[0].audio_out
    history.push(trim_shot(project, shots[0].id, tail_frames=3))
    assert shots[0].audio_out == pytest.approx(old_out - 3 / 24, abs=1e-6)
