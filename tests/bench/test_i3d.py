"""The Inception I3D layout: standard size and tensor names, loading through ``--i3d`` folders, FVD on real frames."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.media import read_frames
from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import evaluate_take
from soul_studio.bench.i3d import InceptionI3D
from soul_studio.bench.models import Models, frechet_distance
from soul_studio.bench.videofeatures import VideoFeatures, build_network, save_network

TINY_I3D = {"architecture": "i3d", "width_multiplier": 0.125, "side": 64, "clip_frames": 8}


@pytest.fixture(scope="module")
def tiny_i3d(tmp_path_factory: pytest.TempPathFactory):
    torch.manual_seed(0)
    net = build_network(TINY_I3D)
    with torch.no_grad():  # default init fades to ~1e-6 over 11 layers; He init keeps features near 1 like a trained net
        for module in net.modules():
            if isinstance(module, torch.nn.Conv3d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if isinstance(module, torch.nn.BatchNorm3d):  # trained-looking statistics, so they take part
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    return save_network(tmp_path_factory.mktemp("i3d") / "tiny-i3d", TINY_I3D, state)


def test_full_width_i3d_has_the_standard_size_and_tensor_names():
    with torch.device("meta"):
        net = InceptionI3D()
    count = sum(p.numel() for p in net.parameters())
    print(f"I3D feature network: {count:,} parameters")
    assert 12_000_000 < count < 13_000_000
    state = net.state_dict()
    assert tuple(state["Conv3d_1a_7x7.conv3d.weight"].shape) == (64, 3, 7, 7, 7)
    assert "Conv3d_1a_7x7.conv3d.bias" not in state
    assert {"Conv3d_1a_7x7.bn.running_mean", "Conv3d_2b_1x1.bn.running_var", "Conv3d_2c_3x3.conv3d.weight"} <= set(state)
    for block in ("Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e", "Mixed_4f",
                  "Mixed_5b", "Mixed_5c"):
        for branch in ("b0", "b1a", "b1b", "b2a", "b2b", "b3b"):
            assert f"{block}.{branch}.conv3d.weight" in state and f"{block}.{branch}.bn.running_mean" in state
    assert tuple(state["Mixed_3b.b1b.conv3d.weight"].shape) == (128, 96, 3, 3, 3)
    assert tuple(state["Mixed_5c.b3b.conv3d.weight"].shape) == (128, 832, 1, 1, 1)
    assert net.Conv3d_1a_7x7.bn.eps == pytest.approx(1e-3)
    assert net.features_dim == 1024


def test_i3d_folder_defaults_to_the_real_network(tmp_path):
    folder = save_network(tmp_path / "i3d", {"architecture": "i3d"})
    video = VideoFeatures(folder)
    assert (video.side, video.clip_frames) == (224, 16)
    assert isinstance(video.net, InceptionI3D)
    rng = np.random.default_rng(0)
    clip = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8) for _ in range(16)]
    shapes = []
    video.net.Mixed_5c.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
    row = video.clips(clip)
    assert shapes == [(1, 1024, 2, 7, 7)]  # "same" padding: 16×224² shrinks by 8 in time and 32 in space
    assert row.shape == (1, 1024) and np.isfinite(row).all() and row.std() > 0


def test_tiny_i3d_fvd_is_zero_on_itself_and_grows_with_blur(takes, tiny_i3d):
    video = VideoFeatures(tiny_i3d)
    assert isinstance(video.net, InceptionI3D) and (video.side, video.clip_frames) == (64, 8)
    frames = read_frames(takes["synced"])
    ref = video.clips(frames)
    assert ref.shape == (len(frames) // 8, 128)
    assert abs(frechet_distance(ref, video.clips(frames))) < 1e-6
    fvd = {sigma: frechet_distance(video.clips([cv2.GaussianBlur(f, (0, 0), sigma) for f in frames]), ref)
           for sigma in (1.5, 5.0)}
    print(f"tiny I3D FVD: blur 1.5 → {fvd[1.5]:.4g}, blur 5 → {fvd[5.0]:.4g}")
    assert fvd[1.5] > 1e-3
    assert fvd[5.0] > 2 * fvd[1.5]


def test_tiny_i3d_scores_a_take_through_models(takes, tiny_i3d, tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "ref.mp4").write_bytes(takes["synced"].read_bytes())
    models = Models.load(i3d=tiny_i3d, reference=ref)
    fvd = evaluate_take(takes["synced"], models=models).image["fvd"]
    assert fvd["clip_frames"] == 8 and fvd["clips"] == 90 // 8
    assert abs(fvd["value"]) < 1e-6


def test_i3d_weights_missing_a_mixed_block_are_refused(tiny_i3d, tmp_path):
    state = load_file(str(tiny_i3d / "model.safetensors"))
    del state["Mixed_4c.b1b.conv3d.weight"]
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps(TINY_I3D))
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(BenchError, match=r"not I3D .* 1 tensors missing \(first: Mixed_4c\.b1b\.conv3d\.weight\)"):
        VideoFeatures(broken)


def test_unknown_architecture_and_bad_width_are_refused(tiny_i3d, tmp_path):
    weights = (tiny_i3d / "model.safetensors").read_bytes()
    for config, message in (({"architecture": "s3d"}, "unknown architecture 's3d'"),
                            ({**TINY_I3D, "width_multiplier": 0}, "width_multiplier must be positive")):
        folder = tmp_path / message.split()[0]
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "model.safetensors").write_bytes(weights)
        with pytest.raises(BenchError, match=message):
            VideoFeatures(folder)
