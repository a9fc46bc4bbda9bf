"""Lay out what an export covers: shot and gap segments in record order, with timecode.

Every writer (movie, image sequence, per-shot clips, interchange) works from the same
:class:`Cut`, so a cut lands on the same frame in the movie, the EDL and the XML.
``segments`` is the picture (the upper video track wins where two overlap); ``layers``
keeps every clip whole on its own video track, for the timelines other editors open.
A selection plays the chosen shots in record order, the time no chosen shot covers
taken out, the upper track winning among them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.timebase import frames_to_timecode, is_drop_frame, timecode_to_frames
from soul_studio.export.options import ExportError, ExportOptions
from soul_studio.project.model import VIDEO_TRACKS, Placement, Project, Shot, Take, picture_of


@dataclass
class Segment:
    """A stretch of the output: a shot (from ``offset`` frames into it) or black."""

    kind: str
    record_start: int
    length: int
    shot: Shot | None = None
    index: int = -1
    offset: int = 0
    placement_start: int = 0
    shot_length: int = 0
    take: Take | None = None
    take_path: Path | None = None
    name: str = ""
    reel: str = ""
    track: str = "V1"

    @property
    def record_end(self) -> int:
        return self.record_start + self.length


@dataclass
class Cut:
    """The segments of one export and the timecode of its first frame."""

    fps: float
    width: int
    height: int
    segments: list[Segment]
    length: int
    timeline_start: int
    base_tc_frames: int
    warnings: list[str] = field(default_factory=list)
    selection: bool = False
    drop_frame: bool | None = None
    layers: dict[str, list[Segment]] = field(default_factory=dict)  # video track → its clips, record order

    @property
    def drop(self) -> bool:
        """Drop-frame timecode: asked for, or the 29.97 convention; never at other rates."""
        return is_drop_frame(self.fps) and self.drop_frame is not False

    @property
    def start_tc_frames(self) -> int:
        return self.base_tc_frames + self.timeline_start

    @property
    def start_timecode(self) -> str:
        return frames_to_timecode(self.start_tc_frames, self.fps, drop_frame=self.drop)

    def shots(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == "shot"]

    def clips(self) -> list[Segment]:
        """One segment per shot in the export, whether the picture shows it or a clip above hides it."""
        seen: dict[int, Segment] = {}
        for seg in [*self.shots(), *(s for layer in self.layers.values() for s in layer)]:
            seen.setdefault(seg.index, seg)
        return list(seen.values())

    def covered(self) -> list[Segment]:
        """Stretches of clips the picture does not show (under a clip of the track above), in record
        frames: their dialogue is still heard, selections included."""
        shown: dict[int, list[tuple[int, int]]] = {}
        for seg in self.shots():
            shown.setdefault(seg.index, []).append((seg.record_start, seg.record_end))
        out: list[Segment] = []
        for seg in (s for layer in self.layers.values() for s in layer):
            free = [(seg.record_start, seg.record_end)]
            for a, b in shown.get(seg.index, []):
                free = [piece for s, e in free for piece in ((s, min(e, a)), (max(s, b), e)) if piece[1] > piece[0]]
            out += [replace(seg, record_start=s, length=e - s, offset=seg.offset + s - seg.record_start)
                    for s, e in free]
        return sorted(out, key=lambda s: s.record_start)

    def record_frame(self, timeline_frame: int) -> int | None:
        """Where a frame of the full timeline lands in this cut (None when left out)."""
        for seg in self.shots():
            first = seg.placement_start + seg.offset
            if first <= timeline_frame < first + seg.length:
                return seg.record_start + timeline_frame - first
        if self.selection:
            return None
        frame = timeline_frame - self.timeline_start
        return frame if 0 <= frame < self.length else None

    def record_timecode(self, timeline_frame: int) -> str:
        """Timecode of a frame of the full timeline (not of this cut)."""
        return frames_to_timecode(self.base_tc_frames + timeline_frame, self.fps, drop_frame=self.drop)


def parse_timecode(timecode: str, fps: float, drop_frame: bool | None = None) -> int:
    """Frames of a start timecode; at 29.97 a ``:``-written label is read as drop-frame
    unless non-drop timecode was asked for."""
    text = timecode.strip()
    if is_drop_frame(fps) and drop_frame is not False and ";" not in text and text.count(":") == 3:
        text = text[:8] + ";" + text[9:]
    if drop_frame is False:
        text = text.replace(";", ":")
    try:
        return timecode_to_frames(text, fps)
    except ValueError as exc:
        raise ExportError(f"start timecode {timecode!r} is not HH:MM:SS:FF") from exc


def shot_label(shot: Shot, index: int) -> str:
    """Name shown for a shot in clips, burn-ins and interchange files."""
    return shot.name.strip() or f"Shot {index + 1}"


def reel_name(shot: Shot, index: int) -> str:
    """Eight-character reel name an EDL accepts: letters and digits, unique by index."""
    from soul_studio.export.names import reel_safe

    base = reel_safe(shot.name, 4)  # transliterated: "Łódź" gives LODZ, not D
    return f"{base or 'SH'}{index + 1:04d}"[-8:]


def safe_filename(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return cleaned[:60] or "shot"


def _select(project: Project, wanted: list[str]) -> set[str]:
    ids: set[str] = set()
    for key in wanted:
        key = key.strip()
        if key in project.shots:
            ids.add(key)
            continue
        hits = [sid for sid, s in project.shots.items() if s.name and s.name.casefold() == key.casefold()]
        if not hits and key.isdigit():
            entries = project.timeline.entries
            n = int(key) - 1
            if 0 <= n < len(entries):
                hits = [entries[n].shot_id]
        if not hits:
            raise ExportError(f"no shot named {key!r} on the timeline", "give shot ids, names or 1-based positions")
        ids.update(hits)
    return ids


def _default_stale(project: Project) -> object:
    """The render planner's notion of stale (inputs changed since the take was made)."""

    def check(shot: Shot, take: Take) -> bool:
        try:
            from soul_studio.render.planner import current_hash
        except ImportError:
            return False
        try:
            wanted = current_hash(project, shot, take.quality, take.backend)
        except Exception:  # noqa: BLE001 - a broken shot is reported elsewhere, not as stale
            return False
        return wanted is not None and wanted != take.job_hash

    return check


