"""Cut detection and face tracking on made-up signals, where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from soul_studio.annotate.faces import Track, framing_class, track_faces
from soul_studio.annotate.shots import detect_cuts, frame_distances, frame_signature, shots_from_cuts


def test_cuts_survive_flicker_and_motion():
    rng = np.random.default_rng(1)
    frames = []
    for i in range(120):
        level = 60 if i < 50 else 170  # the cut: a dark shot, then a bright one
        level += 6 * np.sin(i * 1.7)  # exposure flicker in both shots
        img = np.full((72, 128), level, np.float32)
        x = 20 + (i % 50)  # something moving across the frame
        img[20:50, x:x + 20] += 50
        frames.append(np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8))
    d = frame_distances([frame_signature(f) for f in frames])
    cuts = detect_cuts(d, 25.0)
    assert cuts == [50]
    assert shots_from_cuts(cuts, 120) == [(0, 50), (50, 120)]


def test_tracks_link_by_overlap_and_framing_follows_face_size():
    samples = [(i * 5, [(10.0 + i, 20.0, 40.0, 40.0), (150.0 - i, 22.0, 38.0, 38.0)]) for i in range(6)]
    samples[2] = (10, [(12.0, 20.0, 40.0, 40.0)])  # the second face missed once
    tracks = track_faces(samples)
    assert len(tracks) == 2 and sorted(len(t.frames) for t in tracks) == [5, 6]
    assert framing_class(tracks, 120) == "multi_person"
    assert framing_class([Track(0, [0], [(0, 0, 50, 50)])], 120) == "portrait"
    assert framing_class([Track(0, [0], [(0, 0, 20, 20)])], 120) == "upper_body"
    assert framing_class([Track(0, [0], [(0, 0, 10, 10)])], 120) == "full_body"
    assert framing_class([], 120) == "no_face"
    first = next(t for t in tracks if t.boxes[0][0] < 100)
    assert first.box_at(2) == pytest.approx((10.4, 20.0, 40.0, 40.0))  # between the samples at 0 and 5
    assert first.box_at(99) == pytest.approx((15.0, 20.0, 40.0, 40.0))  # held after the last one
