"""Face analysis of a portrait for the sketch backend and the Cast panel.

Detection uses OpenCV's bundled Haar cascades (``cv2.data.haarcascades``): the frontal
face cascades (``default``, then ``alt2`` as a second opinion) and the eye cascade. They
ship inside the opencv wheel, run offline in milliseconds on a CPU and need no model
download, which is what an embedded default backend must promise. OpenCV bundles no
mouth cascade and its smile cascade fires on any dark horizontal edge, so the mouth is
placed from face geometry and refined on the darkest horizontal band (the lip seam) in
the lower face. When detection cannot be trusted the user places the mouth box in the
Cast panel and that box wins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from engine.backends.base import BackendError

# Detection runs on an image whose longer side is at most this (faster, same boxes).
_DETECT_SIDE = 640
_PLACE_MOUTH_HINT = "place the mouth box on the portrait in the Cast panel"


class FaceNotFoundError(BackendError):
    """No usable face in the portrait and no mouth box placed by the user."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in pixels (x, y = top-left corner)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h

    def scaled(self, sx: float, sy: float | None = None) -> Box:
        sy = sx if sy is None else sy
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def moved(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h)

    def contains(self, px: float, py: float) -> bool:
        return self.x <= px <= self.x + self.w and self.y <= py <= self.y + self.h

    def normalised(self, width: int, height: int) -> tuple[float, float, float, float]:
        return (self.x / width, self.y / height, self.w / width, self.h / height)

    @classmethod
    def from_normalised(cls, box: tuple[float, float, float, float] | list[float], width: int, height: int) -> Box:
        x, y, w, h = (float(v) for v in box)
        return cls(x * width, y * height, w * width, h * height)

    def to_list(self) -> list[float]:
        return [round(self.x, 2), round(self.y, 2), round(self.w, 2), round(self.h, 2)]


@dataclass
class FaceAnalysis:
    """What the sketch backend knows about a portrait, in the portrait's pixels.

    ``face`` and ``eyes`` may be missing (a still life with a user-placed mouth);
    ``mouth`` is missing only when neither detection nor the user placed it.
    ``mouth_source`` is ``"detected"``, ``"estimated"`` or ``"user"``.
    """

    width: int
    height: int
    face: Box | None = None
    mouth: Box | None = None
    eyes: tuple[Box, ...] = ()
    faces_found: int = 0
    mouth_source: str = ""
    eyes_source: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when the backend can animate: it knows where the mouth is."""
        return self.mouth is not None

    def mouth_box_normalised(self) -> tuple[float, float, float, float] | None:
        """The mouth box as the JobSpec stores it (x, y, w, h in [0, 1])."""
        return None if self.mouth is None else self.mouth.normalised(self.width, self.height)

    def head_box(self) -> Box:
        """The region that moves with the head: the face plus hair, from the face or mouth."""
        if self.face is not None:
            f = self.face
            return Box(f.x - 0.35 * f.w, f.y - 0.55 * f.h, 1.7 * f.w, 1.75 * f.h)
        assert self.mouth is not None
        m = self.mouth
        return Box(m.cx - 1.6 * m.w, m.cy - 2.6 * m.w, 3.2 * m.w, 3.4 * m.w)

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": [self.width, self.height],
            "face": self.face.to_list() if self.face else None,
            "mouth": self.mouth.to_list() if self.mouth else None,
            "mouth_box": list(self.mouth_box_normalised() or []) or None,
            "eyes": [e.to_list() for e in self.eyes],
            "faces_found": self.faces_found,
            "mouth_source": self.mouth_source,
            "eyes_source": self.eyes_source,
            "warnings": list(self.warnings),
        }


@functools.lru_cache(maxsize=8)
def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + f"haarcascade_{name}.xml"
    classifier = cv2.CascadeClassifier(path)
    if classifier.empty():  # pragma: no cover - a broken OpenCV install
        raise BackendError(f"OpenCV's {name} cascade is missing at {path}", "reinstall opencv-python-headless")
    return classifier


def _gray(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim == 2:
        return rgb
    return cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY)


def _resize_gray(gray: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return gray
    h, w = gray.shape
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box: 1 when one box sits inside the other."""
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy / max(1e-6, min(a.area, b.area))


