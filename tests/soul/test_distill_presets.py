"""Quality presets, and applying a distilled student and a light VAE to a live soul pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.backends.soul.presets import (
    PRESETS,
    PresetError,
    find_draft_parts,
    light_decoder,
    resolve_preset,
    use_student,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ALL = {"student": "/models/student", "light_vae": "/models/light"}


def test_draft_and_final_presets():
    draft = resolve_preset("draft", available=ALL)
    assert (draft["transformer"], draft["steps"], draft["vae"]) == ("student", 4, "light")
    assert (draft["width"], draft["height"]) == (832, 480) and draft["passes_per_step"] == 1
    assert draft["student_folder"] == "/models/student" and draft["fallbacks"] == []
    final = resolve_preset("final", available=ALL)
    assert (final["transformer"], final["steps"], final["vae"]) == ("teacher", 40, "full")
    assert (final["width"], final["height"]) == (1280, 704) and final["passes_per_step"] == 3
    assert final["student_folder"] is None and final["light_vae_folder"] is None
    assert resolve_preset("final", portrait=True)["width"] == 704
    json.dumps(draft)  # goes into the sidecar as is


def test_named_presets_ignore_options_but_custom_takes_them():
    assert resolve_preset("final", {"steps": 3})["steps"] == 40
    custom = resolve_preset("final", {"preset": "custom", "base": "draft", "steps": "6", "width": 640, "height": 384,
                                      "codebook_threshold": 0.1}, available=ALL)
    assert custom["preset"] == "custom" and custom["base"] == "draft"
    assert (custom["steps"], custom["width"], custom["height"], custom["transformer"]) == (6, 640, 384, "student")
    assert custom["overrides"] == ["codebook_threshold", "height", "steps", "width"]


def test_missing_draft_parts_fall_back_and_say_so():
    draft = resolve_preset("draft")
    assert (draft["transformer"], draft["steps"], draft["guidance_text"], draft["vae"]) == ("teacher", 12, 1.0, "full")
    assert len(draft["fallbacks"]) == 2


@pytest.mark.parametrize("bad", [{"width": 650}, {"steps": 0}, {"chunk_frames": 120}, {"vae": "tiny"},
                                 {"blend": "hard"}, {"guidance_text": -1}, {"steps": "many"}])
def test_bad_custom_options_are_refused(bad):
    with pytest.raises(PresetError):
        resolve_preset("draft", {"preset": "custom", **bad})
    with pytest.raises(PresetError):
        resolve_preset("best")


def test_find_draft_parts(tmp_path):
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "distill.json").write_text("{}")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "config.json").write_text("{}")
    parts = find_draft_parts(tmp_path, {"light_vae_folder": str(other)})
    assert parts == {"student": str(tmp_path / "student"), "light_vae": str(other)}
    assert find_draft_parts(None) == {"student": None, "light_vae": None}
    assert set(PRESETS) == {"draft", "final"}


def _distilled(pipe, tmp_path, rank):
    from engine.backends.soul.train import distill as D

    teacher = pipe.transformer
    samples = D.synthetic_samples(1, 16, 5, 4, 4, teacher.config.text_dim, seed=0)
    config = D.DistillConfig(guidance_text=3.0, teacher_steps=8, student_steps=4, cfg_iters=3, step_iters=2,
                             lr=1e-2, lora_rank=rank)
    student, report = D.distill(teacher, samples, config)
    return D.save_student(student, tmp_path / f"student{rank}", config, report)


@pytest.mark.parametrize("rank", [0, 4])
def test_use_student_swaps_weights_and_scheduler_then_restores(trained_pipe, tmp_path, rank):
    pipe = trained_pipe
    folder = _distilled(pipe, tmp_path, rank)
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}
    scheduler = pipe.scheduler
    transformer = pipe.transformer
    with use_student(pipe, folder) as meta:
        assert meta["steps"] == 4 and pipe.transformer is transformer
        assert type(pipe.scheduler).__name__ == "FlowMatchEulerDiscreteScheduler"
        changed = any(not torch.equal(before[k], v) for k, v in pipe.transformer.state_dict().items())
        assert changed
        frames = np.concatenate(list(pipe(np.full((64, 64, 3), 120, np.uint8), "hello", None, 24.0, 5, 64, 64,
                                          num_inference_steps=meta["steps"], guidance_text=1.0, guidance_audio=1.0,
                                          generator=torch.Generator().manual_seed(0))))
        assert frames.shape == (5, 64, 64, 3)
    assert pipe.scheduler is scheduler
    assert all(torch.allclose(before[k], v, atol=1e-6) for k, v in pipe.transformer.state_dict().items())


def test_light_decoder_for_a_pipeline(trained_pipe, tmp_path):
    from engine.backends.soul.light_vae import light_vae_for

    light = light_vae_for(trained_pipe.vae.config, (8, 8, 8, 8))
    light.save_pretrained(tmp_path / "light")
    decode = light_decoder(trained_pipe, tmp_path / "light")
    pieces = list(decode(torch.randn(1, 16, 3, 4, 4)))
    assert sum(p.shape[0] for p in pieces) == 9 and pieces[0].shape[1:] == (64, 64, 3)
    wrong = light_vae_for({**trained_pipe.vae.config, "latents_std": [3.0] * 16}, (8, 8, 8, 8))
    wrong.save_pretrained(tmp_path / "wrong")
    with pytest.raises(ValueError, match="latents_std"):
        light_decoder(trained_pipe, tmp_path / "wrong")
