"""The dialogue track of a cut: each shot's line placed at its first frame, silence between.

Sample positions come from frame positions (``round(frame × 48000 / fps)``) so picture
and sound cut on the same boundary; every shot's audio is padded or trimmed to its
length on the timeline.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.media import DELIVERY_RATE, AudioClip, MediaError, load_audio
from engine.media.audio import encode_audio_into
from engine.timebase import fps_fraction
from soul_studio.export.cut import Cut, Segment
from soul_studio.project.model import MUSIC_TRACK, Project, Shot, audible_tracks, dialogue_track

CHANNELS = 2


def sample_at(frame: int, fps: float, rate: int = DELIVERY_RATE) -> int:
    """First sample of ``frame`` at ``rate``."""
    return int(round(Fraction(frame) * rate / fps_fraction(fps)))


def _source(project: Project, seg: Segment, take_audio: bool) -> tuple[str, float, float | None] | None:
    shot = seg.shot
    assert shot is not None
    take = str(seg.take_path) if seg.take_path is not None else None
    own = project.resolve(shot.audio) if shot.audio else None
    if take_audio and take is not None:
        return take, 0.0, None
    if own is not None:
        return str(own), shot.audio_in, shot.audio_out
    if take is not None:
        return take, 0.0, None
    return None


def shot_samples(project: Project, seg: Segment, fps: float, take_audio: bool = False,
                 warnings: list[str] | None = None) -> np.ndarray:
    """Stereo float32 samples of the segment's part of its shot, exactly its length."""
    first = sample_at(seg.offset, fps)
    count = sample_at(seg.offset + seg.length, fps) - first
    out = np.zeros((CHANNELS, count), np.float32)
    source = _source(project, seg, take_audio)
    if source is None and seg.shot is not None and seg.shot.is_two_shot and seg.shot.partner_audio:
        source = ("", 0.0, None)  # the shot's own character listens: only the partner's line is heard
    if source is None:
        return out
    path, start, end = source
    try:
        clip = (load_audio(path, DELIVERY_RATE, CHANNELS, start=start, end=end) if path
                else AudioClip(np.zeros((CHANNELS, 0), np.float32), DELIVERY_RATE))
    except MediaError as exc:
        if path == str(seg.take_path) and "no audio stream" in str(exc):
            return out
        if warnings is not None:
            warnings.append(f"{seg.name!r}: audio could not be read ({exc}); exported as silence")
        return out
    samples = clip.samples
    shot = seg.shot
    if shot is not None and shot.is_two_shot and shot.partner_audio and path != str(seg.take_path):
        samples = _with_partner_line(project, shot, samples, warnings, seg.name)
    if shot is not None and shot.handle_head > 0 and path != str(seg.take_path):  # the line starts after the pause
        samples = np.concatenate([np.zeros((samples.shape[0], int(round(shot.handle_head * DELIVERY_RATE))),
                                           samples.dtype), samples], axis=1)
    piece = samples[:, first : first + count]
    out[:, : piece.shape[1]] = piece
    return out


def _with_partner_line(project: Project, shot: Shot, samples: np.ndarray, warnings: list[str] | None,
                       name: str) -> np.ndarray:
    """A two-shot's own line with the second character's line mixed in (both start with the shot)."""
    partner = project.resolve(shot.partner_audio)
    try:
        other = load_audio(str(partner), DELIVERY_RATE, CHANNELS, start=shot.partner_audio_in,
                           end=shot.partner_audio_out).samples
    except MediaError as exc:
        if warnings is not None:
            warnings.append(f"{name!r}: the second character's line could not be read ({exc}); left out")
        return samples
    n = max(samples.shape[1], other.shape[1])
    mixed = np.zeros((samples.shape[0], n), np.float32)
    mixed[:, : samples.shape[1]] += samples
    mixed[:, : other.shape[1]] += other
    return mixed


