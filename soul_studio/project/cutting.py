"""NLE edits on absolute positions: insert, overwrite, append, move to a track, close a gap.

The timeline stores each track as clips end to end with gaps; these helpers think in
frames (where each clip starts on which track) and turn the result back into entries.
Every helper returns a :class:`Recut`, one undo step. Pure Python.

Sync lock as in Premiere and Resolve: an edit that opens or closes time (insert, close
gap, ripple trims in :mod:`soul_studio.project.ripple`) moves what starts at or after
the edit point on every unlocked track, music included; overwrite and roll never move
another clip. A clip is locked when its video track or its line's dialogue track is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from soul_studio.project.edits import Edit, trim_shot
from soul_studio.project.model import MUSIC_TRACK, VIDEO_TRACKS, Project, Shot, TimelineEntry, dialogue_track

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


def starts_of(project: Project, entries: list[TimelineEntry], lengths: dict[str, int] | None = None) -> Positions:
    """Where ``entries`` put every clip (the inverse of :func:`entries_for`): what an edit would do, shown first."""
    lengths = lengths or {}
    cursors: dict[str, int] = {}
    out: Positions = {}
    for e in entries:
        start = cursors.get(e.track, 0) + e.gap_before
        out[e.shot_id] = (e.track, start)
        length = lengths[e.shot_id] if e.shot_id in lengths else project.shots[e.shot_id].frames(project.fps)
        cursors[e.track] = start + length
    return out


@dataclass
class Recut(Edit):
    """Replace the timeline's entries, adding/removing shots and changing shot fields, as one step."""

    entries: list[TimelineEntry]
    added: list[Shot] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    text: str = "Edit Timeline"
    music: dict[str, int] = field(default_factory=dict)  # music clip id → new start frame
    _old_entries: list[TimelineEntry] = field(default_factory=list, repr=False)
    _old_music: dict[str, int] = field(default_factory=dict, repr=False)
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
        self._old_music = {m.id: m.start for m in project.timeline.music if m.id in self.music}
        for clip in project.timeline.music:
            clip.start = self.music.get(clip.id, clip.start)
        project.timeline.entries[:] = [copy.copy(e) for e in self.entries]
        project.notify("timeline", None)

    def revert(self, project: Project) -> None:
        for shot in self.added:
            project.shots.pop(shot.id, None)
        project.shots.update(self._old_shots)
        for sid, old in self._old_fields.items():
            for key, value in old.items():
                setattr(project.shots[sid], key, copy.deepcopy(value))
        for clip in project.timeline.music:
            clip.start = self._old_music.get(clip.id, clip.start)
        project.timeline.entries[:] = [copy.copy(e) for e in self._old_entries]
        project.notify("timeline", None)


def _locked(project: Project, track: str) -> bool:
    return project.timeline.switches(track).lock


def clip_lock(project: Project, shot_id: str) -> str | None:
    """The locked track a clip sits on (its video track, then its line's dialogue track), or None."""
    shot = project.shots.get(shot_id)
    keys = [project.placements_track(shot_id)]
    if shot is not None:
        keys.append(dialogue_track(shot.character_id))
    return next((k for k in keys if _locked(project, k)), None)


def refuse_locked(project: Project, shot_ids: list[str], what: str = "that edit") -> None:
    """Raise :class:`CutError` naming the first locked track any of ``shot_ids`` sits on."""
    for sid in shot_ids:
        key = clip_lock(project, sid)
        if key is not None:
            raise CutError(f"track {track_name(project, key)} is locked; unlock it for {what}")


def locked_moved(project: Project, order: list[str]) -> str | None:
    """The locked track of a clip that reordering the entries to ``order`` (shot ids) would move, or None."""
    by_id = {e.shot_id: e for e in project.timeline.entries}
    trial = copy.copy(project)
    trial.timeline = copy.copy(project.timeline)
    trial.timeline.entries = [by_id[sid] for sid in order]
    before, after = positions(project), positions(trial)
    return next((key for sid in before if before[sid] != after.get(sid)
                 for key in [clip_lock(project, sid)] if key is not None), None)


def track_name(project: Project, key: str) -> str:
    """V1/V2/M1 as they are, a dialogue track by its character's name."""
    if key.startswith("A:"):
        character = project.character(key[2:])
        return f"{character.name} (dialogue)" if character is not None else "dialogue"
    return key


def sync_shift(project: Project, where: Positions, at: int, delta: int, skip: set[str] | None = None,
               tracks: set[str] | None = None) -> dict[str, int]:
    """Move by ``delta`` every unlocked clip of ``where`` starting at or after ``at`` (in place).

    ``tracks`` limits it (None: every track, sync lock). Returns the new starts of the
    music clips that move the same way (M1 unless it is locked).
    """
    skip = skip or set()
    for sid, (track, start) in list(where.items()):
        if sid in skip or start < at or (tracks is not None and track not in tracks):
            continue
        if clip_lock(project, sid) is None:
            if start + delta < 0:
                raise CutError("that would move a clip before the start of the timeline")
            where[sid] = (track, start + delta)
    if (tracks is not None and MUSIC_TRACK not in tracks) or _locked(project, MUSIC_TRACK):
        return {}
    return {m.id: max(0, m.start + delta) for m in project.timeline.music if m.start >= at}


