"""Fixtures for the export tests: one small project per module, decoders for the results."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.export.builders import build_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    return build_project(tmp_path_factory.mktemp("scene") / "scene")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def decode_audio(path: Path) -> np.ndarray:
    from engine.media import load_audio

    return load_audio(path, 48_000, 2).samples