def _shot_segment(project: Project, p: Placement, record_start: int, offset: int, length: int,
                  judge: object = None) -> Segment:
    from soul_studio.render.takes import take_in_use

    shot = p.shot
    take = take_in_use(project, shot, judge)  # type: ignore[arg-type]  # the timeline's own rule
    path = project.resolve(take.file) if take is not None else None
    return Segment(
        "shot", record_start, length, shot=shot, index=p.index, offset=offset, placement_start=p.start,
        shot_length=p.length, take=take, take_path=path, name=shot_label(shot, p.index), reel=reel_name(shot, p.index),
        track=p.track,
    )


def _record_map(places: list[Placement]) -> list[tuple[int, int, int]]:
    """(timeline from, timeline to, record from) of the stretches ``places`` cover, back to back."""
    spans: list[list[int]] = []
    for p in sorted(places, key=lambda p: p.start):
        if spans and p.start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], p.end)
        else:
            spans.append([p.start, p.end])
    out, cursor = [], 0
    for a, b in spans:
        out.append((a, b, cursor))
        cursor += b - a
    return out


def _to_record(stretches: list[tuple[int, int, int]], frame: int) -> int:
    return next(r + frame - a for a, b, r in stretches if a <= frame < b)


def _layers(project: Project, places: list[Placement], to_record: Callable[[int], int], lo: int, hi: int,
            judge: object) -> dict[str, list[Segment]]:
    """Each clip of ``places`` on its own track, cut to timeline frames [lo, hi)."""
    layers: dict[str, list[Segment]] = {}
    for p in sorted(places, key=lambda p: p.start):
        s, e = max(p.start, lo), min(p.end, hi)
        if e > s:
            seg = _shot_segment(project, p, to_record(s), s - p.start, e - s, judge)
            layers.setdefault(p.track, []).append(seg)
    order = {t: n for n, t in enumerate(VIDEO_TRACKS)}
    return dict(sorted(layers.items(), key=lambda kv: order.get(kv[0], 99)))


