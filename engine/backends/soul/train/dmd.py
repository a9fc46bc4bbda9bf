"""Distribution-matching step distillation (DMD2-style), next to progressive halving.

DMD (Yin et al., 2024) and DMD2 train a few-step generator so that the distribution of
its samples matches the teacher's, instead of regressing the teacher's ODE moves:

* the **generator** is the LoRA student; at a step ``σ_k`` of its own few-step schedule
  it turns a noised clip ``x_k`` into a clean estimate ``x̂0 = x_k − σ_k·v_student``;
* ``x̂0`` is noised again at a random ``σ`` and scored twice: by the **real** score, the
  frozen teacher *with its guidance* (text and audio CFG, so step and CFG distillation are
  joint), and by the **fake** score, a critic tracking the generator's own distribution;
* the generator moves along ``x̂0_fake − x̂0_real`` (the KL gradient in x0 form),
  normalised by ``mean |x̂0 − x̂0_real|`` as in DMD, through the surrogate loss
  ``½‖x̂0 − sg(x̂0 − grad)‖²``;
* the critic is trained by flow matching on the generator's (detached) samples, as the
  teacher was trained on data (DMD2's two-time-scale rule: ``critic_steps`` per step).

The critic is a second set of LoRA factors on the same frozen base (``fake``), and the
teacher is that base with LoRA off, so the 5B weights exist once. The optional GAN head
of DMD2 is not used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from engine.backends.soul.train.distill import DistillConfig, DistillSample, LogFn, Predictor


def dmd_generator_loss(x0: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """DMD's surrogate: its gradient w.r.t. ``x0`` is ``(fake − real) / mean|x0 − real|`` on the generated frames.

    ``real``/``fake`` are the clean estimates of the teacher (guided) and of the critic at a
    re-noised ``x0``; descending it moves samples from where the critic says the generator
    is towards where the teacher says the data is.
    """
    from engine.backends.soul.train.distill import masked_mse

    with torch.no_grad():
        weight = (x0.detach() - real).abs().mean().clamp_min(1e-6)
        grad = (fake - real) / weight
    return 0.5 * masked_mse(x0, (x0 - grad).detach(), mask)


def dmd_distill(student: nn.Module, predictor: Predictor, samples: list[DistillSample], config: DistillConfig,
                on_log: LogFn | None = None) -> list[float]:
    """Train the student's default LoRA by distribution matching; returns the generator losses."""
    from engine.backends.soul.train.distill import masked_mse, shift_sigma, student_sigmas
    from engine.backends.soul.train.lora import active_adapter, adapter_parameters, add_adapter

    critic_params = add_adapter(student, "fake", trainable=True)  # starts as the student: the fake score of G
    gen_params = adapter_parameters(student)
    gen_opt = torch.optim.AdamW(gen_params, lr=config.lr, weight_decay=0.0)
    critic_opt = torch.optim.AdamW(critic_params, lr=config.critic_lr or config.lr, weight_decay=0.0)
    grid = student_sigmas(config.student_steps, config.shift)[:-1]  # the generator's own steps
    g = torch.Generator().manual_seed(config.seed + 2)
    losses: list[float] = []
    student.train()
    for it in range(config.dmd_iters):
        s = samples[int(torch.randint(len(samples), (1,), generator=g))]
        mask = predictor.known_mask(s.latents, s)
        sk = float(grid[int(torch.randint(len(grid), (1,), generator=g))])
        x_k = (1 - sk) * s.latents + sk * torch.randn(s.latents.shape, generator=g).to(s.latents)
        # generator: one step of its schedule, to a clean estimate (with grad)
        x0 = x_k - sk * predictor.conditional(student, x_k, sk, s)
        sigma = float(shift_sigma(torch.rand((), generator=g, dtype=torch.float64) * 0.96 + 0.02, config.shift))
        noise = torch.randn(s.latents.shape, generator=g).to(s.latents)
        x_t = (1 - sigma) * x0.detach() + sigma * noise
        with torch.no_grad():
            with active_adapter(student, None):
                real = x_t - sigma * predictor.guided(student, x_t, sigma, s)
            with active_adapter(student, "fake"):
                fake = x_t - sigma * predictor.conditional(student, x_t, sigma, s)
        loss = dmd_generator_loss(x0, real, fake, mask)
        gen_opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gen_params, 1.0)
        gen_opt.step()
        losses.append(float(loss.detach()))
        # critic: flow matching on the generator's samples
        for _ in range(1):
            with active_adapter(student, "fake"):
                pred = predictor.conditional(student, x_t, sigma, s)
            critic_loss = masked_mse(pred, (noise - x0.detach()), mask)
            critic_opt.zero_grad(set_to_none=True)
            critic_loss.backward()
            torch.nn.utils.clip_grad_norm_(critic_params, 1.0)
            critic_opt.step()
        if on_log is not None:
            on_log("dmd", it, losses[-1])
    return losses
