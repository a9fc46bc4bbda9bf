"""Chunks encoded on other threads and spliced into one movie, in order, frame-exact."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from engine.media import AudioClip, VideoWriter, probe_video, read_frames
from soul_studio.export.prefetch import Prefetch
from tests.conftest import tone_bursts


def _solid(value: int, w: int = 64, h: int = 48) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


@pytest.mark.parametrize("codec", ["h264_delivery", "prores422hq"])
def test_chunks_encoded_in_parallel_splice_in_timeline_order(tmp_path, codec):
    path = tmp_path / ("cut.mp4" if codec.startswith("h264") else "cut.mov")
    audio = AudioClip(tone_bursts(45 / 24, 48_000), 48_000)
    with VideoWriter(path, 24, 64, 48, codec=codec, audio=audio) as writer:
        chunks = [writer.chunk_encoder(), writer.chunk_encoder(), writer.chunk_encoder()]

        def encode(chunk, value: int, count: int) -> None:
            for _ in range(count):
                chunk.encode(_solid(value))
            chunk.finish()

        # The second chunk is encoded first: the writer must still splice them in order.
        threads = [threading.Thread(target=encode, args=(chunks[2], 200, 20)),
                   threading.Thread(target=encode, args=(chunks[1], 110, 20)),
                   threading.Thread(target=encode, args=(chunks[0], 20, 5))]
        for t in threads:
            t.start()
        for chunk in chunks:
            writer.write_chunk(chunk)
        for t in threads:
            t.join()
    info = probe_video(path)
    assert info.frame_count == 45
    assert abs(info.audio_duration - info.duration) <= 1 / 24
    levels = [int(f[24, 32].mean()) for f in read_frames(path)]
    assert all(abs(v - 20) < 8 for v in levels[:5])
    assert all(abs(v - 110) < 8 for v in levels[5:25])
    assert all(abs(v - 200) < 8 for v in levels[25:])


def test_mixing_frames_and_chunks_is_refused(tmp_path):
    path = tmp_path / "cut.mp4"
    with pytest.raises(RuntimeError, match="not both"):
        with VideoWriter(path, 24, 64, 48, codec="h264_delivery") as writer:
            writer.write(_solid(20))
            chunk = writer.chunk_encoder()
            chunk.encode(_solid(40))
            chunk.finish()
            writer.write_chunk(chunk)
    assert not path.exists()


def test_prefetch_keeps_order_and_raises_source_errors_in_the_reader():
    def source():
        yield from range(10)
        raise ValueError("take is corrupt")

    seen = []
    with pytest.raises(ValueError, match="corrupt"):
        for item in Prefetch(source(), depth=2):
            seen.append(item)
    assert seen == list(range(10))


def test_prefetch_close_stops_the_worker_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    fetch = Prefetch(endless(), depth=3)
    assert [next(iter(fetch)) for _ in range(3)] == [0, 1, 2]
    fetch.close()
    assert closed.is_set()
