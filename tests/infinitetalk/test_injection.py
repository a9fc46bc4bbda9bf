"""The hooks put the audio cross-attention exactly where InfiniteTalk has it, and nowhere else."""

from __future__ import annotations

import pytest
import torch

from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter
from engine.backends.infinitetalk.injection import AudioInjection
from engine.backends.infinitetalk.testing import TINY

T, HL, WL = 3, 4, 6  # latent frames and latent grid (token grid 2×3)


@pytest.fixture(scope="module")
def parts(tiny_folder):
    from diffusers import WanTransformer3DModel

    transformer = WanTransformer3DModel.from_pretrained(tiny_folder / "transformer").eval()
    adapter = InfiniteTalkAdapter.from_published(tiny_folder / "infinitetalk" / "single" / "infinitetalk.safetensors",
                                                 num_heads=2, audio_layers=TINY["audio_layers"],
                                                 audio_dim=TINY["audio_dim"])
    gen = torch.Generator().manual_seed(0)
    inputs = {
        "hidden_states": torch.randn(1, transformer.config.in_channels, T, HL, WL, generator=gen),
        "timestep": torch.tensor([500.0]),
        "encoder_hidden_states": torch.randn(1, 512, TINY["text_dim"], generator=gen),
        "encoder_hidden_states_image": torch.randn(1, 17, TINY["clip_dim"], generator=gen),
    }
    return transformer, adapter, inputs


def _tokens(adapter, seed):
    windows = torch.randn(1, 4 * (T - 1) + 1, 5, TINY["audio_layers"], TINY["audio_dim"],
                          generator=torch.Generator().manual_seed(seed))
    return adapter.project(windows)


def _block_by_hand(block, adapter_layer, h, text, temb, rotary, tokens):
    """Diffusers' WanTransformerBlock with the reference's audio step between cross-attention and FFN."""
    shift, scale, gate, c_shift, c_scale, c_gate = (block.scale_shift_table + temb.float()).chunk(6, dim=1)
    x = (block.norm1(h.float()) * (1 + scale) + shift).type_as(h)
    h = (h.float() + block.attn1(x, None, None, rotary) * gate).type_as(h)
    h = h + block.attn2(block.norm2(h.float()).type_as(h), text, None, None)
    h = h + adapter_layer(h, tokens, T)  # x = x + audio_cross_attn(norm_x(x), audio)
    x = (block.norm3(h.float()) * (1 + c_scale) + c_shift).type_as(h)
    return (h.float() + block.ffn(x).float() * c_gate).type_as(h)


def test_hooked_block_equals_reference_block_order(parts):
    transformer, adapter, inputs = parts
    tokens = _tokens(adapter, 1)
    captured = {}
    handle = transformer.blocks[1].register_forward_pre_hook(
        lambda m, args: captured.update(args=args), with_kwargs=False)
    injection = AudioInjection(transformer, adapter)
    try:
        outputs = {}
        hook = transformer.blocks[1].register_forward_hook(lambda m, a, out: outputs.update(out=out))
        with torch.no_grad(), injection.audio(tokens):
            transformer(**inputs, return_dict=False)
        hook.remove()
        injection.remove()
        h, text, temb, rotary = captured["args"]
        with torch.no_grad():
            expected = _block_by_hand(transformer.blocks[1], adapter.layers[1], h, text, temb, rotary, tokens)
    finally:
        handle.remove()
        injection.remove()
    assert torch.allclose(outputs["out"], expected, atol=1e-5)


def test_no_tokens_or_removed_hooks_leave_the_backbone_bit_identical(parts):
    transformer, adapter, inputs = parts
    with torch.no_grad():
        plain = transformer(**inputs, return_dict=False)[0]
        injection = AudioInjection(transformer, adapter)
        try:
            with injection.audio(None):
                silent = transformer(**inputs, return_dict=False)[0]
            with injection.audio(_tokens(adapter, 2)):
                heard = transformer(**inputs, return_dict=False)[0]
        finally:
            injection.remove()
        after = transformer(**inputs, return_dict=False)[0]
    assert torch.equal(plain, silent) and torch.equal(plain, after)
    assert (heard - plain).abs().max() > 1e-3


def test_zero_output_adapter_adds_exactly_nothing(parts, zero_folder):
    transformer, _, inputs = parts
    zero = InfiniteTalkAdapter.from_published(zero_folder / "infinitetalk" / "single" / "infinitetalk.safetensors",
                                              num_heads=2, audio_layers=TINY["audio_layers"],
                                              audio_dim=TINY["audio_dim"])
    with torch.no_grad():
        plain = transformer(**inputs, return_dict=False)[0]
        injection = AudioInjection(transformer, zero)
        try:
            with injection.audio(_tokens(zero, 3)):
                heard = transformer(**inputs, return_dict=False)[0]
        finally:
            injection.remove()
    assert torch.equal(plain, heard)


def test_different_audio_changes_the_prediction(parts):
    transformer, adapter, inputs = parts
    injection = AudioInjection(transformer, adapter)
    try:
        with torch.no_grad():
            outs = []
            for seed in (4, 4, 5):
                with injection.audio(_tokens(adapter, seed)):
                    outs.append(transformer(**inputs, return_dict=False)[0])
    finally:
        injection.remove()
    assert torch.equal(outs[0], outs[1])
    assert (outs[0] - outs[2]).abs().max() > 1e-3


def test_mismatched_adapter_is_refused(parts):
    transformer, _, _ = parts
    wrong = InfiniteTalkAdapter(audio_dim=8, audio_layers=1, intermediate_dim=8, cross_dim=8, context_tokens=2,
                                model_dim=32, num_heads=2, num_blocks=3)
    with pytest.raises(ValueError, match="3 blocks"):
        AudioInjection(transformer, wrong)
