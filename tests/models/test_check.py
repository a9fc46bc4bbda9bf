"""Folder validation: every kind accepted when complete; pickles, missing files and wrong shapes named."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from soul_studio.models.check import check_folder, human_size


def test_complete_soul_folder_is_ok_with_sizes_and_parameters(tiny_soul):
    check = check_folder(tiny_soul, "wan-ti2v-5b")
    assert check.ok, check.errors
    assert check.missing == []
    on_disk = sum(p.stat().st_size for p in tiny_soul.rglob("*") if p.is_file())
    assert check.size_bytes == on_disk and "transformer/diffusion_pytorch_model.safetensors" in check.files
    weights = load_file(tiny_soul / "transformer" / "diffusion_pytorch_model.safetensors")
    assert check.parameters["transformer"] == sum(t.numel() for t in weights.values())
    assert check.dtypes["transformer"] == "float32"
    assert len(check.fingerprint) == 64


def test_wan_folder_without_soul_parts_is_usable_and_says_what_to_add(wan_only):
    check = check_folder(wan_only, "wan-ti2v-5b")
    assert check.ok, check.errors
    assert check.missing == ["audio_adapter/", "audio_encoder/"]
    assert any("soul-adapter" in w for w in check.warnings) and any("audio-encoder" in w for w in check.warnings)


@pytest.mark.parametrize("kind, fixture", [("soul-adapter", "adapter_folder"), ("audio-encoder", "encoder_folder"),
                                           ("light-vae", "light_vae_folder"), ("student", "student_folder")])
def test_each_part_kind_validates(kind, fixture, request):
    folder = request.getfixturevalue(fixture)
    check = check_folder(folder, kind)
    assert check.ok, check.errors
    assert sum(check.parameters.values()) > 0 and check.size_bytes > 0


def test_pickle_weights_are_refused(adapter_folder):
    torch.save({"w": torch.zeros(2)}, adapter_folder / "pytorch_model.bin")
    check = check_folder(adapter_folder, "soul-adapter")
    assert not check.ok
    assert any(e.startswith("pytorch_model.bin is a pickle") for e in check.errors)


def test_missing_weight_file_is_named(adapter_folder, encoder_folder, tiny_soul, tmp_path):
    (adapter_folder / "diffusion_pytorch_model.safetensors").unlink()
    check = check_folder(adapter_folder, "soul-adapter")
    assert not check.ok and check.missing == ["diffusion_pytorch_model.safetensors"]
    (encoder_folder / "preprocessor_config.json").unlink()
    check = check_folder(encoder_folder, "audio-encoder")
    assert check.missing == ["preprocessor_config.json"]
    import shutil

    soul = tmp_path / "soul"
    shutil.copytree(tiny_soul, soul)
    (soul / "vae" / "config.json").unlink()
    check = check_folder(soul, "wan-ti2v-5b")
    assert not check.ok and "vae/config.json" in check.missing


def test_wrong_tensor_shape_is_reported(light_vae_folder, adapter_folder):
    path = light_vae_folder / "diffusion_pytorch_model.safetensors"
    tensors = load_file(path)
    name = sorted(tensors)[0]
    tensors[name] = torch.zeros(*[s + 1 for s in tensors[name].shape])
    save_file(tensors, path)
    check = check_folder(light_vae_folder, "light-vae")
    assert not check.ok and any(name in e and "shape" in e for e in check.errors)
    apath = adapter_folder / "diffusion_pytorch_model.safetensors"
    tensors = load_file(apath)
    dropped = sorted(tensors)[-1]
    del tensors[dropped]
    save_file(tensors, apath)
    check = check_folder(adapter_folder, "soul-adapter")
    assert not check.ok and any(dropped in e for e in check.errors)


def test_student_needs_its_distill_record(student_folder):
    (student_folder / "distill.json").unlink()
    check = check_folder(student_folder, "student")
    assert check.missing == ["distill.json"]


def test_fingerprint_follows_weights_and_configs(adapter_folder):
    before = check_folder(adapter_folder, "soul-adapter").fingerprint
    cfg = adapter_folder / "config.json"
    data = json.loads(cfg.read_text())
    data["comment"] = "edited"
    cfg.write_text(json.dumps(data))
    assert check_folder(adapter_folder, "soul-adapter").fingerprint != before


def test_not_a_folder_and_unknown_kind(tmp_path):
    assert not check_folder(tmp_path / "nope", "light-vae").ok
    with pytest.raises(ValueError, match="unknown model kind"):
        check_folder(tmp_path, "stable-diffusion")
    assert human_size(1536) == "1.5 KB" and human_size(3 * 1024**3) == "3.0 GB"
