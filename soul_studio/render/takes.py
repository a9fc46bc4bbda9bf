"""Which take a shot uses: one rule for the timeline, the viewer, the Inspector and export.

A take is *fresh* when its job hash equals the hash of the shot as it is now, so undoing
back to a rendered state finds that state's takes again. The take in use is the one the
editor picked (while it is fresh), else the best fresh take: a final before a draft,
the newest first. A stale take is never in use; it is only *shown* (with its STALE
badge) where a shot has nothing fresh, and export warns and leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from soul_studio.project.model import Project, Shot, Take
from soul_studio.render.planner import FingerprintCache, current_hash

StaleCheck = Callable[[Shot, Take], bool]
_QUALITY_RANK = {"final": 1, "draft": 0}


@dataclass
class TakeJudge:
    """Decides freshness for one project, remembering each (shot, quality, backend) hash it computed.

    ``is_stale`` replaces the hash comparison (tests and callers that know better);
    ``backend_options`` are the ones the render manager adds to soul jobs.
    """

    project: Project
    fingerprints: FingerprintCache | None = None
    is_stale: StaleCheck | None = None
    backend_options: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.fingerprints is None:
            self.fingerprints = FingerprintCache()
        self._hashes: dict[tuple[str, str, str], str | None] = {}

    def current(self, shot: Shot, quality: str, backend: str) -> str | None:
        key = (shot.id, quality, backend)
        if key not in self._hashes:
            self._hashes[key] = current_hash(self.project, shot, quality, backend, self.fingerprints,
                                             self.backend_options)
        return self._hashes[key]

    def usable(self, take: Take) -> bool:
        """Finished and its file is on disk."""
        if not take.is_done:
            return False
        path = self.project.resolve(take.file)
        return path is not None and path.is_file()

    def fresh(self, shot: Shot, take: Take) -> bool:
        if not self.usable(take):
            return False
        if self.is_stale is not None:
            return not self.is_stale(shot, take)
        wanted = self.current(shot, take.quality, take.backend)
        # a shot that cannot be rendered now (its audio went missing) cannot be judged: keep its take
        return wanted is None or wanted == take.job_hash

    def state(self, shot: Shot, take: Take) -> str:
        """``fresh``, ``stale``, ``missing`` (file gone) or the take's status (failed, …)."""
        if not take.is_done:
            return take.status
        if not self.usable(take):
            return "missing"
        return "fresh" if self.fresh(shot, take) else "stale"


def _judge(project: Project, judge: TakeJudge | None, fingerprints: FingerprintCache | None,
           is_stale: StaleCheck | None) -> TakeJudge:
    return judge if judge is not None else TakeJudge(project, fingerprints, is_stale)


def ranked_fresh_takes(project: Project, shot: Shot, judge: TakeJudge | None = None) -> list[Take]:
    """Fresh takes best first: finals before drafts, newest first within a quality."""
    j = _judge(project, judge, None, None)
    fresh = [(i, t) for i, t in enumerate(shot.takes) if j.fresh(shot, t)]
    fresh.sort(key=lambda it: (_QUALITY_RANK.get(it[1].quality, 0), it[0]), reverse=True)
    return [t for _, t in fresh]


def take_in_use(project: Project, shot: Shot, judge: TakeJudge | None = None,
                fingerprints: FingerprintCache | None = None, is_stale: StaleCheck | None = None) -> Take | None:
    """The take the cut uses: the picked one while fresh, else the best fresh take; None when nothing is fresh."""
    j = _judge(project, judge, fingerprints, is_stale)
    picked = shot.take(shot.picked_take)
    if picked is not None and j.fresh(shot, picked):
        return picked
    ranked = ranked_fresh_takes(project, shot, j)
    return ranked[0] if ranked else None


def shown_take(project: Project, shot: Shot, judge: TakeJudge | None = None) -> tuple[Take | None, bool]:
    """(take, stale) the timeline and viewer show: the take in use, else the newest stale take."""
    j = _judge(project, judge, None, None)
    take = take_in_use(project, shot, j)
    if take is not None:
        return take, False
    picked = shot.take(shot.picked_take)
    if picked is not None and j.usable(picked):
        return picked, True
    for t in reversed(shot.takes):
        if j.usable(t):
            return t, True
    return None, False


def shot_state(project: Project, shot: Shot, fingerprints: FingerprintCache | None = None,
               judge: TakeJudge | None = None) -> str:
    """What the clip badge shows: ``none``, ``draft``, ``final`` (the take in use) or ``stale``."""
    j = _judge(project, judge, fingerprints, None)
    take, stale = shown_take(project, shot, j)
    if take is None:
        return "none"
    return "stale" if stale else take.quality


def missing_finals(project: Project, shot_ids: Iterable[str] | None = None,
                   judge: TakeJudge | None = None) -> list[str]:
    """Shots (timeline order) whose take in use is not a fresh final: what "Render What's Missing" renders."""
    j = _judge(project, judge, None, None)
    wanted = None if shot_ids is None else set(shot_ids)
    out: list[str] = []
    for shot in project.timeline_shots():
        if wanted is not None and shot.id not in wanted:
            continue
        take = take_in_use(project, shot, j)
        if take is None or take.quality != "final":
            out.append(shot.id)
    return list(dict.fromkeys(out))
