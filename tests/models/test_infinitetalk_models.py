"""``soul-studio models add/check`` on InfiniteTalk folders: the whole folder, or its parts registered apart."""

from __future__ import annotations

import json
import shutil

import pytest

testing = pytest.importorskip("engine.backends.infinitetalk.testing")

from soul_studio.cli import main  # noqa: E402
from soul_studio.models.check import check_folder  # noqa: E402
from soul_studio.models.registry import ModelRegistry, infinitetalk_render_options  # noqa: E402
from soul_studio.models.settings import StudioPaths  # noqa: E402


@pytest.fixture(scope="module")
def tiny_it(tmp_path_factory):
    return testing.build_tiny_infinitetalk_folder(tmp_path_factory.mktemp("models") / "it", seed=4)


@pytest.fixture
def it_copy(tiny_it, tmp_path):
    dst = tmp_path / "it"
    shutil.copytree(tiny_it, dst)
    return dst


def test_add_and_check_a_complete_folder(it_copy, capsys):
    assert main(["models", "add", "infinitetalk", str(it_copy), "--kind", "infinitetalk"]) == 0
    out = capsys.readouterr().out
    assert "registered infinitetalk (infinitetalk)" in out and "transformer:" in out
    assert main(["models", "--json", "check", "infinitetalk"]) == 0
    report = json.loads(capsys.readouterr().out)["infinitetalk"]
    assert report["ok"] and {"transformer", "adapter_single", "adapter_multi"} <= set(report["parameters"])
    opts = infinitetalk_render_options(ModelRegistry(StudioPaths.default()))
    assert opts == {"model_folder": str(it_copy.resolve())}


def test_a_renamed_adapter_tensor_is_named_and_refused(it_copy, capsys):
    from safetensors.torch import load_file, save_file

    path = it_copy / "infinitetalk" / "single" / "infinitetalk.safetensors"
    state = load_file(str(path))
    state["blocks.0.audio_cross_attn.q_proj.weight"] = state.pop("blocks.0.audio_cross_attn.q_linear.weight")
    save_file(state, str(path))
    assert main(["models", "add", "bad", str(it_copy), "--kind", "infinitetalk"]) == 1
    err = capsys.readouterr().err
    assert "q_linear.weight" in err and "not registered" in err
    assert ModelRegistry(StudioPaths.default()).names() == []


def test_parts_registered_apart(it_copy, tmp_path):
    adapter, audio = tmp_path / "adapters", tmp_path / "wav2vec"
    shutil.move(str(it_copy / "infinitetalk"), adapter)
    shutil.move(str(it_copy / "audio_encoder"), audio)
    backbone = check_folder(it_copy, "infinitetalk")
    assert backbone.ok, backbone.errors
    assert set(backbone.missing) == {"infinitetalk/", "audio_encoder/"} and len(backbone.warnings) >= 2
    assert check_folder(adapter, "infinitetalk-adapter").ok
    assert check_folder(audio, "infinitetalk-audio").ok
    (adapter / "multi" / "infinitetalk.safetensors").unlink()
    only_single = check_folder(adapter, "infinitetalk-adapter")
    assert only_single.ok and any("two speakers" in w for w in only_single.warnings)
    registry = ModelRegistry(StudioPaths.default())
    registry.add("it", "infinitetalk", it_copy)
    registry.add("adapters", "infinitetalk-adapter", adapter)
    registry.add("voice", "infinitetalk-audio", audio)
    assert infinitetalk_render_options(registry) == {"model_folder": str(it_copy.resolve()),
                                                    "adapter_folder": str(adapter.resolve()),
                                                    "audio_encoder_folder": str(audio.resolve())}


def test_pickles_and_a_mismatched_lora_in_the_folder(it_copy):
    from diffusers import WanTransformer3DModel

    from engine.backends.infinitetalk.lora_testing import write_tiny_lora

    cfg = json.loads((it_copy / "transformer" / "config.json").read_text())
    wrong = WanTransformer3DModel.from_config({**cfg, "attention_head_dim": cfg["attention_head_dim"] * 2,
                                              "added_kv_proj_dim": (cfg.get("added_kv_proj_dim") or 1) * 2})
    write_tiny_lora(it_copy / "loras" / "wrong.safetensors", wrong)
    (it_copy / "audio_encoder" / "pytorch_model.bin").write_bytes(b"pickle")
    check = check_folder(it_copy, "infinitetalk")
    assert any("pytorch_model.bin" in e and "pickle" in e for e in check.errors)
    assert any(e.startswith("loras/wrong.safetensors") for e in check.errors)
