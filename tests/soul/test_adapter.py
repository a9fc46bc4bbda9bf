"""Audio-injection layers: zero effect untrained, frame-local, hooked without forking the DiT."""

from __future__ import annotations

import torch
from diffusers import WanTransformer3DModel

from engine.backends.soul.adapter import AudioInjection, SoulAudioAdapter
from engine.backends.soul.testing import randomize_adapter_output


def _transformer(layers: int = 3) -> WanTransformer3DModel:
    torch.manual_seed(0)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=8,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=layers, rope_max_seq_len=64,
    ).eval()


def _adapter(layers: int = 3, inject_every: int = 1) -> SoulAudioAdapter:
    torch.manual_seed(1)
    return SoulAudioAdapter(audio_dim=8, audio_layers=2, context_frames=1, tokens_per_frame=2, proj_dim=16,
                            cross_dim=8, model_dim=32, num_heads=2, num_blocks=layers, inject_every=inject_every).eval()


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
    model, adapter = _transformer(), _adapter()
    hidden, timestep, text, feats = _inputs()
    plain = _run(model, hidden, timestep, text)
    injection = AudioInjection(model, adapter)
    tokens = adapter.project_audio(feats)
    calls = []
    adapter.register_forward_hook(lambda *a: calls.append(1))
    with injection.audio(tokens):
        injected = _run(model, hidden, timestep, text)
    assert len(calls) == 3  # the adapter really ran after each block
    assert torch.equal(plain, injected)


def test_trained_adapter_changes_output_with_audio_and_hooks_come_off():
    model, adapter = _transformer(), _adapter()
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


def test_inject_every_selects_blocks():
    model, adapter = _transformer(layers=4), _adapter(layers=4, inject_every=2)
    assert adapter.block_indices == [0, 2] and len(adapter.layers) == 2
    AudioInjection(model, adapter)
    hooked = [bool(block._forward_hooks) for block in model.blocks]
    assert hooked == [True, False, True, False]


def test_audio_tokens_grouped_per_latent_frame():
    adapter = _adapter()
    _, _, _, feats = _inputs(frames=9)
    tokens = adapter.project_audio(feats)
    per_frame = adapter.proj(feats.flatten(2))  # (1, 9, N, C)
    n = per_frame.shape[2]
    assert tokens.shape == (1, 3, 4 * n, 8)
    assert torch.allclose(tokens[0, 0], per_frame[0, 0].repeat(4, 1))  # portrait frame: frame 0 only
    assert torch.allclose(tokens[0, 1], per_frame[0, 1:5].reshape(4 * n, -1))
    assert torch.allclose(tokens[0, 2], per_frame[0, 5:9].reshape(4 * n, -1))


def test_cross_attention_is_frame_local():
    adapter = _adapter()
    randomize_adapter_output(adapter, seed=5)
    hidden = torch.randn(1, 3 * 6, 32)
    tokens = torch.randn(1, 3, 4, 8)
    changed = tokens.clone()
    changed[:, 1] += 1.0
    with torch.no_grad():
        a = adapter(hidden, tokens, 3, 0).view(1, 3, 6, 32)
        b = adapter(hidden, changed, 3, 0).view(1, 3, 6, 32)
    assert torch.equal(a[:, 0], b[:, 0]) and torch.equal(a[:, 2], b[:, 2])
    assert not torch.allclose(a[:, 1], b[:, 1])


def test_save_and_load_round_trip(tmp_path):
    adapter = _adapter(inject_every=3)
    randomize_adapter_output(adapter, seed=6)
    adapter.save_pretrained(tmp_path / "audio_adapter")
    assert (tmp_path / "audio_adapter" / "diffusion_pytorch_model.safetensors").is_file()
    loaded = SoulAudioAdapter.from_pretrained(tmp_path / "audio_adapter")
    assert loaded.config.inject_every == 3 and loaded.block_indices == [0]
    for (k, v), (k2, v2) in zip(adapter.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
