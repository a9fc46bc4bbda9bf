"""Reversible edits of a Project. Pure Python; the UI wraps each in a QUndoCommand.

Every change to a document goes through an :class:`Edit`, so undo/redo works the same
from the studio, the CLI and the tests. ``apply`` then ``revert`` restores the project
exactly (checked by the tests with dataclass equality).
"""

from __future__ import annotations

import copy
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.timebase import frames_to_seconds
from soul_studio.project.model import Character, Marker, MusicClip, Project, Shot, Take, TimelineEntry


class Edit(ABC):
    """One undoable change. ``text`` is what the Edit menu shows."""

    text: str = "Edit"

    @abstractmethod
    def apply(self, project: Project) -> None: ...

    @abstractmethod
    def revert(self, project: Project) -> None: ...

    def merge_key(self) -> tuple[Any, ...] | None:
        """Edits with equal non-None keys in a row merge into one undo step (typing)."""
        return None

    def merge(self, other: Edit) -> bool:
        return False


@dataclass
class SetShotFields(Edit):
    """Change fields of one shot (text, prompt, seed, audio in/out, character, …)."""

    shot_id: str
    changes: dict[str, Any]
    text: str = "Edit Shot"
    _old: dict[str, Any] = field(default_factory=dict, repr=False)

    def apply(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        if not self._old:
            self._old = {k: copy.deepcopy(getattr(shot, k)) for k in self.changes}
        for key, value in self.changes.items():
            if not hasattr(shot, key):
                raise AttributeError(f"shot has no field {key!r}")
            setattr(shot, key, copy.deepcopy(value))
        project.notify("shot", shot)

    def revert(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        for key, value in self._old.items():
            setattr(shot, key, copy.deepcopy(value))
        project.notify("shot", shot)

    def merge_key(self) -> tuple[Any, ...] | None:
        if set(self.changes) <= {"text", "prompt", "notes", "name"}:
            return ("shot-text", self.shot_id, tuple(sorted(self.changes)))
        return None

    def merge(self, other: Edit) -> bool:
        if isinstance(other, SetShotFields) and other.merge_key() == self.merge_key() and self.merge_key():
            self.changes.update(other.changes)
            return True
        return False


@dataclass
class SetCharacterFields(Edit):
    character_id: str
    changes: dict[str, Any]
    text: str = "Edit Character"
    _old: dict[str, Any] = field(default_factory=dict, repr=False)

    def apply(self, project: Project) -> None:
        c = project.character(self.character_id)
        if c is None:
            raise KeyError(self.character_id)
        if not self._old:
            self._old = {k: copy.deepcopy(getattr(c, k)) for k in self.changes}
        for key, value in self.changes.items():
            setattr(c, key, copy.deepcopy(value))
        project.notify("character", c)

    def revert(self, project: Project) -> None:
        c = project.character(self.character_id)
        assert c is not None
        for key, value in self._old.items():
            setattr(c, key, copy.deepcopy(value))
        project.notify("character", c)


@dataclass
class SetProjectFields(Edit):
    """Change project-level fields (name, fps, resolution) or settings (``settings.x``)."""

    changes: dict[str, Any]
    text: str = "Project Settings"
    _old: dict[str, Any] = field(default_factory=dict, repr=False)

    def _target(self, project: Project, key: str) -> tuple[Any, str]:
        if key.startswith("settings."):
            return project.settings, key.split(".", 1)[1]
        return project, key

    def apply(self, project: Project) -> None:
        if not self._old:
            for key in self.changes:
                obj, name = self._target(project, key)
                self._old[key] = copy.deepcopy(getattr(obj, name))
        for key, value in self.changes.items():
            obj, name = self._target(project, key)
            setattr(obj, name, value)
        project.notify("project", project)

    def revert(self, project: Project) -> None:
        for key, value in self._old.items():
            obj, name = self._target(project, key)
            setattr(obj, name, value)
        project.notify("project", project)


@dataclass
class AddCharacter(Edit):
    character: Character
    index: int | None = None
    text: str = "Add Character"

    def apply(self, project: Project) -> None:
        i = len(project.characters) if self.index is None else self.index
        project.characters.insert(i, self.character)
        project.notify("cast", self.character)

    def revert(self, project: Project) -> None:
        project.characters.remove(self.character)
        project.notify("cast", self.character)


@dataclass
class RemoveCharacter(Edit):
    """Remove a character; their shots keep their lines but lose the assignment."""

    character_id: str
    text: str = "Remove Character"
    _state: tuple[int, Character, list[str]] | None = None
    _partnered: list[str] = field(default_factory=list, repr=False)  # two-shots they were the partner of

    def apply(self, project: Project) -> None:
        c = project.character(self.character_id)
        if c is None:
            raise KeyError(self.character_id)
        index = project.characters.index(c)
        affected = [s.id for s in project.shots.values() if s.character_id == c.id]
        self._state = (index, c, affected)
        self._partnered = [s.id for s in project.shots.values() if s.partner_id == c.id]
        project.characters.remove(c)
        for sid in affected:
            project.shots[sid].character_id = None
        for sid in self._partnered:
            project.shots[sid].partner_id = None
        project.notify("cast", c)

    def revert(self, project: Project) -> None:
        assert self._state is not None
        index, c, affected = self._state
        project.characters.insert(index, c)
        for sid in affected:
            project.shots[sid].character_id = c.id
        for sid in self._partnered:
            project.shots[sid].partner_id = c.id
        project.notify("cast", c)


@dataclass
class AddShot(Edit):
    """Add a shot to the project and put it on the timeline at ``index`` (end when None)."""

    shot: Shot
    index: int | None = None
    gap_before: int = 0
    text: str = "Add Shot"

    def apply(self, project: Project) -> None:
        project.shots[self.shot.id] = self.shot
        i = len(project.timeline.entries) if self.index is None else self.index
        project.timeline.entries.insert(i, TimelineEntry(self.shot.id, self.gap_before))
        project.notify("timeline", self.shot)

    def revert(self, project: Project) -> None:
        i = project.timeline.index_of(self.shot.id)
        del project.timeline.entries[i]
        del project.shots[self.shot.id]
        project.notify("timeline", self.shot)


@dataclass
class RemoveShots(Edit):
    """Delete shots. ``ripple`` closes the hole; otherwise their length becomes a gap."""

    shot_ids: list[str]
    ripple: bool = True
    text: str = "Delete Shots"
    _saved: list[tuple[int, TimelineEntry, Shot]] = field(default_factory=list, repr=False)
    _gaps: dict[int, int] = field(default_factory=dict, repr=False)
    _order: list[TimelineEntry] = field(default_factory=list, repr=False)

    def apply(self, project: Project) -> None:
        entries = project.timeline.entries
        self._order = [copy.copy(e) for e in entries]
        self._saved = []
        keep: list[TimelineEntry] = []
        carry: dict[str, int] = {}  # per track: a lift leaves its gap on that track only
        for i, entry in enumerate(entries):
            if entry.shot_id in self.shot_ids:
                shot = project.shots[entry.shot_id]
                self._saved.append((i, entry, shot))
                if not self.ripple:
                    carry[entry.track] = carry.get(entry.track, 0) + entry.gap_before + shot.frames(project.fps)
                continue
            if carry.get(entry.track):
                entry = TimelineEntry(entry.shot_id, entry.gap_before + carry.pop(entry.track), entry.track)
            keep.append(entry)
        project.timeline.entries[:] = keep
        for _, _, shot in self._saved:
            del project.shots[shot.id]
        project.notify("timeline", None)

    def revert(self, project: Project) -> None:
        for _, _, shot in self._saved:
            project.shots[shot.id] = shot
        project.timeline.entries[:] = [copy.copy(e) for e in self._order]
        project.notify("timeline", None)


@dataclass
class MoveShot(Edit):
    """Reorder: move a shot to position ``new_index`` on the track."""

    shot_id: str
    new_index: int
    text: str = "Move Shot"
    _old_index: int = -1

    def apply(self, project: Project) -> None:
        entries = project.timeline.entries
        self._old_index = project.timeline.index_of(self.shot_id)
        entry = entries.pop(self._old_index)
        entries.insert(max(0, min(self.new_index, len(entries))), entry)
        project.notify("timeline", project.shots[self.shot_id])

    def revert(self, project: Project) -> None:
        entries = project.timeline.entries
        entry = entries.pop(project.timeline.index_of(self.shot_id))
        entries.insert(self._old_index, entry)
        project.notify("timeline", project.shots[self.shot_id])


@dataclass
class SetGap(Edit):
    shot_id: str
    gap_frames: int
    text: str = "Change Gap"
    _old: int = 0

    def apply(self, project: Project) -> None:
        entry = project.timeline.entries[project.timeline.index_of(self.shot_id)]
        self._old = entry.gap_before
        entry.gap_before = max(0, int(self.gap_frames))
        project.notify("timeline", None)

    def revert(self, project: Project) -> None:
        entry = project.timeline.entries[project.timeline.index_of(self.shot_id)]
        entry.gap_before = self._old
        project.notify("timeline", None)


def trim_shot(project: Project, shot_id: str, head_frames: int = 0, tail_frames: int = 0,
              handles: bool = False) -> SetShotFields:
    """Edit that trims a shot's dialogue range: positive frames shorten, negative extend.

    Trimming edits the audio in/out points (clamped to the recording), or the hold
    duration of a silent shot. With ``handles`` a shot extended past its recording grows
    silent head/tail handles (a pause before the line, a reaction after it); shortening
    uses the handles up first.
    """
    shot = project.shots[shot_id]
    head = frames_to_seconds(head_frames, project.fps) if head_frames else 0.0
    tail = frames_to_seconds(tail_frames, project.fps) if tail_frames else 0.0
    min_len = frames_to_seconds(1, project.fps)
    if shot.is_two_shot and shot.partner_audio and shot.line_seconds is not None:
        return SetShotFields(shot_id, _trim_lines(shot, head, tail, handles, min_len), text="Trim Shot")
    if shot.audio:
        length = shot.audio_length if shot.audio_length is not None else (shot.audio_out or shot.duration)
        out = shot.audio_out if shot.audio_out is not None else length
        new_in, new_out, hh, ht = shot.audio_in, out, shot.handle_head, shot.handle_tail
        if head < 0:
            take = min(-head, new_in)
            new_in -= take
            hh += (-head - take) if handles else 0.0
        elif head > 0:
            used = min(head, hh)
            hh -= used
            new_in += head - used
        if tail < 0:
            take = min(-tail, max(0.0, length - new_out))
            new_out += take
            ht += (-tail - take) if handles else 0.0
        elif tail > 0:
            used = min(tail, ht)
            ht -= used
            new_out -= tail - used
        new_in = min(max(0.0, new_in), new_out - min_len)
        new_out = max(min(length, new_out), new_in + min_len)
        changes: dict[str, Any] = {"audio_in": round(new_in, 6), "audio_out": round(new_out, 6)}
        if hh != shot.handle_head or ht != shot.handle_tail:
            changes.update(handle_head=round(max(0.0, hh), 6), handle_tail=round(max(0.0, ht), 6))
        return SetShotFields(shot_id, changes, text="Trim Shot")
    hold = max(min_len, shot.hold_seconds - head - tail)
    return SetShotFields(shot_id, {"hold_seconds": round(hold, 6)}, text="Trim Shot")


def _trim_lines(shot: Shot, head: float, tail: float, handles: bool, min_len: float) -> dict[str, Any]:
    """Trim a two-shot's lines together. Both start with the shot, so a head trim moves both in
    points alike (the conversation stays in sync); the tail edge is where the longer line ends,
    so shortening cuts what runs past the new end and extending grows the line(s) ending there."""
    ranges: dict[str, list[float]] = {}  # prefix: [in, out, recording length]
    for prefix in ("", "partner_"):
        if getattr(shot, prefix + "audio"):
            length = getattr(shot, prefix + "audio_length")
            out = getattr(shot, prefix + "audio_out")
            out = out if out is not None else length
            if out is not None:
                ranges[prefix] = [getattr(shot, prefix + "audio_in"), out, length if length is not None else out]
    hh, ht = shot.handle_head, shot.handle_tail
    line = max(r[1] - r[0] for r in ranges.values())
    if head < 0:
        take = min(-head, *(r[0] for r in ranges.values()))
        for r in ranges.values():
            r[0] -= take
        hh += (-head - take) if handles else 0.0
    elif head > 0:
        used = min(head, hh)
        hh -= used
        step = min(head - used, max(0.0, line - min_len))
        for r in ranges.values():
            r[0] = min(r[0] + step, r[1])
    line = max(r[1] - r[0] for r in ranges.values())
    if tail < 0:
        edge = [r for r in ranges.values() if r[1] - r[0] >= line - 1e-6]
        grow = min(-tail, *(r[2] - r[1] for r in edge))
        for r in edge:
            r[1] += grow
        ht += (-tail - grow) if handles else 0.0
    elif tail > 0:
        used = min(tail, ht)
        ht -= used
        keep = max(min_len, line - (tail - used))
        for r in ranges.values():
            r[1] = min(r[1], r[0] + keep)
    changes: dict[str, Any] = {}
    for prefix, (start, end, _length) in ranges.items():
        changes[prefix + "audio_in"], changes[prefix + "audio_out"] = round(start, 6), round(end, 6)
        if end - start < 1e-6:  # a line trimmed away entirely leaves the shot (undo brings it back)
            changes.update({prefix + "audio": None, prefix + "audio_in": 0.0, prefix + "audio_out": None,
                            prefix + "audio_length": None})
    if hh != shot.handle_head or ht != shot.handle_tail:
        changes.update(handle_head=round(max(0.0, hh), 6), handle_tail=round(max(0.0, ht), 6))
    return changes


# What a split changes on the shot that keeps the head half.
_SPLIT_FIELDS = ("audio", "audio_in", "audio_out", "audio_length", "hold_seconds", "handle_head", "handle_tail", "text",
                 "partner_audio", "partner_audio_in", "partner_audio_out", "partner_audio_length")
_EPS = 1e-6  # seconds: handles are stored to 6 digits, so a cut on the frame where the line starts counts as that frame


def _all_silence(half: Shot, seconds: float) -> None:
    """Make a split half a silent hold of ``seconds`` (a pause or a reaction with no words in it)."""
    half.audio, half.audio_in, half.audio_out, half.audio_length = None, 0.0, None, None
    half.partner_audio, half.partner_audio_in, half.partner_audio_out, half.partner_audio_length = None, 0.0, None, None
    half.handle_head = half.handle_tail = 0.0
    half.hold_seconds, half.text = seconds, ""


def _cut_line(shot: Shot, head: Shot, tail: Shot, prefix: str, into: float) -> None:
    """Divide the line ``prefix`` + ``audio`` ``into`` seconds after it starts; a line already over
    by then stays whole in the head half and the tail half has none."""
    if not getattr(shot, prefix + "audio"):
        return
    start = getattr(shot, prefix + "audio_in")
    end = getattr(shot, prefix + "audio_out")
    end = end if end is not None else getattr(shot, prefix + "audio_length")
    if end is not None and start + into >= end - _EPS:
        for key, value in (("audio", None), ("audio_in", 0.0), ("audio_out", None), ("audio_length", None)):
            setattr(tail, prefix + key, value)
        return
    setattr(head, prefix + "audio_out", start + into)
    setattr(tail, prefix + "audio_in", start + into)


@dataclass
class SplitShot(Edit):
    """Split a shot at ``frame`` (timeline frame): the tail becomes a new shot.

    The dialogue range is divided. ``head_takes``/``tail_takes`` (made by
    :func:`soul_studio.render.split.split_keeping_picture`) let both halves keep the
    picture they had: the same take files, the tail from the split frame on.
    """

    shot_id: str
    frame: int
    new_shot_id: str = ""
    head_takes: list[Take] = field(default_factory=list)
    tail_takes: list[Take] = field(default_factory=list)
    text: str = "Split Shot"
    _old: dict[str, Any] = field(default_factory=dict, repr=False)

    def halves(self, project: Project) -> tuple[Shot, Shot, int]:
        """Copies of the head and tail as the split makes them (nothing changes), and the cut in frames."""
        placement = next((p for p in project.placements() if p.shot.id == self.shot_id), None)
        if placement is None or not placement.start < self.frame < placement.end:
            raise ValueError("the split point must fall inside the shot")
        shot = placement.shot
        cut_frames = self.frame - placement.start
        offset = frames_to_seconds(cut_frames, project.fps)
        head = copy.deepcopy(shot)
        tail = copy.deepcopy(shot)
        head.takes, tail.takes = [], []
        tail.picked_take = None
        tail.id = self.new_shot_id or shot.id + "b"
        tail.name = (shot.name or "Shot") + " (split)"
        line = shot.line_seconds
        if line is None:
            tail.hold_seconds = shot.hold_seconds - offset
            head.hold_seconds = offset
        elif offset <= shot.handle_head + _EPS:  # inside the pause, or at the line's start: the head is all pause
            _all_silence(head, offset)
            tail.handle_head = max(0.0, shot.handle_head - offset)
        elif offset >= shot.handle_head + line - _EPS:  # inside the reaction after the line: the tail is all reaction
            head.handle_tail = offset - shot.handle_head - line
            _all_silence(tail, frames_to_seconds(placement.length - cut_frames, project.fps))
        else:  # inside the line: each line (a two-shot's partner's too) is cut at the same moment
            head.handle_tail, tail.handle_head = 0.0, 0.0
            for prefix in ("", "partner_"):
                _cut_line(shot, head, tail, prefix, offset - shot.handle_head)
        return head, tail, cut_frames

    def apply(self, project: Project) -> None:
        head, tail, _ = self.halves(project)
        shot = project.shots[self.shot_id]
        self.new_shot_id = tail.id
        self._old = {k: getattr(shot, k) for k in (*_SPLIT_FIELDS, "picked_take")}
        for key in _SPLIT_FIELDS:
            setattr(shot, key, getattr(head, key))
        shot.takes.extend(self.head_takes)
        tail.takes = list(self.tail_takes)
        picked = shot.take(shot.picked_take)
        if picked is not None and self.head_takes:
            shot.picked_take = next((t.id for t in self.head_takes if t.file == picked.file), None)
        if picked is not None:  # the tail keeps the picked take too: the picture does not change at the cut
            tail.picked_take = next((t.id for t in self.tail_takes if t.file == picked.file), None)
        project.shots[tail.id] = tail
        index = project.timeline.index_of(self.shot_id)
        track = project.timeline.entries[index].track
        project.timeline.entries.insert(index + 1, TimelineEntry(tail.id, 0, track))
        project.notify("timeline", shot)

    def revert(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        for key, value in self._old.items():
            setattr(shot, key, value)
        for take in self.head_takes:
            if take in shot.takes:
                shot.takes.remove(take)
        del project.timeline.entries[project.timeline.index_of(self.new_shot_id)]
        del project.shots[self.new_shot_id]
        project.notify("timeline", shot)


@dataclass
class AddMarker(Edit):
    marker: Marker
    text: str = "Add Marker"

    def apply(self, project: Project) -> None:
        project.timeline.markers.append(self.marker)
        project.timeline.markers.sort(key=lambda m: m.frame)
        project.notify("markers", self.marker)

    def revert(self, project: Project) -> None:
        project.timeline.markers.remove(self.marker)
        project.notify("markers", self.marker)


@dataclass
class RemoveMarker(Edit):
    marker_id: str
    text: str = "Remove Marker"
    _marker: Marker | None = None

    def apply(self, project: Project) -> None:
        self._marker = next(m for m in project.timeline.markers if m.id == self.marker_id)
        project.timeline.markers.remove(self._marker)
        project.notify("markers", self._marker)

    def revert(self, project: Project) -> None:
        assert self._marker is not None
        project.timeline.markers.append(self._marker)
        project.timeline.markers.sort(key=lambda m: m.frame)
        project.notify("markers", self._marker)


@dataclass
class AddTake(Edit):
    """Record a finished take on its shot (renders are undoable bookkeeping, files stay)."""

    shot_id: str
    take: Take
    text: str = "Add Take"

    def apply(self, project: Project) -> None:
        project.shots[self.shot_id].takes.append(self.take)
        project.notify("takes", project.shots[self.shot_id])

    def revert(self, project: Project) -> None:
        project.shots[self.shot_id].takes.remove(self.take)
        project.notify("takes", project.shots[self.shot_id])


@dataclass
class PickTake(Edit):
    """Use ``take_id`` for the shot (None: back to the best fresh take)."""

    shot_id: str
    take_id: str | None
    text: str = "Use Take"
    _old: str | None = None

    def apply(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        self._old = shot.picked_take
        shot.picked_take = self.take_id
        project.notify("takes", shot)

    def revert(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        shot.picked_take = self._old
        project.notify("takes", shot)


def _take_files(project: Project, take: Take) -> list[Path]:
    """The take's movie and its JSON sidecar (when there is one)."""
    movie = project.resolve(take.file)
    if movie is None:
        return []
    return [p for p in (movie, movie.with_suffix(".json")) if p.exists()]


@dataclass
class TrashTake(Edit):
    """Move a take's files into the project's ``trash/`` folder and drop it from its shot.

    Undo moves the files back. Another shot that shares the file (a split half) keeps it.
    """

    shot_id: str
    take_id: str
    text: str = "Move Take to Trash"
    _state: tuple[int, Take, str | None] | None = None
    _moved: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def apply(self, project: Project) -> None:
        shot = project.shots[self.shot_id]
        take = shot.take(self.take_id)
        if take is None:
            raise KeyError(self.take_id)
        trash = project.trash_folder
        if trash is None:
            raise ValueError("save the project first: trashed takes go into its trash/ folder")
        index = shot.takes.index(take)
        self._state = (index, take, shot.picked_take)
        shared = any(t.file == take.file for s in project.shots.values() for t in s.takes if t is not take)
        self._moved = []
        if not shared:
            trash.mkdir(parents=True, exist_ok=True)
            for path in _take_files(project, take):
                target = trash / path.name
                os.replace(path, target)
                self._moved.append((str(path), str(target)))
        del shot.takes[index]
        if shot.picked_take == take.id:
            shot.picked_take = None
        project.notify("takes", shot)

    def revert(self, project: Project) -> None:
        assert self._state is not None
        index, take, picked = self._state
        for original, target in reversed(self._moved):
            if os.path.exists(target):
                os.replace(target, original)
        shot = project.shots[self.shot_id]
        shot.takes.insert(index, take)
        shot.picked_take = picked
        project.notify("takes", shot)


@dataclass
class SetTrackSwitch(Edit):
    """Mute, solo or lock a track (``switch`` is "mute", "solo" or "lock")."""

    key: str
    switch: str
    value: bool
    text: str = "Track Switch"
    _old: bool = False

    def apply(self, project: Project) -> None:
        track = project.timeline.track(self.key)
        self._old = bool(getattr(track, self.switch))
        setattr(track, self.switch, bool(self.value))
        project.notify("tracks", track)

    def revert(self, project: Project) -> None:
        setattr(project.timeline.track(self.key), self.switch, self._old)
        project.notify("tracks", None)


@dataclass
class AddMusicClip(Edit):
    clip: MusicClip
    text: str = "Add Music"

    def apply(self, project: Project) -> None:
        project.timeline.music.append(self.clip)
        project.notify("music", self.clip)

    def revert(self, project: Project) -> None:
        project.timeline.music.remove(self.clip)
        project.notify("music", self.clip)


@dataclass
class RemoveMusicClip(Edit):
    clip_id: str
    text: str = "Remove Music"
    _saved: tuple[int, MusicClip] | None = None

    def apply(self, project: Project) -> None:
        music = project.timeline.music
        index = next(i for i, m in enumerate(music) if m.id == self.clip_id)
        self._saved = (index, music.pop(index))
        project.notify("music", None)

    def revert(self, project: Project) -> None:
        assert self._saved is not None
        project.timeline.music.insert(*self._saved)
        project.notify("music", None)


class EditHistory:
    """Undo/redo stack for code without Qt (CLI, tests); the UI uses QUndoStack instead."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._done: list[Edit] = []
        self._undone: list[Edit] = []
        self.clean_index = 0

    def push(self, edit: Edit) -> None:
        edit.apply(self.project)
        if self._done and self._done[-1].merge(edit):
            pass
        else:
            self._done.append(edit)
        self._undone.clear()

    def undo(self) -> bool:
        if not self._done:
            return False
        edit = self._done.pop()
        edit.revert(self.project)
        self._undone.append(edit)
        return True

    def redo(self) -> bool:
        if not self._undone:
            return False
        edit = self._undone.pop()
        edit.apply(self.project)
        self._done.append(edit)
        return True

    @property
    def dirty(self) -> bool:
        return len(self._done) != self.clean_index

    def mark_clean(self) -> None:
        self.clean_index = len(self._done)
