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
    colour: str = CHARACTER_COLOURS[0]
    id: str = field(default_factory=new_id)


@dataclass
class Take:
    """One rendered version of a shot. Takes are never deleted when a shot changes."""

    file: str
    job_hash: str
    backend: str
    quality: str = "draft"
    status: str = "done"
    created: str = field(default_factory=utc_now)
    error: str = ""
    seed: int = 0
    id: str = field(default_factory=new_id)

    @property
    def is_done(self) -> bool:
        return self.status == "done"


@dataclass
class Shot:
    """One line of dialogue by one character.

    ``audio_out`` None means the end of the audio file; ``audio_length`` caches the
    file's duration so the shot's length is known without decoding it again.
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
    def duration(self) -> float:
        """Seconds on the timeline: the dialogue range (the longer one in a two-shot), or the hold when silent."""
        own = None
        if self.audio:
            end = self.audio_out if self.audio_out is not None else self.audio_length
            if end is not None:
                own = max(0.0, end - self.audio_in)
        ranges = [d for d in (own, self.partner_duration) if d is not None]
        return max(ranges) if ranges else self.hold_seconds

    def frames(self, fps: float) -> int:
        return frame_count(self.duration, fps)

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


@dataclass
class TimelineEntry:
    """A shot on the video track, after ``gap_before`` frames of black."""

    shot_id: str
    gap_before: int = 0


@dataclass
class Placement:
    """Where a shot lands on the timeline, in frames [start, end)."""

    shot: Shot
    index: int
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass
class Timeline:
    """The cut: shots in order on one video track, dialogue on the audio track below.

    Positions are derived (gap + lengths of earlier shots), so trimming a shot ripples
    the rest of the scene the way dialogue editors expect.
    """

    entries: list[TimelineEntry] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)

    def index_of(self, shot_id: str) -> int:
        for i, entry in enumerate(self.entries):
            if entry.shot_id == shot_id:
                return i
        raise KeyError(shot_id)

    def shot_ids(self) -> list[str]:
        return [e.shot_id for e in self.entries]


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
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"resolution {self.width}x{self.height} must be even and at least 16x16")

    # -------------------------------------------------------------- folders
    @property
    def folder(self) -> Path | None:
        return self.path.parent if self.path is not None else None

    @property
    def takes_folder(self) -> Path | None:
        return self.folder / "takes" if self.folder is not None else None

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
        """Each timeline shot with its frame range, in order."""
        out: list[Placement] = []
        cursor = 0
        for i, entry in enumerate(self.timeline.entries):
            shot = self.shots.get(entry.shot_id)
            if shot is None:
                continue
            start = cursor + entry.gap_before
            end = start + shot.frames(self.fps)
            out.append(Placement(shot, i, start, end))
            cursor = end
        return out

    def duration_frames(self) -> int:
        places = self.placements()
        return places[-1].end if places else 0

    def duration_seconds(self) -> float:
        return frames_to_seconds(self.duration_frames(), self.fps)

    def placement_at(self, frame: int) -> Placement | None:
        for p in self.placements():
            if p.start <= frame < p.end:
                return p
        return None

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
