"""Faces per shot: Haar detections on sampled frames, linked into tracks by overlap.

Detection is the sketch backend's (OpenCV's bundled frontal-face cascades), run a few
times a second. Detections in consecutive samples whose boxes overlap (IoU) belong to
the same person; a track survives a missed sample or two. The framing of a shot follows
from how many people hold the screen and how big the main face is against the frame.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

BoxT = tuple[float, float, float, float]
FRAMINGS = ("portrait", "upper_body", "full_body", "multi_person", "no_face")
# Face height / frame height at the boundary between framings.
PORTRAIT_MIN = 0.28
UPPER_BODY_MIN = 0.12


_DETECT_SIDE = 640


@functools.lru_cache(maxsize=4)
def _cascade(name: str) -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_{name}.xml")


def detect_people(rgb: np.ndarray) -> list[BoxT]:
    """Every frontal face in a frame, largest first.

    The portrait analysis stops at the first cascade that finds anything because it only
    needs the main face; a dataset needs everyone in the frame. Both frontal cascades run:
    ``alt2`` hits are kept, and ``default`` hits add faces that ``alt2`` missed when the
    cascade is reasonably sure of them. Overlapping boxes are one face.
    """
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY)
    h, w = gray.shape
    scale = min(1.0, _DETECT_SIDE / max(h, w))
    small = cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    small = cv2.equalizeHist(small)
    min_side = max(20, int(min(small.shape) * 0.06))
    kept: list[BoxT] = []
    for name, floor in (("frontalface_alt2", -np.inf), ("frontalface_default", 1.0)):
        boxes, _, weights = _cascade(name).detectMultiScale3(
            small, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side), outputRejectLevels=True)
        for box, weight in sorted(zip(boxes, weights), key=lambda bw: -float(np.ravel(bw[1])[0])):
            if float(np.ravel(weight)[0]) < floor:
                continue
            b = tuple(float(v) / scale for v in box)
            if all(iou(b, k) < 0.3 and not _inside(b, k) for k in kept):
                kept.append(b)  # type: ignore[arg-type]
    kept.sort(key=lambda b: -b[2] * b[3])
    return kept


def _inside(a: BoxT, b: BoxT) -> bool:
    """True when the centre of either box lies inside the other (a nested duplicate)."""
    def contains(box: BoxT, px: float, py: float) -> bool:
        return box[0] <= px <= box[0] + box[2] and box[1] <= py <= box[1] + box[3]
    return contains(b, a[0] + a[2] / 2, a[1] + a[3] / 2) or contains(a, b[0] + b[2] / 2, b[1] + b[3] / 2)


def iou(a: BoxT, b: BoxT) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face followed through a shot: the sampled frames it was seen on and its boxes."""

    track_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[BoxT] = field(default_factory=list)

    def box_at(self, frame: int) -> BoxT:
        """The box at any frame: linear between samples, held before the first and after the last."""
        f = np.asarray(self.frames, np.float64)
        b = np.asarray(self.boxes, np.float64)
        return tuple(float(np.interp(frame, f, b[:, k])) for k in range(4))  # type: ignore[return-value]

    def median_box(self) -> BoxT:
        return tuple(float(v) for v in np.median(np.asarray(self.boxes), axis=0))  # type: ignore[return-value]


def track_faces(samples: list[tuple[int, list[BoxT]]], min_iou: float = 0.3, max_missed: int = 2) -> list[Track]:
    """Link per-sample detections ``[(frame, [boxes])]`` (frames ascending) into tracks."""
    tracks: list[Track] = []
    missed: dict[int, int] = {}
    for index, (frame, boxes) in enumerate(samples):
        live = [t for t in tracks if missed.get(t.track_id, 0) <= max_missed]
        pairs = sorted(((iou(t.boxes[-1], b), ti, bi) for ti, t in enumerate(live) for bi, b in enumerate(boxes)),
                       reverse=True)
        used_t: set[int] = set()
        used_b: set[int] = set()
        for score, ti, bi in pairs:
            if score < min_iou or ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            live[ti].frames.append(frame)
            live[ti].boxes.append(boxes[bi])
            missed[live[ti].track_id] = 0
        for ti, t in enumerate(live):
            if ti not in used_t:
                missed[t.track_id] = missed.get(t.track_id, 0) + 1
        for bi, b in enumerate(boxes):
            if bi not in used_b:
                track = Track(len(tracks), [frame], [b])
                tracks.append(track)
                missed[track.track_id] = 0
        del index
    return tracks


def steady_tracks(tracks: list[Track], n_samples: int, min_coverage: float = 0.5) -> list[Track]:
    """Tracks seen on at least ``min_coverage`` of the shot's samples: people, not flukes."""
    if n_samples <= 0:
        return []
    return [t for t in tracks if len(t.frames) / n_samples >= min_coverage]


def framing_class(tracks: list[Track], frame_height: int) -> str:
    """portrait / upper_body / full_body from the main face's height; multi_person for 2+ people."""
    if not tracks:
        return "no_face"
    if len(tracks) >= 2:
        return "multi_person"
    ratio = tracks[0].median_box()[3] / max(1, frame_height)
    if ratio >= PORTRAIT_MIN:
        return "portrait"
    if ratio >= UPPER_BODY_MIN:
        return "upper_body"
    return "full_body"


def mouth_box(face: BoxT) -> BoxT:
    """The mouth region of a frontal face box (lower third, middle half)."""
    x, y, w, h = face
    return (x + 0.27 * w, y + 0.68 * h, 0.46 * w, 0.24 * h)


__all__ = ["FRAMINGS", "Track", "detect_people", "framing_class", "iou", "mouth_box", "steady_tracks", "track_faces"]