def move_to(project: Project, shot_id: str, track: str, start: int) -> Recut:
    """Put a clip at ``start`` on ``track`` (V1 or V2); the clips around it stay where they are."""
    refuse_locked(project, [shot_id], "a move")
    if _locked(project, track):
        raise CutError(f"track {track} is locked")
    where = positions(project)
    where[shot_id] = (track, max(0, int(start)))
    return Recut(entries_for(project, where), text=f"Move Shot to {track}")


def insert(project: Project, shot: Shot, track: str, frame: int, text: str = "Insert") -> Recut:
    """Insert ``shot`` at ``frame`` on ``track``: every clip starting at or after it moves later (sync, unlocked tracks)."""
    return insert_many(project, [shot], track, frame, text)


def insert_many(project: Project, shots: list[Shot], track: str, frame: int, text: str = "Insert") -> Recut:
    """Insert ``shots`` one after the other from ``frame`` on ``track``, rippling every unlocked track once."""
    for shot in shots:
        _refuse_new(project, shot, track)
    lengths = {shot.id: shot.frames(project.fps) for shot in shots}
    where = positions(project)
    music = sync_shift(project, where, frame, sum(lengths.values()))
    at = frame
    for shot in shots:
        where[shot.id] = (track, at)
        at += lengths[shot.id]
    return Recut(entries_for(project, where, lengths), added=list(shots), text=text, music=music)


def _refuse_new(project: Project, shot: Shot, track: str) -> None:
    """A new clip may not land on a locked video track or add a line to a locked dialogue track."""
    for key in (track, dialogue_track(shot.character_id)):
        if _locked(project, key):
            raise CutError(f"track {track_name(project, key)} is locked")


def overwrite(project: Project, shot: Shot, track: str, frame: int) -> Recut:
    """Lay ``shot`` over ``track`` from ``frame``: clips it covers leave, clips it touches are trimmed."""
    _refuse_new(project, shot, track)
    length = shot.frames(project.fps)
    end = frame + length
    refuse_locked(project, [p.shot.id for p in project.track_placements(track) if p.end > frame and p.start < end],
                  "an overwrite over its clips")
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
    lengths.update({sid: length_after(project, sid, ch) for sid, ch in changes.items()})
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
    # sync lock: every unlocked track closes the same gap, so it must be empty there too (as in Premiere)
    for p in project.placements():
        if p.track != track and p.start < after and p.end > before and clip_lock(project, p.shot.id) is None:
            raise CutError(f"{p.track} has a clip in the gap; lock {p.track} to close the gap on {track} alone")
    if not _locked(project, MUSIC_TRACK) and any(m.start < after and m.start + m.frames(project.fps) > before
                                                 for m in project.timeline.music):
        raise CutError(f"music plays in the gap; lock {MUSIC_TRACK} to close the gap on {track} alone")
    where = positions(project)
    music = sync_shift(project, where, after, before - after)
    return Recut(entries_for(project, where), text="Close Gap", music=music)


def roll_edit(project: Project, shot_id: str, edge: str, frames: int) -> Recut:
    """Roll the cut at ``edge`` ("head" or "tail") of a clip by ``frames`` (positive: later).

    The clip on the other side of the cut gives or takes the same frames, so nothing else
    on any track moves. The two clips must touch and neither may sit on a locked track;
    the roll stops one frame short of swallowing either clip.
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
        raise CutError("a roll needs two clips that touch; drag without Alt to trim")
    refuse_locked(project, [left.shot.id, right.shot.id], "a roll")
    frames = max(-(left.length - 1), min(right.length - 1, int(frames)))
    changes = {left.shot.id: trim_shot(project, left.shot.id, tail_frames=-frames, handles=True).changes,
               right.shot.id: trim_shot(project, right.shot.id, head_frames=frames, handles=True).changes}
    where = positions(project)
    cut = left.end + frames
    where[right.shot.id] = (right.track, cut)
    lengths = {left.shot.id: cut - left.start, right.shot.id: right.end - cut}
    got = {sid: length_after(project, sid, ch) for sid, ch in changes.items()}
    if got != lengths:  # the recording cannot give those frames (a still's minimum, rounding)
        raise CutError("the clips cannot roll that far")
    return Recut(entries_for(project, where, lengths), changes=changes, text="Roll Edit")


def length_after(project: Project, shot_id: str, changes: dict[str, Any]) -> int:
    """Frames the shot would last with ``changes`` applied (nothing changes)."""
    probe = copy.copy(project.shots[shot_id])
    for key, value in changes.items():
        setattr(probe, key, value)
    return probe.frames(project.fps)