def build_soundtrack(project: Project, cut: Cut, take_audio: bool = False,
                     warnings: list[str] | None = None) -> AudioClip:
    """The whole cut's dialogue as one stereo 48 kHz clip, as long as the picture."""
    total = sample_at(cut.length, cut.fps)
    track = np.zeros((CHANNELS, total), np.float32)
    keys = sorted({dialogue_track(p.shot.character_id) for p in project.placements()})
    audible = audible_tracks(project, [*keys, MUSIC_TRACK])  # muted tracks are not delivered, as in NLEs
    for seg in cut.shots():
        assert seg.shot is not None
        if dialogue_track(seg.shot.character_id) not in audible:
            continue
        at = sample_at(seg.record_start, cut.fps)
        samples = shot_samples(project, seg, cut.fps, take_audio, warnings)
        n = min(samples.shape[1], total - at)
        track[:, at : at + n] = samples[:, :n]
    for seg in hidden_dialogue(project, cut):  # lines under a clip of the track above are heard too
        if seg.shot is None or dialogue_track(seg.shot.character_id) not in audible:
            continue
        at = sample_at(seg.record_start, cut.fps)
        samples = shot_samples(project, seg, cut.fps, False, warnings)
        n = min(samples.shape[1], total - at)
        track[:, at : at + n] += samples[:, :n]
    if MUSIC_TRACK in audible and not cut.selection:
        _add_music(project, cut, track, warnings)
    np.clip(track, -1.0, 1.0, out=track)
    return AudioClip(track, DELIVERY_RATE)


def _add_music(project: Project, cut: Cut, track: np.ndarray, warnings: list[str] | None) -> None:
    """Music and effects clips of the M1 track, where they fall in the cut."""
    for clip in project.timeline.music:
        first, last = clip.start, clip.start + clip.frames(cut.fps)
        a, b = max(first, cut.timeline_start), min(last, cut.timeline_start + cut.length)
        if b <= a:
            continue
        path = project.resolve(clip.path)
        try:
            audio = load_audio(str(path), DELIVERY_RATE, CHANNELS, start=clip.audio_in, end=clip.audio_out)
        except MediaError as exc:
            if warnings is not None:
                warnings.append(f"music {clip.path!r} could not be read ({exc}); left out")
            continue
        skip = sample_at(a - first, cut.fps)
        at = sample_at(a - cut.timeline_start, cut.fps)
        n = min(sample_at(b - a, cut.fps), audio.samples.shape[1] - skip, track.shape[1] - at)
        if n > 0:
            track[:, at : at + n] += audio.samples[:, skip : skip + n] * 10 ** (clip.gain_db / 20)


def hidden_dialogue(project: Project, cut: Cut) -> list[Segment]:
    """Stretches of dialogue whose picture is covered by an upper video track (overlapping lines)."""
    if cut.selection:
        return []
    shown: dict[str, list[tuple[int, int]]] = {}
    for seg in cut.shots():
        assert seg.shot is not None
        first = seg.placement_start + seg.offset
        shown.setdefault(seg.shot.id, []).append((first, first + seg.length))
    lo, hi = cut.timeline_start, cut.timeline_start + cut.length
    out: list[Segment] = []
    for p in project.placements():
        if not p.shot.audio:
            continue
        free = [(max(p.start, lo), min(p.end, hi))]
        for a, b in shown.get(p.shot.id, []):
            free = [piece for s, e in free for piece in ((s, min(e, a)), (max(s, b), e)) if piece[1] > piece[0]]
        for s, e in free:
            if e > s:
                out.append(Segment("shot", s - lo, e - s, shot=p.shot, index=p.index, offset=s - p.start,
                                   placement_start=p.start, shot_length=p.length, name=p.shot.name))
    return out


def write_bwf(path: str | os.PathLike[str], clip: AudioClip, time_reference: int, description: str = "") -> None:
    """A 24-bit broadcast WAV whose ``bext`` chunk places it at ``time_reference`` samples
    since midnight (its start timecode), as Pro Tools, Avid and Resolve read it."""
    with av.open(str(path), mode="w", format="wav", options={"write_bext": "1"}) as container:
        container.metadata["time_reference"] = str(int(time_reference))
        container.metadata["originator"] = "Soul Studio"
        container.metadata["description"] = description[:256]
        stream = container.add_stream("pcm_s24le", rate=clip.sample_rate, layout="stereo" if clip.channels == 2 else "mono")
        encode_audio_into(container, stream, clip)
    Path(path).chmod(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
