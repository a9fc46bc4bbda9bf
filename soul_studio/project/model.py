"""The document model: Project, Character, Shot, Take, Timeline. Pure Python, no Qt.

Durations on the timeline are whole frames at the project rate, so cuts are exact.
A shot's duration comes from its dialogue range (audio in/out); a shot without audio
holds for ``hold_seconds``. Paths are stored relative to the project folder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.limits import resolution_problem
from engine.timebase import SUPPORTED_FPS, fps_fraction, frame_count, frames_to_seconds

FRAMINGS = ("portrait", "upper_body", "full_body")
QUALITIES = ("draft", "final")
TAKE_STATUSES = ("queued", "rendering", "done", "failed", "cancelled")
DEFAULT_HOLD_SECONDS = 3.0
CHARACTER_COLOURS = ("#4f8fd8", "#d8804f", "#5fb37a", "#b36fc7", "#c7b04f", "#4fc0c0", "#d05a7a", "#8a8f99")


def new_id() -> str:
    """Short unique id for characters, shots, takes and markers."""
    return uuid.uuid4().hex[:12]


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Voice:
    """A temp-voice description (espeak-ng voice, pitch 0–99, words per minute)."""

    engine: str = "espeak-ng"
    voice: str = "en"
    pitch: int = 50
    rate: int = 165


@dataclass
class Character:
    """A cast member: name, portrait and defaults every shot of theirs inherits."""

    name: str
    portrait: str | None = None
    prompt: str = ""
    framing: str = "portrait"
    voice: Voice = field(default_factory=Voice)
    mouth_box: tuple[float, float, float, float] | None = None
    # Which face speaks when the portrait shows several (0-based, left to right); None:
    # the one the detector is surest of.
    face_index: int | None = None
    colour: str = CHARACTER_COLOURS[0]
    id: str = field(default_factory=new_id)


@dataclass
class Take:
    """One rendered version of a shot. Takes are never deleted when a shot changes.

    ``offset`` is the frame of ``file`` where this shot begins: the halves of a split
    shot share the take they were cut from, each from its own frame. A negative offset
    says the file starts that many frames into the shot (a take made before the shot's
    head handle was rendered with it): the picture holds the file's first frame until then.
    """

    file: str
    job_hash: str
    backend: str
    quality: str = "draft"
    status: str = "done"
    created: str = field(default_factory=utc_now)
    error: str = ""
    seed: int = 0
    offset: int = 0
    id: str = field(default_factory=new_id)

    @property
    def is_done(self) -> bool:
        return self.status == "done"

    def file_frame(self, shot_frame: int) -> int:
        """The frame of ``file`` shown at frame ``shot_frame`` of the shot (its first before it starts)."""
        return max(0, shot_frame + self.offset)


@dataclass
class Shot:
    """One line of dialogue by one character.

    ``audio_out`` None means the end of the audio file; ``audio_length`` caches the
    file's duration so the shot's length is known without decoding it again.
    ``handle_head``/``handle_tail`` add silent seconds before and after the dialogue
    (a pause before the line, a reaction after it). ``picked_take`` is the take the
    editor chose (see :func:`soul_studio.render.takes.take_in_use`).
    """

    character_id: str | None = None
    text: str = ""
    prompt: str = ""
    audio: str | None = None
    audio_in: float = 0.0
    audio_out: float | None = None
    audio_length: float | None = None
    hold_seconds: float = DEFAULT_HOLD_SECONDS
    seed: int = 0
    framing: str | None = None
    name: str = ""
    notes: str = ""
    temp_audio: bool = False
    takes: list[Take] = field(default_factory=list)
    picked_take: str | None = None
    handle_head: float = 0.0
    handle_tail: float = 0.0
    id: str = field(default_factory=new_id)
    # A two-shot (infinitetalk backend): a second character with their own line, both in one
    # picture (``two_shot_image``, else the first character's portrait). Both ranges start
    # with the shot; ``partner_left`` puts the partner on the left of the frame.
    partner_id: str | None = None
    partner_audio: str | None = None
    partner_audio_in: float = 0.0
    partner_audio_out: float | None = None
    partner_audio_length: float | None = None
    two_shot_image: str | None = None
    partner_left: bool = False
    speaker_boxes: list[list[float]] | None = None  # [x0, y0, x1, y1] per speaker, left to right, normalised

    @property
    def is_two_shot(self) -> bool:
        return self.partner_id is not None

    @property
    def partner_duration(self) -> float | None:
        """Seconds of the partner's dialogue range, when they have one."""
        if not (self.is_two_shot and self.partner_audio):
            return None
        end = self.partner_audio_out if self.partner_audio_out is not None else self.partner_audio_length
        return None if end is None else max(0.0, end - self.partner_audio_in)

    @property
    def line_seconds(self) -> float | None:
        """Seconds of the dialogue range (the longer one in a two-shot); None for a silent shot."""
        own = None
        if self.audio:
            end = self.audio_out if self.audio_out is not None else self.audio_length
            if end is not None:
                own = max(0.0, end - self.audio_in)
        ranges = [d for d in (own, self.partner_duration) if d is not None]
        return max(ranges) if ranges else None

    @property
    def duration(self) -> float:
        """Seconds on the timeline: the dialogue range with its handles, or the hold when silent."""
        line = self.line_seconds
        return line + self.handle_head + self.handle_tail if line is not None else self.hold_seconds

    @property
    def lead_in(self) -> float:
        """Seconds of silence a take renders before the line: the head handle, when there is a line."""
        return self.handle_head if self.handle_head > 0 and self.line_seconds is not None else 0.0

    def take(self, take_id: str | None) -> Take | None:
        return next((t for t in self.takes if t.id == take_id), None) if take_id else None

    def frames(self, fps: float) -> int:
        return frame_count(self.duration, fps)

    def head_frames(self, fps: float) -> int:
        """Frames of the silent head handle (rendered with the take: the face waits, blinks, breathes)."""
        return int(round(self.handle_head * fps)) if self.handle_head > 0 else 0

    def latest_take(self, quality: str | None = None, done_only: bool = True) -> Take | None:
        """Newest take (optionally of one quality), finals preferred when ``quality`` is None."""
        takes = [t for t in self.takes if (t.is_done or not done_only)]
        if quality is not None:
            takes = [t for t in takes if t.quality == quality]
        if not takes:
            return None
        if quality is None:
            finals = [t for t in takes if t.quality == "final"]
            if finals:
                return finals[-1]
        return takes[-1]


