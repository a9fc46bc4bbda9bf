"""A sketch take rendered once per session, and the same take with its audio 10 frames late."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.media import read_frames
from tests.bench.talking import delayed_audio, render_take, take_audio, write_movie

SHIFT = 10


@pytest.fixture(scope="session")
def takes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bench_takes")
    synced = render_take(root / "synced", "shot01", seed=1, size=192)
    shifted_dir = root / "shifted"
    shifted_dir.mkdir()
    shifted = shifted_dir / "shot01_late_audio.mp4"
    write_movie(shifted, read_frames(synced), delayed_audio(take_audio(synced), SHIFT))
    sidecar = json.loads(synced.with_suffix(".json").read_text())
    shifted.with_suffix(".json").write_text(json.dumps(sidecar))
    both = root / "both"
    both.mkdir()
    for path in (synced, shifted):
        shutil.copy(path, both / path.name)
        shutil.copy(path.with_suffix(".json"), both / path.with_suffix(".json").name)
    return {"synced": synced, "shifted": shifted, "folder": both, "root": root}
