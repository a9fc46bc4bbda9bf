"""Face analysis of a portrait for the sketch backend and the Cast panel.

Faces and their 478-point meshes come from MediaPipe (:mod:`~engine.backends.sketch.mesh`,
cached per picture); OpenCV's Haar cascades (:mod:`~engine.backends.sketch.haar`) are the
last fallback when MediaPipe is not installed or finds nothing. Faces are numbered left
to right; the one animated is the user's choice (``face_index``) or else the one the
detector and mesh are surest of, never simply the largest. A mouth box placed by the
user in the Cast panel wins over detection (and is all a picture without a face needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.backends.base import BackendError
from engine.backends.sketch import landmarks as lm
from engine.backends.sketch.box import Box
from engine.backends.sketch.haar import detect_eyes, detect_faces, detect_faces_scored, estimate_mouth

_PLACE_MOUTH_HINT = "place the mouth box on the portrait in the Cast panel"


class FaceNotFoundError(BackendError):
    """No usable face in the portrait and no mouth box placed by the user."""


@dataclass
class FaceAnalysis:
    """What the sketch backend knows about a portrait, in the portrait's pixels.

    ``face`` and ``eyes`` may be missing (a still life with a user-placed mouth);
    ``mouth`` is missing only when neither detection nor the user placed it.
    ``mouth_source`` is ``"mesh"``, ``"detected"``, ``"estimated"`` or ``"user"``.
    ``faces`` lists every face found (left to right) with its confidence;
    ``face_index`` is the animated one. ``points`` is its (478, 3) mesh, when meshed,
    and ``mask`` the person's soft segmentation mask (picture size), when known.
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
    faces: list[tuple[Box, float]] = field(default_factory=list)
    face_index: int | None = None
    face_source: str = ""
    points: np.ndarray | None = field(default=None, repr=False)
    mask: np.ndarray | None = field(default=None, repr=False)

    @property
    def usable(self) -> bool:
        """True when the backend can animate: it knows where the mouth is."""
        return self.mouth is not None

    @property
    def confidence(self) -> float:
        """The detector's confidence in the animated face (0 without one)."""
        if self.face_index is None or not self.faces:
            return 0.0
        return float(self.faces[self.face_index][1])

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

    def face_report(self) -> dict[str, Any]:
        """Which face is animated, of how many, how sure, where (for the sidecar and the CLI)."""
        box = self.faces[self.face_index][0] if self.face_index is not None and self.faces else self.face
        return {
            "index": self.face_index,
            "count": len(self.faces),
            "confidence": round(self.confidence, 3),
            "box": box.to_list() if box is not None else None,
            "source": self.face_source or ("user" if self.mouth_source == "user" else ""),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": [self.width, self.height],
            "face": self.face.to_list() if self.face else None,
            "mouth": self.mouth.to_list() if self.mouth else None,
            "mouth_box": list(self.mouth_box_normalised() or []) or None,
            "eyes": [e.to_list() for e in self.eyes],
            "faces_found": self.faces_found,
            "faces": [{"box": b.to_list(), "confidence": round(c, 3)} for b, c in self.faces],
            "face_index": self.face_index,
            "face_source": self.face_source,
            "mouth_source": self.mouth_source,
            "eyes_source": self.eyes_source,
            "warnings": list(self.warnings),
        }


def _mesh_faces(rgb: np.ndarray, use_cache: bool) -> tuple[list[Any], np.ndarray | None] | None:
    """MediaPipe's faces and person mask, or None when MediaPipe is unavailable or fails."""
    from engine.backends.sketch.mesh import mediapipe_available

    if not mediapipe_available():
        return None
    from engine.backends.sketch.mesh_cache import portrait_mesh

    try:
        result = portrait_mesh(np.ascontiguousarray(rgb[:, :, :3]), use_cache=use_cache)
    except Exception:  # noqa: BLE001 - a broken MediaPipe install falls back to Haar
        return None
    return result.faces, result.mask


def _pick(scores: list[float], face_index: int | None, warnings: list[str]) -> int:
    """The requested face when it exists, else the surest one."""
    n = len(scores)
    if face_index is not None:
        if 0 <= int(face_index) < n:
            return int(face_index)
        warnings.append(f"face {int(face_index) + 1} was asked for but the portrait has {n}; "
                        "animating the surest face instead")
    return int(max(range(n), key=lambda i: scores[i]))


def analyse_portrait(
    rgb: np.ndarray,
    mouth_box: tuple[float, float, float, float] | list[float] | None = None,
    face_index: int | None = None,
    use_mesh: bool = True,
    use_cache: bool = True,
) -> FaceAnalysis:
    """Find the faces, eyes and mouth in ``rgb`` (H×W×3 uint8). Never raises for odd pictures.

    ``mouth_box`` (normalised x, y, w, h) is the user's placement and replaces the
    detected mouth; ``face_index`` (0-based, left to right) picks one of several faces.
    Problems come back as ``warnings`` for the Cast panel to show.
    """
    H, W = rgb.shape[:2]
    result = FaceAnalysis(width=W, height=H)
    meshed = _mesh_faces(rgb, use_cache) if use_mesh else None
    if meshed is not None and meshed[0]:
        faces, result.mask = meshed
        result.faces = [(f.box, f.confidence) for f in faces]
        k = _pick([f.score for f in faces], face_index, result.warnings)
        chosen = faces[k]
        result.face_index, result.face_source = k, "mesh"
        if chosen.points is not None:
            result.points = chosen.points
            result.face = lm.face_box(chosen.points)
            result.eyes = lm.eye_boxes(chosen.points)
            result.mouth = lm.mouth_box(chosen.points)
            result.mouth_source = result.eyes_source = "mesh"
        else:
            result.face = chosen.box
            result.eyes, result.eyes_source = detect_eyes(rgb, chosen.box)
            result.mouth = estimate_mouth(rgb, chosen.box, result.eyes)
            result.mouth_source = "estimated"
    else:
        scored = sorted(detect_faces_scored(rgb), key=lambda item: item[0].cx)
        result.faces = scored
        if scored:
            k = _pick([s for _, s in scored], face_index, result.warnings)
            face = scored[k][0]
            result.face_index, result.face_source, result.face = k, "haar", face
            result.eyes, result.eyes_source = detect_eyes(rgb, face)
            result.mouth = estimate_mouth(rgb, face, result.eyes)
            result.mouth_source = "estimated" if result.eyes_source == "estimated" else "detected"
    result.faces_found = len(result.faces)
    if result.faces_found > 1 and result.face_index is not None:
        result.warnings.append(f"{result.faces_found} faces found; animating face {result.face_index + 1} "
                               "(numbered left to right); choose another by clicking it in the Cast panel")
    if mouth_box is not None:
        box = Box.from_normalised(mouth_box, W, H)
        if box.w <= 1 or box.h <= 1 or not (0 <= box.cx <= W and 0 <= box.cy <= H):
            result.warnings.append("the placed mouth box is empty or outside the picture; ignoring it")
        else:
            result.mouth = box
            result.mouth_source = "user"
            result.points = None  # the user's box replaces the mesh's lips
            if result.face is not None and not result.face.contains(box.cx, box.cy):
                result.warnings.append("the placed mouth box lies outside the detected face")
    if not result.faces:
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