def detect_faces(rgb: np.ndarray) -> list[Box]:
    """Frontal faces in ``rgb``, largest first; nested duplicates merged."""
    gray = _gray(rgb)
    h, w = gray.shape
    scale = min(1.0, _DETECT_SIDE / max(h, w))
    small = cv2.equalizeHist(_resize_gray(gray, scale))
    min_side = max(24, int(min(small.shape) * 0.08))
    found: list[tuple[Box, float]] = []
    # Plain equalised image first; then local contrast (CLAHE) with a looser vote, which
    # finds dark skin under light hair and faces in flat light.
    clahe = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8)).apply(_resize_gray(gray, scale))
    passes = [(small, 4, "frontalface_default"), (small, 4, "frontalface_alt2"),
              (clahe, 3, "frontalface_default"), (clahe, 3, "frontalface_alt2")]
    for k, (image, neighbours, name) in enumerate(passes):
        boxes, _, weights = _cascade(name).detectMultiScale3(
            image, scaleFactor=1.1, minNeighbors=neighbours, minSize=(min_side, min_side), outputRejectLevels=True
        )
        found = [(Box(*map(float, b)).scaled(1 / scale), float(np.ravel(wt)[0])) for b, wt in zip(boxes, weights)]
        if k > 0:
            # The second opinions fire on textures more often: a face must show two eyes.
            found = [(b, wt) for b, wt in found if detect_eyes(rgb, b)[1] == "detected"]
        if found:
            break
    # Weak hits (low cascade confidence) next to a strong face are texture, not faces.
    found.sort(key=lambda item: -item[1])
    floor = max(0.5, 0.25 * found[0][1]) if found else 0.0
    kept: list[Box] = []
    for i, (box, weight) in enumerate(found):
        if i > 0 and weight < floor:
            continue
        if all(_overlap(box, k) < 0.5 for k in kept):
            kept.append(box)
    kept.sort(key=lambda b: -b.area)
    return kept


def detect_eyes(rgb: np.ndarray, face: Box) -> tuple[tuple[Box, ...], str]:
    """The two eyes inside ``face``: detected when the eye cascade agrees, else from geometry."""
    gray = _gray(rgb)
    H, W = gray.shape
    x0, y0 = max(0, int(face.x)), max(0, int(face.y + 0.1 * face.h))
    x1, y1 = min(W, int(face.x + face.w)), min(H, int(face.y + 0.6 * face.h))
    guess = (
        Box(face.x + 0.18 * face.w, face.y + 0.3 * face.h, 0.24 * face.w, 0.16 * face.h),
        Box(face.x + 0.58 * face.w, face.y + 0.3 * face.h, 0.24 * face.w, 0.16 * face.h),
    )
    if x1 - x0 < 20 or y1 - y0 < 10:
        return guess, "estimated"
    roi = cv2.equalizeHist(gray[y0:y1, x0:x1])
    min_side = max(6, int(face.w * 0.1))
    hits = _cascade("eye").detectMultiScale(roi, 1.1, 3, minSize=(min_side, min_side), maxSize=(int(face.w * 0.4),) * 2)
    cands = [Box(float(x + x0), float(y + y0), float(w), float(h)) for x, y, w, h in hits]
    left = [c for c in cands if c.cx < face.cx - 0.05 * face.w]
    right = [c for c in cands if c.cx > face.cx + 0.05 * face.w]
    best: tuple[Box, Box] | None = None
    best_cost = np.inf
    for a in left:
        for b in right:
            cost = abs(a.cy - b.cy) / face.h + abs(a.w - b.w) / face.w
            cost += abs((a.cx + b.cx) / 2 - face.cx) / face.w
            if cost < best_cost and abs(a.cy - b.cy) < 0.12 * face.h:
                best, best_cost = (a, b), cost
    if best is None:
        return guess, "estimated"
    return best, "detected"


