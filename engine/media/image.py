"""Portrait loading: any Pillow-readable still, EXIF rotation applied, alpha flattened."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.limits import max_image_pixels, special_file_problem
from engine.media.errors import MediaError

try:  # HEIC/HEIF from phones, when the optional plug-in is installed.
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif")
MIN_PORTRAIT_SIDE = 32


def load_portrait(
    path: str | os.PathLike[str], background: tuple[int, int, int] = (0, 0, 0)
) -> np.ndarray:
    """Read ``path`` as an RGB uint8 array (H, W, 3), upright and opaque.

    Transparent pixels are composited over ``background``.
    """
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "portrait file not found", "relink it or import it again")
    if p.is_dir():
        raise MediaError(p, "expected an image file, found a folder")
    problem = special_file_problem(p)  # a FIFO or a device would block or never end: refused before open
    if problem:
        raise MediaError(p, f"the portrait {problem}", "use a PNG, JPEG or WebP file")
    if p.stat().st_size == 0:
        raise MediaError(p, "portrait file is empty (0 bytes)", "export the image again")
    limit = max_image_pixels()
    try:
        with Image.open(p) as img:
            w0, h0 = img.size  # from the header: nothing is decoded yet
            if w0 * h0 > limit:
                raise MediaError(p, f"portrait is {w0}x{h0} pixels, more than the {limit / 1e6:.0f} megapixels "
                                 "Soul Studio decodes", "scale it down (a portrait needs no more than 4096 px)")
            img.load()
            img = ImageOps.exif_transpose(img)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                canvas = Image.new("RGBA", rgba.size, (*background, 255))
                canvas.alpha_composite(rgba)
                img = canvas
            rgb = img.convert("RGB")
            array = np.asarray(rgb, dtype=np.uint8).copy()
    except Image.DecompressionBombError as exc:
        raise MediaError(p, "portrait is too large to decode safely", "scale it down") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaError(
            p, f"not a readable image ({exc.__class__.__name__})", "use a PNG, JPEG or WebP portrait"
        ) from exc
    h, w = array.shape[:2]
    if min(h, w) < MIN_PORTRAIT_SIDE:
        raise MediaError(p, f"portrait is only {w}x{h} pixels", f"use at least {MIN_PORTRAIT_SIDE}px")
    return array


def save_image(path: str | os.PathLike[str], rgb: np.ndarray, quality: int = 90) -> None:
    """Write an RGB array as PNG or JPEG (by suffix)."""
    Image.fromarray(np.ascontiguousarray(rgb)).save(path, quality=quality)


def encode_jpeg(rgb: np.ndarray, max_side: int = 320, quality: int = 75) -> bytes:
    """Small JPEG of a frame, for previews sent across the process boundary."""
    import io

    img = Image.fromarray(np.ascontiguousarray(rgb))
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def fit_image(rgb: np.ndarray, width: int, height: int, mode: str = "cover") -> np.ndarray:
    """Scale and centre ``rgb`` into ``width``×``height``: ``cover`` crops, ``contain`` pads black."""
    import cv2

    h, w = rgb.shape[:2]
    scale = max(width / w, height / h) if mode == "cover" else min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    out = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    if mode == "cover":
        return np.ascontiguousarray(resized[y0 : y0 + height, x0 : x0 + width])
    ox, oy = -x0, -y0
    out[oy : oy + nh, ox : ox + nw] = resized
    return out
