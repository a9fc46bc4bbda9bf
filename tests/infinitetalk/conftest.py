"""Tiny InfiniteTalk models for the tests: a bare Wan2.1-I2V transformer, and complete folders
(published adapter layout) with loaded pipelines, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.infinitetalk.tiny_i2v import TINY_I2V, tiny_inputs, tiny_transformer  # noqa: F401  (shared with the tests)


@pytest.fixture
def transformer():
    return tiny_transformer()


W, H = 64, 48  # a multiple of 16 (VAE 8 × patch 2)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """A complete tiny folder whose adapters have random (working) weights."""
    from engine.backends.infinitetalk.testing import build_tiny_infinitetalk_folder

    return build_tiny_infinitetalk_folder(tmp_path_factory.mktemp("it") / "tiny", seed=0, adapter_gain=3.0)


@pytest.fixture(scope="session")
def zero_folder(tiny_folder, tmp_path_factory) -> Path:
    """The same backbone with adapters whose output projections are zero."""
    from engine.backends.infinitetalk.testing import write_published_adapter

    dst = tmp_path_factory.mktemp("it") / "zero"
    shutil.copytree(tiny_folder, dst)
    for variant in ("single", "multi"):
        write_published_adapter(dst / "infinitetalk" / variant / "infinitetalk.safetensors", seed=5, zero_output=True)
    return dst


@pytest.fixture
def folder_copy(tiny_folder, tmp_path) -> Path:
    """A private copy a test may damage."""
    dst = tmp_path / "model"
    shutil.copytree(tiny_folder, dst)
    return dst


@pytest.fixture(scope="session")
def pipe(tiny_folder):
    from engine.backends.infinitetalk.loader import load_infinitetalk_pipeline

    return load_infinitetalk_pipeline(tiny_folder)


@pytest.fixture(scope="session")
def multi_pipe(tiny_folder):
    from engine.backends.infinitetalk.loader import LoadOptions, load_infinitetalk_pipeline

    return load_infinitetalk_pipeline(tiny_folder, LoadOptions(adapter="multi"))


@pytest.fixture(scope="session")
def zero_pipe(zero_folder):
    from engine.backends.infinitetalk.loader import load_infinitetalk_pipeline

    return load_infinitetalk_pipeline(zero_folder)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real photograph (scikit-image's astronaut), 512×512 RGB."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def speech(tmp_path_factory) -> dict[str, np.ndarray]:
    """Two different spoken lines at 16 kHz mono (espeak-ng), or speech-like bursts without it."""
    from engine.media import load_audio

    out = {}
    lines = {"a": ("Hello there, how are you doing today?", "en"), "b": ("Seven big boats sailed far away.", "en")}
    folder = tmp_path_factory.mktemp("speech")
    try:
        from soul_studio.project.model import Voice
        from soul_studio.script.temp_voice import espeak_available, render_temp_voice

        if not espeak_available():
            raise RuntimeError("no espeak-ng")
        for key, (text, voice) in lines.items():
            line = render_temp_voice(text, Voice(voice=voice), folder, label=key)
            out[key] = load_audio(line.path, 16_000, 1).mono().astype(np.float32)
    except Exception:  # noqa: BLE001 - fall back to synthetic speech-like audio
        from tests.soul.conftest import speech_like

        out = {"a": speech_like(2.0, 180.0, seed=1), "b": speech_like(2.0, 310.0, seed=2)}
    return out
