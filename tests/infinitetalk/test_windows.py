"""Window stitching and the 25 fps → take-rate conform: exact frame counts, audio as master."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from engine.backends.infinitetalk.colour import ColourAnchor, lab_stats, match_frames, rgb_to_lab
from engine.backends.infinitetalk.windows import FpsConformer, plan_windows, source_frames_for, source_index
from engine.timebase import fps_fraction, frame_count

RATES = (23.976, 24.0, 25.0, 29.97)


@pytest.mark.parametrize("total", [1, 20, 81, 82, 153, 154, 500, 1501])
def test_windows_cover_the_shot_exactly(total):
    plan = plan_windows(total, window=81, motion=9, min_window=33)
    assert sum(w.keep for w in plan) == total
    assert all((w.frames - 1) % 4 == 0 and w.frames <= 81 for w in plan)
    for prev, w in zip(plan, plan[1:]):
        assert w.start == prev.start + prev.frames - 9  # local frame 0 repeats shot frame start
        assert w.drop == 9 and w.known == 3
        assert prev.start + prev.drop + prev.keep == w.start + w.drop  # new frames follow on without a gap
    assert plan[0].known == 1 and plan[0].drop == 0
    if total > 81:
        assert plan[0].frames == 81 and plan[1].frames in (81, *range(33, 81, 4))


@pytest.mark.parametrize("fps", RATES)
@pytest.mark.parametrize("seconds", [0.5, 3.2, 7.04, 41.0])
def test_conform_writes_exactly_the_takes_frame_count(fps, seconds):
    count = frame_count(seconds, fps)
    needed = source_frames_for(count, fps)
    plan = plan_windows(needed)
    written = []

    class Sink:
        def write(self, frame):
            written.append(int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1]))

    conform = FpsConformer(Sink(), count, fps)
    for i in range(sum(w.keep for w in plan)):
        conform.write(np.full((1, 1, 3), [i % 256, i // 256, 0], np.uint8))
    assert conform.done and len(written) == count
    # audio is master: output frame j shows the 25 fps frame nearest its time (within half a 25 fps frame)
    for j, src in enumerate(written):
        t_out = Fraction(j) / fps_fraction(fps)
        assert abs(Fraction(src, 25) - t_out) <= Fraction(1, 50)
    assert written == sorted(written)


def test_source_index_is_identity_at_25_fps():
    assert [source_index(j, 25.0) for j in range(6)] == list(range(6))
    assert source_frames_for(100, 25.0) == 100
    assert source_frames_for(120, 29.97) == 100  # the last of 120 frames at 29.97 shows at 3.97 s = 25 fps frame 99


def test_colour_match_moves_statistics_to_the_target(astronaut):
    img = torch.from_numpy(astronaut[::8, ::8].copy()).float() / 255.0
    target = lab_stats(rgb_to_lab(img), (0, 1))
    tinted = (img * torch.tensor([1.2, 0.9, 0.7])).clamp(0, 1)[None].repeat(3, 1, 1, 1)
    fixed = match_frames(tinted, *target, strength=1.0)
    mean, _ = lab_stats(rgb_to_lab(fixed[0]), (0, 1))
    assert (mean - target[0]).abs().max() < 2.5  # gamut clipping keeps it from being exact
    before, _ = lab_stats(rgb_to_lab(tinted[0]), (0, 1))
    assert (before - target[0]).abs().max() > 5
    assert torch.equal(match_frames(tinted, *target, strength=0.0), tinted)


def test_first_window_anchor_keeps_window_zero_and_pulls_later_ones(astronaut):
    img = torch.from_numpy(astronaut[::8, ::8].copy()).float() / 255.0
    anchor = ColourAnchor("first_window", 1.0)
    first = img[None].repeat(2, 1, 1, 1)
    assert torch.equal(anchor(first), first)
    drifted = (first * 0.7 + 0.2).clamp(0, 1)
    pulled = anchor(drifted)
    err_before = (lab_stats(rgb_to_lab(drifted), (0, 1, 2))[0] - lab_stats(rgb_to_lab(first), (0, 1, 2))[0]).abs()
    err_after = (lab_stats(rgb_to_lab(pulled), (0, 1, 2))[0] - lab_stats(rgb_to_lab(first), (0, 1, 2))[0]).abs()
    assert err_after.max() < 0.2 * err_before.max()
    with pytest.raises(ValueError):
        ColourAnchor("sepia")
