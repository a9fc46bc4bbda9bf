"""Temp voices through espeak-ng: real WAV files per character voice, marked temp, reused when unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from engine.media import load_audio, probe_audio
from soul_studio.project import Character, Project, Shot, Voice
from soul_studio.project.edits import AddShot, EditHistory
from soul_studio.script import (
    ImportOptions,
    ScriptError,
    TempVoiceUnavailable,
    espeak_available,
    generate_temp_voices,
    import_scene,
    parse_fountain,
    render_temp_voice,
)

needs_espeak = pytest.mark.skipif(not espeak_available(), reason="espeak-ng is not installed")


def median_f0(samples: np.ndarray, rate: int) -> float:
    """Pitch of the loud frames by autocorrelation (60–400 Hz)."""
    hop = int(0.04 * rate)
    lo, hi = rate // 400, rate // 60
    peak = np.max(np.abs(samples))
    f0s = []
    for i in range(0, len(samples) - hop, hop):
        frame = samples[i : i + hop] - samples[i : i + hop].mean()
        if np.max(np.abs(frame)) < 0.3 * peak:
            continue
        ac = np.correlate(frame, frame, "full")[hop - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        f0s.append(rate / lag)
    return float(np.median(f0s))


def project_at(tmp_path: Path) -> Project:
    project = Project(name="voices")
    project.path = tmp_path / "voices.soulproj"
    return project


@needs_espeak
def test_each_character_speaks_in_their_voice(tmp_path: Path):
    project = project_at(tmp_path)
    low = Character(name="Low", voice=Voice(voice="en-us+m3", pitch=20, rate=160))
    high = Character(name="High", voice=Voice(voice="en-us+f3", pitch=80, rate=160))
    project.characters += [low, high]
    shots = [Shot(character_id=low.id, text="The tide is turning now."), Shot(character_id=high.id, text="The tide is turning now.")]
    recorded = Shot(character_id=low.id, text="Already recorded.", audio="take1.wav", audio_length=2.0)
    for s in [*shots, recorded]:
        AddShot(s).apply(project)
    history = EditHistory(project)
    for edit in generate_temp_voices(project, project.timeline_shots()):
        history.push(edit)
    assert recorded.audio == "take1.wav" and not recorded.temp_audio  # a real recording is never replaced
    f0 = []
    for shot in shots:
        assert shot.temp_audio
        assert shot.audio.startswith("media/temp_voices/")
        path = project.resolve(shot.audio)
        info = probe_audio(path)
        assert (info.channels, info.codec) == (1, "pcm_s16le")
        assert abs(info.duration - shot.audio_length) < 0.01
        assert 1.0 < shot.duration < 3.0
        clip = load_audio(path)
        mono = clip.mono()
        assert np.max(np.abs(mono)) > 0.1
        # trimmed: speech starts within ~60 ms of the file start
        assert np.flatnonzero(np.abs(mono) > 0.01)[0] / clip.sample_rate < 0.08
        f0.append(median_f0(mono, clip.sample_rate))
    assert f0[1] > f0[0] * 1.3, f0
    assert history.undo() and not shots[1].temp_audio and shots[1].audio is None


@needs_espeak
def test_identical_line_is_rendered_once_and_changes_make_new_files(tmp_path: Path):
    voice = Voice(voice="en", pitch=50, rate=170)
    first = render_temp_voice("Hello there.", voice, tmp_path, label="Ana")
    mtime = first.path.stat().st_mtime_ns
    again = render_temp_voice("Hello   there.", voice, tmp_path, label="Ana")
    assert again.path == first.path and first.path.stat().st_mtime_ns == mtime
    other = render_temp_voice("Hello there.", Voice(voice="en", pitch=51, rate=170), tmp_path, label="Ana")
    assert other.path != first.path
    assert first.path.name.startswith("ana-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.path.name, other.path.name])  # no temp files left


@needs_espeak
def test_bad_voice_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TempVoiceUnavailable, match="could not speak with voice 'xx-nowhere'"):
        render_temp_voice("Hello.", Voice(voice="xx-nowhere"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not espeak_available()
    with pytest.raises(TempVoiceUnavailable, match="espeak-ng is not installed.*apt install espeak-ng"):
        render_temp_voice("Hello.", Voice(), tmp_path)


def test_unsaved_project_has_nowhere_to_write():
    project = Project(name="x")
    shot = Shot(text="Hi.")
    AddShot(shot).apply(project)
    with pytest.raises(ScriptError, match="save the project first"):
        generate_temp_voices(project, [shot])


@needs_espeak
def test_import_with_temp_voices_is_one_undo_step(tmp_path: Path):
    scene = parse_fountain("INT. BOAT - DAY\n\nIDA\nRow faster.\n\nOLE\n(panting)\nI am rowing!\n").scene(1)
    project = project_at(tmp_path)
    group = import_scene(project, scene, ImportOptions(temp_voices=True))
    assert project.shots == {} and project.characters == []  # nothing applied yet
    history = EditHistory(project)
    history.push(group)
    shots = project.timeline_shots()
    assert all(s.temp_audio and project.resolve(s.audio).is_file() for s in shots)
    assert shots[0].audio != shots[1].audio
    assert history.undo() and project.shots == {} and project.characters == []
    assert os.path.isdir(tmp_path / "media" / "temp_voices")
