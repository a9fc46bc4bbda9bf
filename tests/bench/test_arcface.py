"""ArcFace identity from a user's IResNet weights: names, depths and safe loading (tiny random net)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from soul_studio.bench.arcface import build_iresnet, stage_depths
from soul_studio.bench.errors import BenchError
from soul_studio.bench.evaluate import evaluate_take
from soul_studio.bench.models import Models
from tests.bench.talking import render_take


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(0)
    net = build_iresnet((1, 2, 1, 1), embedding=64)
    path = tmp_path_factory.mktemp("arcface") / "backbone.safetensors"
    state = {f"module.{k}": v.contiguous() for k, v in net.state_dict().items()}  # saved from a wrapper
    save_file(state, str(path))
    return path


def test_depths_come_from_the_weight_names(tiny_weights):
    from safetensors.torch import load_file

    names = {k.removeprefix("module."): v for k, v in load_file(str(tiny_weights)).items()}
    assert stage_depths(names) == (1, 2, 1, 1)
    with pytest.raises(BenchError, match="no IResNet stages"):
        stage_depths({"fc.weight": torch.zeros(1)})


def test_arcface_scores_every_identity_sample(tiny_weights, tmp_path):
    short = render_take(tmp_path, "short", seed=1, size=128, duration=1.0, segments=[(0.2, 0.8)])
    models = Models.load(arcface=tiny_weights)
    emb = models.face.embed(np.full((120, 120, 3), 90, np.uint8), (10.0, 10.0, 100.0, 100.0))
    assert emb.shape == (64,) and abs(np.linalg.norm(emb) - 1) < 1e-6
    s = evaluate_take(short, models=models)
    arc = s.identity["arcface"]
    assert arc["model"] == "backbone.safetensors" and -1.0 <= arc["to_portrait_mean"] <= 1.0
    assert len(s.series["identity_arcface"]) == len(s.series["identity_time"])
    # The same frame embedded twice gives the same vector: eval mode, no dropout.
    again = Models.load(arcface=tiny_weights).face.embed(np.full((120, 120, 3), 90, np.uint8), (10.0, 10.0, 100.0, 100.0))
    assert np.allclose(emb, again)


def test_arcface_wrong_weights_are_refused(tmp_path):
    with pytest.raises(BenchError, match="ArcFace weights not found"):
        Models.load(arcface=tmp_path / "missing.safetensors")
    net = build_iresnet((1, 1, 1, 1))
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    state["fc.weight"] = torch.zeros(512, 10)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    with pytest.raises(BenchError, match="fc.weight has shape"):
        Models.load(arcface=bad)
