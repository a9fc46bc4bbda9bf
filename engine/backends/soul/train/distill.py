"""Step and guidance distillation: a few-step, guidance-free student for soul drafts.

The teacher samples in many steps (30–50) with classifier-free guidance, i.e. two or
three transformer passes per step. The student runs 4 steps of one pass each. Two
stages, both plain PyTorch on the flow-matching velocity ``v = ε − x0`` that Wan uses
(``x_σ = (1 − σ)·x0 + σ·ε``, timestep ``1000·σ``):

1. **Guidance distillation.** At random noise levels the student's *conditional*
   prediction is regressed onto the teacher's *guided* prediction
   (``u + g_t·(text − u) + g_a·(full − text)`` with audio, ``u + g_t·(c − u)`` without),
   so the guidance scales are folded into the weights.
2. **Progressive step distillation** (Salimans & Ho, 2022, here in flow-matching form):
   the guidance-free model of stage 1 is the teacher; on a grid of ``2N`` Euler steps it
   takes two steps from ``σ_i`` through the midpoint to ``σ_{i+1}``, and the student learns
   to make the same move in one step with velocity ``(x_{i+1} − x_i)/(σ_{i+1} − σ_i)``.
   Then the student becomes the teacher and ``N`` halves again, until
   ``--student-steps`` remain. The final grid is exactly the one
   ``FlowMatchEulerDiscreteScheduler(shift).set_timesteps(student_steps)`` produces, and
   that scheduler config is saved with the student, so the unchanged sampling loop runs
   the student.

The student is saved as a full ``WanTransformer3DModel`` folder or as a LoRA
(:mod:`.lora`), in safetensors, with ``distill.json`` recording steps, shift, sigmas and
the folded guidance::

    python -m engine.backends.soul.train.distill --model MODEL --data latents/ --out student/ --lora-rank 64
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.backends.soul.train.common import component_folder, mean_first_last, pick_device, refuse_pickles, write_log

NUM_TRAIN_TIMESTEPS = 1000
DISTILL_CONFIG = "distill.json"


@dataclass
class DistillSample:
    """One training example, everything already encoded.

    ``latents`` are clean normalised latents (1, C, T, h, w); ``text``/``negative`` UMT5
    embeddings (1, L, D); ``audio``/``null_audio`` adapter tokens (or None);
    ``cond_latents`` (1, C, k, h, w) the known first frames (the portrait), kept clean.
    """

    latents: torch.Tensor
    text: torch.Tensor
    negative: torch.Tensor | None = None
    audio: torch.Tensor | None = None
    null_audio: torch.Tensor | None = None
    cond_latents: torch.Tensor | None = None

    def to(self, device: torch.device, dtype: torch.dtype = torch.float32) -> DistillSample:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device=device, dtype=dtype)

        return DistillSample(*(move(getattr(self, f)) for f in ("latents", "text", "negative", "audio", "null_audio",
                                                                "cond_latents")))


@dataclass
class DistillConfig:
    """All knobs of a distillation run; saved as ``distill.json`` next to the student."""

    guidance_text: float = 5.0
    guidance_audio: float = 4.0
    teacher_steps: int = 16
    student_steps: int = 4
    shift: float = 5.0
    cfg_iters: int = 500
    step_iters: int = 500
    lr: float = 1e-4
    lora_rank: int = 0
    lora_alpha: float | None = None
    seed: int = 0
    method: str = "progressive"  # or "dmd": distribution matching (DMD2-style) in place of step distillation
    dmd_iters: int = 500
    critic_lr: float | None = None  # None: lr
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("progressive", "dmd"):
            raise ValueError(f"unknown distillation method {self.method!r}; choose progressive or dmd")
        if self.method == "dmd" and not self.lora_rank:
            raise ValueError("dmd distillation trains LoRA students (--lora-rank): its critic shares the frozen base")
        ratio = self.teacher_steps // max(1, self.student_steps)
        if self.student_steps < 1 or ratio * self.student_steps != self.teacher_steps or ratio & (ratio - 1):
            raise ValueError("teacher_steps must be student_steps times a power of two (e.g. 32 -> 4)")

    @property
    def rounds(self) -> int:
        return (self.teacher_steps // self.student_steps).bit_length() - 1


# --------------------------------------------------------------------- sigmas


def shift_sigma(u: torch.Tensor | float, shift: float) -> torch.Tensor:
    """Wan's timestep shift: ``σ = s·u / (1 + (s − 1)·u)``."""
    u = torch.as_tensor(u, dtype=torch.float64)
    return shift * u / (1 + (shift - 1) * u)


