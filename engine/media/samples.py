"""Real photographs of people and real speech that every install can reach offline.

For tests, benchmarks and the demo, next to the painted media of :mod:`synthetic`:

========================  =====================================  =========================
picture / sound           where it comes from                    licence
========================  =====================================  =========================
astronaut                 scikit-image ``data.astronaut()``      public domain (NASA photo
                          (Eileen Collins, 512×512)              of Eileen Collins)
grace_hopper              matplotlib ``sample_data``             public domain (US Navy
                          ``grace_hopper.jpg`` (512×600)         photo of Grace Hopper)
cameraman                 scikit-image ``data.camera()``         CC0 (Lav Varshney)
alsa recordings           Debian ``alsa-utils``                  GPL-2+ (package), recorded
                          ``/usr/share/sounds/alsa/*.wav``       speech ("Front center", ...)
espeak-ng speech          the ``espeak-ng`` program              GPL-3+ (program output)
========================  =====================================  =========================

The variations (:func:`variant`) make the cases a user meets: other sizes, a tilted
head, a face off the centre, grayscale; :func:`group_photo` tiles several real faces
into one picture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np

ALSA_SOUNDS = Path("/usr/share/sounds/alsa")


class SampleUnavailable(RuntimeError):
    """A sample's package is not installed (the message says which)."""


def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins), 512×512 RGB."""
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover - a test dependency
        raise SampleUnavailable("scikit-image is not installed (pip install scikit-image)") from exc
    return np.ascontiguousarray(data.astronaut()[:, :, :3])


def cameraman() -> np.ndarray:
    """scikit-image's cameraman (a man at a camera, face half hidden), as 512×512 RGB."""
    try:
        from skimage import data
    except ImportError as exc:  # pragma: no cover
        raise SampleUnavailable("scikit-image is not installed (pip install scikit-image)") from exc
    return np.ascontiguousarray(np.repeat(data.camera()[:, :, None], 3, axis=2))


def grace_hopper() -> np.ndarray:
    """matplotlib's portrait of Grace Hopper, 512×600 RGB."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.exists():  # pragma: no cover
        raise SampleUnavailable(f"matplotlib's sample data is missing ({path})")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


PHOTOS = {"astronaut": astronaut, "grace_hopper": grace_hopper, "cameraman": cameraman}


def variant(rgb: np.ndarray, size: int | None = None, rotate: float = 0.0, crop: str | None = None,
            gray: bool = False) -> np.ndarray:
    """A variation of a photo: longer side ``size``, rotated ``rotate`` degrees
    (counter-clockwise, edges replicated), an off-centre ``crop`` ("left" keeps the left
    two thirds widened to 16:9 with the face near the edge), or grayscale (still RGB)."""
    out = np.asarray(rgb)
    if rotate:
        h, w = out.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), rotate, 1.0)
        out = cv2.warpAffine(out, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if crop == "left":
        h, w = out.shape[:2]
        wide = cv2.copyMakeBorder(out, 0, 0, 0, int(w * 0.8), cv2.BORDER_REPLICATE)
        out = wide[:, int(w * 0.25):]
    if gray:
        out = np.repeat(cv2.cvtColor(np.ascontiguousarray(out), cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    if size is not None:
        h, w = out.shape[:2]
        s = size / max(h, w)
        out = cv2.resize(out, (max(1, round(w * s)), max(1, round(h * s))),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(out)


def group_photo(pictures: list[np.ndarray], height: int = 400) -> np.ndarray:
    """Several photos side by side at one height: one picture with several real faces."""
    tiles = []
    for rgb in pictures:
        h, w = rgb.shape[:2]
        tiles.append(cv2.resize(rgb, (round(w * height / h), height), interpolation=cv2.INTER_AREA))
    return np.ascontiguousarray(np.hstack(tiles))


def alsa_recording(name: str = "Front_Center") -> Path:
    """A recorded voice from alsa-utils (``Front_Center`` says "front center")."""
    path = ALSA_SOUNDS / f"{name}.wav"
    if not path.exists():
        raise SampleUnavailable(f"{path} is missing (apt install alsa-utils)")
    return path


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def espeak_speech(text: str, path: str | os.PathLike[str], voice: str = "en-us", rate: int = 150,
                  pitch: int = 50) -> Path:
    """Speak ``text`` with espeak-ng into a WAV file at ``path``."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SampleUnavailable("espeak-ng is not installed (apt install espeak-ng)")
    out = Path(path)
    subprocess.run([exe, "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", str(out), text],
                   check=True, capture_output=True, timeout=60)
    return out


__all__ = ["ALSA_SOUNDS", "PHOTOS", "SampleUnavailable", "alsa_recording", "astronaut", "cameraman",
           "espeak_available", "espeak_speech", "grace_hopper", "group_photo", "variant"]