@dataclass
class Marker:
    """A named point on the timeline (frame at project rate)."""

    frame: int
    name: str = ""
    note: str = ""
    colour: str = "#e0c050"
    id: str = field(default_factory=new_id)


VIDEO_TRACKS = ("V1", "V2")
MUSIC_TRACK = "M1"


@dataclass
class TimelineEntry:
    """A shot on video track ``track``, after ``gap_before`` frames of black on that track.

    Each track lays its own entries end to end (in list order), so shots on V1 and V2
    may overlap in time: V2 is on top in the picture, both lines are heard.
    """

    shot_id: str
    gap_before: int = 0
    track: str = "V1"


@dataclass
class MusicClip:
    """A music or effects file on the M1 track from timeline frame ``start`` (seconds in/out of the file)."""

    path: str
    start: int = 0
    audio_in: float = 0.0
    audio_out: float | None = None
    length: float | None = None
    gain_db: float = 0.0
    id: str = field(default_factory=new_id)

    def seconds(self) -> float:
        end = self.audio_out if self.audio_out is not None else (self.length or 0.0)
        return max(0.0, end - self.audio_in)

    def frames(self, fps: float) -> int:
        return frame_count(self.seconds(), fps) if self.seconds() > 0 else 0


@dataclass
class Track:
    """A timeline track's switches. Dialogue tracks are keyed ``A:<character id>``."""

    key: str
    mute: bool = False
    solo: bool = False
    lock: bool = False


def dialogue_track(character_id: str | None) -> str:
    return f"A:{character_id or '-'}"


def audible_tracks(project: Project, keys: list[str]) -> set[str]:
    """Of the audio tracks ``keys``: the soloed ones when any is soloed, else the unmuted ones."""
    switches = {k: project.timeline.switches(k) for k in keys}
    soloed = {k for k, t in switches.items() if t.solo}
    return soloed if soloed else {k for k, t in switches.items() if not t.mute}


