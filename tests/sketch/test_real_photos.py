"""Real photographs speaking real speech, judged on decoded frames by an independent face mesh.

Photos: scikit-image's astronaut (NASA, public domain) and matplotlib's Grace Hopper (US
Navy, public domain); speech: espeak-ng. The measuring mesh runs on the decoded output
(soul_studio.bench.face_track), never on the backend's own numbers.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import engine.media.samples as samples
from engine.backends.base import RenderContext
from engine.backends.sketch.backend import SketchBackend
from engine.backends.sketch.face import analyse_portrait
from engine.backends.sketch.framing import choose_crop, render_stage, stage_analysis
from engine.backends.sketch.head import HeadRig
from engine.backends.sketch.landmarks import face_frame
from engine.backends.sketch.lids import lid_rigs
from engine.backends.sketch.lips import LipRig
from engine.jobs import JobSpec
from engine.media import VideoWriter, iter_frames, load_audio, save_image
from soul_studio.bench import face_track as ft

pytestmark = pytest.mark.skipif(not samples.espeak_available(), reason="espeak-ng is not installed")

SIZE = 384
LINE = "Bob popped the big map. Hello there."


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples.espeak_speech(LINE, tmp_path_factory.mktemp("speech") / "line.wav", voice="en-us")


def _render(tmp: Path, name: str, rgb: np.ndarray, audio: Path, **options: object) -> tuple[list[np.ndarray], dict]:
    portrait = tmp / f"{name}.png"
    save_image(portrait, rgb)
    clip = load_audio(audio, 48_000, 1)
    duration = round(clip.num_samples / 48_000 + 0.3, 2)
    out = tmp / f"{name}.mp4"
    framing = str(options.pop("framing", "portrait"))
    mouth_box = options.pop("mouth_box", None)
    job = JobSpec(shot_id=name, portrait_path=str(portrait), audio_path=str(audio), duration=duration, fps=25.0,
                  width=SIZE, height=SIZE, output_path=str(out), framing=framing, seed=3, text=LINE,
                  mouth_box=mouth_box, options=dict(options))  # type: ignore[arg-type]
    with VideoWriter(out, 25.0, SIZE, SIZE, codec="h264_take", audio=clip.fit_duration(duration)) as writer:
        meta = SketchBackend().render(job, writer, RenderContext())
    return list(iter_frames(out)), meta


def _cavity(rest: np.ndarray, frame: np.ndarray, below: float = 0.0) -> tuple[float, float] | None:
    """Centroid of the largest region that turned dark (under 90 of 255) and much darker than at rest."""
    darker = ((rest.astype(np.int16) - frame.astype(np.int16)).max(axis=2) > 40) & (frame.max(axis=2) < 90)
    darker[: max(0, int(below))] = False  # under the nose only: a blink's lashes are no mouth
    n, _, stats, centroids = cv2.connectedComponentsWithStats(darker.astype(np.uint8))
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (float(centroids[k][0]), float(centroids[k][1])) if stats[k, cv2.CC_STAT_AREA] >= 8 else None


@pytest.mark.parametrize("photo", ["astronaut", "astronaut_rot20", "grace_hopper"])
def test_opened_mouth_lies_on_the_real_lips_and_follows_the_speech(tmp_path, speech, photo):
    rgb = {"astronaut": samples.astronaut, "grace_hopper": samples.grace_hopper,
           "astronaut_rot20": lambda: samples.variant(samples.astronaut(), rotate=20)}[photo]()
    frames, meta = _render(tmp_path, photo, rgb, speech)
    assert meta["rig"] == "mesh" and meta["face"]["count"] == 1
    track = ft.measure_frames(frames)
    assert np.isfinite(track.lip_open).mean() > 0.95
    rest = track.lip_open[-1]  # the line ends in silence: the photo's own mouth
    open_frames = np.argsort(-np.nan_to_num(track.lip_open))[:5]
    assert track.lip_open[open_frames[0]] > rest + 0.12  # the lips really part
    for i in open_frames:
        c = _cavity(frames[-1], frames[i], below=track.points[i][1, 1])
        assert c is not None
        err = np.hypot(c[0] - track.mouth_centre[i, 0], c[1] - track.mouth_centre[i, 1]) / track.mouth_width[i]
        assert err < 0.15, f"frame {i}: opened region {err:.2f} mouth widths off the lips"
    # The jaw drops and the nose stays: the chin moves down the face, the nose tip does not.
    i, still = open_frames[0], track.points[-1]
    down = np.array([still[33, 1] - still[263, 1], still[263, 0] - still[33, 0]])
    down /= np.hypot(*down)
    chin = (track.points[i][152] - still[152]) @ down / track.mouth_width[-1]
    nose = (track.points[i][1] - still[1]) @ down / track.mouth_width[-1]
    assert chin > 0.08 and abs(nose) < 0.04, (chin, nose)
    clip = load_audio(speech, 48_000, 1)
    env = ft.speech_envelope(clip.samples[0], 48_000, 25.0, len(frames))
    env = np.clip(env, env.max() - 40, None)
    # The jaw follows the loudness; the lips' gap too, less tightly: M/B/P close them on
    # loud nasals and the astronaut's photo rests with her teeth apart.
    corr, lag = ft.lagged_corr(track.jaw_open, env)
    assert corr > 0.6 and 0 <= lag <= 3  # the jaw leads the sound by at most 120 ms
    assert ft.lagged_corr(track.lip_open, env)[0] > 0.4
    # The last 0.3 s is silence: the lips are back at rest.
    assert np.nanmax(np.abs(track.lip_open[-4:] - rest)) < 0.04


def test_mbp_frames_are_closed_and_vowels_open(tmp_path, speech):
    frames, meta = _render(tmp_path, "mbp", samples.grace_hopper(), speech)
    shapes = meta["mouth"]["shapes"]
    assert meta["mouth"]["method"] in ("aligned", "recognised")
    track = ft.measure_frames(frames)
    rest = track.lip_open[-1]
    closed = [i for i, s in enumerate(shapes) if s == "A"]
    wide = [i for i, s in enumerate(shapes) if s in "CD"]
    assert len(closed) >= 3 and len(wide) >= 3
    assert np.nanmedian(track.lip_open[closed]) < rest + 0.03
    assert np.nanmedian(track.lip_open[wide]) > np.nanmedian(track.lip_open[closed]) + 0.08


def _stage(rgb: np.ndarray, w: int = 640, h: int = 480):
    a = analyse_portrait(rgb)
    crop = choose_crop(a, w, h, "portrait")
    return render_stage(rgb, crop, w, h), stage_analysis(a, crop, w, h)


def test_pressed_lips_meet_even_when_the_jaw_is_asked_to_open():
    stage, st = _stage(samples.astronaut())  # she smiles with her teeth apart
    rig = LipRig(stage, st.points)
    opened, pressed = stage.copy(), stage.copy()
    rig.apply(opened, 0.8, 0.0)
    rig.apply(pressed, 0.8, 0.0, press=1.0)
    assert _cavity(stage, opened) is not None and _cavity(stage, pressed) is None
    track = ft.measure_frames([stage, opened, pressed, stage], max_faces=1)
    assert track.lip_open[1] > track.lip_open[0] + 0.1
    assert track.lip_open[2] < track.lip_open[0] - 0.03  # the photo's gap closes too


def test_blink_closes_the_lids_and_leaves_the_brows(tmp_path):
    for rgb in (samples.astronaut(), samples.grace_hopper()):
        stage, st = _stage(rgb)
        rigs = lid_rigs(stage.shape, st.points)
        assert len(rigs) == 2
        shut = stage.copy()
        for r in rigs:
            r.apply(shut, 1.0)
        track = ft.measure_frames([stage, shut, stage], max_faces=1)
        assert track.eye_open[1] < 0.6 * track.eye_open[0]
        assert abs(track.brow_y[1] - track.brow_y[0]) < 0.03  # mouth widths
        # The brows are untouched, to the pixel.
        for x, y in st.points[[70, 63, 105, 66, 107, 300, 293, 334, 296, 336], :2]:
            xi, yi = int(round(x)), int(round(y))
            assert np.array_equal(stage[yi - 2: yi + 3, xi - 2: xi + 3], shut[yi - 2: yi + 3, xi - 2: xi + 3])


def test_group_photo_animates_only_the_chosen_face(tmp_path, speech):
    group = samples.group_photo([samples.astronaut(), samples.grace_hopper()], height=SIZE)
    seam = samples.astronaut().shape[1] * SIZE / 512
    for index, (lo, hi) in ((0, (0, seam)), (1, (seam, group.shape[1]))):
        frames, meta = _render(tmp_path, f"group{index}", group, speech, face_index=index, framing="full_body",
                               lipsync="spectral")
        assert meta["face"]["index"] == index and meta["face"]["count"] == 2
        motion = np.max([np.abs(f.astype(np.int16) - frames[0].astype(np.int16)).max(axis=2) for f in frames], axis=0)
        scale = frames[0].shape[1] / group.shape[1]
        cols = np.flatnonzero((motion > 30).any(axis=0)) / scale
        assert cols.size and lo - 5 <= cols.min() and cols.max() <= hi + 5


def test_no_face_photo_needs_a_mouth_box_and_then_animates_it(tmp_path, speech):
    from skimage import data

    from engine.backends.sketch.face import FaceNotFoundError

    coffee = np.ascontiguousarray(data.coffee())
    a = analyse_portrait(coffee)
    assert a.faces_found == 0 and a.mouth is None and any("mouth box" in w for w in a.warnings)
    with pytest.raises(FaceNotFoundError, match="no face"):
        _render(tmp_path, "coffee", coffee, speech, framing="full_body", lipsync="spectral")
    box = (0.45, 0.5, 0.12, 0.06)
    frames, meta = _render(tmp_path, "coffee_box", coffee, speech, framing="full_body", lipsync="spectral",
                           mouth_box=box)
    assert meta["rig"] == "box" and meta["face"]["count"] == 0
    motion = np.max([np.abs(f.astype(np.int16) - frames[0].astype(np.int16)).max(axis=2) for f in frames], axis=0)
    ys, xs = np.nonzero(motion > 30)
    assert len(xs) and abs(xs.mean() / SIZE - (box[0] + box[2] / 2)) < 0.06


def test_roll_is_read_from_the_mesh():
    for angle in (20, -20):
        a = analyse_portrait(samples.variant(samples.astronaut(), rotate=angle))
        roll = face_frame(a.points).roll_deg
        assert abs(roll - (-angle) - face_frame(analyse_portrait(samples.astronaut()).points).roll_deg) < 4


def test_head_motion_leaves_the_backdrop_still():
    stage, st = _stage(samples.astronaut(), 1280, 720)
    assert st.mask is not None
    rig = HeadRig(stage.shape, st.head_box(), st.face.w, cv2.INTER_LINEAR, st.mask)
    moved = stage.copy()
    rig.apply(moved, 2.0, 0.02, 0.02)
    changed = np.abs(moved.astype(np.int16) - stage.astype(np.int16)).max(axis=2) > 3
    background = cv2.erode((st.mask < 0.05).astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert changed.any() and not (changed & background).any()