def plan_cut(project: Project, options: ExportOptions) -> Cut:
    """Segments of the export in record order, with the warnings a delivery needs."""
    options.validate()
    from soul_studio.render.takes import TakeJudge

    judge = TakeJudge(project, is_stale=options.stale_check)
    base_tc = parse_timecode(options.start_timecode or project.settings.start_timecode, project.fps,
                             options.drop_frame)
    segments: list[Segment] = []
    if options.shots:
        chosen = _select(project, list(options.shots))
        mine = [p for p in project.placements() if p.shot.id in chosen]
        if not mine:
            raise ExportError("the selection holds no shot on the timeline")
        stretches = _record_map(mine)
        for p in picture_of(mine):  # among the chosen shots the upper track wins; the rest do not hide them
            shown_from, shown_to = p.shown
            segments.append(_shot_segment(project, p, _to_record(stretches, shown_from), shown_from - p.start,
                                          shown_to - shown_from, judge))
        timeline_start, length = stretches[0][0], sum(b - a for a, b, _ in stretches)
        layers = _layers(project, mine, lambda f: _to_record(stretches, f), 0, stretches[-1][1], judge)
    else:
        placements = project.picture_placements()  # upper video track wins where two overlap
        total = max((p.end for p in placements), default=0)
        a, b = options.frame_range if options.frame_range is not None else (0, total)
        if options.frame_range is None and total == 0:
            raise ExportError("the timeline is empty", "add shots to the timeline first")
        cursor = a
        for p in placements:
            s, e = max(p.shown[0], a), min(p.shown[1], b)
            if e <= s:
                continue
            if s > cursor:
                segments.append(Segment("gap", cursor - a, s - cursor))
            segments.append(_shot_segment(project, p, s - a, s - p.start, e - s, judge))
            cursor = e
        if cursor < b:
            segments.append(Segment("gap", cursor - a, b - cursor))
        timeline_start, length = a, b - a
        layers = _layers(project, project.placements(), lambda f, a=a: f - a, a, b, judge)
    cut = Cut(project.fps, project.width, project.height, segments, length, timeline_start, base_tc,
              selection=bool(options.shots), drop_frame=options.drop_frame, layers=layers)
    cut.warnings.extend(_warnings(project, cut, options))
    return cut


def _warnings(project: Project, cut: Cut, options: ExportOptions) -> list[str]:
    stale = options.stale_check or _default_stale(project)
    out: list[str] = []
    for seg in cut.shots():
        shot, label = seg.shot, f"{seg.name!r}"
        assert shot is not None
        if shot.temp_audio:
            out.append(f"{label} uses temp audio; replace it with the recorded line before delivery")
        if seg.take is None:
            lost = [t for t in shot.takes if t.is_done and not (project.resolve(t.file) or Path("")).is_file()]
            if lost and len(lost) == len([t for t in shot.takes if t.is_done]):
                out.append(f"{label}: take file {lost[-1].file} is missing; exporting the {options.missing} instead")
            elif any(t.is_done for t in shot.takes):  # only stale takes: never delivered silently
                out.append(f"{label}: its take is stale (the shot changed since it was rendered)")
                out.append(f"{label}: exporting the {options.missing} instead of the stale take; render it again")
                if options.final_delivery and not any(t.is_done and t.quality == "final" for t in shot.takes):
                    out.append(f"{label} has only a draft take; render a final before delivery")
            else:
                out.append(f"{label} has no finished take; exporting the {options.missing} instead")
            continue
        if seg.take_path is None or not seg.take_path.is_file():
            out.append(f"{label}: take file {seg.take.file} is missing; exporting the {options.missing} instead")
            seg.take, seg.take_path = None, None
            continue
        if options.final_delivery and seg.take.quality != "final":
            out.append(f"{label} has only a draft take; render a final before delivery")
        if stale(shot, seg.take):  # type: ignore[operator]
            out.append(f"{label}: its take is stale (the shot changed since it was rendered)")
    return out