@dataclass
class Placement:
    """Where a shot lands on the timeline, in frames [start, end), on video track ``track``."""

    shot: Shot
    index: int
    start: int
    end: int
    track: str = "V1"

    @property
    def length(self) -> int:
        return self.end - self.start

    @property
    def shown(self) -> tuple[int, int]:
        """The frames of it the picture shows (all of them unless an upper track covers some)."""
        return self.start, self.end


@dataclass
class ShownPlacement(Placement):
    """A placement of which only frames ``shown`` = (from, to) are visible in the picture."""

    shown_from: int = 0
    shown_to: int = 0

    @property
    def shown(self) -> tuple[int, int]:  # type: ignore[override]
        return self.shown_from, self.shown_to


def picture_of(places: list[Placement]) -> list[Placement]:
    """What ``places`` show as one picture, the upper video track winning (see :meth:`Project.picture_placements`)."""
    if all(p.track == places[0].track for p in places) if places else True:
        return places
    order = {t: n for n, t in enumerate(VIDEO_TRACKS)}
    upper_first = sorted(places, key=lambda p: -order.get(p.track, 0))
    taken: list[tuple[int, int]] = []
    pieces: list[Placement] = []
    for p in upper_first:
        free = [(p.start, p.end)]
        for a, b in taken:
            free = [piece for s, e in free for piece in ((s, min(e, a)), (max(s, b), e)) if piece[1] > piece[0]]
        for s, e in free:
            pieces.append(ShownPlacement(p.shot, p.index, p.start, p.end, p.track, s, e))
        taken.append((p.start, p.end))
    pieces.sort(key=lambda p: p.shown[0])
    return pieces


@dataclass
class Timeline:
    """The cut: shots on video tracks V1/V2, each shot's line on its character's dialogue track.

    Positions are derived per track (gap + lengths of earlier shots on that track), so
    trimming a shot ripples the rest of its track the way dialogue editors expect.
    """

    entries: list[TimelineEntry] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    music: list[MusicClip] = field(default_factory=list)

    def index_of(self, shot_id: str) -> int:
        for i, entry in enumerate(self.entries):
            if entry.shot_id == shot_id:
                return i
        raise KeyError(shot_id)

    def shot_ids(self) -> list[str]:
        return [e.shot_id for e in self.entries]

    def track(self, key: str) -> Track:
        """The switches of track ``key`` (created, all off, on first use)."""
        for t in self.tracks:
            if t.key == key:
                return t
        t = Track(key)
        self.tracks.append(t)
        return t

    def switches(self, key: str) -> Track:
        """Like :meth:`track` but never adds one (a default, all-off Track)."""
        return next((t for t in self.tracks if t.key == key), Track(key))


@dataclass
class ProjectSettings:
    """Per-project render and delivery defaults."""

    default_backend: str = "sketch"
    auto_draft: bool = True
    draft_scale: float = 0.5
    start_timecode: str = "01:00:00:00"
    model_folder: str | None = None
    final_codec: str = "h264"


@dataclass
class MediaItem:
    """An imported file in the media bin (portrait still or audio)."""

    path: str
    kind: str
    duration: float | None = None
    id: str = field(default_factory=new_id)


