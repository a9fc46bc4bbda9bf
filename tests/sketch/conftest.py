"""Shared inputs for the sketch tests: painted portraits and speech made on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sketch_helpers import DURATION, LOUD, SIZE

from engine.media import save_image, write_audio
from engine.media.synthetic import draw_no_face, draw_portrait, speech_like_audio


@pytest.fixture(scope="session", autouse=True)
def fresh_mesh_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mesh every picture afresh in this session: a cache filled by older code must not hide a bug."""
    import os

    folder = tmp_path_factory.mktemp("mesh_cache")
    old = os.environ.get("SOUL_STUDIO_CACHE_DIR")
    os.environ["SOUL_STUDIO_CACHE_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("SOUL_STUDIO_CACHE_DIR", None)
    else:
        os.environ["SOUL_STUDIO_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sketch_media")
    portrait = root / "face.png"
    save_image(portrait, draw_portrait(1, (SIZE, SIZE)))
    landscape = root / "landscape.png"
    save_image(landscape, draw_no_face(2, (SIZE, SIZE)))
    audio = root / "line.wav"
    write_audio(audio, speech_like_audio(DURATION, 48_000, [LOUD], seed=3, level_dbfs=-12.0))
    return {"portrait": portrait, "landscape": landscape, "audio": audio, "root": root}
