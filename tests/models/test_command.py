"""``soul-studio models``: the registry file, list/add/remove/check, and VRAM estimates."""

from __future__ import annotations

import argparse
import json

import pytest

from soul_studio.models.command import register
from soul_studio.models.registry import ModelRegistry, RegistryError
from soul_studio.models.settings import StudioPaths
from soul_studio.models.vram import PRESETS, ModelSizes, estimate, estimate_all, latent_tokens


def models(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="soul-studio")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["models", *argv])
    return args.func(args)


def test_settings_folder_comes_from_the_environment(config_dir):
    assert StudioPaths.default().models_file == config_dir / "models.json"
    assert StudioPaths.default({}).config_dir.name == "soul-studio"


def test_add_list_check_remove_round_trip(adapter_folder, light_vae_folder, config_dir, capsys):
    assert models("add", "voice", str(adapter_folder), "--kind", "soul-adapter") == 0
    assert models("add", "fast-vae", str(light_vae_folder), "--kind", "light-vae") == 0
    saved = json.loads((config_dir / "models.json").read_text())
    assert [m["name"] for m in saved["models"]] == ["voice", "fast-vae"]
    assert saved["models"][0]["path"] == str(adapter_folder.resolve()) and len(saved["models"][0]["fingerprint"]) == 64
    capsys.readouterr()
    assert models("--json", "list") == 0
    listed = json.loads(capsys.readouterr().out)["models"]
    assert {(m["name"], m["status"]) for m in listed} == {("voice", "ok"), ("fast-vae", "ok")}
    assert all(m["size_bytes"] > 0 for m in listed)
    assert models("check") == 0
    out = capsys.readouterr().out
    assert "voice [soul-adapter] ok" in out and "fast-vae [light-vae] ok" in out and "parameters" in out
    # Damage one folder: check names the missing file and fails; list shows it.
    (light_vae_folder / "diffusion_pytorch_model.safetensors").unlink()
    assert models("check", "fast-vae") == 1
    out = capsys.readouterr().out
    assert "missing: diffusion_pytorch_model.safetensors" in out
    assert models("check", "voice") == 0
    assert models("remove", "fast-vae") == 0
    assert ModelRegistry(StudioPaths.default()).names() == ["voice"]
    assert models("remove", "fast-vae") == 2
    assert "no model named 'fast-vae'" in capsys.readouterr().err


def test_add_refuses_a_bad_folder_unless_forced(adapter_folder, capsys):
    import torch

    torch.save({"w": torch.zeros(1)}, adapter_folder / "extra.pt")
    assert models("add", "bad", str(adapter_folder), "--kind", "soul-adapter") == 1
    assert "extra.pt is a pickle" in capsys.readouterr().err
    assert ModelRegistry(StudioPaths.default()).names() == []
    assert models("add", "bad", str(adapter_folder), "--kind", "soul-adapter", "--force") == 1
    assert ModelRegistry(StudioPaths.default()).names() == ["bad"]
    assert models("add", "bad", str(adapter_folder), "--kind", "soul-adapter", "--force") == 2  # name taken


def test_changed_folder_is_flagged(adapter_folder, capsys):
    assert models("add", "voice", str(adapter_folder), "--kind", "soul-adapter") == 0
    cfg = adapter_folder / "config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "note": "retrained"}))
    capsys.readouterr()
    models("--json", "list")
    assert json.loads(capsys.readouterr().out)["models"][0]["status"] == "changed"
    models("check", "voice")
    assert "changed since it was added" in capsys.readouterr().out


def test_damaged_registry_is_kept_aside(config_dir):
    config_dir.mkdir(parents=True)
    (config_dir / "models.json").write_text("{not json")
    with pytest.raises(RegistryError, match="damaged"):
        ModelRegistry(StudioPaths.default())
    assert (config_dir / "models.json.broken").read_text() == "{not json"
    assert ModelRegistry(StudioPaths.default()).names() == []


def test_estimates_order_and_offload():
    full = {(e.preset, e.offload): e.total_gib for e in estimate_all()}
    assert full[("final", False)] > full[("final", True)]
    assert full[("draft", False)] > full[("draft", True)]
    assert full[("final", False)] > full[("draft", False)]
    # Wan2.2-TI2V-5B at 720p is known to need offload on a 24 GB card and to fit it with offload.
    assert full[("final", False)] > 24 > full[("final", True)]
    assert latent_tokens(PRESETS["final"]) == 31 * 22 * 40


def test_estimates_follow_the_registered_weights(tiny_soul):
    from soul_studio.models.check import check_folder

    sizes = ModelSizes.from_checks([check_folder(tiny_soul, "wan-ti2v-5b")])
    assert sizes.source == "registered model folders" and sizes.width == 32
    tiny = estimate("final", False, sizes)
    ref = estimate("final", False)
    assert tiny.total_gib < ref.total_gib
    assert tiny.breakdown["transformer weights"] < 0.01


def test_vram_command_without_gpu_compares_card_sizes(tiny_soul, capsys):
    assert models("add", "soul", str(tiny_soul), "--kind", "wan-ti2v-5b") == 0
    capsys.readouterr()
    assert models("vram") == 0
    out = capsys.readouterr().out
    assert "no CUDA GPU" in out and "24 GB card" in out and "80 GB card" in out
    assert models("--json", "vram", "--card-gb", "8") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sizes_from"] == "registered model folders" and list(data["targets"]) == ["8 GB card"]
    assert len(data["estimates"]) == 4 and all(r["fits"]["8 GB card"] in (True, False) for r in data["estimates"])
    assert models("vram", "--gpu", "0") == 2


def test_registered_folders_become_soul_job_options(tiny_soul, student_folder, light_vae_folder, wan_only):
    from soul_studio.models.registry import soul_render_options

    registry = ModelRegistry(StudioPaths.default())
    assert soul_render_options(registry) == {}
    registry.add("base", "wan-ti2v-5b", wan_only)
    registry.add("soul", "wan-ti2v-5b", tiny_soul)
    registry.add("fast", "student", student_folder)
    options = soul_render_options(ModelRegistry(StudioPaths.default()))
    assert options == {"model_folder": str(tiny_soul.resolve()), "student_folder": str(student_folder.resolve())}
    registry.add("lvae", "light-vae", light_vae_folder)
    from engine.backends.soul.presets import find_draft_parts

    found = find_draft_parts(None, soul_render_options(registry))
    assert found == {"student": str(student_folder.resolve()), "light_vae": str(light_vae_folder.resolve())}
