"""Audio-injection layers: copy-initialised from the text attention, gated to zero, placed after it."""

from __future__ import annotations

import torch
from diffusers import WanTransformer3DModel

from engine.backends.soul.adapter import AudioInjection, SoulAudioAdapter
from engine.backends.soul.testing import perturb_norms, randomize_adapter_output


def _transformer(layers: int = 3) -> WanTransformer3DModel:
    torch.manual_seed(0)
    model = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=8,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=layers, rope_max_seq_len=64, cross_attn_norm=True,
    ).eval()
    perturb_norms(model)
    return model


def _adapter(model: WanTransformer3DModel) -> SoulAudioAdapter:
    torch.manual_seed(1)
    return SoulAudioAdapter.for_transformer(model, audio_dim=8, audio_layers=2, context_frames=1,
                                            tokens_per_frame=2, proj_dim=16).eval()


def _inputs(frames: int = 9):
    gen = torch.Generator().manual_seed(2)
    latent_frames = (frames - 1) // 4 + 1
    hidden = torch.randn(1, 8, latent_frames, 4, 6, generator=gen)
    timestep = torch.full((1, latent_frames * 2 * 3), 700.0)
    text = torch.randn(1, 5, 32, generator=gen)
    feats = torch.randn(1, frames, 3, 2, 8, generator=gen)
    return hidden, timestep, text, feats


def _run(model, hidden, timestep, text):
    with torch.no_grad():
        return model(hidden_states=hidden, timestep=timestep, encoder_hidden_states=text, return_dict=False)[0]


def test_untrained_adapter_leaves_backbone_output_unchanged():
    model = _transformer()
    adapter = _adapter(model)
    hidden, timestep, text, feats = _inputs()
    plain = _run(model, hidden, timestep, text)
    injection = AudioInjection(model, adapter)
    tokens = adapter.project_audio(feats)
    calls = []
    adapter.register_forward_hook(lambda *a: calls.append(1))
    with injection.audio(tokens):
        injected = _run(model, hidden, timestep, text)
    assert len(calls) == 3  # the adapter really ran in every block
    assert torch.equal(plain, injected)
    assert all(torch.equal(layer.gate, torch.zeros_like(layer.gate)) for layer in adapter.layers)


def test_copy_init_reproduces_the_text_attention():
    model = _transformer()
    adapter = _adapter(model)
    for layer, block in zip(adapter.layers, model.blocks):
        for name in ("to_q", "to_k", "to_v", "norm_q", "norm_k"):
            for pname, p in getattr(layer, name).named_parameters():
                assert torch.equal(p, getattr(getattr(block.attn2, name), pname)), (name, pname)
        assert torch.equal(layer.to_out.weight, block.attn2.to_out[0].weight)
    # with one latent frame, frame-local audio attention over tokens T is attn2 over T
    x = torch.randn(1, 12, 32)
    tokens = torch.randn(1, 1, 7, 32)
    with torch.no_grad():
        ours = adapter.layers[1].attend(x, tokens, frames=1)
        theirs = model.blocks[1].attn2(x, tokens[:, 0], None, None)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_audio_residual_enters_after_text_attention_before_ffn():
    """Block 0's stream before its FFN differs, with audio, by exactly gate ⊙ attend(norm2(h), audio)."""
    model = _transformer()
    adapter = _adapter(model)
    randomize_adapter_output(adapter, seed=4)
    hidden, timestep, text, feats = _inputs()
    seen: dict[str, list[torch.Tensor]] = {"attn2_in": [], "ffn_stream": []}
    block = model.blocks[0]
    h1 = block.attn2.register_forward_pre_hook(lambda m, a: seen["attn2_in"].append(a[0].clone()))
    h2 = block.norm3.register_forward_pre_hook(lambda m, a: seen["ffn_stream"].append(a[0].clone()))
    injection = AudioInjection(model, adapter)
    tokens = adapter.project_audio(feats)
    try:
        _run(model, hidden, timestep, text)
        with injection.audio(tokens):
            _run(model, hidden, timestep, text)
    finally:
        h1.remove(), h2.remove()
    assert torch.equal(seen["attn2_in"][0], seen["attn2_in"][1])  # nothing changed before attn2
    frames = hidden.shape[2]
    with torch.no_grad():
        expected = adapter.layers[0].gate * adapter.layers[0].attend(seen["attn2_in"][0], tokens, frames)
    assert expected.abs().mean() > 1e-3
    assert torch.allclose(seen["ffn_stream"][1] - seen["ffn_stream"][0], expected, atol=1e-5)


def test_trained_adapter_changes_output_with_audio_and_hooks_come_off():
    model = _transformer()
    adapter = _adapter(model)
    randomize_adapter_output(adapter, seed=4)
    hidden, timestep, text, feats = _inputs()
    plain = _run(model, hidden, timestep, text)
    injection = AudioInjection(model, adapter)
    with injection.audio(adapter.project_audio(feats)):
        a = _run(model, hidden, timestep, text)
    with injection.audio(adapter.project_audio(feats.flip(1))):
        b = _run(model, hidden, timestep, text)
    assert not torch.allclose(a, plain) and not torch.allclose(a, b)
    assert torch.equal(_run(model, hidden, timestep, text), plain)  # no tokens: silent
    injection.remove()
    with injection.audio(adapter.project_audio(feats)):
        assert torch.equal(_run(model, hidden, timestep, text), plain)


def test_audio_tokens_grouped_per_latent_frame():
    adapter = _adapter(_transformer())
    _, _, _, feats = _inputs(frames=9)
    tokens = adapter.project_audio(feats)
    per_frame = adapter.proj(feats.flatten(2))  # (1, 9, N, D)
    n = per_frame.shape[2]
    assert tokens.shape == (1, 3, 4 * n, 32)
    assert torch.allclose(tokens[0, 0], per_frame[0, 0].repeat(4, 1))  # portrait frame: frame 0 only
    assert torch.allclose(tokens[0, 1], per_frame[0, 1:5].reshape(4 * n, -1))
    assert torch.allclose(tokens[0, 2], per_frame[0, 5:9].reshape(4 * n, -1))


def test_cross_attention_is_frame_local():
    adapter = _adapter(_transformer())
    randomize_adapter_output(adapter, seed=5)
    hidden = torch.randn(1, 3 * 6, 32)
    tokens = torch.randn(1, 3, 4, 32)
    changed = tokens.clone()
    changed[:, 1] += 1.0
    with torch.no_grad():
        a = adapter(hidden, tokens, 3, 0).view(1, 3, 6, 32)
        b = adapter(hidden, changed, 3, 0).view(1, 3, 6, 32)
    assert torch.equal(a[:, 0], b[:, 0]) and torch.equal(a[:, 2], b[:, 2])
    assert not torch.allclose(a[:, 1], b[:, 1])


def test_save_and_load_round_trip(tmp_path):
    adapter = _adapter(_transformer())
    randomize_adapter_output(adapter, seed=6)
    adapter.save_pretrained(tmp_path / "audio_adapter")
    assert (tmp_path / "audio_adapter" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = SoulAudioAdapter.from_pretrained(tmp_path / "audio_adapter")
    assert loaded.config.audio_encoder_type == "whisper" and len(loaded.layers) == 3
    for (k, v), (k2, v2) in zip(adapter.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
