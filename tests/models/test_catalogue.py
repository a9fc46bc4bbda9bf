"""The model catalogue (sources, licences, download commands, VRAM) and the draft-LoRA model kind."""

from __future__ import annotations

import json

import pytest

from soul_studio.models.catalogue import CATALOGUE, CatalogueEntry, entries, entry, infinitetalk_vram_table
from soul_studio.models.check import check_folder
from soul_studio.models.registry import KINDS, ModelRegistry, infinitetalk_render_options
from soul_studio.models.settings import StudioPaths


def test_every_infinitetalk_component_is_catalogued_with_a_registrable_kind():
    repos = {e.repo_id for e in entries("infinitetalk")}
    assert {"MeiGen-AI/InfiniteTalk", "Wan-AI/Wan2.1-I2V-14B-480P-Diffusers",
            "TencentGameMate/chinese-wav2vec2-base"} <= repos
    assert any(e.kind == "draft-lora" for e in entries("infinitetalk"))
    assert all(e.kind in KINDS for e in CATALOGUE)
    wav = entry("chinese-wav2vec2-base")
    assert "--revision refs/pr/1" in wav.download_command("/m") and wav.download_command("/m").endswith("/m/audio_encoder")
    assert entry("infinitetalk").download_command("/m") == (
        "hf download MeiGen-AI/InfiniteTalk single/infinitetalk.safetensors multi/infinitetalk.safetensors "
        "--local-dir /m/infinitetalk")


def test_restricted_and_unconfirmed_licences_are_flagged():
    open_entry = entry("infinitetalk")
    assert not open_entry.flagged and "commercial use allowed" in open_entry.licence_note
    nc = CatalogueEntry("x", "X", "infinitetalk", "draft-lora", "someone/x", ("x.safetensors",), "loras",
                        "CC-BY-NC-4.0", False, 1, "test")
    assert nc.flagged and "NON-COMMERCIAL" in nc.licence_note
    assert entry("lightx2v-i2v-480p-rank64").flagged  # repackaging states no licence of its own


def test_vram_table_names_a_placement_for_each_card():
    rows = infinitetalk_vram_table()
    row = next(r for r in rows if r["preset"] == "480p final")
    assert row["cards"]["24 GB"].startswith("group offload")
    assert row["cards"]["48 GB"].startswith("model CPU offload")
    assert row["cards"]["80 GB"].startswith("every model resident")
    assert row["peaks_gb"]["resident"] > row["peaks_gb"]["model_offload"] > row["peaks_gb"]["group_offload"]


def test_catalogue_command_prints_sources_licences_and_json(capsys):
    from soul_studio.cli import main

    assert main(["models", "catalogue", "--backend", "infinitetalk", "--folder", "/data/it"]) == 0
    out = capsys.readouterr().out
    assert "MeiGen-AI/InfiniteTalk" in out and "licence flag:" in out and "24 GB: group offload" in out
    assert "--local-dir /data/it/infinitetalk" in out
    assert main(["models", "--json", "catalogue"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {m["key"] for m in data["models"]} == {e.key for e in CATALOGUE}
    assert data["infinitetalk_vram"][0]["cards"]


@pytest.fixture
def tiny_model_with_lora(tmp_path):
    from engine.backends.infinitetalk.lora_testing import write_tiny_lora
    from tests.infinitetalk.tiny_i2v import tiny_transformer

    model = tiny_transformer()
    root = tmp_path / "it"
    model.save_pretrained(root / "transformer", safe_serialization=True)
    lora = write_tiny_lora(root / "loras" / "Lightx2v" / "lightx2v_I2V_14B_480p_cfg_step_distill_rank64_bf16.safetensors",
                           model, rank=4)
    return root, lora


def test_draft_lora_kind_checks_the_published_layout(tiny_model_with_lora, tmp_path):
    root, lora = tiny_model_with_lora
    check = check_folder(lora, "draft-lora")
    assert check.ok, check.errors
    assert check.parameters["draft_lora"] > 0 and check.dtypes["draft_lora"] == "bfloat16"
    alone = tmp_path / "alone.safetensors"
    alone.write_bytes(lora.read_bytes())
    assert check_folder(alone, "draft-lora").ok  # no transformer next to it: layout check only
    cfg = json.loads((root / "transformer" / "config.json").read_text())
    (root / "transformer" / "config.json").write_text(json.dumps({**cfg, "attention_head_dim": 16,
                                                                  "added_kv_proj_dim": 32}))
    bad = check_folder(root / "loras" / "Lightx2v", "draft-lora")
    assert not bad.ok and any("attn1.to_q" in e for e in bad.errors)


def test_pickled_or_garbage_lora_is_refused(tmp_path):
    junk = tmp_path / "loras"
    junk.mkdir()
    (junk / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    check = check_folder(junk, "draft-lora")
    assert not check.ok and "broken.safetensors" in check.errors[0]
    (junk / "old.ckpt").write_bytes(b"pickle")
    assert any("pickle" in e for e in check_folder(junk, "draft-lora").errors)


def test_registered_infinitetalk_parts_become_job_options(tiny_model_with_lora):
    root, lora = tiny_model_with_lora
    registry = ModelRegistry(StudioPaths.default())
    registry.add("draft", "draft-lora", lora)
    registry.add("voice", "infinitetalk-audio", root)
    opts = infinitetalk_render_options(registry)
    assert opts == {"draft_lora": str(lora.resolve()), "audio_encoder_folder": str(root.resolve())}