def unshift_sigma(sigma: torch.Tensor, shift: float) -> torch.Tensor:
    return sigma / (shift - (shift - 1) * sigma)


def student_sigmas(steps: int, shift: float) -> torch.Tensor:
    """The ``steps + 1`` sigmas the saved scheduler will use (from 1 down to 0)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=shift)
    sched.set_timesteps(steps)
    return sched.sigmas.double()


def refine(sigmas: torch.Tensor, shift: float) -> torch.Tensor:
    """Twice as many steps: each interval split at its midpoint in unshifted time."""
    u = unshift_sigma(sigmas, shift)
    mid = (u[:-1] + u[1:]) / 2
    out = torch.empty(len(sigmas) * 2 - 1, dtype=torch.float64)
    out[0::2] = sigmas
    out[1::2] = shift_sigma(mid, shift)
    return out


# ----------------------------------------------------------------- prediction


class Predictor:
    """Calls a Wan transformer on a sample: known frames pasted, per-token timesteps, audio hooks.

    ``adapter`` (a ``SoulAudioAdapter``) adds audio through the soul backend's hooks; every
    model it is used with gets its own hook set, so teacher and student both hear audio.
    """

    def __init__(self, guidance_text: float = 5.0, guidance_audio: float = 4.0, adapter: nn.Module | None = None) -> None:
        self.guidance_text = guidance_text
        self.guidance_audio = guidance_audio
        self.adapter = adapter
        self._injections: dict[int, Any] = {}

    def _injection(self, model: nn.Module) -> Any:
        if self.adapter is None:
            return None
        key = id(model)
        if key not in self._injections:
            from engine.backends.soul.adapter import AudioInjection

            self._injections[key] = AudioInjection(model, self.adapter)
        return self._injections[key]

    def release(self, model: nn.Module) -> None:
        """Remove the audio hooks this predictor put on ``model``."""
        inj = self._injections.pop(id(model), None)
        if inj is not None:
            inj.remove()

    @staticmethod
    def known_mask(x: torch.Tensor, s: DistillSample) -> torch.Tensor:
        """1 where latents are generated, 0 on the known first frames."""
        mask = torch.ones((1, 1, *x.shape[2:]), device=x.device, dtype=x.dtype)
        if s.cond_latents is not None:
            mask[:, :, : s.cond_latents.shape[2]] = 0
        return mask

    def _pass(self, model: nn.Module, x: torch.Tensor, sigma: float, s: DistillSample, text: torch.Tensor,
              audio: torch.Tensor | None) -> torch.Tensor:
        mask = self.known_mask(x, s)
        if s.cond_latents is not None:
            k = s.cond_latents.shape[2]
            known = torch.zeros_like(x)
            known[:, :, :k] = s.cond_latents
            x = (1 - mask) * known + mask * x
        p_t, p_h, p_w = model.config.patch_size
        token_mask = mask[0, 0, ::p_t, ::p_h, ::p_w].flatten()
        timestep = (token_mask * float(sigma) * NUM_TRAIN_TIMESTEPS).unsqueeze(0).expand(x.shape[0], -1)
        inj = self._injection(model)
        dtype = next(model.parameters()).dtype
        if inj is None:
            out = model(hidden_states=x.to(dtype), timestep=timestep, encoder_hidden_states=text.to(dtype),
                        return_dict=False)[0]
        else:
            with inj.audio(audio):
                out = model(hidden_states=x.to(dtype), timestep=timestep, encoder_hidden_states=text.to(dtype),
                            return_dict=False)[0]
        return out.float()

    def conditional(self, model: nn.Module, x: torch.Tensor, sigma: float, s: DistillSample) -> torch.Tensor:
        """One pass with the prompt and the audio: what the guidance-free student computes."""
        return self._pass(model, x, sigma, s, s.text, s.audio)

    def guided(self, model: nn.Module, x: torch.Tensor, sigma: float, s: DistillSample) -> torch.Tensor:
        """The teacher's guided velocity, the same combination as ``SoulPipeline.predict``."""
        use_text = self.guidance_text != 1.0 and s.negative is not None
        use_audio = self.guidance_audio != 1.0 and s.audio is not None
        full = self._pass(model, x, sigma, s, s.text, s.audio)
        if use_text and use_audio:
            text_only = self._pass(model, x, sigma, s, s.text, s.null_audio)
            uncond = self._pass(model, x, sigma, s, s.negative, s.null_audio)
            return uncond + self.guidance_text * (text_only - uncond) + self.guidance_audio * (full - text_only)
        if use_text:
            uncond = self._pass(model, x, sigma, s, s.negative, s.audio)
            return uncond + self.guidance_text * (full - uncond)
        if use_audio:
            text_only = self._pass(model, x, sigma, s, s.text, s.null_audio)
            return text_only + self.guidance_audio * (full - text_only)
        return full


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    diff = (pred - target) ** 2 * mask
    return diff.sum() / (mask.sum() * pred.shape[1]).clamp_min(1.0)


