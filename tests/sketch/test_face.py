"""Face analysis: boxes where the painter put the features, clear messages otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.base import BackendError
from engine.backends.sketch.face import FaceNotFoundError, analyse_portrait, require_mouth
from engine.media.synthetic import draw_no_face, draw_portrait


@pytest.mark.parametrize("seed,size", [(0, 256), (3, 384), (5, 512)])
def test_mouth_and_eyes_found_where_painted(seed, size):
    rgb, lm = draw_portrait(seed, (size, size), return_landmarks=True)
    a = analyse_portrait(rgb)
    assert a.faces_found == 1 and not a.warnings
    assert a.mouth is not None and a.mouth.contains(*lm.mouth)
    assert abs(a.mouth.cy - lm.mouth[1]) < 0.15 * lm.mouth_size[0]
    assert len(a.eyes) == 2
    for eye, truth in zip(sorted(a.eyes, key=lambda e: e.cx), (lm.left_eye, lm.right_eye)):
        assert abs(eye.cx - truth[0]) < 0.3 * lm.mouth_size[0]
        assert abs(eye.cy - truth[1]) < 0.3 * lm.mouth_size[0]
    x, y, w, h = a.mouth_box_normalised()
    assert 0 <= x < x + w <= 1 and 0 <= y < y + h <= 1
    assert a.to_dict()["mouth_source"] in ("mesh", "detected", "estimated")


@pytest.mark.parametrize("seed,size", [(0, 256), (5, 512)])
def test_haar_fallback_still_finds_painted_features(seed, size):
    rgb, lm = draw_portrait(seed, (size, size), return_landmarks=True)
    a = analyse_portrait(rgb, use_mesh=False)
    assert a.faces_found == 1 and a.face_source == "haar"
    assert a.mouth is not None and a.mouth.contains(*lm.mouth)
    assert a.to_dict()["mouth_source"] in ("detected", "estimated")


def test_no_face_is_a_clear_error_with_a_hint():
    a = analyse_portrait(draw_no_face(1, (256, 256)))
    assert a.face is None and a.mouth is None and not a.usable
    assert any("no face" in w for w in a.warnings)
    with pytest.raises(FaceNotFoundError) as info:
        require_mouth(a, "lake.png")
    assert isinstance(info.value, BackendError)
    assert "lake.png" in str(info.value) and "Cast panel" in info.value.hint


def test_user_mouth_box_wins():
    rgb = draw_no_face(1, (200, 100))
    a = analyse_portrait(rgb, (0.4, 0.5, 0.2, 0.1))
    assert a.usable and a.mouth_source == "user"
    assert a.mouth.to_list() == [80.0, 50.0, 40.0, 10.0]
    assert require_mouth(a) is a


@pytest.mark.parametrize("use_mesh", [True, False])
def test_several_faces_are_numbered_left_to_right_and_chosen_by_index(use_mesh):
    big = draw_portrait(2, (320, 320))
    small = draw_portrait(4, (200, 200))
    canvas = np.zeros((320, 560, 3), np.uint8)
    canvas[:, :320] = big
    canvas[60:260, 350:550] = small
    a = analyse_portrait(canvas, use_mesh=use_mesh)
    assert a.faces_found == 2
    assert any("2 faces" in w and "Cast panel" in w for w in a.warnings)
    assert a.faces[0][0].cx < 320 < a.faces[1][0].cx
    for k, inside in ((0, lambda x: x < 320), (1, lambda x: x > 320)):
        chosen = analyse_portrait(canvas, face_index=k, use_mesh=use_mesh)
        assert chosen.face_index == k and inside(chosen.face.cx) and inside(chosen.mouth.cx)
        assert chosen.face_report()["count"] == 2 and chosen.face_report()["index"] == k
    wrong = analyse_portrait(canvas, face_index=5, use_mesh=use_mesh)
    assert wrong.face_index in (0, 1) and any("face 6 was asked for" in w for w in wrong.warnings)
