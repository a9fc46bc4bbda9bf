"""Two-speaker routing: masks, the reference attention map, rotary positions, voice → face."""

from __future__ import annotations

import math

import pytest
import torch

from engine.backends.infinitetalk.adapter import AudioCrossAttention
from engine.backends.infinitetalk.routing import (
    BACKGROUND,
    audio_positions,
    latent_masks,
    masks_from_boxes,
    reference_attention_map,
    rope_1d,
    token_positions,
)


def _reference_rope(x, pos):
    """The reference's RotaryPositionalEmbedding1D written out from its equations."""
    d = x.shape[-1]
    freqs = 1.0 / (10000 ** (torch.arange(0, d, 2)[: d // 2].float() / d))
    ang = torch.einsum("n,f->nf", pos.float(), freqs)
    ang = torch.stack([ang, ang], dim=-1).flatten(-2)  # "... n -> ... (n r)", r=2
    x1, x2 = x[..., 0::2], x[..., 1::2]
    rot = torch.stack((-x2, x1), dim=-1).flatten(-2)
    return x * ang.cos() + rot * ang.sin()


def _reference_map(q, k, masks, ref_tokens):
    """calculate_x_ref_attn_map over two head halves, averaged, as get_attn_map_with_target does."""
    heads = q.shape[2]
    total = 0
    for half in (slice(0, heads // 2), slice(heads // 2, heads)):
        vq = (q[:, :, half] / q.shape[-1] ** 0.5).transpose(1, 2)
        rk = k[:, :ref_tokens, half].transpose(1, 2)
        attn = (vq @ rk.transpose(-2, -1)).softmax(-1)
        rows = [((attn * m[None, None, None]).sum(-1) / m.sum()).permute(0, 2, 1).mean(-1) for m in masks]
        total = total + torch.cat(rows, dim=0)
    return total / 2


def test_rope_matches_the_reference_formula():
    x = torch.randn(2, 3, 7, 16)
    pos = torch.tensor([0.0, 2.0, 3.5, 12.0, 20.0, 22.0, 24.0])
    assert torch.allclose(rope_1d(x, pos), _reference_rope(x, pos), atol=1e-5)


def test_attention_map_matches_the_reference():
    gen = torch.Generator().manual_seed(0)
    q, k = torch.randn(1, 30, 4, 8, generator=gen), torch.randn(1, 30, 4, 8, generator=gen)
    masks = torch.zeros(3, 10)
    masks[0, :4], masks[1, 5:9] = 1, 1
    masks[2] = 1 - masks[0] - masks[1]
    ours = reference_attention_map(q, k, masks, ref_tokens=10, chunk=7)[0]
    assert torch.allclose(ours, _reference_map(q, k, masks, 10), atol=1e-6)


def test_boxes_become_masks_cropped_like_the_portrait():
    # a 200×100 portrait covered into 64×64: scaled to 128×64, centre crop keeps x in [32, 96)
    masks = masks_from_boxes([[0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]], 200, 100, 64, 64)
    assert masks.shape == (3, 64, 64)
    assert masks[0, :, :32].all() and not masks[0, :, 32:].any()
    assert masks[1, :, 32:].all() and masks[2].sum() == 0
    small = latent_masks(masks, (8, 8), (4, 4))
    assert small.shape == (3, 16) and small[0].sum() == 8 and small[1].sum() == 8
    with pytest.raises(ValueError, match="normalised"):
        masks_from_boxes([[0.6, 0.0, 0.4, 1.0]], 10, 10, 16, 16)


def test_positions_take_each_speakers_band():
    # tokens 0-3 look at speaker 1, 4-7 at speaker 2, 8-9 at the background
    amap = torch.full((1, 3, 10), 0.01)
    amap[0, 0, :4] = torch.tensor([0.5, 0.6, 0.7, 0.8])
    amap[0, 1, 4:8] = torch.tensor([0.9, 0.5, 0.6, 0.7])
    amap[0, 2, 8:] = 0.9
    pos = token_positions(amap)[0]
    assert ((pos[:4] >= 0) & (pos[:4] <= 4)).all() and math.isclose(float(pos[3]), 4.0, abs_tol=1e-5)
    assert ((pos[4:8] >= 20) & (pos[4:8] <= 24)).all() and math.isclose(float(pos[4]), 24.0, abs_tol=1e-5)
    assert (pos[8:] == BACKGROUND).all()
    assert audio_positions(2).tolist() == [2.0, 2.0, 22.0, 22.0]


def test_each_voice_reaches_only_the_tokens_routed_to_it():
    """With q and k made position-only, attention follows the rotary bands exactly."""
    dim, heads, cross, n, frames, per_frame = 64, 1, 8, 3, 2, 6
    layer = AudioCrossAttention(dim, cross, heads, eps=1e-6)
    with torch.no_grad():
        layer.norm.weight.fill_(1.0), layer.norm.bias.zero_()
        layer.to_q.weight.zero_(), layer.to_q.bias.fill_(3.0)  # every query the same constant vector
        layer.to_kv.weight.zero_()
        layer.to_kv.bias[:dim] = 3.0  # every key the same constant vector
        layer.to_kv.weight[dim:] = torch.randn(dim, cross)  # values carry the audio
        layer.to_kv.bias[dim:] = 0.0
        layer.to_out.weight.copy_(torch.eye(dim)), layer.to_out.bias.zero_()
    hidden = torch.randn(1, frames * per_frame, dim)
    # per frame: tokens 0-1 on speaker 1's band, 2-3 on speaker 2's, 4-5 background
    pos = torch.tensor([1.5, 2.5, 21.0, 23.0, 12.0, 12.0] * frames)[None]
    audio = torch.randn(1, frames, 2 * n, cross)
    louder_1 = audio.clone()
    louder_1[:, :, :n] += 5 * torch.randn(1, frames, n, cross)
    louder_2 = audio.clone()
    louder_2[:, :, n:] += 5 * torch.randn(1, frames, n, cross)
    with torch.no_grad():
        base = layer(hidden, audio, frames, pos, speakers=2)
        d1 = (layer(hidden, louder_1, frames, pos, speakers=2) - base).norm(dim=-1).view(frames, per_frame)
        d2 = (layer(hidden, louder_2, frames, pos, speakers=2) - base).norm(dim=-1).view(frames, per_frame)
    # speaker 1's voice moves its own tokens far more than speaker 2's tokens, and vice versa
    assert (d1[:, :2].min() > 20 * d1[:, 2:4].max()) and (d2[:, 2:4].min() > 20 * d2[:, :2].max())


def test_multi_pipeline_routes_with_real_masks(multi_pipe):
    """Through the transformer hooks: each block computes positions from the portrait masks."""
    from tests.infinitetalk.test_injection import T, _tokens

    pipe = multi_pipe
    transformer, injection = pipe.transformer, pipe.injection
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(1, transformer.config.in_channels, T, 4, 6, generator=gen)
    text = torch.randn(1, 512, 32, generator=gen)
    image = torch.randn(1, 17, 32, generator=gen)
    tokens = torch.cat([_tokens(pipe.audio_adapter, 1), _tokens(pipe.audio_adapter, 2)], dim=2)
    masks = latent_masks(masks_from_boxes([[0.0, 0.0, 0.5, 1.0], [0.5, 0.0, 1.0, 1.0]], 96, 64, 96, 64),
                         (4, 6), (2, 3))
    injection.keep_positions = True
    try:
        with torch.no_grad(), injection.audio(tokens, speakers=2, masks=masks):
            two = transformer(hidden_states=x, timestep=torch.tensor([500.0]), encoder_hidden_states=text,
                              encoder_hidden_states_image=image, return_dict=False)[0]
            swapped = torch.cat(tokens.chunk(2, dim=2)[::-1], dim=2)
            with injection.audio(swapped, speakers=2, masks=masks):
                other = transformer(hidden_states=x, timestep=torch.tensor([500.0]), encoder_hidden_states=text,
                                    encoder_hidden_states_image=image, return_dict=False)[0]
    finally:
        injection.keep_positions = False
    positions = injection.last_positions
    assert sorted(positions) == [0, 1] and positions[0].shape == (1, T * 6)
    assert ((positions[0] >= 0) & (positions[0] <= 24)).all()
    assert (two - other).abs().max() > 1e-4  # which voice belongs to which face matters
