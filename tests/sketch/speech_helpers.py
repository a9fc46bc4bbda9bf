"""Real speech for lip-sync tests: espeak-ng voices made on the spot, ALSA's recorded voice clips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.media import load_audio

RATE = 16_000
ALSA_SOUNDS = Path("/usr/share/sounds/alsa")  # Debian's alsa-utils: a recorded voice saying each channel name

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
needs_alsa = pytest.mark.skipif(not (ALSA_SOUNDS / "Front_Center.wav").exists(),
                                reason="alsa-utils' voice clips are not installed")


def espeak(text: str, path: Path, voice: str = "en-us", speed: int = 150) -> Path:
    """Speak ``text`` into a WAV file with espeak-ng."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return path


def mono16(path: Path, pad_s: float = 0.0) -> np.ndarray:
    """The file as 16 kHz mono float samples, with ``pad_s`` of silence either side."""
    x = load_audio(path, RATE, 1).mono()
    pad = np.zeros(int(round(pad_s * RATE)), np.float32)
    return np.concatenate([pad, x, pad])


def frames_of(n_samples: int, fps: float) -> int:
    return int(round(n_samples / RATE * fps))
