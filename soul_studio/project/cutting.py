"""NLE edits on absolute positions: insert, overwrite, append, move to a track, close a gap.

The timeline stores each track as clips end to end with gaps; these helpers think in
frames (where each clip starts on which track) and turn the result back into entries.
Every helper returns a :class:`Recut`, one undo step. Pure Python.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from soul_studio.project.edits import Edit, trim_shot
from soul_studio.project.edits_extra import CompoundEdit
from soul_studio.project.model import VIDEO_TRACKS, Project, Shot, TimelineEntry

Positions = dict[str, tuple[str, int]]  # shot id → (track, start frame)


class CutError(ValueError):
    """An edit that does not fit (clips would overlap on a track, the track is locked…)."""


def positions(project: Project) -> Positions:
    return {p.shot.id: (p.track, p.start) for p in project.placements()}


def entries_for(project: Project, where: Positions, lengths: dict[str, int] | None = None) -> list[TimelineEntry]:
    """Entries that put every clip of ``where`` at its frame; raises :class:`CutError` on an overlap."""
    lengths = dict(lengths or {})
    order = {t: n for n, t in enumerate(VIDEO_TRACKS)}
    items = sorted(where.items(), key=lambda kv: (kv[1][1], order.get(kv[1][0], 99)))
    cursors: dict[str, int] = {}
    out: list[TimelineEntry] = []
    for shot_id, (track, start) in items:
        length = lengths[shot_id] if shot_id in lengths else project.shots[shot_id].frames(project.fps)
        gap = start - cursors.get(track, 0)
        if gap < 0:
            raise CutError(f"that would overlap another clip on {track}; choose another track or use Overwrite")
        out.append(TimelineEntry(shot_id, gap, track))
        cursors[track] = start + length
    return out


@dataclass
class Recut(Edit):
    """Replace the timeline's entries, adding/removing shots and changing shot fields, as one step."""

    entries: list[TimelineEntry]
    added: list[Shot] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: str = "Edit Timeline"
    _old_entries: list[TimelineEntry] = field(default_factory=list, repr=False)
    _old_shots: dict[str, Shot] = field(default_factory=dict, repr=False)
    _old_fields: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def apply(self, project: Project) -> None:
        self._old_entries = [copy.copy(e) for e in project.timeline.entries]
        self._old_fields = {sid: {k: copy.deepcopy(getattr(project.shots[sid], k)) for k in ch}
                            for sid, ch in self.changes.items()}
        self._old_shots = {sid: project.shots[sid] for sid in self.removed if sid in project.shots}
        for shot in self.added:
            project.shots[shot.id] = shot
        for sid, ch in self.changes.items():
            for key, value in ch.items():
                setattr(project.shots[sid], key, copy.deepcopy(value))
        for sid in self.removed:
            project.shots.pop(sid, None)
        project.timeline.entries[:] = [copy.copy(e) for e in self.entries]
        project.notify("timeline", None)

    def revert(self, project: Project) -> None:
        for shot in self.added:
            project.shots.pop(shot.id, None)
        project.shots.update(self._old_shots)
        for sid, old in self._old_fields.items():
            for key, value in old.items():
                setattr(project.shots[sid], key, copy.deepcopy(value))
        project.timeline.entries[:] = [copy.copy(e) for e in self._old_entries]
        project.notify("timeline", None)


def _locked(project: Project, track: str) -> bool:
    return project.timeline.switches(track).lock


def move_to(project: Project, shot_id: str, track: str, start: int) -> Recut:
    """Put a clip at ``start`` on ``track`` (V1 or V2); the clips around it stay where they are."""
    for t in (project.placements_track(shot_id), track):
        if _locked(project, t):
            raise CutError(f"track {t} is locked")
    where = positions(project)
    where[shot_id] = (track, max(0, int(start)))
    return Recut(entries_for(project, where), text=f"Move Shot to {track}")


