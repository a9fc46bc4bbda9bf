"""Step/CFG distillation on tiny Wan transformers: losses fall, the student is saved and usable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from engine.backends.soul.train import distill as D
from engine.backends.soul.train.lora import add_lora, apply_lora_delta, merge_lora, save_lora


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and do not stall when the CPUs are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



def tiny_transformer(seed: int = 0, channels: int = 8):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    return WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8, in_channels=channels,
        out_channels=channels, text_dim=16, freq_dim=16, ffn_dim=32, num_layers=2, cross_attn_norm=True,
        qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )


def test_sigma_grids_nest_and_match_the_saved_scheduler():
    coarse = D.student_sigmas(4, 5.0)
    assert len(coarse) == 5 and coarse[0] == 1.0 and coarse[-1] == 0.0
    fine = D.refine(coarse, 5.0)
    assert len(fine) == 9 and torch.equal(fine[0::2], coarse)
    assert torch.all(fine[:-1] > fine[1:])  # strictly decreasing
    u = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert torch.allclose(D.unshift_sigma(D.shift_sigma(u, 3.0), 3.0), u)
    with pytest.raises(ValueError):
        D.DistillConfig(teacher_steps=12, student_steps=4)
    assert D.DistillConfig(teacher_steps=32, student_steps=4).rounds == 3


def test_guided_prediction_is_the_cfg_combination():
    model = tiny_transformer().eval()
    s = D.synthetic_samples(1, 8, 5, 4, 4, 16, seed=3)[0]
    x = torch.randn_like(s.latents)
    p1 = D.Predictor(guidance_text=1.0)
    p5 = D.Predictor(guidance_text=5.0)
    with torch.no_grad():
        cond = p1.conditional(model, x, 0.5, s)
        assert torch.allclose(p1.guided(model, x, 0.5, s), cond)
        uncond = p1.conditional(model, x, 0.5, D.DistillSample(s.latents, s.negative, cond_latents=s.cond_latents))
        assert torch.allclose(p5.guided(model, x, 0.5, s), uncond + 5.0 * (cond - uncond), atol=1e-5)
    assert not torch.allclose(cond, uncond)


def test_distillation_loop_learns_and_saves_a_full_student(tmp_path):
    teacher = tiny_transformer()
    samples = D.synthetic_samples(2, 8, 5, 4, 4, 16, seed=1)
    config = D.DistillConfig(guidance_text=4.0, teacher_steps=8, student_steps=4, cfg_iters=40, step_iters=30,
                             lr=2e-3, seed=0)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    student, report = D.distill(teacher, samples, config)
    g0, g1 = sum(report.guidance_losses[:5]) / 5, sum(report.guidance_losses[-5:]) / 5
    s0, s1 = sum(report.step_losses[:5]) / 5, sum(report.step_losses[-5:]) / 5
    assert g1 < g0 and s1 < s0, (g0, g1, s0, s1)
    assert all(torch.equal(before[k], v) for k, v in teacher.state_dict().items())  # teacher untouched
    out = D.save_student(student, tmp_path / "student", config, report)
    meta = D.read_student_config(out)
    assert meta["kind"] == "full" and meta["steps"] == 4 and meta["guidance_text"] == 1.0
    assert meta["folded_guidance"]["text"] == 4.0
    from diffusers import FlowMatchEulerDiscreteScheduler, WanTransformer3DModel

    again = WanTransformer3DModel.from_pretrained(out / "transformer", use_safetensors=True)
    x = torch.randn(1, 8, 2, 4, 4)
    t = torch.tensor([500.0])
    with torch.no_grad():
        a = student(hidden_states=x, timestep=t, encoder_hidden_states=samples[0].text, return_dict=False)[0]
        b = again(hidden_states=x, timestep=t, encoder_hidden_states=samples[0].text, return_dict=False)[0]
    assert torch.allclose(a, b)
    sched = FlowMatchEulerDiscreteScheduler.from_pretrained(out / "scheduler")
    sched.set_timesteps(4)
    assert [round(float(v), 6) for v in sched.sigmas] == meta["sigmas"]


def test_lora_student_trains_saves_and_merges_in_place(tmp_path):
    teacher = tiny_transformer(seed=4)
    samples = D.synthetic_samples(2, 8, 5, 4, 4, 16, seed=2)
    config = D.DistillConfig(guidance_text=4.0, teacher_steps=8, student_steps=4, cfg_iters=30, step_iters=20,
                             lr=5e-3, lora_rank=4)
    student, report = D.distill(teacher, samples, config)
    assert sum(report.guidance_losses[-5:]) < sum(report.guidance_losses[:5])
    out = D.save_student(student, tmp_path / "lora", config, report)
    assert (out / "student_lora.safetensors").is_file() and not (out / "transformer").exists()
    live = tiny_transformer(seed=4)  # the loaded teacher of a warm pipeline
    original = {k: v.clone() for k, v in live.state_dict().items()}
    assert apply_lora_delta(live, out) == len(json.loads((out / "lora_config.json").read_text())["modules"])
    merged = merge_lora(student)
    x, t = torch.randn(1, 8, 2, 4, 4), torch.tensor([700.0])
    with torch.no_grad():
        a = merged(hidden_states=x, timestep=t, encoder_hidden_states=samples[0].text, return_dict=False)[0]
        b = live(hidden_states=x, timestep=t, encoder_hidden_states=samples[0].text, return_dict=False)[0]
    assert torch.allclose(a, b, atol=1e-5)
    apply_lora_delta(live, out, sign=-1.0)  # back to the teacher for a final render
    assert all(torch.allclose(original[k], v, atol=1e-6) for k, v in live.state_dict().items())


def test_lora_helpers_reject_empty_models(tmp_path):
    with pytest.raises(ValueError):
        add_lora(torch.nn.Sequential(torch.nn.ReLU()))
    with pytest.raises(ValueError):
        save_lora(torch.nn.Linear(2, 2), tmp_path)


def test_cli_runs_end_to_end_on_a_tiny_soul_folder(tmp_path):
    from engine.backends.soul.testing import build_tiny_soul_folder

    folder = build_tiny_soul_folder(tmp_path / "model", trained_adapter=True)
    out = tmp_path / "student"
    help_text = subprocess.run([sys.executable, "-m", "engine.backends.soul.train.distill", "--help"],
                               capture_output=True, text=True, check=True).stdout
    assert "--student-steps" in help_text and "--lora-rank" in help_text
    rc = D.main(["--model", str(folder), "--out", str(out), "--synthetic", "2", "--frames", "5",
                 "--latent-size", "4x4", "--teacher-steps", "8", "--student-steps", "4", "--cfg-iters", "16",
                 "--step-iters", "8", "--lr", "1e-2", "--lora-rank", "4"])
    assert rc == 0
    meta = D.read_student_config(out)
    assert meta["audio"] is True and meta["kind"] == "lora"
    assert meta["guidance_loss_last"] < meta["guidance_loss_first"]


@pytest.mark.parametrize(("method", "dtype"), [("dmd", torch.float32), ("progressive", torch.bfloat16)])
def test_lora_student_on_the_shared_frozen_teacher(tmp_path, method, dtype):
    """One copy of the teacher: its weights never move, LoRA off gives the teacher back, DMD runs."""
    from engine.backends.soul.train.lora import active_adapter, lora_modules

    teacher = tiny_transformer(seed=3).to(dtype)
    reference = tiny_transformer(seed=3).to(dtype)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    samples = D.synthetic_samples(2, 8, 5, 4, 4, teacher.config.text_dim, seed=1)
    config = D.DistillConfig(guidance_text=3.0, teacher_steps=8, student_steps=4, cfg_iters=3, step_iters=2,
                             dmd_iters=4, lr=1e-2, lora_rank=4, method=method)
    student, report = D.distill(teacher, samples, config, share_teacher=True)
    assert student is teacher
    for name, mod in lora_modules(student).items():
        assert torch.equal(mod.base.weight, before[f"{name}.weight"])  # frozen base, bit for bit
        assert not mod.extra  # the previous-round / critic factors are gone once trained
    assert len(report.step_losses) == (4 if method == "dmd" else 2 * config.rounds)
    assert all(torch.isfinite(torch.tensor(report.step_losses)))
    x, t = torch.randn(1, 8, 2, 4, 4).to(dtype), torch.tensor([600.0])
    text = samples[0].text.to(dtype)
    with torch.no_grad():
        with active_adapter(student, None):
            as_teacher = student(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
        plain = reference(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
        drafted = student(hidden_states=x, timestep=t, encoder_hidden_states=text, return_dict=False)[0]
    assert torch.equal(as_teacher, plain) and not torch.equal(drafted, plain)
    out = D.save_student(student, tmp_path / "student", config, report)
    meta = D.read_student_config(out)
    assert ("distribution matching" in meta["method"]) == (method == "dmd")


def test_dmd_needs_a_lora_student():
    with pytest.raises(ValueError, match="LoRA"):
        D.DistillConfig(teacher_steps=8, student_steps=4, method="dmd")


def test_dmd_generator_step_moves_samples_towards_the_teacher():
    """When the critic agrees with the generator, a DMD step pulls x0 towards the teacher's estimate."""
    from engine.backends.soul.train.dmd import dmd_generator_loss

    g = torch.Generator().manual_seed(0)
    real = torch.randn(1, 4, 3, 2, 2, generator=g)
    x0 = (real + torch.randn(real.shape, generator=g)).requires_grad_(True)
    mask = torch.ones(1, 1, 3, 2, 2)
    mask[:, :, :1] = 0  # known frames never move
    fake = x0.detach().clone()  # the critic's estimate of the generator's own samples
    dmd_generator_loss(x0, real, fake, mask).backward()
    weight = (x0.detach() - real).abs().mean()
    expected = (fake - real) / weight * mask / (mask.sum() * 4)
    assert torch.allclose(x0.grad, expected, atol=1e-6)
    stepped = x0.detach() - 0.5 * x0.grad / x0.grad.abs().max()
    before, after = (x0.detach() - real)[:, :, 1:].norm(), (stepped - real)[:, :, 1:].norm()
    assert after < before and torch.equal(stepped[:, :, :1], x0.detach()[:, :, :1])
