"""Where each speaker of a two-shot stands: one box per face, left to right.

InfiniteTalk's ``multi`` adapter routes each audio track to the latent tokens of one
person, found through a mask per person (and one for the background). The reference
takes those masks from user boxes, or else from fixed left and right halves of the frame;
we place them from the faces the sketch backend's detector finds (OpenCV's bundled
cascades, offline, milliseconds): a head-and-shoulders region around each face, cut at
the mid-line between neighbouring faces so two boxes never overlap. With fewer faces than
speakers the reference's halves are used, and the caller is told so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = list[float]  # [x0, y0, x1, y1], normalised to the picture
FACE_SCALE = 0.05  # the reference's margin inside each half when no boxes are given
# Head-and-shoulders region around a face box, in face widths/heights.
SIDE, ABOVE, BELOW = 0.6, 0.5, 2.0


@dataclass(frozen=True)
class SpeakerPlacement:
    """Boxes left to right and where they came from (``detected`` or ``halves``)."""

    boxes: list[Box]
    source: str
    faces: int


def halves(count: int = 2) -> list[Box]:
    """The reference's default: equal vertical strips with a 5 % margin, left to right."""
    strip = 1.0 / count
    return [[round(i * strip + strip * FACE_SCALE, 4), FACE_SCALE,
             round(i * strip + strip * (1 - FACE_SCALE), 4), 1 - FACE_SCALE] for i in range(count)]


def boxes_from_faces(faces: list[tuple[float, float, float, float]], width: int, height: int) -> list[Box]:
    """Head-and-shoulders boxes for face boxes ``(x, y, w, h)`` in pixels, sorted left to right, never overlapping."""
    ordered = sorted(faces, key=lambda f: f[0] + f[2] / 2)
    centres = [f[0] + f[2] / 2 for f in ordered]
    out: list[Box] = []
    for i, (x, y, w, h) in enumerate(ordered):
        x0, x1 = x - SIDE * w, x + w + SIDE * w
        if i > 0:
            x0 = max(x0, (centres[i - 1] + centres[i]) / 2)
        if i + 1 < len(ordered):
            x1 = min(x1, (centres[i] + centres[i + 1]) / 2)
        y0, y1 = y - ABOVE * h, y + h + BELOW * h
        out.append([round(max(0.0, x0) / width, 4), round(max(0.0, y0) / height, 4),
                    round(min(float(width), x1) / width, 4), round(min(float(height), y1) / height, 4)])
    return out


def place_speakers(rgb: np.ndarray, count: int = 2) -> SpeakerPlacement:
    """Boxes for ``count`` speakers in ``rgb`` (H×W×3 uint8): the ``count`` largest faces, else the halves."""
    from engine.backends.sketch.face import detect_faces

    height, width = rgb.shape[:2]
    faces = detect_faces(rgb)
    if len(faces) < count:
        return SpeakerPlacement(halves(count), "halves", len(faces))
    chosen = [(f.x, f.y, f.w, f.h) for f in faces[:count]]  # detect_faces returns the largest first
    return SpeakerPlacement(boxes_from_faces(chosen, width, height), "detected", len(faces))


def speaker_boxes(rgb: np.ndarray, count: int = 2) -> list[Box]:
    """Just the boxes of :func:`place_speakers`."""
    return place_speakers(rgb, count).boxes


def box_masks(boxes: list[Box], height: int, width: int) -> np.ndarray:
    """(speakers + 1, H, W) float masks: one per box and the background (pixels in no box), as the reference builds them."""
    masks = np.zeros((len(boxes) + 1, height, width), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        masks[i, int(y0 * height):int(y1 * height), int(x0 * width):int(x1 * width)] = 1.0
    masks[-1] = (masks[:-1].sum(0) == 0).astype(np.float32)
    return masks


def validate_boxes(boxes: list[Box]) -> list[str]:
    """Problems of user-given boxes: inside the picture, non-empty, left to right."""
    problems = []
    for i, box in enumerate(boxes):
        if len(box) != 4:
            problems.append(f"speaker {i + 1}: a box is [x0, y0, x1, y1], got {box}")
            continue
        x0, y0, x1, y1 = (float(v) for v in box)
        if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
            problems.append(f"speaker {i + 1}: box {box} must lie inside the picture (0..1) with x0 < x1, y0 < y1")
    centres = [(float(b[0]) + float(b[2])) / 2 for b in boxes if len(b) == 4]
    if centres != sorted(centres):
        problems.append("speaker boxes must be listed left to right")
    return problems
