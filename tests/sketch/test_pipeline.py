"""Drawing, colour conversion and encoding run side by side; order, errors and takes stay right."""

from __future__ import annotations

import numpy as np
import pytest
from sketch_helpers import make_job

from engine.backends.base import RenderContext
from engine.backends.sketch.backend import SketchBackend, ahead
from engine.media import iter_frames
from engine.takes import _CountingSink, write_take


def test_ahead_keeps_order_pairs_items_and_raises_errors():
    assert list(ahead(iter(range(7)), lambda x: x * x)) == [(i, i * i) for i in range(7)]
    assert list(ahead(iter([]), str)) == []

    def bad(x):
        if x == 3:
            raise ValueError("conversion failed")
        return x

    out = []
    with pytest.raises(ValueError, match="conversion failed"):
        for item, _ in ahead(iter(range(10)), bad):
            out.append(item)
    assert out == [0, 1, 2]


def test_take_frames_are_converted_ahead_and_decode_back_in_order(media, tmp_path, monkeypatch):
    calls = []
    original = _CountingSink.prepare

    def counting(self, frame):
        calls.append(1)
        return original(self, frame)

    monkeypatch.setattr(_CountingSink, "prepare", counting)
    job = make_job(media, tmp_path / "take.mp4", options={"lipsync": "spectral"})
    result = write_take(SketchBackend(), job, RenderContext())
    assert len(calls) == job.frame_count
    decoded = list(iter_frames(result.take_path))
    assert len(decoded) == job.frame_count
    # Same picture as a plain render, frame for frame (H.264 aside).
    plain = []

    class Keep:
        def write(self, frame):
            plain.append(np.array(frame))

    SketchBackend().render(job.replace(options={"lipsync": "spectral", "pipeline": False}), Keep(), RenderContext())
    for a, b in zip(decoded, plain):
        assert np.abs(a.astype(np.int16) - b.astype(np.int16)).mean() < 3.0
