"""The face mesh: cached per picture, faces ranked by confidence and mesh quality, smooth head motion."""

from __future__ import annotations

import numpy as np
import pytest

import engine.media.samples as samples
from engine.backends.sketch import mesh_cache
from engine.backends.sketch.box import Box
from engine.backends.sketch.mesh import MeshFace, mesh_quality
from engine.backends.sketch.motion import motion_track


def test_mesh_is_cached_per_picture_small_and_recomputed_when_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUL_STUDIO_CACHE_DIR", str(tmp_path))
    rgb = samples.astronaut()
    first = mesh_cache.portrait_mesh(rgb)
    assert len(first.faces) == 1 and first.faces[0].points.shape == (478, 3) and first.mask is not None
    files = list((tmp_path / "face-mesh").glob("*.npz"))
    assert len(files) == 1 and files[0].stat().st_size < 100_000

    calls = []

    def counting(image):
        calls.append(1)
        return []

    monkeypatch.setattr(mesh_cache, "find_faces", counting)
    again = mesh_cache.portrait_mesh(rgb.copy())
    assert not calls and np.allclose(again.faces[0].points, first.faces[0].points)
    assert again.mask.shape == rgb.shape[:2]
    files[0].write_bytes(b"not a cache file")
    assert mesh_cache.portrait_mesh(rgb).faces == [] and calls == [1]


def test_faces_rank_by_confidence_and_mesh_quality_never_by_size():
    big_weak = MeshFace(Box(0, 0, 400, 400), confidence=0.62, points=None, quality=0.0)
    small_sure = MeshFace(Box(500, 50, 80, 80), confidence=0.93, points=None, quality=1.0)
    assert mesh_cache.PortraitMesh([big_weak, small_sure], None).best_index() == 1
    assert mesh_cache.PortraitMesh([], None).best_index() is None


def test_mesh_quality_rewards_a_mesh_that_fits_its_detection():
    f = mesh_cache.portrait_mesh(samples.astronaut()).faces[0]
    assert mesh_quality(f.points, f.box) > 0.8
    assert mesh_quality(f.points, Box(f.box.x + 3 * f.box.w, f.box.y, f.box.w, f.box.h)) == 0.0
    assert mesh_quality(None, f.box) == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_head_motion_has_no_single_frame_jumps_at_720p(seed):
    fps, n = 25.0, 250
    times = np.arange(n) / fps
    energy = np.zeros(n)
    for start in range(10, n, 17):  # loud syllables switching on and off abruptly
        energy[start: start + 6] = 1.0
    m = motion_track(times, fps, n / fps, energy, seed)
    face_w = 231.0  # the astronaut's face width at 720p, portrait framing
    for path in (m.shift_x * face_w, m.shift_y * face_w, np.radians(m.roll) * 150.0):
        jerk = np.abs(np.diff(path, 2))
        assert np.percentile(jerk, 99) <= 1.5 and np.abs(np.diff(path)).max() < 2.0
    # The nod on each onset eases in (low-passed), rather than only being capped in speed.
    assert np.percentile(np.abs(np.diff(m.shift_y * face_w, 2)), 99) <= 0.75