# ---------------------------------------------------------------------- loops

LogFn = Callable[[str, int, float], None]


def _frozen(model: nn.Module) -> nn.Module:
    teacher = copy.deepcopy(model).eval()
    teacher.requires_grad_(False)
    return teacher


def _optimizer(student: nn.Module, lr: float, params: list[nn.Parameter] | None = None) -> torch.optim.Optimizer:
    from engine.backends.soul.train.lora import adapter_parameters, lora_modules

    if params is None:
        params = adapter_parameters(student) if lora_modules(student) else [
            p for p in student.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the student has no trainable parameters")
    return torch.optim.AdamW(params, lr=lr, weight_decay=0.0)


def _as_teacher(student: nn.Module, teacher: nn.Module, adapter: str | None) -> Any:
    """The context in which ``teacher`` predicts: for a LoRA student sharing its frozen base, that
    base with adapter ``adapter`` (None: the original teacher); a separate teacher needs nothing."""
    from contextlib import nullcontext

    from engine.backends.soul.train.lora import active_adapter, lora_modules

    if teacher is student and lora_modules(student):
        return active_adapter(student, adapter)
    return nullcontext()


def guidance_distill(student: nn.Module, teacher: nn.Module, predictor: Predictor, samples: list[DistillSample],
                     iters: int, lr: float, shift: float, seed: int = 0, on_log: LogFn | None = None) -> list[float]:
    """Stage 1: student(conditional) ← teacher(guided) at random shifted noise levels.

    ``teacher`` may be ``student`` itself (a LoRA student on the teacher's frozen weights):
    the teacher's passes then run with the LoRA switched off, so no second copy exists.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = _optimizer(student, lr)
    student.train()
    losses = []
    for it in range(iters):
        s = samples[int(torch.randint(len(samples), (1,), generator=gen))]
        sigma = float(shift_sigma(torch.rand((), generator=gen, dtype=torch.float64) * 0.98 + 0.01, shift))
        noise = torch.randn(s.latents.shape, generator=gen).to(s.latents)
        x = (1 - sigma) * s.latents + sigma * noise
        with torch.no_grad(), _as_teacher(student, teacher, None):
            target = predictor.guided(teacher, x, sigma, s)
        pred = predictor.conditional(student, x, sigma, s)
        loss = masked_mse(pred, target, predictor.known_mask(x, s))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        if on_log is not None:
            on_log("guidance", it, losses[-1])
    return losses


def step_distill(student: nn.Module, predictor: Predictor, samples: list[DistillSample], teacher_steps: int,
                 student_steps: int, iters: int, lr: float, shift: float, seed: int = 0,
                 on_log: LogFn | None = None) -> list[float]:
    """Stage 2: progressive halving from ``teacher_steps`` to ``student_steps`` Euler steps.

    Each round's teacher is the previous round's student: for a LoRA student a frozen copy
    of its factors only (``previous``), never a copy of the model.
    """
    from engine.backends.soul.train.lora import add_adapter, lora_modules

    shared = bool(lora_modules(student))
    grids = [student_sigmas(student_steps, shift)]
    while len(grids[-1]) - 1 < teacher_steps:
        grids.append(refine(grids[-1], shift))
    gen = torch.Generator().manual_seed(seed + 1)
    losses: list[float] = []
    # rounds run from the finest grid down: teacher on grids[r], student on grids[r-1]
    for r in range(len(grids) - 1, 0, -1):
        fine, coarse = grids[r], grids[r - 1]
        if shared:
            add_adapter(student, "previous", trainable=False)
            teacher = student
        else:
            teacher = _frozen(student)
        opt = _optimizer(student, lr)
        student.train()
        for it in range(iters):
            s = samples[int(torch.randint(len(samples), (1,), generator=gen))]
            i = int(torch.randint(len(coarse) - 1, (1,), generator=gen))
            sa, sm, sb = float(coarse[i]), float(fine[2 * i + 1]), float(coarse[i + 1])
            noise = torch.randn(s.latents.shape, generator=gen).to(s.latents)
            x = (1 - sa) * s.latents + sa * noise
            with torch.no_grad(), _as_teacher(student, teacher, "previous"):
                x_mid = x + (sm - sa) * predictor.conditional(teacher, x, sa, s)
                x_end = x_mid + (sb - sm) * predictor.conditional(teacher, x_mid, sm, s)
                target = (x_end - x) / (sb - sa)
            pred = predictor.conditional(student, x, sa, s)
            loss = masked_mse(pred, target, predictor.known_mask(x, s))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(opt.param_groups[0]["params"], 1.0)
            opt.step()
            losses.append(float(loss.detach()))
            if on_log is not None:
                on_log(f"steps {len(fine) - 1}->{len(coarse) - 1}", it, losses[-1])
        if teacher is not student:
            predictor.release(teacher)
        del teacher
    return losses


@dataclass
class DistillReport:
    guidance_losses: list[float]
    step_losses: list[float]
    seconds: float

    def summary(self) -> dict[str, Any]:
        g0, g1 = mean_first_last(self.guidance_losses) if self.guidance_losses else (0.0, 0.0)
        s0, s1 = mean_first_last(self.step_losses) if self.step_losses else (0.0, 0.0)
        return {"guidance_loss_first": g0, "guidance_loss_last": g1, "step_loss_first": s0, "step_loss_last": s1,
                "seconds": round(self.seconds, 2)}


def distill(teacher: nn.Module, samples: list[DistillSample], config: DistillConfig, adapter: nn.Module | None = None,
            on_log: LogFn | None = None, share_teacher: bool = False) -> tuple[nn.Module, DistillReport]:
    """Run both stages; returns the student (LoRA-wrapped when ``config.lora_rank``) and the losses.

    ``share_teacher`` (the CLI's way, what makes 5B fit one 80 GB GPU): a LoRA student is
    built on ``teacher`` itself, whose frozen weights then serve as teacher (LoRA off), as
    the previous round's student (a frozen copy of the factors) and as DMD's critic (a
    second set of factors); ``teacher`` comes back LoRA-wrapped. Otherwise the student
    starts from a copy and ``teacher`` is left as it was.
    """
    from engine.backends.soul.train.lora import adapter_parameters, add_lora

    started = time.monotonic()
    torch.manual_seed(config.seed)
    teacher = teacher.eval()
    teacher.requires_grad_(False)
    if config.lora_rank:
        # The LoRA student lives on the teacher's own frozen (bf16 on a GPU) weights: one copy of the 5B model.
        student = teacher if share_teacher else copy.deepcopy(teacher)
        teacher = student if share_teacher else teacher
        add_lora(student, config.lora_rank, config.lora_alpha)
        for p in adapter_parameters(student):
            p.data = p.data.float()  # fp32 factors; the frozen base keeps its dtype
    else:
        student = copy.deepcopy(teacher)
        student.requires_grad_(True)
    if config.gradient_checkpointing and hasattr(student, "enable_gradient_checkpointing"):
        student.enable_gradient_checkpointing()
    predictor = Predictor(config.guidance_text, config.guidance_audio, adapter)
    g = guidance_distill(student, teacher, predictor, samples, config.cfg_iters, config.lr, config.shift, config.seed,
                         on_log)
    if teacher is not student:
        predictor.release(teacher)
    if config.method == "dmd":
        from engine.backends.soul.train.dmd import dmd_distill

        s = dmd_distill(student, predictor, samples, config, on_log)
    else:
        s = step_distill(student, predictor, samples, config.teacher_steps, config.student_steps, config.step_iters,
                         config.lr, config.shift, config.seed, on_log)
    predictor.release(student)
    _drop_extra_adapters(student)
    student.eval()
    return student, DistillReport(g, s, time.monotonic() - started)


def _drop_extra_adapters(student: nn.Module) -> None:
    from engine.backends.soul.train.lora import lora_modules

    for mod in lora_modules(student).values():
        mod.extra.clear()
        mod.active = "default"


# ----------------------------------------------------------------------- save


def save_student(student: nn.Module, folder: str | Path, config: DistillConfig, report: DistillReport | None = None,
                 extra: dict[str, Any] | None = None) -> Path:
    """Write the student (``transformer/`` full weights or LoRA files), its scheduler and distill.json."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    from engine.backends.soul.train.lora import lora_modules, save_lora

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    if lora_modules(student):
        save_lora(student, root)
        kind = "lora"
    else:
        student.save_pretrained(root / "transformer", safe_serialization=True)
        kind = "full"
    FlowMatchEulerDiscreteScheduler(num_train_timesteps=NUM_TRAIN_TIMESTEPS, shift=config.shift).save_pretrained(
        root / "scheduler"
    )
    meta = {
        "kind": kind,
        "steps": config.student_steps,
        "shift": config.shift,
        "sampler": "flow-match euler",
        "sigmas": [round(float(v), 6) for v in student_sigmas(config.student_steps, config.shift)],
        "guidance_text": 1.0,
        "guidance_audio": 1.0,
        "folded_guidance": {"text": config.guidance_text, "audio": config.guidance_audio},
        "method": "guidance distillation, then " + (
            "distribution matching (DMD2-style, fake-score critic)" if config.method == "dmd"
            else "progressive step distillation (flow matching)"),
        "config": asdict(config),
        **(report.summary() if report is not None else {}),
        **(extra or {}),
    }
    write_log(root / DISTILL_CONFIG, meta)
    return root


def read_student_config(folder: str | Path) -> dict[str, Any]:
    """``distill.json`` of a student folder."""
    import json

    return json.loads((Path(folder) / DISTILL_CONFIG).read_text())


# ----------------------------------------------------------------------- data


def synthetic_samples(count: int, channels: int, frames: int, height: int, width: int, text_dim: int,
                      text_len: int = 8, adapter: nn.Module | None = None, seed: int = 0) -> list[DistillSample]:
    """Random but fixed examples (smooth latents, random embeddings) for smoke runs and tests."""
    gen = torch.Generator().manual_seed(seed)
    t = (frames - 1) // 4 + 1
    samples = []
    for _ in range(count):
        coarse = torch.randn(1, channels, t, max(1, height // 2), max(1, width // 2), generator=gen)
        latents = nn.functional.interpolate(coarse, size=(t, height, width), mode="trilinear", align_corners=False)
        text = torch.randn(1, text_len, text_dim, generator=gen)
        negative = torch.randn(1, text_len, text_dim, generator=gen) * 0.5
        audio = null = None
        if adapter is not None:
            cfg = adapter.config
            feats = torch.randn(frames, 2 * cfg.context_frames + 1, cfg.audio_layers, cfg.audio_dim, generator=gen)
            with torch.no_grad():
                audio = adapter.project_audio(feats).float()
                null = adapter.project_audio(torch.zeros_like(feats)).float()
        samples.append(DistillSample(latents, text, negative, audio, null, latents[:, :, :1].clone()))
    return samples


def load_samples(folder: str | Path, adapter: nn.Module | None = None) -> list[DistillSample]:
    """Examples from ``*.safetensors`` files holding ``latents``, ``prompt_embeds`` and optionally
    ``negative_prompt_embeds``, ``audio_features`` (F, window, layers, dim) and ``cond_latents``."""
    from safetensors.torch import load_file

    samples = []
    for path in sorted(Path(folder).glob("*.safetensors")):
        d = load_file(str(path))
        audio = null = None
        if adapter is not None and "audio_features" in d:
            with torch.no_grad():
                audio = adapter.project_audio(d["audio_features"]).float()
                null = adapter.project_audio(torch.zeros_like(d["audio_features"])).float()
        samples.append(DistillSample(d["latents"].float(), d["prompt_embeds"].float(),
                                     d.get("negative_prompt_embeds"), audio, null, d.get("cond_latents")))
    if not samples:
        raise ValueError(f"no .safetensors examples in {folder}")
    return samples


# ------------------------------------------------------------------------ CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m engine.backends.soul.train.distill",
        description="Distil the soul transformer (many steps + CFG) into a few-step student without CFG.",
    )
    p.add_argument("--model", required=True,
                   help="soul model folder (uses transformer/ and audio_adapter/) or a WanTransformer3DModel folder")
    p.add_argument("--out", required=True, help="folder for the student (safetensors + distill.json)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="folder of .safetensors examples (latents, prompt_embeds, ...)")
    src.add_argument("--synthetic", type=int, metavar="N", help="N random examples (smoke test of the loop)")
    p.add_argument("--frames", type=int, default=9, help="synthetic clip length (4k+1)")
    p.add_argument("--latent-size", default="4x4", help="synthetic latent size WxH")
    p.add_argument("--guidance-text", type=float, default=5.0)
    p.add_argument("--guidance-audio", type=float, default=4.0)
    p.add_argument("--teacher-steps", type=int, default=16)
    p.add_argument("--student-steps", type=int, default=4)
    p.add_argument("--shift", type=float, default=5.0)
    p.add_argument("--cfg-iters", type=int, default=500)
    p.add_argument("--step-iters", type=int, default=500, help="iterations per halving round")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lora-rank", type=int, default=0, help="0 saves full weights, else a LoRA of this rank")
    p.add_argument("--method", choices=("progressive", "dmd"), default="progressive",
                   help="step distillation: progressive halving, or DMD2-style distribution matching (LoRA only)")
    p.add_argument("--dmd-iters", type=int, default=500)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--dtype", choices=("bfloat16", "float32"), default=None,
                   help="the frozen teacher's dtype (default: bfloat16 on CUDA, float32 on CPU)")
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def load_teacher(path: str | Path, device: torch.device,
                 dtype: torch.dtype = torch.float32) -> tuple[nn.Module, nn.Module | None, Path]:
    """The frozen transformer in ``dtype`` (and the audio adapter when ``path`` is a soul model folder), safetensors only."""
    from diffusers import WanTransformer3DModel

    root = Path(path)
    refuse_pickles(root)
    tdir = component_folder(root, "transformer")
    teacher = WanTransformer3DModel.from_pretrained(tdir, use_safetensors=True, torch_dtype=dtype).to(device)
    teacher.requires_grad_(False)
    adapter = None
    if (root / "audio_adapter" / "config.json").is_file():
        from engine.backends.soul.adapter import SoulAudioAdapter

        adapter = SoulAudioAdapter.from_pretrained(root / "audio_adapter", use_safetensors=True,
                                                   torch_dtype=dtype).to(device).eval()
        adapter.requires_grad_(False)
    return teacher, adapter, tdir


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = pick_device(args.device)
    config = DistillConfig(
        guidance_text=args.guidance_text, guidance_audio=args.guidance_audio, teacher_steps=args.teacher_steps,
        student_steps=args.student_steps, shift=args.shift, cfg_iters=args.cfg_iters, step_iters=args.step_iters,
        lr=args.lr, lora_rank=args.lora_rank, seed=args.seed, method=args.method, dmd_iters=args.dmd_iters,
        gradient_checkpointing=args.gradient_checkpointing,
    )
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.bfloat16 if device.type == "cuda" else torch.float32)
    teacher, adapter, tdir = load_teacher(args.model, device, dtype)
    if args.data:
        samples = load_samples(args.data, adapter)
    else:
        w, h = (int(v) for v in args.latent_size.lower().split("x"))
        samples = synthetic_samples(args.synthetic, teacher.config.in_channels, args.frames, h, w,
                                    teacher.config.text_dim, adapter=adapter, seed=args.seed)
    samples = [s.to(device) for s in samples]
    every = max(1, (args.cfg_iters + args.step_iters) // 40)

    def log(stage: str, it: int, loss: float) -> None:
        if it % every == 0:
            print(f"{stage:>14s}  iter {it:6d}  loss {loss:.6f}", flush=True)

    student, report = distill(teacher, samples, config, adapter, log, share_teacher=True)
    out = save_student(student.to("cpu"), args.out, config, report,
                       {"teacher": str(tdir), "examples": len(samples), "audio": adapter is not None})
    s = report.summary()
    print(f"student saved to {out}: guidance loss {s['guidance_loss_first']:.5f} -> {s['guidance_loss_last']:.5f}, "
          f"step loss {s['step_loss_first']:.5f} -> {s['step_loss_last']:.5f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
