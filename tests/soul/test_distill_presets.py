"""Quality presets, and applying a distilled student and a light VAE to a live soul pipeline."""

from __future__ import annotations

import copy
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
def test_use_student_swaps_in_the_student_and_the_final_stays_bit_identical(trained_pipe, tmp_path, rank):
    pipe = trained_pipe
    folder = _distilled(pipe, tmp_path, rank)
    before = {k: v.clone() for k, v in pipe.transformer.state_dict().items()}
    scheduler = pipe.scheduler
    transformer = pipe.transformer

    def render(steps: int) -> np.ndarray:
        return np.concatenate(list(pipe(np.full((64, 64, 3), 120, np.uint8), "hello", None, 24.0, 5, 64, 64,
                                        num_inference_steps=steps, guidance_text=1.0, guidance_audio=1.0,
                                        generator=torch.Generator().manual_seed(0))))

    final_before = render(2)
    with use_student(pipe, folder) as meta:
        assert meta["steps"] == 4 and pipe.transformer is transformer
        assert type(pipe.scheduler).__name__ == "FlowMatchEulerDiscreteScheduler"
        draft = render(meta["steps"])
        latents = torch.randn(1, 16, 2, 4, 4, generator=torch.Generator().manual_seed(3))
        with torch.no_grad():
            student_out = pipe.transformer(hidden_states=latents, timestep=torch.tensor([500.0]),
                                           encoder_hidden_states=torch.zeros(1, 4, 32), return_dict=False)[0]
    assert draft.shape == (5, 64, 64, 3)
    assert pipe.scheduler is scheduler
    assert all(torch.equal(before[k], v) for k, v in pipe.transformer.state_dict().items())
    assert np.array_equal(render(2), final_before)
    with torch.no_grad():
        teacher_out = pipe.transformer(hidden_states=latents, timestep=torch.tensor([500.0]),
                                       encoder_hidden_states=torch.zeros(1, 4, 32), return_dict=False)[0]
    assert not torch.allclose(student_out, teacher_out, atol=1e-6)  # the student really ran


def test_bf16_lora_draft_never_alters_the_teacher(tmp_path):
    """Folding a LoRA into bf16 weights and out again changes bits; the hooks never write them."""
    from engine.backends.soul.train.lora import LoraHooks, add_lora, apply_lora_delta, lora_modules, save_lora

    teacher = _tiny_teacher()
    student = copy.deepcopy(teacher)
    add_lora(student, rank=4)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for mod in lora_modules(student).values():
            mod.lora_B.weight.copy_(torch.randn(mod.lora_B.weight.shape, generator=gen) * 0.05)
    save_lora(student, tmp_path / "lora")
    # in fp32 the hooks compute exactly what the LoRA-wrapped student computes
    x32 = torch.randn(1, 16, 2, 4, 4, generator=gen)
    args32 = {"timestep": torch.tensor([500.0]), "encoder_hidden_states": torch.zeros(1, 4, 32), "return_dict": False}
    with torch.no_grad():
        wrapped = student(hidden_states=x32, **args32)[0]
        hooks32 = LoraHooks(tmp_path / "lora")
        hooks32.attach(teacher)
        hooked = teacher(hidden_states=x32, **args32)[0]
        hooks32.detach()
    assert torch.allclose(hooked, wrapped, atol=1e-5)
    teacher = teacher.to(torch.bfloat16)
    original = {k: v.clone() for k, v in teacher.state_dict().items()}
    x = torch.randn(1, 16, 2, 4, 4, generator=gen).to(torch.bfloat16)
    args = {"timestep": torch.tensor([500.0]), "encoder_hidden_states": torch.zeros(1, 4, 32, dtype=torch.bfloat16),
            "return_dict": False}
    with torch.no_grad():
        plain = teacher(hidden_states=x, **args)[0]
        hooks = LoraHooks(tmp_path / "lora")
        assert hooks.attach(teacher) == len(lora_modules(student))
        drafted = teacher(hidden_states=x, **args)[0]
        hooks.detach()
        again = teacher(hidden_states=x, **args)[0]
    assert not torch.equal(plain, drafted)
    assert torch.equal(plain, again)
    assert all(torch.equal(original[k], v) for k, v in teacher.state_dict().items())
    apply_lora_delta(teacher, tmp_path / "lora", 1.0)
    apply_lora_delta(teacher, tmp_path / "lora", -1.0)
    changed = sum(int((original[k] != v).sum()) for k, v in teacher.state_dict().items())
    assert changed > 0  # why renders never merge


def _tiny_teacher():
    from diffusers import WanTransformer3DModel

    torch.manual_seed(2)
    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=16,
                                 out_channels=16, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2,
                                 rope_max_seq_len=64).eval()


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
