"""The procedural media really are what tests and demos rely on them to be."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.sketch.face import detect_faces
from engine.media.synthetic import draw_no_face, draw_portrait, speech_like_audio


@pytest.mark.parametrize("seed", range(6))
def test_painted_portraits_are_found_by_the_haar_cascade(seed):
    rgb, lm = draw_portrait(seed, (256, 256), return_landmarks=True)
    assert rgb.shape == (256, 256, 3) and rgb.dtype == np.uint8
    faces = detect_faces(rgb)
    assert len(faces) == 1
    assert faces[0].contains(*lm.mouth) and faces[0].contains(*lm.left_eye) and faces[0].contains(*lm.right_eye)


def test_portraits_differ_per_seed_and_repeat_per_seed():
    a, b = draw_portrait(1, (128, 160)), draw_portrait(2, (128, 160))
    assert a.shape == (160, 128, 3)
    assert np.abs(a.astype(int) - b).mean() > 10
    assert np.array_equal(a, draw_portrait(1, (128, 160)))


def test_landscape_has_no_face():
    assert detect_faces(draw_no_face(0, (320, 240))) == []


def test_speech_is_loud_in_segments_and_silent_between():
    clip = speech_like_audio(3.0, 16_000, [(0.5, 1.5), (2.0, 2.6)], seed=4)
    assert clip.sample_rate == 16_000 and clip.num_samples == 48_000
    x = clip.mono()

    def rms(a: float, b: float) -> float:
        return float(np.sqrt(np.mean(x[int(a * 16000) : int(b * 16000)] ** 2)))

    assert rms(0.0, 0.5) == 0.0 and rms(1.5, 2.0) == 0.0 and rms(2.6, 3.0) == 0.0
    assert rms(0.6, 1.4) > 0.05 and rms(2.05, 2.55) > 0.05
    # Voiced: the spectrum has a clear pitch peak (harmonic structure), not white noise.
    seg = x[int(0.7 * 16000) : int(0.7 * 16000) + 1024]
    ac = np.correlate(seg, seg, "full")[1023:]
    assert ac[40:230].max() / ac[0] > 0.4
    assert np.array_equal(x, speech_like_audio(3.0, 16_000, [(0.5, 1.5), (2.0, 2.6)], seed=4).mono())
