"""The sound of a cut: each shot's line placed at its first frame, silence between, music under.

:func:`plan_soundtrack` places every source once (a :class:`Piece` each); the track is
then built in memory (:func:`build_soundtrack`) or streamed for a long cut (see
``streamed_soundtrack``), from the same plan. Sample positions come from frame positions
(``round(frame × 48000 / fps)``) so picture and sound cut on the same boundary; every
shot's audio is padded or trimmed to its length on the timeline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engine.media import DELIVERY_RATE, AudioClip, MediaError, load_audio
from engine.media.audio import encode_audio_into
from engine.timebase import fps_fraction, frames_to_seconds
from soul_studio.export.cut import Cut, Segment
from soul_studio.project.model import MUSIC_TRACK, Project, audible_tracks, dialogue_track

CHANNELS = 2


def sample_at(frame: int, fps: float, rate: int = DELIVERY_RATE) -> int:
    """First sample of ``frame`` at ``rate``."""
    return int(round(Fraction(frame) * rate / fps_fraction(fps)))


@dataclass(frozen=True)
class Piece:
    """One source's sound on the track: record samples ``[at, at + count)``.

    In the piece's own shot time, the source's first sample lands at ``lead`` (a head
    handle's silence, or a take that starts inside its shot) and the piece begins at
    ``skip`` (a range or a split half that starts inside the shot). Reading past the
    source's end gives silence (the tail handle).
    """

    at: int
    count: int
    path: str
    start: float
    end: float | None
    lead: int = 0
    skip: int = 0
    gain: float = 1.0
    failure: str = "audio could not be read ({exc}); exported as silence"
    silent_without_sound: bool = False  # a take without a sound stream is silence, not a problem

    @property
    def silence_first(self) -> int:
        """Samples of silence the piece opens with, before its source starts."""
        return min(self.count, max(0, self.lead - self.skip))

    @property
    def source_skip(self) -> int:
        """Samples of the source passed over before the piece's first sound."""
        return max(0, self.skip - self.lead)

    def problem(self, exc: MediaError) -> str | None:
        """The warning for a source that could not be read (None: silence is what it holds)."""
        if self.silent_without_sound and "no audio stream" in str(exc):
            return None
        return self.failure.format(exc=exc)


def _line_pieces(project: Project, seg: Segment, fps: float, take_audio: bool) -> list[Piece]:
    """The sound of one segment: its take's, or its shot's line (and a two-shot partner's) after the head."""
    shot = seg.shot
    assert shot is not None
    at, skip = sample_at(seg.record_start, fps), sample_at(seg.offset, fps)
    count = sample_at(seg.offset + seg.length, fps) - skip
    take = str(seg.take_path) if seg.take_path is not None else None
    own = project.resolve(shot.audio) if shot.audio else None
    name = repr(seg.name)
    if take is not None and (take_audio or own is None):
        offset = seg.take.offset if seg.take is not None else 0  # shot frame 0 is the take's frame ``offset``
        return [Piece(at, count, take, frames_to_seconds(max(0, offset), fps), None,
                      lead=sample_at(max(0, -offset), fps), skip=skip, failure=f"{name}: " + Piece.failure,
                      silent_without_sound=True)]
    lead = int(round(shot.lead_in * DELIVERY_RATE))  # the line starts after the silent head
    pieces = []
    if own is not None:
        pieces.append(Piece(at, count, str(own), shot.audio_in, shot.audio_out, lead=lead, skip=skip,
                            failure=f"{name}: " + Piece.failure))
    if shot.is_two_shot and shot.partner_audio:  # both lines start with the shot
        partner = project.resolve(shot.partner_audio)
        pieces.append(Piece(at, count, str(partner), shot.partner_audio_in, shot.partner_audio_out, lead=lead,
                            skip=skip, failure=f"{name}: the second character's line could not be read ({{exc}}); "
                                           "left out"))
    return pieces


def _music_pieces(project: Project, cut: Cut) -> list[Piece]:
    """Music and effects clips of the M1 track, where they fall in the cut."""
    out = []
    for clip in project.timeline.music:
        first, last = clip.start, clip.start + clip.frames(cut.fps)
        a, b = max(first, cut.timeline_start), min(last, cut.timeline_start + cut.length)
        if b <= a:
            continue
        path = project.resolve(clip.path)
        out.append(Piece(sample_at(a - cut.timeline_start, cut.fps), sample_at(b - a, cut.fps), str(path),
                         clip.audio_in, clip.audio_out, skip=sample_at(a - first, cut.fps),
                         gain=10 ** (clip.gain_db / 20), failure=f"music {clip.path!r} could not be read ({{exc}}); "
                                                                 "left out"))
    return out


def plan_soundtrack(project: Project, cut: Cut, take_audio: bool = False) -> list[Piece]:
    """Every source heard in the cut, placed: the shots' lines (or takes' sound), lines under
    a clip of the track above, and the music. Muted tracks are not delivered, as in NLEs."""
    keys = sorted({dialogue_track(p.shot.character_id) for p in project.placements()})
    audible = audible_tracks(project, [*keys, MUSIC_TRACK])
    pieces: list[Piece] = []
    for seg in cut.shots():
        assert seg.shot is not None
        if dialogue_track(seg.shot.character_id) in audible:
            pieces.extend(_line_pieces(project, seg, cut.fps, take_audio))
    for seg in cut.covered():  # lines under a clip of the track above are heard too, selections included
        if seg.shot is not None and (seg.shot.audio or seg.shot.partner_audio) and \
                dialogue_track(seg.shot.character_id) in audible:
            pieces.extend(_line_pieces(project, seg, cut.fps, False))
    if MUSIC_TRACK in audible and not cut.selection:
        pieces.extend(_music_pieces(project, cut))
    total = sample_at(cut.length, cut.fps)
    return [p for p in pieces if p.count > 0 and p.at < total]


def piece_samples(piece: Piece, warnings: list[str] | None = None) -> np.ndarray:
    """Stereo float32 samples of ``piece``, exactly ``piece.count`` long."""
    out = np.zeros((CHANNELS, piece.count), np.float32)
    try:
        samples = load_audio(piece.path, DELIVERY_RATE, CHANNELS, start=piece.start, end=piece.end).samples
    except MediaError as exc:
        problem = piece.problem(exc)
        if problem and warnings is not None:
            warnings.append(problem)
        return out
    first = piece.silence_first
    src = samples[:, piece.source_skip : piece.source_skip + piece.count - first]
    out[:, first : first + src.shape[1]] = src * piece.gain if piece.gain != 1.0 else src
    return out


def build_soundtrack(project: Project, cut: Cut, take_audio: bool = False,
                     warnings: list[str] | None = None) -> AudioClip:
    """The whole cut's dialogue and music as one stereo 48 kHz clip, as long as the picture."""
    total = sample_at(cut.length, cut.fps)
    track = np.zeros((CHANNELS, total), np.float32)
    for piece in plan_soundtrack(project, cut, take_audio):
        samples = piece_samples(piece, warnings)
        n = min(samples.shape[1], total - piece.at)
        track[:, piece.at : piece.at + n] += samples[:, :n]
    np.clip(track, -1.0, 1.0, out=track)
    return AudioClip(track, DELIVERY_RATE)


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