def estimate_mouth(rgb: np.ndarray, face: Box, eyes: tuple[Box, ...] = ()) -> Box:
    """The mouth box from face geometry, refined on the lip seam (darkest band in the lower face)."""
    gray = _gray(rgb).astype(np.float32)
    H, W = gray.shape
    cx = face.cx
    if len(eyes) == 2:
        cx = (eyes[0].cx + eyes[1].cx) / 2
    mw, mh = 0.42 * face.w, 0.2 * face.h
    cy = face.y + 0.8 * face.h
    # Search rows between the nose and the chin in a strip as wide as the lips.
    xa, xb = int(max(0, cx - 0.15 * face.w)), int(min(W, cx + 0.15 * face.w))
    ya, yb = int(max(0, face.y + 0.66 * face.h)), int(min(H, face.y + 0.94 * face.h))
    if xb - xa >= 4 and yb - ya >= 6:
        profile = gray[ya:yb, xa:xb].mean(axis=1)
        k = max(1, (yb - ya) // 24)
        profile = np.convolve(profile, np.ones(2 * k + 1) / (2 * k + 1), mode="same")
        edge = max(1, k)
        inner = profile[edge:-edge] if len(profile) > 2 * edge else profile
        row = int(np.argmin(inner)) + (edge if len(profile) > 2 * edge else 0)
        contrast = float(np.median(profile) - profile[row])
        if contrast > 4.0:
            cy = ya + row
    return Box(cx - mw / 2, cy - mh / 2, mw, mh)


def analyse_portrait(
    rgb: np.ndarray, mouth_box: tuple[float, float, float, float] | list[float] | None = None
) -> FaceAnalysis:
    """Find the face, eyes and mouth in ``rgb`` (H×W×3 uint8). Never raises for odd pictures.

    ``mouth_box`` (normalised x, y, w, h) is the user's placement and replaces the
    detected mouth. Problems come back as ``warnings`` for the Cast panel to show.
    """
    H, W = rgb.shape[:2]
    result = FaceAnalysis(width=W, height=H)
    faces = detect_faces(rgb)
    result.faces_found = len(faces)
    if len(faces) > 1:
        result.warnings.append(f"{len(faces)} faces found; animating the largest one")
    if faces:
        face = faces[0]
        result.face = face
        result.eyes, result.eyes_source = detect_eyes(rgb, face)
        result.mouth = estimate_mouth(rgb, face, result.eyes)
        result.mouth_source = "estimated" if result.eyes_source == "estimated" else "detected"
    if mouth_box is not None:
        box = Box.from_normalised(mouth_box, W, H)
        if box.w <= 1 or box.h <= 1 or not (0 <= box.cx <= W and 0 <= box.cy <= H):
            result.warnings.append("the placed mouth box is empty or outside the picture; ignoring it")
        else:
            result.mouth = box
            result.mouth_source = "user"
            if result.face is not None and not result.face.contains(box.cx, box.cy):
                result.warnings.append("the placed mouth box lies outside the detected face")
    if not faces:
        if result.mouth is None:
            result.warnings.append(f"no face found in the portrait; {_PLACE_MOUTH_HINT}")
        else:
            result.warnings.append("no face found; animating the placed mouth box only (no blinks)")
    return result


def require_mouth(analysis: FaceAnalysis, portrait_name: str = "the portrait") -> FaceAnalysis:
    """Return ``analysis`` when it can be animated, else raise :class:`FaceNotFoundError`."""
    if analysis.mouth is None:
        raise FaceNotFoundError(f"no face found in {portrait_name}", hint=_PLACE_MOUTH_HINT)
    return analysis


__all__ = [
    "Box",
    "FaceAnalysis",
    "FaceNotFoundError",
    "analyse_portrait",
    "detect_eyes",
    "detect_faces",
    "estimate_mouth",
    "require_mouth",
]
