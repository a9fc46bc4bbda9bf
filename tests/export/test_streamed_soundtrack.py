"""A long cut's dialogue is streamed into the movie: the same sound as the one built in memory."""

from __future__ import annotations

import numpy as np

from soul_studio.export import ExportOptions, export_project
from soul_studio.export import streamed_soundtrack as streamed
from tests.export.builders import not_stale
from tests.export.conftest import decode_audio


def test_streamed_soundtrack_matches_the_built_one(project, out_dir, monkeypatch):
    opts = ExportOptions(stale_check=not_stale)
    held = export_project(project, "mp4", out_dir / "held.mp4", opts)
    seen = []
    real = streamed.StreamedSoundtrack

    def spy(*args, **kwargs):
        seen.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(streamed, "STREAM_AFTER_S", 0.0)
    monkeypatch.setattr(streamed, "StreamedSoundtrack", spy)
    flowing = export_project(project, "mp4", out_dir / "streamed.mp4", ExportOptions(stale_check=not_stale))
    assert seen == [1]
    a, b = decode_audio(held.path), decode_audio(flowing.path)
    assert a.shape == b.shape and np.abs(a).max() > 0.1
    assert np.abs(a - b).max() < 1e-3
    # A range that starts inside a shot streams from the right place too.
    ranged = ExportOptions(stale_check=not_stale, frame_range=(10, 50))
    c = decode_audio(export_project(project, "mp4", out_dir / "range.mp4", ranged).path)
    monkeypatch.setattr(streamed, "STREAM_AFTER_S", 1e9)
    d = decode_audio(export_project(project, "mp4", out_dir / "range_held.mp4",
                                    ExportOptions(stale_check=not_stale, frame_range=(10, 50))).path)
    assert c.shape == d.shape and np.abs(c - d).max() < 1e-3
