"""Split a shot so both halves keep their picture, without rendering anything again.

The take a shot was cut from already holds every frame of both halves. Each half gets
a record of the same file (the tail from the split frame on) whose job hash is the hash
of that half as it is after the split, so both halves are fresh right away.
"""

from __future__ import annotations

from soul_studio.project.edits import SplitShot
from soul_studio.project.model import Project, Take, new_id
from soul_studio.render.planner import FingerprintCache, current_hash
from soul_studio.render.takes import TakeJudge


def split_keeping_picture(project: Project, shot_id: str, frame: int,
                          fingerprints: FingerprintCache | None = None) -> SplitShot:
    """A :class:`SplitShot` at timeline ``frame`` that carries the shot's fresh takes onto both halves."""
    edit = SplitShot(shot_id, frame, new_shot_id=new_id())
    head, tail, cut_frames = edit.halves(project)  # raises ValueError outside the shot
    shot = project.shots[shot_id]
    judge = TakeJudge(project, fingerprints)
    for take in shot.takes:
        if not judge.fresh(shot, take):
            continue
        for half, offset, bucket in ((head, 0, edit.head_takes), (tail, cut_frames, edit.tail_takes)):
            job_hash = current_hash(project, half, take.quality, take.backend, judge.fingerprints)
            if job_hash is None:
                continue
            bucket.append(Take(take.file, job_hash, take.backend, take.quality, created=take.created,
                               seed=take.seed, offset=take.offset + offset))
    return edit
