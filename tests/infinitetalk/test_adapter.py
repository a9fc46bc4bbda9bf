"""The adapter against the published layout: names, shapes, strict loading, audio windows."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.backends.infinitetalk import keys
from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter, latent_audio_windows
from engine.backends.infinitetalk.testing import TINY, reference_adapter_shapes, write_published_adapter

FULL = {"audio_dim": 768, "audio_layers": 12, "audio_window": 5, "temporal_stride": 4, "intermediate_dim": 512,
        "cross_dim": 768, "context_tokens": 32, "model_dim": 5120, "num_heads": 40, "num_blocks": 40}


def _load(path):
    return InfiniteTalkAdapter.from_published(path, num_heads=TINY["heads"], audio_layers=TINY["audio_layers"],
                                              audio_dim=TINY["audio_dim"])


def test_full_size_layout_is_the_published_one():
    ours = keys.published_shapes(FULL)
    reference = reference_adapter_shapes(5120, 40)
    assert ours == reference
    assert len(ours) == 330
    assert ours["audio_proj.proj1.weight"] == (512, 46080)
    assert ours["audio_proj.proj1_vf.weight"] == (512, 73728)
    assert ours["audio_proj.proj3.weight"] == (24576, 512)
    assert ours["blocks.39.audio_cross_attn.kv_linear.weight"] == (10240, 768)
    # every published name maps to exactly one of our parameters, built on the meta device
    with torch.device("meta"):
        model = InfiniteTalkAdapter.from_config(FULL)
    mapped = {keys.to_ours(n): s for n, s in ours.items()}
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == mapped
    assert sum(v.numel() for v in model.parameters()) == 2_487_168_000


def test_config_recovered_from_header(tiny_folder):
    path = tiny_folder / "infinitetalk" / "single" / "infinitetalk.safetensors"
    cfg = InfiniteTalkAdapter.config_for(path, TINY["heads"], TINY["audio_layers"], TINY["audio_dim"])
    assert cfg["audio_window"] == 5 and cfg["temporal_stride"] == 4 and cfg["context_tokens"] == TINY["tokens"]
    assert cfg["model_dim"] == TINY["heads"] * TINY["head_dim"] and cfg["num_blocks"] == TINY["layers"]


def test_strict_load_maps_every_published_tensor(tiny_folder):
    path = tiny_folder / "infinitetalk" / "single" / "infinitetalk.safetensors"
    published = load_file(str(path))
    model = _load(path)
    state = model.state_dict()
    assert len(state) == len(published)
    assert torch.equal(state["audio_proj.proj_latter.weight"], published["audio_proj.proj1_vf.weight"])
    assert torch.equal(state["layers.1.to_kv.bias"], published["blocks.1.audio_cross_attn.kv_linear.bias"])
    assert torch.equal(state["layers.0.norm.weight"], published["blocks.0.norm_x.weight"])
    back = model.to_published()
    assert back.keys() == published.keys() and all(torch.equal(back[k], published[k]) for k in back)


@pytest.mark.parametrize("damage, expected", [
    ("drop", "missing tensor blocks.1.audio_cross_attn.q_linear.bias"),
    ("extra", "unexpected tensor blocks.1.audio_cross_attn.q_norm.weight"),
    ("rename", "unexpected tensor audio_proj.proj1vf.weight (not an InfiniteTalk name)"),
    ("shape", "tensor blocks.0.audio_cross_attn.proj.weight has shape"),
])
def test_damaged_file_is_refused_naming_the_tensor(tmp_path, damage, expected):
    state = load_file(str(write_published_adapter(tmp_path / "good.safetensors")))
    if damage == "drop":
        del state["blocks.1.audio_cross_attn.q_linear.bias"]
    elif damage == "extra":
        state["blocks.1.audio_cross_attn.q_norm.weight"] = torch.ones(8)
    elif damage == "rename":
        state["audio_proj.proj1vf.weight"] = state.pop("audio_proj.proj1_vf.weight")
        state["audio_proj.proj1_vf.weight"] = state["audio_proj.proj1vf.weight"].clone()
    else:
        state["blocks.0.audio_cross_attn.proj.weight"] = torch.zeros(32, 31)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    cfg = InfiniteTalkAdapter.config_for(tmp_path / "good.safetensors", 2, TINY["audio_layers"], TINY["audio_dim"])
    with pytest.raises(keys.AdapterFileError) as err:
        InfiniteTalkAdapter.from_published(bad, config=cfg)
    assert expected in str(err.value)
    assert "MeiGen-AI/InfiniteTalk" in err.value.hint


def test_latent_audio_windows_follow_the_reference_split():
    # frame f, window slot w carry the value 10·f + w so the split can be read back
    frames, width = 9, 5
    values = torch.tensor([[10.0 * f + w for w in range(width)] for f in range(frames)])
    windows = values[None, :, :, None, None]  # (1, 9, 5, 1, 1)
    first, latter = latent_audio_windows(windows, 4)
    assert first.flatten().tolist() == [0, 1, 2, 3, 4]
    assert latter.shape[1:3] == (2, 8)
    # latent 1 covers frames 1..4: left half + centre of frame 1, centres of 2 and 3, centre + right half of 4
    assert latter[0, 0].flatten().tolist() == [10, 11, 12, 22, 32, 42, 43, 44]
    assert latter[0, 1].flatten().tolist() == [50, 51, 52, 62, 72, 82, 83, 84]


def test_projection_gives_tokens_per_latent_frame(tiny_folder):
    model = _load(tiny_folder / "infinitetalk" / "single" / "infinitetalk.safetensors")
    windows = torch.randn(2, 13, 5, TINY["audio_layers"], TINY["audio_dim"])
    tokens = model.project(windows)
    assert tokens.shape == (2, 4, TINY["tokens"], TINY["cross"])
    # LayerNorm at the output: each token is normalised (then scaled by the norm's weights)
    norm = model.audio_proj.norm
    raw = (tokens - norm.bias) / norm.weight
    assert torch.allclose(raw.mean(-1), torch.zeros(2, 4, TINY["tokens"]), atol=1e-4)
