"""Generated footage: one talking face, two side by side, a hard cut, and a blurred shot."""

from __future__ import annotations

import shutil

import pytest

from soul_studio.annotate.pipeline import annotate_folder
from tests.bench.talking import blurred, joined, render_take, side_by_side, write_movie


@pytest.fixture(scope="session")
def footage(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("footage")
    renders = root / "renders"
    a = render_take(renders, "a", seed=1, size=192)
    b = render_take(renders, "b", seed=5, size=192, audio_seed=8)
    small_a = render_take(renders, "sa", seed=1, size=128)
    small_b = render_take(renders, "sb", seed=5, size=128)
    folder = root / "footage"
    (folder / "day1").mkdir(parents=True)
    shutil.copy(a, folder / "one_face.mp4")
    write_movie(folder / "two_faces.mp4", *side_by_side(small_a, small_b))
    frames, audio, cut = joined(a, b)
    write_movie(folder / "day1" / "cut.mp4", frames, audio)
    write_movie(folder / "blurred.mp4", *blurred(a))
    return {"folder": folder, "cut": cut, "spare": b, "root": root}


@pytest.fixture(scope="session")
def dataset(footage, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("dataset")
    summary = annotate_folder(footage["folder"], out, workers=2)
    return {"out": out, "summary": summary}
