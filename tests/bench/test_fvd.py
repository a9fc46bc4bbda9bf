"""FVD from a user-supplied 3D-conv video network (tiny random weights) against reference movies."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from engine.media import read_frames
from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import evaluate_folder, evaluate_take
from soul_studio.bench.models import Models
from tests.bench.talking import take_audio, write_movie
from tests.bench.tiny_models import save_tiny_video_net


@pytest.fixture(scope="module")
def video_net(tmp_path_factory: pytest.TempPathFactory):
    return save_tiny_video_net(tmp_path_factory.mktemp("i3d") / "tiny-video-net")


@pytest.fixture(scope="module")
def reference(takes, tmp_path_factory: pytest.TempPathFactory):
    ref = tmp_path_factory.mktemp("reference")
    shutil.copy(takes["synced"], ref / "ref.mp4")
    return ref


@pytest.fixture(scope="module")
def perturbed(takes, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("perturbed")
    frames = read_frames(takes["synced"])
    audio = take_audio(takes["synced"])
    rng = np.random.default_rng(0)
    out = {}
    for name, change in (("blur1", lambda f: cv2.GaussianBlur(f, (0, 0), 1.0)),
                         ("blur4", lambda f: cv2.GaussianBlur(f, (0, 0), 4.0)),
                         ("noise", lambda f: np.clip(f + rng.normal(0, 25, f.shape), 0, 255).astype(np.uint8))):
        out[name] = write_movie(root / f"{name}.mp4", [change(f) for f in frames], audio)
    return out


def test_fvd_of_the_reference_itself_is_zero(takes, video_net, reference):
    models = Models.load(i3d=video_net, reference=reference)
    fvd = evaluate_take(takes["synced"], models=models).image["fvd"]
    assert fvd["clips"] == 90 // 8 and fvd["reference"] == 90 // 8 and fvd["clip_frames"] == 8
    assert abs(fvd["value"]) < 1e-6


def test_fvd_grows_with_blur_and_noise(video_net, reference, perturbed):
    models = Models.load(i3d=video_net, reference=reference)
    fvd = {name: evaluate_take(path, models=models, sidecar={}).image["fvd"]["value"] for name, path in perturbed.items()}
    assert fvd["blur1"] > 1e-4
    assert fvd["blur4"] > 2 * fvd["blur1"]
    assert fvd["noise"] > fvd["blur1"]


def test_folder_evaluation_reads_the_reference_clips_once(takes, video_net, reference):
    models = Models.load(i3d=video_net, reference=reference)
    scores, errors = evaluate_folder(takes["folder"], models)
    assert not errors
    by_name = {s.name: s.image["fvd"] for s in scores}
    # Same pictures; the late-audio copy was re-encoded, so it is close to the reference but not equal.
    assert abs(by_name["shot01"]["value"]) < 1e-6
    assert by_name["shot01_late_audio"]["reference"] == 11
    assert by_name["shot01_late_audio"]["value"] > 1e-4
    assert "fid" in scores[0].image and "--inception" in scores[0].image["fid"]["note"]


def test_without_a_video_network_fvd_says_how_to_get_it(takes):
    note = evaluate_take(takes["synced"]).image["fvd"]["note"]
    assert note.startswith("not computed") and "--i3d" in note and "--reference" in note


def test_bad_video_network_folders_are_refused(video_net, reference, tmp_path):
    with pytest.raises(BenchError, match="config.json missing"):
        Models.load(i3d=tmp_path / "nowhere", reference=reference)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(video_net / "config.json", pickled / "config.json")
    (pickled / "i3d.pt").write_bytes(b"\x80\x04N.")
    with pytest.raises(BenchError, match="pickled"):
        Models.load(i3d=pickled, reference=reference)
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    config = json.loads((video_net / "config.json").read_text())
    config["stages"][0]["out"] = 12
    (wrong / "config.json").write_text(json.dumps(config))
    shutil.copy(video_net / "model.safetensors", wrong / "model.safetensors")
    with pytest.raises(BenchError, match="shape"):
        Models.load(i3d=wrong, reference=reference)
    with pytest.raises(BenchError, match="reference"):
        Models.load(i3d=video_net)


def test_bench_command_takes_i3d(takes, video_net, reference, tmp_path):
    from tests.bench.test_report_cli import run_cli

    out = tmp_path / "report"
    assert run_cli(["bench", str(takes["folder"]), "--out", str(out), "--quiet",
                    "--i3d", str(video_net), "--reference", str(reference)]) == 0
    data = json.loads((out / "results.json").read_text())
    assert all("value" in t["image"]["fvd"] for t in data["takes"])
    page = (out / "index.html").read_text()
    assert "FVD" in page and "FVD: not computed" not in page
