"""A small on-disk cache of each portrait's faces, meshes and person mask.

Meshing a portrait takes a few hundred milliseconds (the models load each time), and a
project renders the same portrait in many shots, so the result is kept per picture:
keyed on a hash of the decoded pixels (an EXIF-rotated copy, a re-saved PNG of the same
pixels and an in-memory array all hit), under the user's cache folder, or
``SOUL_STUDIO_CACHE_DIR`` when set. A file is a few tens of kilobytes (float16 points,
the mask at 256 px). A damaged entry is recomputed, never an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.backends.sketch.box import Box
from engine.backends.sketch.mesh import MeshFace, find_faces, person_mask

# Bump when detection, meshing or the stored layout changes: old entries are ignored.
CACHE_VERSION = "mp-0.10.21-v1"
_MASK_SIDE = 256


@dataclass
class PortraitMesh:
    """Everything the sketch backend learns from MediaPipe about one picture."""

    faces: list[MeshFace]
    mask: np.ndarray | None  # float32 0..1 at the picture's size, or None

    def best_index(self) -> int | None:
        """The face the detector and mesh are surest of (None when there is none)."""
        if not self.faces:
            return None
        return int(max(range(len(self.faces)), key=lambda i: self.faces[i].score))


def cache_folder() -> Path:
    """Where cached meshes live."""
    env = os.environ.get("SOUL_STUDIO_CACHE_DIR")
    if env:
        return Path(env) / "face-mesh"
    import platformdirs

    return Path(platformdirs.user_cache_dir("soul-studio", appauthor=False)) / "face-mesh"


def pixel_key(rgb: np.ndarray) -> str:
    """A content hash of the picture's pixels and shape."""
    h = hashlib.sha1(CACHE_VERSION.encode())
    h.update(repr(rgb.shape).encode())
    h.update(np.ascontiguousarray(rgb).data)
    return h.hexdigest()


def _save(path: Path, result: PortraitMesh, shape: tuple[int, int]) -> None:
    n = len(result.faces)
    points = np.full((n, 478, 3), np.nan, np.float32)
    for i, f in enumerate(result.faces):
        if f.points is not None:
            points[i] = f.points
    arrays: dict[str, np.ndarray] = {
        "boxes": np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in result.faces], np.float32).reshape(n, 4),
        "confidence": np.array([f.confidence for f in result.faces], np.float32),
        "quality": np.array([f.quality for f in result.faces], np.float32),
        "points": points,
        "shape": np.array(shape, np.int32),
    }
    if result.mask is not None:
        H, W = shape
        s = min(1.0, _MASK_SIDE / max(H, W))
        small = cv2.resize(result.mask, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA)
        arrays["mask"] = np.round(small * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def _load(path: Path, shape: tuple[int, int]) -> PortraitMesh | None:
    try:
        with np.load(path) as data:
            if tuple(int(v) for v in data["shape"]) != shape:
                return None
            faces = []
            for box, conf, qual, pts in zip(data["boxes"], data["confidence"], data["quality"], data["points"]):
                points = None if np.isnan(pts).any() else pts.astype(np.float32)
                faces.append(MeshFace(Box(*(float(v) for v in box)), float(conf), points, float(qual)))
            mask = None
            if "mask" in data:
                H, W = shape
                mask = cv2.resize(data["mask"].astype(np.float32) / 255.0, (W, H), interpolation=cv2.INTER_LINEAR)
        return PortraitMesh(faces, mask)
    except (OSError, KeyError, ValueError, EOFError):
        return None


def portrait_mesh(rgb: np.ndarray, use_cache: bool = True) -> PortraitMesh:
    """Faces, meshes and the person mask of ``rgb``, from the cache when it has them."""
    shape = (int(rgb.shape[0]), int(rgb.shape[1]))
    path = cache_folder() / f"{pixel_key(rgb)}.npz"
    if use_cache and path.exists():
        cached = _load(path, shape)
        if cached is not None:
            return cached
    faces = find_faces(rgb)
    mask = person_mask(rgb) if faces else None
    result = PortraitMesh(faces, mask)
    if use_cache:
        _save(path, result, shape)
    return result


__all__ = ["CACHE_VERSION", "PortraitMesh", "cache_folder", "pixel_key", "portrait_mesh"]
