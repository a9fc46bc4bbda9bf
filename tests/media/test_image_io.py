"""Portrait loading: orientation, transparency and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.media import MediaError, load_portrait


def test_exif_rotation_is_applied(tmp_path):
    img = Image.new("RGB", (80, 40), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif)
    arr = load_portrait(path)
    assert arr.shape == (80, 40, 3)


def test_alpha_is_flattened_over_background(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:32, :, :] = (255, 255, 255, 255)
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    arr = load_portrait(path, background=(0, 0, 0))
    assert arr.shape == (64, 64, 3)
    assert arr[:32].min() == 255 and arr[40:].max() == 0


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp"])
def test_common_formats(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    Image.new("RGB", (64, 48), (10, 120, 200)).save(path)
    arr = load_portrait(path)
    assert arr.shape == (48, 64, 3) and abs(int(arr[10, 10, 2]) - 200) < 8


@pytest.mark.parametrize("case", ["missing", "empty", "pdf", "tiny"])
def test_bad_portraits(tmp_path, case):
    path = tmp_path / "portrait.png"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "pdf":
        path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n")
    elif case == "tiny":
        Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(MediaError) as info:
        load_portrait(path)
    assert str(path) in str(info.value)
