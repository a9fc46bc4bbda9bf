"""The sound of the cut while it plays, shuttles and scrubs, and its level in dBFS.

- :func:`mix` sums every audible dialogue line (mute / solo respected, silent handles
  left silent, overlapping lines and a two-shot's two lines all heard) as float32 stereo at the playback rate.
- :func:`at_speed` turns a mix into what J/K/L play: faster and higher, or slower and
  lower, backwards for J (tape-style varispeed, as NLEs do).
- :func:`scrub_snippet` is the frame of sound under the playhead that a scrub or a
  frame step plays, with short fades so it clicks no more than a real deck.
- :func:`levels` gives peak and RMS per channel in dBFS for the viewer's meters.
"""

from __future__ import annotations

import numpy as np

from engine.timebase import frames_to_seconds
from soul_studio.project.model import MUSIC_TRACK, Project, Shot, audible_tracks, dialogue_track
from soul_studio.ui.media_cache import PLAYBACK_RATE, MediaCache

SILENCE_DB = -90.0
FADE_S = 0.004


def mix(project: Project, cache: MediaCache, start_frame: int, seconds: float) -> np.ndarray:
    """Float32 (samples, 2) of the cut from ``start_frame`` for ``seconds`` (decoded media only)."""
    fps = project.fps
    t0 = frames_to_seconds(start_frame, fps)
    total = max(0.0, min(seconds, project.duration_seconds() - t0))
    out = np.zeros((int(round(total * PLAYBACK_RATE)), 2), np.float32)
    if not len(out):
        return out
    keys = sorted({dialogue_track(p.shot.character_id) for p in project.placements()})
    audible = audible_tracks(project, [*keys, MUSIC_TRACK])
    for p in project.placements():
        shot = p.shot
        if dialogue_track(shot.character_id) not in audible:
            continue
        s0 = frames_to_seconds(p.start, fps) + shot.handle_head  # the lines start after the silent head
        stop = frames_to_seconds(p.end, fps) - shot.handle_tail
        for file, line_in, seconds in _lines(shot):
            # each stops at its out point (a frame's rounding is not more of the recording)
            s1 = stop if seconds is None else min(stop, s0 + seconds)
            if s1 <= t0 or s0 >= t0 + total:
                continue
            _add(out, project, cache, file, s0, s1, line_in, t0)
    if MUSIC_TRACK in audible:
        _mix_music(project, cache, out, t0)
    np.clip(out, -1.0, 1.0, out=out)
    return out


def _lines(shot: Shot) -> list[tuple[str, float, float | None]]:
    """(file, in point, seconds) of each line a shot plays: its own, and a two-shot partner's."""
    out: list[tuple[str, float, float | None]] = []
    if shot.audio:
        end = shot.audio_out if shot.audio_out is not None else shot.audio_length
        out.append((shot.audio, shot.audio_in, None if end is None else max(0.0, end - shot.audio_in)))
    if shot.is_two_shot and shot.partner_audio:
        out.append((shot.partner_audio, shot.partner_audio_in, shot.partner_duration))
    return out


def _mix_music(project: Project, cache: MediaCache, out: np.ndarray, t0: float) -> None:
    for clip in project.timeline.music:
        s0 = frames_to_seconds(clip.start, project.fps)
        s1 = s0 + clip.seconds()
        if s1 <= t0 or s0 >= t0 + len(out) / PLAYBACK_RATE:
            continue
        _add(out, project, cache, clip.path, s0, s1, clip.audio_in, t0, 10 ** (clip.gain_db / 20))


def _add(out: np.ndarray, project: Project, cache: MediaCache, file: str, s0: float, s1: float, file_in: float,
         t0: float, gain: float = 1.0) -> None:
    """Mix ``file`` from ``file_in`` into ``out`` (which starts at ``t0``) where it plays, ``s0`` to ``s1``."""
    path = project.resolve(file)
    pcm = cache.audio(path) if path is not None else None
    if pcm is None:
        return
    dst0 = int(round((max(s0, t0) - t0) * PLAYBACK_RATE))
    src0 = int(round((file_in + max(0.0, t0 - s0)) * PLAYBACK_RATE))
    n = min(len(out) - dst0, len(pcm) - src0, int(round((s1 - max(s0, t0)) * PLAYBACK_RATE)))
    if n > 0:
        out[dst0:dst0 + n] += pcm[src0:src0 + n].astype(np.float32) / 32767.0 * gain


def at_speed(samples: np.ndarray, speed: float) -> np.ndarray:
    """Varispeed: ``speed`` 2 plays twice as fast (an octave up), negative plays backwards."""
    if speed == 0 or not len(samples):
        return samples[:0]
    step = abs(speed)
    n_out = int(len(samples) / step)
    positions = np.arange(n_out, dtype=np.float64) * step
    left = np.floor(positions).astype(np.int64)
    right = np.minimum(left + 1, len(samples) - 1)
    frac = (positions - left)[:, None].astype(np.float32)
    out = samples[left] * (1.0 - frac) + samples[right] * frac
    return out[::-1].copy() if speed < 0 else out.astype(np.float32)


def with_fades(samples: np.ndarray, fade_s: float = FADE_S) -> np.ndarray:
    n = min(len(samples) // 2, int(fade_s * PLAYBACK_RATE))
    if n <= 0:
        return samples
    ramp = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    out = samples.copy()
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def scrub_snippet(project: Project, cache: MediaCache, frame: int, direction: int = 1) -> np.ndarray:
    """One frame of the cut's sound at ``frame`` (reversed when scrubbing backwards), faded in and out."""
    seconds = frames_to_seconds(1, project.fps)
    piece = mix(project, cache, frame, seconds)
    if direction < 0:
        piece = piece[::-1].copy()
    return with_fades(piece)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """Interleaved int16 for the audio sink."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)


def levels(samples: np.ndarray) -> tuple[list[float], list[float]]:
    """(peak dBFS, RMS dBFS) per channel; silence reads :data:`SILENCE_DB`."""
    if not len(samples):
        return [SILENCE_DB, SILENCE_DB], [SILENCE_DB, SILENCE_DB]
    data = samples.astype(np.float64)
    peak = np.abs(data).max(axis=0)
    rms = np.sqrt((data**2).mean(axis=0))

    def db(v: float) -> float:
        return float(max(SILENCE_DB, 20.0 * np.log10(v))) if v > 0 else SILENCE_DB

    return [db(v) for v in peak], [db(v) for v in rms]
