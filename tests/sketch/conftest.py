"""Shared inputs for the sketch tests: painted portraits and speech made on the spot."""

from __future__ import annotations

from pathlib import Path

import pytest
from sketch_helpers import DURATION, LOUD, SIZE

from engine.media import save_image, write_audio
from engine.media.synthetic import draw_no_face, draw_portrait, speech_like_audio


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
