"""The ONNX paths (ArcFace identity and Inception-class FID) run through onnxruntime on real takes."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.media import read_frames, save_image
from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import evaluate_folder, evaluate_take
from soul_studio.bench.models import Models
from tests.bench.talking import take_audio, write_movie

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")


def export_onnx(net, side: int, path: Path) -> Path:
    """``net`` (eval mode) as an ONNX graph reading one NCHW picture of ``side``×``side``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(net.eval(), (torch.zeros(1, 3, side, side),), str(path), dynamo=False,
                          input_names=["input"], output_names=["output"])
    return path


class PoolFeatures(torch.nn.Module):
    """A small CNN ending in global average pooling, the shape of Inception pool features."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 5, stride=3), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, stride=2), torch.nn.ReLU(),
            torch.nn.Conv2d(16, 24, 3, stride=2), torch.nn.ReLU())

    def forward(self, x):
        return 1000.0 * self.body(x).mean(dim=(2, 3))  # random weights give features of ~1e-3


@pytest.fixture(scope="module")
def arcface_pair(tmp_path_factory):
    """The same tiny IResNet as safetensors and as ONNX."""
    from safetensors.torch import save_file

    from soul_studio.bench.arcface import build_iresnet

    root = tmp_path_factory.mktemp("arcface_onnx")
    torch.manual_seed(1)
    net = build_iresnet((1, 1, 1, 1), embedding=48)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(root / "backbone.safetensors"))
    return root / "backbone.safetensors", export_onnx(net, 112, root / "arcface.onnx")


@pytest.fixture(scope="module")
def inception(tmp_path_factory):
    torch.manual_seed(2)
    return export_onnx(PoolFeatures(), 299, tmp_path_factory.mktemp("inception") / "pool.onnx")


def test_onnx_arcface_matches_the_torch_path_on_a_take(takes, arcface_pair):
    safetensors_path, onnx_path = arcface_pair
    onnx_models = Models.load(arcface=onnx_path)
    assert type(onnx_models.face).__name__ == "OnnxFaceEmbedder"
    via_onnx = evaluate_take(takes["synced"], models=onnx_models)
    via_torch = evaluate_take(takes["synced"], models=Models.load(arcface=safetensors_path))
    arc = via_onnx.identity["arcface"]
    assert arc["model"] == "arcface.onnx" and -1.0 <= arc["to_portrait_min"] <= arc["to_portrait_mean"] <= 1.0
    series = via_onnx.series["identity_arcface"]
    assert len(series) == len(via_onnx.series["identity_time"]) >= 10
    assert np.allclose(series, via_torch.series["identity_arcface"], atol=2e-4)
    frame = read_frames(takes["synced"])[0]
    box = tuple(via_onnx.face_box)
    a, b = onnx_models.face.embed(frame, box), Models.load(arcface=safetensors_path).face.embed(frame, box)
    assert a.shape == (48,) and abs(np.linalg.norm(a) - 1) < 1e-6 and float(a @ b) > 0.9999


def test_fid_through_onnx_is_zero_for_the_reference_and_grows_with_blur(takes, inception, tmp_path):
    ref = tmp_path / "reference"
    ref.mkdir()
    shutil.copy(takes["synced"], ref / "ref.mp4")
    models = Models.load(inception=inception, reference=ref)
    same = evaluate_take(takes["synced"], models=models).image["fid"]
    assert same["frames"] == 48 and same["reference"] >= 16
    frames = read_frames(takes["synced"])
    soft = write_movie(tmp_path / "soft.mp4", [cv2.GaussianBlur(f, (0, 0), 4.0) for f in frames],
                       take_audio(takes["synced"]))
    blurred = evaluate_take(soft, models=models, sidecar={}).image["fid"]
    assert blurred["value"] > 0.2
    # The take's 48 frames hold the reference's 16-odd frames and neighbours of them: close, not equal.
    assert 0.0 <= same["value"] < 0.1 * blurred["value"]


def test_fid_reference_pictures_and_folder_run(takes, inception, tmp_path):
    from engine.media.synthetic import draw_portrait

    ref = tmp_path / "pictures"
    ref.mkdir()
    for seed in range(4):
        save_image(ref / f"p{seed}.png", draw_portrait(seed, (192, 192)))
    scores, errors = evaluate_folder(takes["folder"], Models.load(inception=inception, reference=ref))
    assert not errors and len(scores) == 2
    for s in scores:
        assert s.image["fid"]["reference"] == 4 and s.image["fid"]["value"] > 0


def test_onnx_files_are_checked_before_use(tmp_path, inception):
    with pytest.raises(BenchError, match="not found"):
        Models.load(arcface=tmp_path / "missing.onnx")
    with pytest.raises(BenchError, match="Inception model not found"):
        Models.load(inception=tmp_path / "pool.pb", reference=tmp_path)
    (tmp_path / "pool.pb").write_bytes(b"x")
    with pytest.raises(BenchError, match="not an ONNX model"):
        Models.load(inception=tmp_path / "pool.pb", reference=tmp_path)
