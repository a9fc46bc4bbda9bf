"""Where things are on the timeline: frames ↔ pixels, track rows, cached placements.

Placements are recomputed once per document change (not per paint) and searched with
bisect, so painting the visible range of a 1,000-shot scene touches only a few shots.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from soul_studio.project.model import Placement, Project

VIDEO_Y = 6.0
VIDEO_H = 86.0
TRACK_GAP = 6.0
AUDIO_Y = VIDEO_Y + VIDEO_H + TRACK_GAP
AUDIO_H = 54.0
SCENE_H = AUDIO_Y + AUDIO_H + 10.0
EDGE_GRAB_PX = 7.0
SNAP_PX = 9.0
MIN_PPF = 0.01
MAX_PPF = 40.0
TAIL_PADDING_FRAMES = 240


@dataclass
class TimelineLayout:
    """Zoom (pixels per frame) and the scene's placements."""

    ppf: float = 4.0

    def __post_init__(self) -> None:
        self.placements: list[Placement] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._index: dict[str, int] = {}
        self.duration = 0

    def rebuild(self, project: Project) -> None:
        self.placements = project.placements()
        self._starts = [p.start for p in self.placements]
        self._ends = [p.end for p in self.placements]
        self._index = {p.shot.id: i for i, p in enumerate(self.placements)}
        self.duration = self._ends[-1] if self._ends else 0

    # --------------------------------------------------------- conversions
    def x(self, frame: float) -> float:
        return frame * self.ppf

    def frame_at(self, x: float) -> int:
        return max(0, int(round(x / self.ppf)))

    def width(self) -> float:
        return (self.duration + TAIL_PADDING_FRAMES) * self.ppf

    # ------------------------------------------------------------ queries
    def visible(self, left_x: float, right_x: float) -> list[Placement]:
        """Placements overlapping [left_x, right_x] in scene pixels."""
        if not self.placements:
            return []
        lo = bisect.bisect_right(self._ends, left_x / self.ppf)
        hi = bisect.bisect_left(self._starts, right_x / self.ppf)
        return self.placements[lo:hi]

    def placement_of(self, shot_id: str) -> Placement | None:
        i = self._index.get(shot_id)
        return None if i is None else self.placements[i]

    def at_frame(self, frame: float) -> Placement | None:
        i = bisect.bisect_right(self._starts, frame) - 1
        if 0 <= i < len(self.placements) and self.placements[i].start <= frame < self.placements[i].end:
            return self.placements[i]
        return None

    def insertion_index(self, frame: float, exclude: set[str] | None = None) -> int:
        """Track position a clip dropped at ``frame`` lands on (before the first clip whose middle is later)."""
        exclude = exclude or set()
        n = 0
        for p in self.placements:
            if p.shot.id in exclude:
                continue
            if (p.start + p.end) / 2.0 > frame:
                return n
            n += 1
        return n

    def edit_points(self) -> list[int]:
        points = {0}
        for p in self.placements:
            points.add(p.start)
            points.add(p.end)
        return sorted(points)

    def snap(self, frame: float, targets: list[int], enabled: bool = True) -> int:
        """``frame`` moved onto the nearest target within :data:`SNAP_PX` on screen."""
        if not enabled or not targets:
            return int(round(frame))
        i = bisect.bisect_left(targets, frame)
        best = None
        for j in (i - 1, i):
            if 0 <= j < len(targets):
                d = abs(targets[j] - frame) * self.ppf
                if d <= SNAP_PX and (best is None or d < best[0]):
                    best = (d, targets[j])
        return best[1] if best else int(round(frame))
