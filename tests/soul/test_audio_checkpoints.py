"""Audio-encoder checkpoints as published: Whisper with its decoder, Wav2Vec2ForCTC, legacy weight norm."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from engine.backends.soul.audio import SoulAudioEncoder
from engine.backends.soul.audio_checkpoint import RECOMMENDED, canonical_key, load_audio_encoder
from engine.backends.soul.folder import validate_model_folder
from engine.backends.soul.testing import save_tiny_audio_encoder
from tests.soul.conftest import speech_like


def _rename(folder, fn) -> None:
    path = folder / "model.safetensors"
    state = load_file(str(path))
    save_file({fn(k): v.contiguous() for k, v in state.items()}, str(path), metadata={"format": "pt"})


def _features(folder) -> torch.Tensor:
    model, extractor, _ = load_audio_encoder(folder)
    return SoulAudioEncoder(model, extractor, context_frames=1).encode(speech_like(0.5, 200.0), 24.0, 9)


def test_key_mapping_of_published_layouts():
    assert canonical_key("whisper", "model.encoder.layers.0.fc1.weight") == "layers.0.fc1.weight"
    assert canonical_key("whisper", "encoder.conv1.weight") == "conv1.weight"
    assert canonical_key("whisper", "model.decoder.layers.0.fc1.weight") is None
    assert canonical_key("whisper", "proj_out.weight") is None
    assert canonical_key("wav2vec2", "wav2vec2.encoder.layers.0.attention.k_proj.weight") == (
        "encoder.layers.0.attention.k_proj.weight")
    assert canonical_key("wav2vec2", "lm_head.weight") is None
    assert canonical_key("wav2vec2", "wav2vec2.encoder.pos_conv_embed.conv.weight_g") == (
        "encoder.pos_conv_embed.conv.parametrizations.weight.original0")
    assert canonical_key("wav2vec2", "encoder.pos_conv_embed.conv.weight_v") == (
        "encoder.pos_conv_embed.conv.parametrizations.weight.original1")


def test_whisper_for_conditional_generation_layout_loads_the_same_encoder(soul_copy):
    enc = soul_copy / "audio_encoder"
    before = _features(enc)
    # the Hub's openai/whisper-* files: model.encoder.* / model.decoder.*
    _rename(enc, lambda k: "model." + k)
    config = json.loads((enc / "config.json").read_text())
    config["architectures"] = ["WhisperForConditionalGeneration"]
    (enc / "config.json").write_text(json.dumps(config))
    report = validate_model_folder(soul_copy)
    assert report.ok, report.errors
    assert any("outside the audio encoder" in w for w in report.warnings)
    assert report.components["audio_encoder"].class_name == "WhisperEncoder"
    assert torch.equal(_features(enc), before)


def test_wav2vec2_for_ctc_and_legacy_weight_norm_names(soul_copy):
    enc = soul_copy / "audio_encoder"
    shutil.rmtree(enc)
    save_tiny_audio_encoder(enc, "wav2vec2")  # Wav2Vec2ForCTC: wav2vec2.* plus lm_head
    keys = set(load_file(str(enc / "model.safetensors")))
    assert any(k.startswith("wav2vec2.") for k in keys) and "lm_head.weight" in keys
    adapter_cfg = soul_copy / "audio_adapter" / "config.json"
    cfg = json.loads(adapter_cfg.read_text())
    report = validate_model_folder(soul_copy)
    assert any("trained on whisper features" in e and "wav2vec2" in e for e in report.errors), report.errors
    cfg["audio_encoder_type"] = "wav2vec2"
    adapter_cfg.write_text(json.dumps(cfg))
    assert validate_model_folder(soul_copy).ok, validate_model_folder(soul_copy).errors
    before = _features(enc)
    _rename(enc, lambda k: k.replace("parametrizations.weight.original0", "weight_g")
            .replace("parametrizations.weight.original1", "weight_v"))
    assert any(k.endswith("weight_g") for k in load_file(str(enc / "model.safetensors")))
    report = validate_model_folder(soul_copy)
    assert report.ok, report.errors
    assert torch.equal(_features(enc), before)


def test_wrong_or_incomplete_audio_encoders_are_named(soul_copy):
    enc = soul_copy / "audio_encoder"
    state = load_file(str(enc / "model.safetensors"))
    state.pop("encoder.layers.1.fc2.weight")
    save_file(state, str(enc / "model.safetensors"), metadata={"format": "pt"})
    errors = validate_model_folder(soul_copy).errors
    assert any("layers.1.fc2.weight" in e for e in errors), errors
    with pytest.raises(ValueError, match="layers.1.fc2.weight"):
        load_audio_encoder(enc)
    config = json.loads((enc / "config.json").read_text())
    config["model_type"] = "hubert"
    (enc / "config.json").write_text(json.dumps(config))
    errors = validate_model_folder(soul_copy).errors
    assert any("'whisper' or 'wav2vec2'" in e and RECOMMENDED["whisper"] in e for e in errors), errors


def test_whisper_features_follow_the_audio_in_time(tiny_pipe):
    """Whisper pads every segment to its fixed window; that padding must not stretch the timeline."""
    import numpy as np

    enc = tiny_pipe.audio_encoder_wrapper()
    assert enc.kind == "whisper" and enc.hop == 320
    samples = np.zeros(16_000, np.float32)
    samples[8_000:] = speech_like(0.5, 220.0)  # silence, then speech from 0.5 s
    assert enc.hidden_states(samples).shape[0] == 50  # 1 s at 50 Hz, not the whole 4 s window
    feats = enc.encode(samples, 24.0, 25)[:, 2]  # each frame's own features
    change = (feats - feats[0]).flatten(1).norm(dim=1)
    assert float(change[:10].mean()) < 0.5 * float(change[14:].mean())
