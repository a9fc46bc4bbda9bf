"""Our audio modules against the reference's equations, evaluated on the published tensors by name."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter
from engine.backends.infinitetalk.testing import TINY
from tests.infinitetalk.test_routing import _reference_rope


def _adapter_and_file(folder, variant="multi"):
    path = folder / "infinitetalk" / variant / "infinitetalk.safetensors"
    model = InfiniteTalkAdapter.from_published(path, num_heads=TINY["heads"], audio_layers=TINY["audio_layers"],
                                               audio_dim=TINY["audio_dim"])
    return model, load_file(str(path))


def _linear(p, name, x):
    return F.linear(x, p[f"{name}.weight"], p[f"{name}.bias"])


def test_audio_projection_follows_audio_proj_model(tiny_folder):
    model, p = _adapter_and_file(tiny_folder)
    first = torch.randn(1, 1, 5, TINY["audio_layers"], TINY["audio_dim"])
    latter = torch.randn(1, 3, 8, TINY["audio_layers"], TINY["audio_dim"])
    # AudioProjModel.forward: relu(proj1 | proj1_vf) → concat frames → relu(proj2) → proj3 → LayerNorm
    a = torch.relu(_linear(p, "audio_proj.proj1", first.reshape(1, 1, -1)))
    b = torch.relu(_linear(p, "audio_proj.proj1_vf", latter.reshape(1, 3, -1)))
    x = torch.relu(_linear(p, "audio_proj.proj2", torch.cat([a, b], dim=1)))
    x = _linear(p, "audio_proj.proj3", x).reshape(1, 4, TINY["tokens"], TINY["cross"])
    expected = F.layer_norm(x, (TINY["cross"],), p["audio_proj.norm.weight"], p["audio_proj.norm.bias"], 1e-5)
    assert torch.allclose(model.audio_proj(first, latter), expected, atol=1e-5)


def _reference_attention(p, i, x, audio, frames, heads, q_pos=None, k_pos=None):
    """SingleStream(Muti)Attention after norm_x, written out from the reference (qk_norm off)."""
    b, seq, dim = x.shape
    d = dim // heads
    x = F.layer_norm(x, (dim,), p[f"blocks.{i}.norm_x.weight"], p[f"blocks.{i}.norm_x.bias"], 1e-6)
    pre = f"blocks.{i}.audio_cross_attn"
    q = _linear(p, f"{pre}.q_linear", x).view(b, seq, heads, d).permute(0, 2, 1, 3)  # B H (N_t S) d
    if q_pos is not None:
        q = _reference_rope(q, q_pos)
    q = q.reshape(b, heads, frames, seq // frames, d).permute(0, 2, 1, 3, 4).reshape(b * frames, heads, -1, d)
    enc = audio.reshape(b * frames, audio.shape[2], -1)
    kv = _linear(p, f"{pre}.kv_linear", enc).view(b * frames, enc.shape[1], 2, heads, d).permute(2, 0, 3, 1, 4)
    k, v = kv.unbind(0)
    if k_pos is not None:
        k = _reference_rope(k, k_pos)
    attn = torch.softmax(q @ k.transpose(-1, -2) / d**0.5, dim=-1) @ v  # B·N_t, H, S, d
    out = attn.reshape(b, frames, heads, -1, d).permute(0, 1, 3, 2, 4).reshape(b, seq, dim)
    return _linear(p, f"{pre}.proj", out)


def test_cross_attention_follows_single_stream_attention(tiny_folder):
    model, p = _adapter_and_file(tiny_folder, "single")
    frames, per_frame, dim = 3, 6, TINY["heads"] * TINY["head_dim"]
    x = torch.randn(1, frames * per_frame, dim)
    audio = torch.randn(1, frames, TINY["tokens"], TINY["cross"])
    ours = model(x, audio, frames, layer=1)
    assert torch.allclose(ours, _reference_attention(p, 1, x, audio, frames, TINY["heads"]), atol=1e-5)


def test_two_speaker_attention_follows_single_stream_muti_attention(tiny_folder):
    model, p = _adapter_and_file(tiny_folder, "multi")
    frames, per_frame, dim, n = 2, 6, TINY["heads"] * TINY["head_dim"], TINY["tokens"]
    x = torch.randn(1, frames * per_frame, dim)
    audio = torch.randn(1, frames, 2 * n, TINY["cross"])
    q_pos = torch.rand(1, frames * per_frame) * 24
    k_pos = torch.tensor([2.0] * n + [22.0] * n)  # per_frame positions: speaker 1 at 2, speaker 2 at 22
    ours = model(x, audio, frames, layer=0, query_positions=q_pos, speakers=2)
    expected = _reference_attention(p, 0, x, audio, frames, TINY["heads"], q_pos[0], k_pos)
    assert torch.allclose(ours, expected, atol=1e-5)
