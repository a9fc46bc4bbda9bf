"""Identity, stability and picture measures of a take, and what is said when models are absent."""

from __future__ import annotations

import json

from engine.media import save_image
from engine.media.synthetic import draw_portrait
from soul_studio.bench.evaluate import evaluate_take, read_sidecar


def test_identity_is_higher_against_the_own_portrait(takes, tmp_path):
    own = evaluate_take(takes["synced"])
    other_portrait = tmp_path / "someone_else.png"
    save_image(other_portrait, draw_portrait(5, (192, 192)))
    sidecar = read_sidecar(takes["synced"])
    sidecar["job"]["portrait_path"] = str(other_portrait)
    other = evaluate_take(takes["synced"], sidecar=sidecar)
    assert own.identity["to_portrait_mean"] > 0.93
    assert own.identity["to_portrait_mean"] > other.identity["to_portrait_mean"] + 0.08
    assert own.identity["portrait_match"] > other.identity["portrait_match"]
    series = own.series["identity_to_portrait"]
    assert len(series) == len(own.series["identity_time"]) >= 10
    assert own.temporal["identity_drift_to_first"] < 0.1


def test_stability_and_picture_numbers_come_from_the_pixels(takes):
    s = evaluate_take(takes["synced"])
    assert s.frame_count == 90 and s.fps == 25.0 and (s.width, s.height) == (192, 192)
    # A still backdrop and a head that barely moves: little change outside the mouth.
    assert 0.0 < s.temporal["flicker_mean"] < 2.0
    assert 0.15 < s.image["exposure_mean"] < 0.7
    assert s.image["sharpness_mean"] > 10
    assert len(s.series["flicker"]) == len(s.series["time"]) == 90


def test_missing_models_are_reported_not_guessed(takes):
    d = evaluate_take(takes["synced"]).to_dict()
    assert d["syncnet"]["note"].startswith("not computed") and "--syncnet" in d["syncnet"]["note"]
    assert "--inception" in d["image"]["fid"]["note"]
    assert "--clip" in d["text_alignment"]["note"]
    assert "--arcface" in d["identity"]["arcface"]["note"]
    json.dumps(d)  # plain JSON all the way down


def test_blurring_a_take_lowers_its_sharpness(takes, tmp_path):
    import cv2

    from engine.media import read_frames
    from tests.bench.talking import take_audio, write_movie

    frames = [cv2.GaussianBlur(f, (0, 0), 3.0) for f in read_frames(takes["synced"])]
    soft = write_movie(tmp_path / "soft.mp4", frames, take_audio(takes["synced"]))
    sharp, blurred = evaluate_take(takes["synced"]), evaluate_take(soft, sidecar={})
    assert blurred.image["sharpness_mean"] < 0.5 * sharp.image["sharpness_mean"]
    # Blurred that much, the cascade finds no face: the face measures say so instead of guessing.
    assert blurred.identity["note"].startswith("not computed") and "no face" in " ".join(blurred.notes)
    assert "not computed" in blurred.sync["note"]
