"""Shared fixtures: small media made in the test, never downloaded."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _qt_cycles_collected_on_the_gui_thread(request: pytest.FixtureRequest):
    """A test that used Qt leaves its reference cycles (a closed qasync loop's timers, wrappers of
    its widgets) to this thread's collector, never to a worker thread of a later test, where
    destroying a Qt object crashes the process."""
    yield
    if "qapp" in request.fixturenames:
        gc.collect()


def tone_bursts(duration: float, sample_rate: int = 48_000, bursts: list[tuple[float, float]] | None = None,
                freq: float = 220.0, amplitude: float = 0.5, channels: int = 1) -> np.ndarray:
    """Planar float32 audio: harmonic tone bursts (speech-like loudness pattern) in silence."""
    n = int(round(duration * sample_rate))
    t = np.arange(n) / sample_rate
    signal = np.zeros(n, np.float32)
    for start, end in bursts or [(0.0, duration)]:
        a, b = int(start * sample_rate), int(end * sample_rate)
        seg = t[a:b]
        wave = sum(np.sin(2 * np.pi * freq * k * seg) / k for k in range(1, 6))
        ramp = np.minimum(1.0, np.minimum(seg - start, end - seg) / 0.01)
        signal[a:b] = (amplitude * 0.5 * wave * ramp).astype(np.float32)
    return np.repeat(signal[None, :], channels, axis=0)


@pytest.fixture
def make_audio(tmp_path: Path):
    """Write a tone-burst audio file: make_audio(name, duration, rate=48000, bursts=..., channels=1)."""
    from engine.media import AudioClip, write_audio

    def make(name: str = "line.wav", duration: float = 2.0, rate: int = 48_000,
             bursts: list[tuple[float, float]] | None = None, channels: int = 1) -> Path:
        path = tmp_path / name
        write_audio(path, AudioClip(tone_bursts(duration, rate, bursts, channels=channels), rate))
        return path

    return make


@pytest.fixture
def make_portrait(tmp_path: Path):
    """Write a simple portrait-like PNG: make_portrait(name, size=(256, 256))."""
    from engine.media import save_image

    def make(name: str = "portrait.png", size: tuple[int, int] = (256, 256)) -> Path:
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = (60 + 80 * yy / h).astype(np.uint8)
        img[..., 1] = (50 + 40 * xx / w).astype(np.uint8)
        img[..., 2] = 90
        face = ((xx - w / 2) / (w * 0.28)) ** 2 + ((yy - h * 0.45) / (h * 0.36)) ** 2 <= 1
        img[face] = (214, 170, 140)
        path = tmp_path / name
        save_image(path, img)
        return path

    return make


@pytest.fixture
def read_only(tmp_path: Path):
    """Make a folder really unwritable, also as root: read_only(folder); undone in teardown.

    chmod 0o555 for an ordinary user, ``chattr +i`` (immutable) for root; the test is
    skipped, saying why, where neither works.
    """
    from tests._readonly import ReadOnlyFolders

    folders = ReadOnlyFolders(tmp_path)
    try:
        yield folders
    finally:
        folders.undo_all()
