"""Two-shot speaker boxes from the face detector on a real photograph, and their masks."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends.infinitetalk.speakers import (
    box_masks,
    boxes_from_faces,
    halves,
    place_speakers,
    validate_boxes,
)


@pytest.fixture(scope="module")
def two_shot() -> np.ndarray:
    """Two people side by side: the astronaut photograph and its mirror image, on one frame."""
    from skimage import data

    face = data.astronaut()
    return np.concatenate([face, face[:, ::-1]], axis=1).copy()


def test_each_face_gets_its_own_box_left_to_right(two_shot):
    from engine.backends.sketch.face import detect_faces

    faces = sorted(detect_faces(two_shot), key=lambda b: b.cx)[:2]
    placed = place_speakers(two_shot)
    assert placed.source == "detected" and placed.faces >= 2
    h, w = two_shot.shape[:2]
    (lx0, ly0, lx1, ly1), (rx0, ry0, rx1, ry1) = placed.boxes
    assert lx1 <= rx0  # never overlapping
    for (x0, y0, x1, y1), face in zip(placed.boxes, faces):
        assert x0 * w <= face.cx <= x1 * w and y0 * h <= face.cy <= y1 * h
    assert lx1 <= 0.5 <= rx0  # the mid-line of this picture lies between the two people
    assert not validate_boxes(placed.boxes)


def test_masks_cover_each_face_and_leave_background(two_shot):
    placed = place_speakers(two_shot)
    h, w = two_shot.shape[:2]
    masks = box_masks(placed.boxes, h, w)
    assert masks.shape == (3, h, w)
    assert np.all(masks.sum(0) == 1.0)  # every pixel is one speaker or background
    from engine.backends.sketch.face import detect_faces

    for i, face in enumerate(sorted(detect_faces(two_shot), key=lambda b: b.cx)[:2]):
        assert masks[i, int(face.cy), int(face.cx)] == 1.0
        assert masks[1 - i, int(face.cy), int(face.cx)] == 0.0


def test_one_face_falls_back_to_the_reference_halves():
    from skimage import data

    placed = place_speakers(data.astronaut())
    assert placed.source == "halves" and placed.boxes == halves(2)
    assert halves(2) == [[0.025, 0.05, 0.475, 0.95], [0.525, 0.05, 0.975, 0.95]]


def test_close_faces_are_cut_at_the_mid_line():
    boxes = boxes_from_faces([(300, 50, 100, 100), (100, 60, 100, 100)], 500, 400)  # given right to left
    (l0, ly0, l1, _), (r0, ry0, r1, _) = boxes
    assert l0 < l1 == r0 < r1 and l1 == pytest.approx(0.5)
    assert l0 <= 150 / 500 <= l1 and r0 <= 350 / 500 <= r1  # each box holds its own face's centre
    assert ly0 == pytest.approx((60 - 50) / 400) and ry0 == pytest.approx(0.0)  # and that face's height
    assert validate_boxes([[0.6, 0, 0.9, 1], [0.1, 0, 0.4, 1]]) == ["speaker boxes must be listed left to right"]
    assert "inside the picture" in validate_boxes([[0.2, 0.1, 1.2, 0.9]])[0]
