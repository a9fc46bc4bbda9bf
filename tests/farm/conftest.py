"""A small local Ray cluster shared by the farm tests (2 CPUs, no dashboard), shut down after them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.jobs import JobSpec
from soul_studio.resources import demo_dir


@pytest.fixture(scope="package")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    yield ray
    ray.shutdown()


@pytest.fixture
def farm_job(tmp_path, make_audio):
    """farm_job(name, duration=2.0, backend="sketch", **fields): a 128×128 JobSpec writing into tmp_path/takes."""
    takes = tmp_path / "takes"
    takes.mkdir(exist_ok=True)
    portrait = tmp_path / "ada.png"
    shutil.copy(demo_dir() / "media" / "ada.png", portrait)  # a drawn face the sketch engine finds
    audio = make_audio("line.wav", 12.0, bursts=[(0.2, 3.0), (3.5, 7.0), (7.5, 11.5)])

    def make(name: str, duration: float = 2.0, backend: str = "sketch", quality: str = "draft", **fields) -> JobSpec:
        return JobSpec(shot_id=name, portrait_path=str(portrait), duration=duration, fps=24.0, width=128,
                       height=128, output_path=str(takes / f"{name}.mp4"), audio_path=str(audio),
                       audio_out=duration, text="Hello there.", backend=backend, quality=quality,
                       **fields).validate()

    return make


def take_files(folder: Path) -> dict[str, list[str]]:
    """Takes, sidecars and anything else (partials, hidden temp files) in a takes folder."""
    names = sorted(p.name for p in folder.iterdir())
    return {
        "takes": [n for n in names if n.endswith(".mp4") and not n.startswith(".")],
        "sidecars": [n for n in names if n.endswith(".json") and not n.startswith(".")],
        "other": [n for n in names if n.startswith(".") or not n.endswith((".mp4", ".json"))],
    }