def insert(project: Project, shot: Shot, track: str, frame: int, text: str = "Insert") -> Recut:
    """Insert ``shot`` at ``frame`` on ``track``: every clip starting at or after it moves later (sync, unlocked tracks)."""
    if _locked(project, track):
        raise CutError(f"track {track} is locked")
    length = shot.frames(project.fps)
    where = {sid: (t, s + length if s >= frame and not _locked(project, t) else s)
             for sid, (t, s) in positions(project).items()}
    where[shot.id] = (track, frame)
    return Recut(entries_for(project, where, {shot.id: length}), added=[shot], text=text)


def overwrite(project: Project, shot: Shot, track: str, frame: int) -> Recut:
    """Lay ``shot`` over ``track`` from ``frame``: clips it covers leave, clips it touches are trimmed."""
    if _locked(project, track):
        raise CutError(f"track {track} is locked")
    length = shot.frames(project.fps)
    end = frame + length
    where = positions(project)
    changes: dict[str, dict[str, Any]] = {}
    removed: list[str] = []
    for p in project.track_placements(track):
        if p.end <= frame or p.start >= end:
            continue
        if frame <= p.start and p.end <= end:
            removed.append(p.shot.id)
            del where[p.shot.id]
        elif p.start < frame and p.end > end:
            raise CutError("split the clip under the new one first (Split at Playhead)")
        elif p.start < frame:  # its tail is covered
            changes[p.shot.id] = trim_shot(project, p.shot.id, tail_frames=p.end - frame).changes
        else:  # its head is covered: trim it and keep its end where it was
            changes[p.shot.id] = trim_shot(project, p.shot.id, head_frames=end - p.start).changes
            where[p.shot.id] = (track, end)
    where[shot.id] = (track, frame)
    lengths = {shot.id: length}
    for sid, ch in changes.items():
        probe = copy.copy(project.shots[sid])
        for key, value in ch.items():
            setattr(probe, key, value)
        lengths[sid] = probe.frames(project.fps)
    return Recut(entries_for(project, where, lengths), added=[shot], removed=removed, changes=changes,
                 text="Overwrite")


def append(project: Project, shot: Shot, track: str = "V1") -> Recut:
    """Put ``shot`` after the last clip of the whole timeline."""
    return insert(project, shot, track, project.duration_frames(), text="Append")


def close_gap(project: Project, track: str, frame: int) -> Recut:
    """Close the gap under ``frame`` on ``track``: the clips after it on that track move up."""
    places = project.track_placements(track)
    if any(p.start <= frame < p.end for p in places):
        raise CutError(f"the playhead is on a clip, not in a gap, on {track}")
    before = max((p.end for p in places if p.end <= frame), default=0)
    after = min((p.start for p in places if p.start > frame), default=None)
    if after is None:
        raise CutError(f"no gap under the playhead on {track}")
    if _locked(project, track):
        raise CutError(f"track {track} is locked")
    shift = after - before
    where = {sid: (t, s - shift if t == track and s >= after else s) for sid, (t, s) in positions(project).items()}
    return Recut(entries_for(project, where), text="Close Gap")


def roll_edit(project: Project, shot_id: str, edge: str, frames: int) -> Edit:
    """Roll the cut at ``edge`` ("head" or "tail") of a clip by ``frames`` (positive: later).

    The clip on the other side of the cut gives or takes the same frames, so nothing else
    on the track moves. The two clips must touch.
    """
    places = project.placements()
    me = next(p for p in places if p.shot.id == shot_id)
    if edge == "tail":
        other = next((p for p in places if p.track == me.track and p.start == me.end and p is not me), None)
        left, right = me, other
    else:
        other = next((p for p in places if p.track == me.track and p.end == me.start and p is not me), None)
        left, right = other, me
    if left is None or right is None:
        raise ValueError("a roll needs two clips that touch; drag without Alt to trim")
    edits: list[Edit] = [trim_shot(project, left.shot.id, tail_frames=-frames, handles=True),
                         trim_shot(project, right.shot.id, head_frames=frames, handles=True)]
    return CompoundEdit(edits, text="Roll Edit")
