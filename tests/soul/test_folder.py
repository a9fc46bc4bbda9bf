"""Model folder validation: what is missing, pickled, mis-shaped or inconsistent is named."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from engine.backends.base import BackendError
from engine.backends.soul.errors import ModelFolderError
from engine.backends.soul.folder import read_safetensors_header, validate_model_folder
from engine.backends.soul.loader import load_soul_pipeline


def test_tiny_folder_is_valid_and_fingerprinted(tiny_soul_folder):
    report = validate_model_folder(tiny_soul_folder)
    assert report.ok, report.errors
    assert set(report.components) >= {"transformer", "vae", "text_encoder", "audio_adapter", "audio_encoder"}
    assert report.components["transformer"].parameters > 0
    assert report.components["vae"].dtype == "float32"
    assert len(report.fingerprint) == 64
    assert validate_model_folder(tiny_soul_folder).fingerprint == report.fingerprint
    assert issubclass(ModelFolderError, BackendError)


def test_fingerprint_follows_config(soul_copy, tiny_soul_folder):
    cfg = soul_copy / "scheduler" / "scheduler_config.json"
    data = json.loads(cfg.read_text())
    data["flow_shift"] = 3.0
    cfg.write_text(json.dumps(data))
    assert validate_model_folder(soul_copy).fingerprint != validate_model_folder(tiny_soul_folder).fingerprint


def test_missing_weights_named_with_place(soul_copy):
    (soul_copy / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    report = validate_model_folder(soul_copy)
    assert not report.ok
    assert any("vae/diffusion_pytorch_model.safetensors is missing" in e for e in report.errors)
    with pytest.raises(ModelFolderError) as info:
        load_soul_pipeline(soul_copy)
    assert "vae/diffusion_pytorch_model.safetensors" in str(info.value)
    assert info.value.hint


def test_missing_component_folder_and_extra_file(soul_copy):
    import shutil

    shutil.rmtree(soul_copy / "audio_adapter")
    (soul_copy / "audio_encoder" / "preprocessor_config.json").unlink()
    errors = validate_model_folder(soul_copy).errors
    assert any(e.startswith("audio_adapter/ is missing") for e in errors)
    assert any("audio_encoder/preprocessor_config.json is missing" in e for e in errors)


def test_pickle_weights_refused_before_loading(soul_copy):
    state = {"w": torch.zeros(2)}
    torch.save(state, soul_copy / "transformer" / "diffusion_pytorch_model.bin")
    report = validate_model_folder(soul_copy)
    assert any("transformer/diffusion_pytorch_model.bin is a pickle" in e for e in report.errors)
    with pytest.raises(ModelFolderError, match="pickle"):
        load_soul_pipeline(soul_copy)


def test_wrong_shape_detected(soul_copy):
    cfg = soul_copy / "transformer" / "config.json"
    data = json.loads(cfg.read_text())
    data["ffn_dim"] = 48  # weights were saved with 64
    cfg.write_text(json.dumps(data))
    errors = validate_model_folder(soul_copy).errors
    assert any("blocks.0.ffn.net.0.proj.weight has shape [64, 32]" in e and "[48, 32]" in e for e in errors), errors


def test_missing_tensor_and_bad_dtype(soul_copy):
    path = soul_copy / "audio_adapter" / "diffusion_pytorch_model.safetensors"
    from safetensors.torch import load_file

    state = load_file(path)
    state.pop("layers.0.to_out.weight")
    state["proj.fc1.bias"] = state["proj.fc1.bias"].to(torch.int8)
    save_file(state, path)
    assert "layers.0.to_out.weight" not in read_safetensors_header(path)
    errors = validate_model_folder(soul_copy).errors
    assert any("audio_adapter/diffusion_pytorch_model.safetensors lacks tensor layers.0.to_out.weight" in e
               for e in errors), errors
    assert any("I8" in e for e in errors), errors


def test_components_must_agree(soul_copy):
    cfg = soul_copy / "audio_adapter" / "config.json"
    data = json.loads(cfg.read_text())
    data["num_blocks"] = 3
    cfg.write_text(json.dumps(data))
    errors = validate_model_folder(soul_copy, check_shapes=False).errors
    assert any("num_blocks 3 != transformer num_layers 2" in e for e in errors), errors


def test_not_a_folder(tmp_path):
    report = validate_model_folder(tmp_path / "nope")
    assert not report.ok and "not a folder" in report.errors[0]
