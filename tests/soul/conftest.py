"""Tiny soul model folders and loaded pipelines, built once per test session."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_soul_folder(tmp_path_factory) -> Path:
    """A complete tiny soul model folder with a freshly initialised (zero-effect) adapter."""
    from engine.backends.soul.testing import build_tiny_soul_folder

    return build_tiny_soul_folder(tmp_path_factory.mktemp("soul") / "tiny", seed=0)


@pytest.fixture(scope="session")
def trained_soul_folder(tiny_soul_folder, tmp_path_factory) -> Path:
    """The same folder with non-zero adapter outputs, so audio changes the picture."""
    from engine.backends.soul.adapter import SoulAudioAdapter
    from engine.backends.soul.testing import randomize_adapter_output

    dst = tmp_path_factory.mktemp("soul") / "trained"
    shutil.copytree(tiny_soul_folder, dst)
    adapter = SoulAudioAdapter.from_pretrained(dst / "audio_adapter")
    randomize_adapter_output(adapter, seed=3)
    adapter.save_pretrained(dst / "audio_adapter")
    return dst


@pytest.fixture
def soul_copy(tiny_soul_folder, tmp_path) -> Path:
    """A private copy of the tiny folder that a test may damage."""
    dst = tmp_path / "model"
    shutil.copytree(tiny_soul_folder, dst)
    return dst


@pytest.fixture(scope="session")
def tiny_pipe(tiny_soul_folder):
    from engine.backends.soul.loader import load_soul_pipeline

    return load_soul_pipeline(tiny_soul_folder)


@pytest.fixture(scope="session")
def trained_pipe(trained_soul_folder):
    from engine.backends.soul.loader import load_soul_pipeline

    return load_soul_pipeline(trained_soul_folder)


def speech_like(seconds: float, freq: float, seed: int = 0, rate: int = 16_000) -> np.ndarray:
    """Mono 16 kHz harmonic bursts with noise: distinct clips for distinct (freq, seed)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.sin(2 * np.pi * 3.0 * t + seed) > 0).astype(np.float32)
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5))
    return (0.3 * envelope * wave + 0.02 * rng.standard_normal(t.shape)).astype(np.float32)


def portrait_array(width: int = 96, height: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (40 + 150 * yy / height).astype(np.uint8)
    img[..., 1] = (30 + 120 * xx / width).astype(np.uint8)
    img[..., 2] = 100
    return img
