"""Named parts of MediaPipe's 478-point face mesh, and the face's own frame.

The indices are those of MediaPipe's canonical face mesh (the same topology as the
``FACEMESH_LIPS`` / ``FACEMESH_LEFT_EYE`` connection sets); "left" is the subject's left,
which is on the right of the picture. Everything here is plain geometry on a (478, 2|3)
array of pixel positions, so the rigs and the Cast panel share one reading of a mesh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.backends.sketch.box import Box

# Lips, each run from the right corner (picture left) to the left corner.
UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_CORNERS = (61, 291)
# Eyes: corners (outer, inner), upper and lower lid runs from the outer to the inner corner.
RIGHT_EYE = {"corners": (33, 133), "upper": (33, 246, 161, 160, 159, 158, 157, 173, 133),
             "lower": (33, 7, 163, 144, 145, 153, 154, 155, 133)}
LEFT_EYE = {"corners": (263, 362), "upper": (263, 466, 388, 387, 386, 385, 384, 398, 362),
            "lower": (263, 249, 390, 373, 374, 380, 381, 382, 362)}
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
NOSE_TIP, NOSE_BASE, CHIN, FOREHEAD = 1, 2, 152, 10
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes: ``ex`` across the face (picture left to right), ``ey`` down it.

    ``roll_deg`` is the in-plane tilt; ``yaw`` is -1 (turned to the picture's left) .. 1,
    from how far the nose tip sits off the line between the cheeks.
    """

    ex: np.ndarray
    ey: np.ndarray
    roll_deg: float
    yaw: float

    def to_face(self, pts: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """(N, 2) picture points into face-frame coordinates about ``origin``."""
        d = np.asarray(pts, np.float64)[..., :2] - origin
        return np.stack([d @ self.ex, d @ self.ey], axis=-1)


def face_frame(points: np.ndarray) -> FaceFrame:
    """The frame of a mesh, from the eye corners (roll) and the nose against the cheeks (yaw)."""
    xy = np.asarray(points, np.float64)[:, :2]
    across = xy[LEFT_EYE["corners"][0]] - xy[RIGHT_EYE["corners"][0]]
    across = across + (xy[MOUTH_CORNERS[1]] - xy[MOUTH_CORNERS[0]])
    ex = across / max(1e-6, float(np.hypot(*across)))
    ey = np.array([-ex[1], ex[0]])
    roll = float(np.degrees(np.arctan2(ex[1], ex[0])))
    right, left = xy[234] @ ex, xy[454] @ ex
    nose = xy[NOSE_TIP] @ ex
    half = max(1e-6, (left - right) / 2)
    yaw = float(np.clip((nose - (left + right) / 2) / half / 0.6, -1.0, 1.0))
    return FaceFrame(ex=ex, ey=ey, roll_deg=roll, yaw=yaw)


def bounding_box(points: np.ndarray, indices: tuple[int, ...] | None = None, pad: float = 0.0) -> Box:
    """Axis-aligned box around some mesh points, grown by ``pad`` of its size on every side."""
    xy = np.asarray(points)[:, :2] if indices is None else np.asarray(points)[list(indices), :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    w, h = float(hi[0] - lo[0]), float(hi[1] - lo[1])
    return Box(float(lo[0]) - pad * w, float(lo[1]) - pad * h, w * (1 + 2 * pad), h * (1 + 2 * pad))


def face_box(points: np.ndarray) -> Box:
    """The face from forehead to chin (the face oval's box)."""
    return bounding_box(points, FACE_OVAL)


def mouth_box(points: np.ndarray) -> Box:
    """The lips' box, with a margin as the Cast panel draws it."""
    box = bounding_box(points, UPPER_OUTER + LOWER_OUTER)
    return Box(box.x - 0.1 * box.w, box.y - 0.25 * box.h, 1.2 * box.w, 1.5 * box.h)


def eye_boxes(points: np.ndarray) -> tuple[Box, Box]:
    """Both eyes' boxes, picture left first."""
    boxes = [bounding_box(points, eye["upper"] + eye["lower"], pad=0.15) for eye in (RIGHT_EYE, LEFT_EYE)]
    boxes.sort(key=lambda b: b.cx)
    return boxes[0], boxes[1]


def lip_opening(points: np.ndarray) -> float:
    """Inner-lip gap over mouth width (0 closed, ~0.5 wide open), measured mid-mouth."""
    xy = np.asarray(points)[:, :2]
    width = float(np.hypot(*(xy[MOUTH_CORNERS[1]] - xy[MOUTH_CORNERS[0]])))
    gap = np.hypot(*(xy[list(LOWER_INNER[3:8])] - xy[list(UPPER_INNER[3:8])]).T).mean()
    return float(gap / max(1e-6, width))


__all__ = [
    "CHIN", "FACE_OVAL", "FOREHEAD", "LEFT_BROW", "LEFT_EYE", "LOWER_INNER", "LOWER_OUTER", "MOUTH_CORNERS",
    "NOSE_BASE", "NOSE_TIP", "RIGHT_BROW", "RIGHT_EYE", "UPPER_INNER", "UPPER_OUTER", "FaceFrame",
    "bounding_box", "eye_boxes", "face_box", "face_frame", "lip_opening", "mouth_box",
]
