"""Ripple trims and ripple deletes that keep sync: later clips on every unlocked track follow.

A ripple trim changes a clip's length and moves what comes after the edit point by the
same frames, on its own track and (sync lock, as in Premiere and Resolve) on every other
unlocked video, dialogue and music track. The edit point of a tail trim is the clip's
end; of a head trim its start, so a reaction on V2 over the trimmed clip stays on the
words it answers. Clips on locked tracks stay put; where that makes two clips collide
the edit is refused. Pure Python; each function returns one :class:`Recut`.
"""

from __future__ import annotations

from typing import Any

from soul_studio.project.cutting import CutError, Recut, entries_for, length_after, positions, refuse_locked, sync_shift
from soul_studio.project.edits import trim_shot
from soul_studio.project.model import Placement, Project


def ripple_trim(project: Project, shot_id: str, head_frames: int = 0, tail_frames: int = 0,
                handles: bool = True) -> Recut:
    """Trim a clip's head or tail (positive frames shorten, negative extend) and ripple the rest in sync."""
    if bool(head_frames) == bool(tail_frames):
        raise ValueError("a ripple trim moves one edge: give head_frames or tail_frames")
    me = next((p for p in project.placements() if p.shot.id == shot_id), None)
    if me is None:
        raise CutError("that shot is not on the timeline")
    refuse_locked(project, [shot_id], "a trim")
    changes = trim_shot(project, shot_id, head_frames=head_frames, tail_frames=tail_frames, handles=handles).changes
    return _ripple(project, me, changes, me.start if head_frames else me.end, "Ripple Trim", "ripple", "trim less")


# Fields that change a clip at its head: the edit point is its start, as for a head trim.
_HEAD_FIELDS = {"audio_in", "handle_head"}


def ripple_fields(project: Project, shot_id: str, changes: dict[str, Any], text: str = "Edit Shot") -> Recut | None:
    """Field edits that change a clip's length (audio in/out, handles, hold) as a ripple in sync.

    The Inspector's way to trim: later clips on every unlocked track follow, as with a
    dragged edge; the edit point is the clip's start for a change at its head (in point,
    pause before the line), else its end. None when the clip is not on the timeline or
    its length does not change (a plain field edit does then).
    """
    me = next((p for p in project.placements() if p.shot.id == shot_id), None)
    if me is None:
        return None
    if length_after(project, shot_id, changes) == me.length:
        return None
    refuse_locked(project, [shot_id], "a length change")
    moved = {k for k, v in changes.items() if getattr(me.shot, k, None) != v}  # (a new recording restates in=0)
    at = me.start if _HEAD_FIELDS & moved else me.end  # a pause before the line moves what answers it
    return _ripple(project, me, dict(changes), at, text, "change", "make the change smaller")


def _ripple(project: Project, me: Placement, changes: dict[str, Any], at: int, text: str, verb: str,
            smaller: str) -> Recut:
    """``changes`` to ``me`` as one step, everything from ``at`` on every unlocked track moving with its length."""
    shot_id = me.shot.id
    length = length_after(project, shot_id, changes)
    delta = length - me.length
    where = positions(project)
    music = sync_shift(project, where, at, delta, skip={shot_id}) if delta else {}
    try:
        entries = entries_for(project, where, {shot_id: length})
    except CutError as exc:
        across = next((p.track for p in project.placements() if p.track != me.track and p.start < at < p.end), None)
        if across is not None:
            raise CutError(f"{across} has a clip across the edit point; lock {across} to {verb} {me.track} alone, "
                           f"or {smaller}") from exc
        raise CutError(f"a clip on a locked track is in the way; {smaller} or unlock it") from exc
    return Recut(entries, changes={shot_id: changes}, text=text, music=music)


def ripple_delete(project: Project, shot_ids: list[str]) -> Recut:
    """Delete clips and close the time they took on every unlocked track (latest first)."""
    places = sorted((p for p in project.placements() if p.shot.id in set(shot_ids)), key=lambda p: -p.start)
    if not places:
        raise CutError("nothing selected on the timeline")
    refuse_locked(project, [p.shot.id for p in places], "a delete")
    where = positions(project)
    music: dict[str, int] = {}
    for p in places:
        del where[p.shot.id]
        # time closes only where every unlocked track is free over the deleted clip, else only its own track
        busy = any(t != p.track and s < p.end and s + project.shots[sid].frames(project.fps) > p.start
                   for sid, (t, s) in where.items())
        shifted = sync_shift(project, where, p.end, -p.length, tracks=None if not busy else {p.track})
        for clip in project.timeline.music:
            if clip.id in shifted:
                music[clip.id] = max(0, music.get(clip.id, clip.start) - p.length)
    return Recut(entries_for(project, where), removed=[p.shot.id for p in places], text="Ripple Delete", music=music)
