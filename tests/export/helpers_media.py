"""Independent readers for the exported media: ffprobe/melt when installed, BT.709 by hand.

The export is built on PyAV; these checks use Debian's ffmpeg tools and plain NumPy so
a wrong tag or matrix in PyAV's path cannot hide behind the same library reading it back.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

# 75 % SMPTE-style bars plus the saturated red that shifted under BT.601 (148/46/60).
BARS = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191),
        (148, 46, 60)]


def bars_image(width: int, height: int) -> np.ndarray:
    img = np.zeros((height, width, 3), np.uint8)
    step = width // len(BARS)
    for i, colour in enumerate(BARS):
        img[:, i * step : (i + 1) * step] = colour
    return img


def bar_centres(rgb: np.ndarray) -> list[np.ndarray]:
    """Mean colour of the middle of each bar (away from chroma-subsampled edges)."""
    h, w = rgb.shape[:2]
    step = w // len(BARS)
    return [rgb[h // 4 : 3 * h // 4, i * step + step // 4 : (i + 1) * step - step // 4].reshape(-1, 3).mean(axis=0)
            for i in range(len(BARS))]


def bt709_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """Limited-range BT.709 Y'CbCr (8 or 10 bit, 4:2:0 or 4:2:2) to 8-bit RGB, by the book."""
    name = frame.format.name
    deep = "p10" in name
    planes = []
    for i in range(3):
        plane = frame.planes[i]
        dtype = np.uint16 if deep else np.uint8
        line = plane.line_size // np.dtype(dtype).itemsize
        data = np.frombuffer(bytes(plane), dtype).reshape(plane.height, line)[:, : plane.width].astype(np.float64)
        planes.append(data / 4.0 if deep else data)
    y, cb, cr = planes
    cb = cb.repeat(y.shape[0] // cb.shape[0], axis=0).repeat(y.shape[1] // cb.shape[1], axis=1)
    cr = cr.repeat(y.shape[0] // cr.shape[0], axis=0).repeat(y.shape[1] // cr.shape[1], axis=1)
    yy, pb, pr = (y - 16) * 255 / 219, (cb - 128) * 255 / 224, (cr - 128) * 255 / 224
    r = yy + 1.5748 * pr
    g = yy - 0.187324 * pb - 0.468124 * pr
    b = yy + 1.8556 * pb
    return np.clip(np.dstack([r, g, b]), 0, 255)


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(c.streams.video[0]))


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} is not installed (CI installs it through installer/setup.sh)")
    return found


def ffprobe(path: Path, *args: str) -> dict:
    """ffprobe's JSON for ``path`` (streams and format unless other sections are asked)."""
    exe = need("ffprobe")
    cmd = [exe, "-v", "error", "-of", "json", *(args or ("-show_streams", "-show_format")), str(path)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def video_stream(info: dict) -> dict:
    return next(s for s in info["streams"] if s["codec_type"] == "video")


def colour_tags(stream: dict) -> tuple[str, str, str, str]:
    return (stream.get("color_primaries"), stream.get("color_transfer"), stream.get("color_space"),
            stream.get("color_range"))


BT709_TV = ("bt709", "bt709", "bt709", "tv")
