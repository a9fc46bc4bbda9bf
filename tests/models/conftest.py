"""Tiny model folders built in the test (safetensors + configs), and a private settings folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("SOUL_STUDIO_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_soul(tmp_path_factory) -> Path:
    from engine.backends.soul.testing import build_tiny_soul_folder

    return build_tiny_soul_folder(tmp_path_factory.mktemp("models") / "soul", seed=1)


@pytest.fixture
def wan_only(tiny_soul, tmp_path) -> Path:
    """The Wan2.2 part of a soul folder, without the audio adapter and encoder."""
    dst = tmp_path / "wan"
    shutil.copytree(tiny_soul, dst, ignore=shutil.ignore_patterns("audio_adapter", "audio_encoder"))
    return dst


@pytest.fixture
def adapter_folder(tiny_soul, tmp_path) -> Path:
    dst = tmp_path / "adapter"
    shutil.copytree(tiny_soul / "audio_adapter", dst)
    return dst


@pytest.fixture
def encoder_folder(tiny_soul, tmp_path) -> Path:
    dst = tmp_path / "encoder"
    shutil.copytree(tiny_soul / "audio_encoder", dst)
    return dst


@pytest.fixture
def light_vae_folder(tmp_path) -> Path:
    from engine.backends.soul.light_vae import LightVAE

    dst = tmp_path / "light_vae"
    LightVAE(latent_channels=16, channels=(16, 12, 8, 8)).save_pretrained(dst, safe_serialization=True)
    return dst


@pytest.fixture
def student_folder(tiny_soul, tmp_path) -> Path:
    dst = tmp_path / "student"
    dst.mkdir()
    shutil.copytree(tiny_soul / "transformer", dst / "transformer")
    (dst / "distill.json").write_text('{"kind": "full", "steps": 4, "shift": 5.0}')
    return dst
