"""Where things are on the timeline: frames ↔ pixels, track rows, cached placements.

Placements are recomputed once per document change (not per paint) and searched with
bisect, so painting the visible range of a 1,000-shot scene touches only a few shots.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from soul_studio.project.model import MUSIC_TRACK, VIDEO_TRACKS, Placement, Project, dialogue_track

VIDEO_Y = 6.0
VIDEO_H = 60.0
TRACK_GAP = 4.0
AUDIO_Y = VIDEO_Y + VIDEO_H + TRACK_GAP
AUDIO_H = 38.0
MUSIC_H = 24.0
SCENE_H = AUDIO_Y + AUDIO_H + 10.0  # the smallest scene (one video and one dialogue row)
EDGE_GRAB_PX = 7.0
SNAP_PX = 9.0
MIN_PPF = 0.01
MAX_PPF = 40.0
TAIL_PADDING_FRAMES = 240


@dataclass
class Row:
    """One track row of the scene: V2/V1 (video), a character's dialogue, or music/effects."""

    key: str
    kind: str  # "video", "dialogue" or "music"
    tag: str
    name: str
    y: float
    h: float
    colour: str = "#4f8fd8"


class RowIndex:
    """A row's clips sorted by start, searched with bisect."""

    def __init__(self, placements: list[Placement]) -> None:
        self.placements = sorted(placements, key=lambda p: (p.start, p.index))
        self.starts = [p.start for p in self.placements]
        self.ends = [p.end for p in self.placements]
        self.max_len = max((p.length for p in self.placements), default=0)

    def visible(self, lo_frame: float, hi_frame: float) -> list[Placement]:
        # clips of one dialogue row may overlap (the same character on V1 and V2): look back by the longest clip
        lo = bisect.bisect_left(self.starts, lo_frame - self.max_len)
        hi = bisect.bisect_left(self.starts, hi_frame)
        return [p for p in self.placements[lo:hi] if p.end > lo_frame]

    def at_frame(self, frame: float) -> Placement | None:
        i = bisect.bisect_right(self.starts, frame) - 1
        while i >= 0 and frame - self.starts[i] < self.max_len + 1:
            if frame < self.ends[i]:
                return self.placements[i]
            i -= 1
        return None


@dataclass
class TimelineLayout:
    """Zoom (pixels per frame), the track rows and the scene's placements."""

    ppf: float = 4.0

    def __post_init__(self) -> None:
        self.placements: list[Placement] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._index: dict[str, int] = {}
        self.rows: list[Row] = []
        self.rows_by_key: dict[str, Row] = {}
        self.row_index: dict[str, RowIndex] = {}
        self.duration = 0
        self.scene_h = SCENE_H

    def rebuild(self, project: Project) -> None:
        self.placements = project.placements()
        self._starts = [p.start for p in self.placements]
        self._ends = [p.end for p in self.placements]
        self._index = {p.shot.id: i for i, p in enumerate(self.placements)}
        self.duration = max(self._ends, default=0)
        self._rebuild_rows(project)

    def _rebuild_rows(self, project: Project) -> None:
        rows: list[Row] = []
        y = VIDEO_Y
        for track in reversed(VIDEO_TRACKS):  # V2 above V1, as in every NLE
            rows.append(Row(track, "video", track, "Video", y, VIDEO_H, "#4f8fd8"))
            y += VIDEO_H + TRACK_GAP
        speakers = [c for c in project.characters]
        keys = [dialogue_track(c.id) for c in speakers]
        for n, c in enumerate(speakers):
            rows.append(Row(keys[n], "dialogue", f"A{n + 1}", c.name, y, AUDIO_H, c.colour))
            y += AUDIO_H + TRACK_GAP
        if any(dialogue_track(p.shot.character_id) not in keys for p in self.placements):
            rows.append(Row(dialogue_track(None), "dialogue", f"A{len(speakers) + 1}", "No character", y, AUDIO_H,
                            "#8a8f99"))
            y += AUDIO_H + TRACK_GAP
        rows.append(Row(MUSIC_TRACK, "music", "M1", "Music & effects", y, MUSIC_H, "#c7b04f"))
        y += MUSIC_H
        self.rows = rows
        self.rows_by_key = {r.key: r for r in rows}
        self.scene_h = y + 10.0
        groups: dict[str, list[Placement]] = {r.key: [] for r in rows}
        for p in self.placements:
            groups.setdefault(p.track, []).append(p)
            groups.setdefault(dialogue_track(p.shot.character_id), []).append(p)
        self.row_index = {key: RowIndex(places) for key, places in groups.items()}

    def row_at(self, y: float) -> Row | None:
        for r in self.rows:
            if r.y <= y <= r.y + r.h:
                return r
        return None

    def video_rect_y(self, p: Placement) -> tuple[float, float]:
        row = self.rows_by_key.get(p.track) or self.rows[0]
        return row.y, row.h

    def audio_rect_y(self, p: Placement) -> tuple[float, float] | None:
        row = self.rows_by_key.get(dialogue_track(p.shot.character_id))
        return (row.y, row.h) if row is not None else None

    # --------------------------------------------------------- conversions
    def x(self, frame: float) -> float:
        return frame * self.ppf

    def frame_at(self, x: float) -> int:
        return max(0, int(round(x / self.ppf)))

    def width(self) -> float:
        return (self.duration + TAIL_PADDING_FRAMES) * self.ppf

    # ------------------------------------------------------------ queries
    def visible(self, left_x: float, right_x: float, row: str | None = None) -> list[Placement]:
        """Placements overlapping [left_x, right_x] in scene pixels (of one row's index when given)."""
        if row is not None:
            index = self.row_index.get(row)
            return index.visible(left_x / self.ppf, right_x / self.ppf) if index is not None else []
        if not self.placements:
            return []
        lo_f, hi_f = left_x / self.ppf, right_x / self.ppf
        seen: dict[str, Placement] = {}
        for track in VIDEO_TRACKS:
            index = self.row_index.get(track)
            if index is not None:
                for p in index.visible(lo_f, hi_f):
                    seen[p.shot.id] = p
        return sorted(seen.values(), key=lambda p: (p.start, p.index))

    def placement_of(self, shot_id: str) -> Placement | None:
        i = self._index.get(shot_id)
        return None if i is None else self.placements[i]

    def at_frame(self, frame: float, row: str = "V1") -> Placement | None:
        index = self.row_index.get(row)
        return index.at_frame(frame) if index is not None else None

    def track_of(self, shot_id: str) -> str:
        p = self.placement_of(shot_id)
        return p.track if p is not None else "V1"

    def insertion_index(self, frame: float, exclude: set[str] | None = None, track: str | None = None) -> int:
        """Track position a clip dropped at ``frame`` lands on (before the first clip whose middle is later)."""
        exclude = exclude or set()
        n = 0
        for p in self.placements:
            if track is not None and p.track != track:
                continue
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