@dataclass
class Project:
    """A scene: cast, shots, the cut, and where it lives on disk."""

    name: str = "Untitled"
    fps: float = 24.0
    width: int = 1280
    height: int = 720
    sample_rate: int = 48_000
    characters: list[Character] = field(default_factory=list)
    shots: dict[str, Shot] = field(default_factory=dict)
    timeline: Timeline = field(default_factory=Timeline)
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    media: list[MediaItem] = field(default_factory=list)
    created: str = field(default_factory=utc_now)
    path: Path | None = field(default=None, compare=False)
    _listeners: list[Callable[[str, Any], None]] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        fps_fraction(self.fps)  # raises for unsupported rates
        problem = resolution_problem(self.width, self.height)  # also the 4K DCI bound, before any allocation
        if problem:
            raise ValueError(problem)

    # -------------------------------------------------------------- folders
    @property
    def folder(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    @property
    def takes_folder(self) -> Path | None:
        return self.folder / "takes" if self.folder is not None else None

    @property
    def trash_folder(self) -> Path | None:
        """Where deleted takes go (undo brings them back)."""
        return self.folder / "trash" if self.folder is not None else None

    def resolve(self, relative: str | None) -> Path | None:
        """Absolute path of a project-relative path (None stays None)."""
        if relative is None:
            return None
        p = Path(relative)
        if p.is_absolute() or self.folder is None:
            return p
        return (self.folder / p).resolve()

    def relative(self, path: str | Path) -> str:
        """Store ``path`` relative to the project folder when it has one."""
        import os

        p = Path(path).resolve()
        if self.folder is None:
            return p.as_posix()
        try:
            return Path(os.path.relpath(p, self.folder.resolve())).as_posix()
        except ValueError:  # another drive on Windows
            return p.as_posix()

    # ------------------------------------------------------------ look-ups
    def character(self, character_id: str | None) -> Character | None:
        for c in self.characters:
            if c.id == character_id:
                return c
        return None

    def character_by_name(self, name: str) -> Character | None:
        key = name.strip().casefold()
        for c in self.characters:
            if c.name.casefold() == key:
                return c
        return None

    def shot(self, shot_id: str) -> Shot:
        return self.shots[shot_id]

    def timeline_shots(self) -> list[Shot]:
        return [self.shots[e.shot_id] for e in self.timeline.entries if e.shot_id in self.shots]

    def placements(self) -> list[Placement]:
        """Each timeline shot with its frame range, ordered by start (then track)."""
        out: list[Placement] = []
        cursors: dict[str, int] = {}
        for i, entry in enumerate(self.timeline.entries):
            shot = self.shots.get(entry.shot_id)
            if shot is None:
                continue
            start = cursors.get(entry.track, 0) + entry.gap_before
            end = start + shot.frames(self.fps)
            out.append(Placement(shot, i, start, end, entry.track))
            cursors[entry.track] = end
        if len(cursors) > 1:
            order = {t: n for n, t in enumerate(VIDEO_TRACKS)}
            out.sort(key=lambda p: (p.start, order.get(p.track, 99), p.index))
        return out

    def track_placements(self, track: str) -> list[Placement]:
        return [p for p in self.placements() if p.track == track]

    def placements_track(self, shot_id: str) -> str:
        """The video track a shot's clip is on (V1 when it is not on the timeline)."""
        return next((e.track for e in self.timeline.entries if e.shot_id == shot_id), "V1")

    def picture_placements(self) -> list[Placement]:
        """The picture as one non-overlapping sequence: where tracks overlap the upper one wins.

        A lower clip partly covered keeps its own ``start`` (so offsets into it stay right)
        and is listed once per visible stretch with ``shown`` set to that stretch.
        """
        return picture_of(self.placements())

    def duration_frames(self) -> int:
        places = self.placements()
        return max((p.end for p in places), default=0)

    def duration_seconds(self) -> float:
        return frames_to_seconds(self.duration_frames(), self.fps)

    def placement_at(self, frame: int) -> Placement | None:
        """The clip whose picture shows at ``frame`` (the upper track where two overlap)."""
        hits = [p for p in self.placements() if p.start <= frame < p.end]
        if not hits:
            return None
        order = {t: n for n, t in enumerate(VIDEO_TRACKS)}
        return max(hits, key=lambda p: order.get(p.track, 0))

    def iter_takes(self) -> Iterator[tuple[Shot, Take]]:
        for shot in self.shots.values():
            for take in shot.takes:
                yield shot, take

    def next_character_colour(self) -> str:
        used = {c.colour for c in self.characters}
        for colour in CHARACTER_COLOURS:
            if colour not in used:
                return colour
        return CHARACTER_COLOURS[len(self.characters) % len(CHARACTER_COLOURS)]

    # ------------------------------------------------------------- changes
    def subscribe(self, listener: Callable[[str, Any], None]) -> None:
        """Call ``listener(kind, subject)`` after every edit (kinds: shot, character, timeline, …)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[str, Any], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify(self, kind: str, subject: Any = None) -> None:
        for listener in list(self._listeners):
            listener(kind, subject)


SUPPORTED_RATES = SUPPORTED_FPS
