"""Fine-tune the soul audio-injection layers (and optionally a LoRA on the backbone) on real clips.

The backbone stays frozen; the :class:`~engine.backends.soul.adapter.SoulAudioAdapter`
learns to move the picture with the sound. Each step follows the sampler's own
conventions (``SoulPipeline.denoise``), so what is learnt is what sampling uses:

* flow matching as Wan trains it: ``σ = shift(u)``, ``u ~ U(0, 1)``, with the shift of
  the model's scheduler; ``x_σ = (1 − σ)·x0 + σ·ε``; the transformer sees timestep
  ``1000·σ`` and is regressed onto the velocity ``ε − x0``;
* the conditioning layout is the one long-form sampling builds (:mod:`..longform`):
  with probability ``1 − overlap_probability`` a clip is a *first chunk*, its first latent
  frame (the portrait, TI2V-style) clean; otherwise it is a *later chunk*, whose head is
  the pivot reference latent (a frame of the same clip from elsewhere, encoded as the
  portrait is) followed by ``motion_latents`` clean latent frames of the clip itself,
  taken straight from its latents (sampling passes the previous chunk's last latents the
  same way, never through decode and re-encode). Known frames get timestep 0 and are
  left out of the loss;
* audio dropout: with probability ``audio_dropout`` a clip's audio features are zeroed,
  which is exactly the "no audio" branch audio guidance contrasts against at render time.

Data order, windows, noise, σ and dropout of step ``s`` are pure functions of
``(seed, s)``, so ``--resume`` continues from the last checkpoint as if never stopped.
Everything is written as safetensors plus JSON, never pickle::

    out/checkpoint-0000500/  audio_adapter/, transformer_lora/, optimizer.safetensors,
                             optimizer.json, trainer_state.json
    out/audio_adapter/       the trained adapter (a drop-in model folder component)
    out/transformer_lora/    the LoRA, when one was trained (see :mod:`.lora`)
    out/finetune.json        configuration and loss summary

    python -m engine.backends.soul.train.finetune --model MODEL --manifest clips.jsonl --out run/ \\
        --steps 2000 --resolution 832x480 --frames 81 --gradient-checkpointing --mixed-precision bf16
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from engine.backends.soul.train.common import mean_first_last, write_log

NUM_TRAIN_TIMESTEPS = 1000
ATTENTION_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
STATE_FILE = "trainer_state.json"
OPTIMIZER_TENSORS = "optimizer.safetensors"
OPTIMIZER_META = "optimizer.json"
ADAPTER_DIR = "audio_adapter"
LORA_DIR = "transformer_lora"
LOG_FILE = "finetune.json"
# Settings that fix which data, noise and parameters a step sees; a resume must keep them.
RESUME_KEYS = ("seed", "batch_size", "width", "height", "frames", "lora_rank", "lora_alpha", "overfit_one_batch",
               "audio_dropout", "shift", "overlap_probability", "motion_latents")


@dataclass
class FinetuneConfig:
    """All knobs of a fine-tuning run; saved in every checkpoint and in ``finetune.json``."""

    steps: int = 1000
    lr: float = 1e-4
    batch_size: int = 1
    width: int = 832
    height: int = 480
    frames: int = 81
    lora_rank: int = 0
    lora_alpha: float | None = None
    audio_dropout: float = 0.1
    gradient_checkpointing: bool = False
    mixed_precision: str | None = None  # None: bf16 on CUDA, no on CPU
    shift: float | None = None  # None: the model scheduler's flow shift
    warmup: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    save_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 10
    num_workers: int = 0
    seed: int = 0
    overfit_one_batch: bool = False  # every step reuses step 0's clips, noise and σ (a sanity check)
    overlap_probability: float = 0.5  # share of clips trained as later long-form chunks
    motion_latents: int = 2  # as the presets' motion_latents
    device: str | None = None

    def __post_init__(self) -> None:
        if (self.frames - 1) % 4 or self.frames < 5:
            raise ValueError(f"--frames {self.frames}: soul trains on 4k+1 frames (k >= 1)")
        if not 0.0 <= self.audio_dropout < 1.0:
            raise ValueError("audio_dropout must be in [0, 1)")
        if self.mixed_precision not in (None, "bf16", "no"):
            raise ValueError("mixed_precision is bf16 or no")
        if not 0.0 <= self.overlap_probability <= 1.0:
            raise ValueError("overlap_probability must be in [0, 1]")
        if self.motion_latents < 1:
            raise ValueError("motion_latents must be at least 1")


@dataclass
class FinetuneResult:
    """What a run did: the losses of the steps it ran and where it wrote."""

    out: Path
    first_step: int
    last_step: int
    losses: list[float]
    seconds: float
    checkpoints: list[Path] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        first, last = mean_first_last(self.losses) if self.losses else (0.0, 0.0)
        return {"loss_first": first, "loss_last": last, "first_step": self.first_step, "last_step": self.last_step,
                "seconds": round(self.seconds, 2)}


# ------------------------------------------------------------------ schedule


def shifted_sigma(u: torch.Tensor, shift: float) -> torch.Tensor:
    """Wan's timestep shift ``σ = s·u / (1 + (s − 1)·u)``: more steps spent at high noise."""
    return shift * u / (1 + (shift - 1) * u)


def scheduler_shift(scheduler: Any) -> float:
    """The flow shift the model samples with (UniPC ``flow_shift``, flow-match Euler ``shift``)."""
    cfg = scheduler.config
    for key in ("flow_shift", "shift"):
        value = cfg.get(key) if hasattr(cfg, "get") else getattr(cfg, key, None)
        if value:
            return float(value)
    return 1.0


def batch_keys(step: int, batch_size: int, size: int, seed: int, rank: int = 0, world: int = 1) -> list[tuple[int, int]]:
    """``(clip index, epoch)`` of each example process ``rank`` trains on at ``step``.

    Each epoch visits every clip once in a seeded order; the global batch of a step is
    ``batch_size·world`` consecutive positions of that endless sequence.
    """
    keys = []
    for j in range(batch_size):
        pos = (step * world + rank) * batch_size + j
        epoch, offset = divmod(pos, size)
        order = np.random.default_rng([seed, epoch]).permutation(size)
        keys.append((int(order[offset]), epoch))
    return keys


def step_seed(seed: int, step: int, rank: int = 0) -> int:
    """Seed of the noise, σ and dropout draws of one step on one process."""
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1, dtype=np.uint64)[0] >> 1)


class StepBatches(torch.utils.data.Sampler):
    """Batch sampler for steps ``start``…``stop − 1`` (keys from :func:`batch_keys`)."""

    def __init__(self, start: int, stop: int, batch_size: int, size: int, seed: int, rank: int = 0, world: int = 1,
                 repeat_first: bool = False) -> None:
        self.start, self.stop = start, stop
        self.args = (batch_size, size, seed, rank, world)
        self.repeat_first = repeat_first

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            yield batch_keys(0 if self.repeat_first else step, *self.args)


# --------------------------------------------------------------------- model


class AudioTrainee(nn.Module):
    """The frozen transformer with its audio adapter: one call is one velocity prediction.

    The audio tokens stay attached to the transformer's blocks until :meth:`release_audio`,
    because gradient checkpointing runs the blocks (and their audio hooks) again during
    the backward pass.
    """

    def __init__(self, transformer: nn.Module, adapter: nn.Module) -> None:
        super().__init__()
        from engine.backends.soul.adapter import AudioInjection

        self.transformer = transformer
        self.adapter = adapter
        self.injection = AudioInjection(transformer, adapter)
        self._audio = ExitStack()

    def forward(self, latents: torch.Tensor, timestep: torch.Tensor, text: torch.Tensor,
                features: torch.Tensor) -> torch.Tensor:
        """``features`` (B, F, window, layers, dim), zeros for clips whose audio is dropped."""
        tokens = self.adapter.project_audio(features)
        self._audio.close()
        self._audio.enter_context(self.injection.audio(tokens))
        dtype = self.transformer.dtype
        out = self.transformer(hidden_states=latents.to(dtype), timestep=timestep,
                               encoder_hidden_states=text.to(dtype), return_dict=False)[0]
        return out.float()

    def release_audio(self) -> None:
        self._audio.close()

    def remove(self) -> None:
        self.release_audio()
        self.injection.remove()


def trainable_parameters(adapter: nn.Module, transformer: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Adapter parameters, then LoRA parameters, in a fixed order (the optimizer state's order)."""
    from engine.backends.soul.train.lora import lora_modules

    params = [(f"{ADAPTER_DIR}.{n}", p) for n, p in adapter.named_parameters()]
    for name, mod in sorted(lora_modules(transformer).items()):
        params.append((f"{LORA_DIR}.{name}.lora_A.weight", mod.lora_A.weight))
        params.append((f"{LORA_DIR}.{name}.lora_B.weight", mod.lora_B.weight))
    return params


# ---------------------------------------------------------------- batches


class BatchEncoder:
    """Turns a collated batch of clips into latents, prompt embeddings and audio features (no grad)."""

    def __init__(self, pipe: Any, frames: int, max_sequence_length: int = 512, cache_size: int = 256) -> None:
        self.pipe = pipe
        self.frames = frames
        self.max_sequence_length = max_sequence_length
        self.cache_size = cache_size
        self._text: dict[str, torch.Tensor] = {}

    def text(self, caption: str) -> torch.Tensor:
        if caption not in self._text:
            if len(self._text) >= self.cache_size:
                self._text.pop(next(iter(self._text)))
            self._text[caption] = self.pipe.encode_prompt(caption, None, self.max_sequence_length)[0]
        return self._text[caption]

    @torch.no_grad()
    def __call__(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(latents, text, audio features, pivot reference latents (B, C, 1, h, w))."""
        frames = batch["frames"]
        latents = torch.cat([self.pipe.encode_video(frames[i].numpy()) for i in range(frames.shape[0])])
        text = torch.cat([self.text(c) for c in batch["caption"]])
        features = torch.stack([
            self.pipe.encode_audio(a.numpy(), fps, self.frames) for a, fps in zip(batch["audio"], batch["fps"])
        ])
        h, w = frames.shape[2], frames.shape[3]
        refs = batch.get("reference")
        if refs is None:
            reference = latents[:, :, :1].clone()
        else:
            reference = torch.cat([self.pipe.encode_image(refs[i].numpy(), w, h) for i in range(refs.shape[0])])
        return latents, text, features, reference


def conditioning_layout(latents: torch.Tensor, reference: torch.Tensor | None, generator: torch.Generator,
                        overlap_probability: float, motion_latents: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Clean latents with each clip's head as long-form sampling builds it, and the known mask.

    Returns ``(x0, mask)``: ``x0`` (B, C, T, h, w) equals ``latents`` except that a *later
    chunk*'s first frame is its pivot ``reference``; ``mask`` (B, 1, T, h, w) is 0 on the
    known frames (1, or 1 + ``motion_latents`` for a later chunk) and 1 where the model
    generates.
    """
    b, t = latents.shape[0], latents.shape[2]  # clips too short for a later chunk train as first chunks
    later = torch.rand(b, generator=generator) < overlap_probability
    x0 = latents.clone()
    mask = torch.ones((b, 1, *latents.shape[2:]), device=latents.device)
    mask[:, :, :1] = 0
    for i in range(b):
        if later[i] and t > motion_latents + 1:
            if reference is not None:
                x0[i, :, :1] = reference[i].to(x0)
            mask[i, :, : 1 + motion_latents] = 0
    return x0, mask


def flow_matching_loss(model: nn.Module, latents: torch.Tensor, text: torch.Tensor, features: torch.Tensor,
                       generator: torch.Generator, shift: float, audio_dropout: float,
                       patch_size: tuple[int, int, int], reference: torch.Tensor | None = None,
                       overlap_probability: float = 0.0, motion_latents: int = 2) -> torch.Tensor:
    """One step's loss on clean normalised ``latents`` (B, C, T, h, w); see the module docstring."""
    b = latents.shape[0]
    device = latents.device
    u = torch.rand(b, generator=generator, dtype=torch.float64)
    sigma = shifted_sigma(u, shift).float().to(device)
    noise = torch.randn(latents.shape, generator=generator, dtype=torch.float32).to(device)
    keep = (torch.rand(b, generator=generator) >= audio_dropout).float().to(device)
    x0, mask = conditioning_layout(latents, reference, generator, overlap_probability, motion_latents)
    s = sigma.view(b, 1, 1, 1, 1)
    noisy = (1 - s) * x0 + s * noise
    model_input = (1 - mask) * x0 + mask * noisy
    p_t, p_h, p_w = patch_size
    token_mask = mask[:, 0, ::p_t, ::p_h, ::p_w].flatten(1)
    timestep = token_mask * (sigma[:, None] * NUM_TRAIN_TIMESTEPS)
    feats = features * keep.view(b, *([1] * (features.ndim - 1))).to(features.dtype)
    pred = model(model_input, timestep, text, feats)
    target = noise - x0
    diff = (pred.float() - target) ** 2 * mask
    return diff.sum() / (mask.sum() * latents.shape[1])


# ------------------------------------------------------------ checkpoints


def optimizer_to_safetensors(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split ``optimizer.state_dict()`` into tensors (for safetensors) and JSON metadata."""
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for pid, entry in state["state"].items():
        plain = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"{pid}.{key}"] = value.detach().cpu().contiguous()
                plain[key] = {"tensor": f"{pid}.{key}"}
            else:
                plain[key] = value
        meta["state"][str(pid)] = plain
    return tensors, meta


def optimizer_from_safetensors(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`optimizer_to_safetensors`."""
    state = {}
    for pid, entry in meta["state"].items():
        state[int(pid)] = {k: tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v
                           for k, v in entry.items()}
    return {"state": state, "param_groups": meta["param_groups"]}


def checkpoint_dirs(out: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """Complete checkpoints in ``out``, oldest first."""
    found = []
    for path in Path(out).glob("checkpoint-*"):
        m = re.fullmatch(r"checkpoint-(\d+)", path.name)
        if m and (path / STATE_FILE).is_file():
            found.append((int(m.group(1)), path))
    return sorted(found)


def save_trained(adapter: nn.Module, transformer: nn.Module, folder: Path) -> None:
    """Adapter (``save_pretrained``, safetensors) and LoRA (safetensors) of the current weights."""
    from engine.backends.soul.train.lora import lora_modules, save_lora

    adapter.save_pretrained(folder / ADAPTER_DIR, safe_serialization=True)
    if lora_modules(transformer):
        save_lora(transformer, folder / LORA_DIR)


def save_checkpoint(out: Path, step: int, adapter: nn.Module, transformer: nn.Module,
                    optimizer: torch.optim.Optimizer, names: list[str], config: FinetuneConfig,
                    losses: list[float], keep: int) -> Path:
    """Write ``checkpoint-<step>`` atomically (built aside, then renamed) and prune old ones."""
    from safetensors.torch import save_file

    final = out / f"checkpoint-{step:07d}"
    tmp = out / f".checkpoint-{step:07d}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_trained(adapter, transformer, tmp)
    tensors, meta = optimizer_to_safetensors(optimizer.state_dict())
    meta["param_names"] = names
    save_file(tensors, str(tmp / OPTIMIZER_TENSORS))
    (tmp / OPTIMIZER_META).write_text(json.dumps(meta, indent=1))
    write_log(tmp / STATE_FILE, {"step": step, "config": asdict(config), "losses": losses})
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for _, old in checkpoint_dirs(out)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(folder: Path, adapter: nn.Module, transformer: nn.Module, optimizer: torch.optim.Optimizer,
                    names: list[str]) -> dict[str, Any]:
    """Put a checkpoint's weights and optimizer state back; returns its trainer state."""
    from safetensors.torch import load_file

    from engine.backends.soul.train.lora import lora_modules, read_lora

    weights = load_file(str(folder / ADAPTER_DIR / "diffusion_pytorch_model.safetensors"))
    missing, unexpected = adapter.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise ValueError(f"{folder} does not match the adapter (missing {missing}, unexpected {unexpected})")
    mods = lora_modules(transformer)
    if mods:
        state, _ = read_lora(folder / LORA_DIR)
        with torch.no_grad():
            for name, mod in mods.items():
                mod.lora_A.weight.copy_(state[f"{name}.lora_A.weight"])
                mod.lora_B.weight.copy_(state[f"{name}.lora_B.weight"])
    meta = json.loads((folder / OPTIMIZER_META).read_text())
    if meta.get("param_names") != names:
        raise ValueError(f"{folder}: the optimizer state is for other parameters")
    optimizer.load_state_dict(optimizer_from_safetensors(load_file(str(folder / OPTIMIZER_TENSORS)), meta))
    return json.loads((folder / STATE_FILE).read_text())


# -------------------------------------------------------------------- loop


def _check_resume(saved: dict[str, Any], config: FinetuneConfig) -> None:
    now = asdict(config)
    changed = [k for k in RESUME_KEYS if saved.get(k) != now.get(k)]
    if changed:
        raise ValueError("cannot resume: " + ", ".join(f"{k} was {saved.get(k)!r}, now {now.get(k)!r}" for k in changed))


LogFn = Callable[[int, float, float], None]


def finetune(model: str | os.PathLike[str], manifest: str | os.PathLike[str], out: str | os.PathLike[str],
             config: FinetuneConfig, resume: bool = False, on_log: LogFn | None = None,
             pipe: Any = None) -> FinetuneResult:
    """Train the audio adapter (and LoRA) of the soul model folder ``model`` on ``manifest``'s clips.

    ``on_log(step, loss, lr)`` is called after every step. ``pipe``: an already loaded
    pipeline of ``model`` to train in place (its adapter ends up trained, in fp32, and a
    LoRA stays wrapped around its attention); by default the folder is loaded here.
    """
    from accelerate import Accelerator

    from engine.backends.soul.loader import LoadOptions, load_soul_pipeline
    from engine.backends.soul.train.dataset import ClipDataset, collate
    from engine.backends.soul.train.lora import add_lora

    started = time.monotonic()
    out = Path(out)
    cpu = config.device == "cpu" or (config.device is None and not torch.cuda.is_available())
    precision = config.mixed_precision or ("no" if cpu else "bf16")
    if cpu:
        precision = "no"  # bf16 autocast on a CPU is slow and gains nothing
    accelerator = Accelerator(mixed_precision=precision, cpu=cpu)
    device = accelerator.device
    backbone_dtype = "bfloat16" if precision == "bf16" else "float32"
    if pipe is None:
        pipe = load_soul_pipeline(model, LoadOptions(device=str(device), dtype=backbone_dtype))
    pipe.check_geometry(config.width, config.height, config.frames)
    shift = float(config.shift if config.shift is not None else scheduler_shift(pipe.scheduler))
    config = replace(config, shift=shift)

    transformer, adapter = pipe.transformer, pipe.audio_adapter
    if next(adapter.parameters()).dtype != torch.float32:
        nn.Module.to(adapter, torch.float32)  # fp32 master weights; autocast runs them in bf16
    adapter.train().requires_grad_(True)
    if config.lora_rank:
        with torch.random.fork_rng(devices=[]):  # the same seed gives the same LoRA initialisation
            torch.manual_seed(config.seed)
            add_lora(transformer, config.lora_rank, config.lora_alpha, ATTENTION_TARGETS)
        from engine.backends.soul.train.lora import lora_modules

        for mod in lora_modules(transformer).values():
            mod.lora_A.to(torch.float32)
            mod.lora_B.to(torch.float32)
            mod.lora_A.requires_grad_(True)
            mod.lora_B.requires_grad_(True)
    if config.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    named = trainable_parameters(adapter, transformer)
    names = [n for n, _ in named]
    optimizer = torch.optim.AdamW([p for _, p in named], lr=config.lr, weight_decay=config.weight_decay)
    trainee = AudioTrainee(transformer, adapter)
    trainee, optimizer = accelerator.prepare(trainee, optimizer)

    dataset = ClipDataset(manifest, config.width, config.height, config.frames, seed=config.seed,
                          temporal_stride=pipe.vae_scale_factor_temporal)
    start = 0
    losses: list[float] = []
    if resume:
        found = checkpoint_dirs(out)
        if found:
            state = load_checkpoint(found[-1][1], adapter, transformer, optimizer, names)
            _check_resume(state["config"], config)
            start, losses = int(state["step"]), list(state["losses"])
            accelerator.print(f"resuming from {found[-1][1]} at step {start}")
    elif checkpoint_dirs(out):
        raise FileExistsError(f"{out} already holds checkpoints; pass --resume or choose another --out")
    out.mkdir(parents=True, exist_ok=True)

    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=StepBatches(start, config.steps, config.batch_size, len(dataset), config.seed,
                                           accelerator.process_index, accelerator.num_processes,
                                           config.overfit_one_batch),
        collate_fn=collate, num_workers=config.num_workers,
    )
    encoder = BatchEncoder(pipe, config.frames)
    params = [p for _, p in named]
    patch = tuple(int(v) for v in transformer.config.patch_size)
    run_losses: list[float] = []
    saved: list[Path] = []
    step = start
    fixed: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
    for step, batch in enumerate(loader, start=start + 1):
        if config.overfit_one_batch:
            fixed = fixed or encoder(batch)
            latents, text, features, reference = fixed
        else:
            latents, text, features, reference = encoder(batch)
        seed_step = 0 if config.overfit_one_batch else step
        gen = torch.Generator().manual_seed(step_seed(config.seed, seed_step, accelerator.process_index))
        lr = config.lr * min(1.0, step / max(1, config.warmup))
        for group in optimizer.param_groups:
            group["lr"] = lr
        try:
            loss = flow_matching_loss(trainee, latents, text, features, gen, shift, config.audio_dropout, patch,
                                      reference, config.overlap_probability, config.motion_latents)
            accelerator.backward(loss)
        finally:
            accelerator.unwrap_model(trainee).release_audio()
        if config.max_grad_norm > 0:
            accelerator.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(accelerator.gather(loss.detach()[None]).mean())
        losses.append(value)
        run_losses.append(value)
        if on_log is not None:
            on_log(step, value, lr)
        if config.log_every and step % config.log_every == 0:
            accelerator.print(f"step {step:7d}  loss {value:.5f}  lr {lr:.2e}  {time.monotonic() - started:7.1f}s")
        if config.save_every and step % config.save_every == 0 and step < config.steps and accelerator.is_main_process:
            saved.append(save_checkpoint(out, step, adapter, transformer, optimizer, names, config, losses,
                                         config.keep_checkpoints))
    if accelerator.is_main_process and step > start:
        saved.append(save_checkpoint(out, step, adapter, transformer, optimizer, names, config, losses,
                                     config.keep_checkpoints))
        save_trained(adapter, transformer, out)
    accelerator.wait_for_everyone()
    accelerator.unwrap_model(trainee).remove()
    result = FinetuneResult(out, start, step, run_losses, time.monotonic() - started, saved)
    if accelerator.is_main_process:
        first, last = mean_first_last(losses) if losses else (0.0, 0.0)
        write_log(out / LOG_FILE, {
            "model": str(Path(model).resolve()), "manifest": str(Path(manifest).resolve()), "clips": len(dataset),
            "skipped": [{"line": c.line, "clip": str(c.path), "reason": why} for c, why in dataset.skipped],
            "config": asdict(config), "mixed_precision": precision, "device": str(device),
            "steps_done": step, "loss_first": first, "loss_last": last, "losses": losses,
            "trainable_parameters": int(sum(p.numel() for p in params)), "seconds_this_run": round(result.seconds, 2),
            "objective": "flow matching, v = noise - x0; known heads as long-form sampling builds them "
                         "(portrait, or pivot reference + motion latents)",
        })
    return result


# ------------------------------------------------------------------ export


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def export_model_folder(model: str | os.PathLike[str], run: str | os.PathLike[str],
                        dest: str | os.PathLike[str]) -> Path:
    """A complete soul model folder at ``dest``: ``model`` with the trained adapter of ``run``.

    A trained LoRA is merged into ``transformer/``. Unchanged files are hard-linked when
    the filesystem allows (they are never written through), the new components are
    written fresh.
    """
    src, run_dir, dst = Path(model), Path(run), Path(dest)
    if dst.exists():
        raise FileExistsError(f"{dst} exists")
    lora = (run_dir / LORA_DIR / "lora_config.json").is_file()
    skip = {ADAPTER_DIR} | ({"transformer"} if lora else set())
    dst.mkdir(parents=True)
    for item in src.iterdir():
        if item.name in skip:
            continue
        if item.is_dir():
            shutil.copytree(item, dst / item.name, copy_function=_link_or_copy)
        else:
            _link_or_copy(str(item), str(dst / item.name))
    shutil.copytree(run_dir / ADAPTER_DIR, dst / ADAPTER_DIR)
    if lora:
        from diffusers import WanTransformer3DModel

        from engine.backends.soul.train.lora import apply_lora_delta

        transformer = WanTransformer3DModel.from_pretrained(src / "transformer", use_safetensors=True,
                                                            local_files_only=True)
        apply_lora_delta(transformer, run_dir / LORA_DIR)
        transformer.save_pretrained(dst / "transformer", safe_serialization=True)
    return dst


# --------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m engine.backends.soul.train.finetune",
        description="Fine-tune the soul audio-injection layers (optionally a backbone LoRA) on annotated clips.",
    )
    p.add_argument("--model", required=True, help="soul model folder")
    p.add_argument("--manifest", required=True, help="JSONL manifest of clips (see dataset.py)")
    p.add_argument("--out", required=True, help="run folder: checkpoints, trained adapter, finetune.json")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--resolution", default="832x480", help="WxH, multiples of 32")
    p.add_argument("--frames", type=int, default=81, help="frames per example, 4k+1")
    p.add_argument("--lora-rank", type=int, default=0, help="0: adapter only; else LoRA rank on the attention")
    p.add_argument("--lora-alpha", type=float, default=None)
    p.add_argument("--audio-dropout", type=float, default=0.1, help="probability of training without audio")
    p.add_argument("--overlap-probability", type=float, default=0.5,
                   help="share of clips trained as later long-form chunks (pivot reference + motion latents)")
    p.add_argument("--motion-latents", type=int, default=2, help="motion latents of a later chunk (as the preset)")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--mixed-precision", choices=("bf16", "no"), default=None, help="default: bf16 on CUDA, no on CPU")
    p.add_argument("--shift", type=float, default=None, help="timestep shift (default: the model scheduler's)")
    p.add_argument("--warmup", type=int, default=0, help="steps of linear learning-rate warmup")
    p.add_argument("--save-every", type=int, default=500)
    p.add_argument("--keep-checkpoints", type=int, default=2, help="newest checkpoints kept (0: all)")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--num-workers", type=int, default=2, help="data loader processes decoding clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overfit-one-batch", action="store_true", help="sanity check: train on step 0's batch only")
    p.add_argument("--device", default=None, help="cpu to train without CUDA")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    p.add_argument("--export", default=None, metavar="FOLDER",
                   help="afterwards, write a complete model folder with the trained weights here")
    return p.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> FinetuneConfig:
    w, h = (int(v) for v in args.resolution.lower().split("x"))
    return FinetuneConfig(
        steps=args.steps, lr=args.lr, batch_size=args.batch_size, width=w, height=h, frames=args.frames,
        lora_rank=args.lora_rank, lora_alpha=args.lora_alpha, audio_dropout=args.audio_dropout,
        gradient_checkpointing=args.gradient_checkpointing, mixed_precision=args.mixed_precision, shift=args.shift,
        warmup=args.warmup, save_every=args.save_every, keep_checkpoints=args.keep_checkpoints,
        log_every=args.log_every, num_workers=args.num_workers, seed=args.seed,
        overfit_one_batch=args.overfit_one_batch, device=args.device,
        overlap_probability=args.overlap_probability, motion_latents=args.motion_latents,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = finetune(args.model, args.manifest, args.out, config_from_args(args), resume=args.resume)
    s = result.summary()
    print(f"steps {s['first_step']} -> {s['last_step']}: loss {s['loss_first']:.5f} -> {s['loss_last']:.5f} "
          f"in {s['seconds']:.1f}s; adapter in {Path(args.out) / ADAPTER_DIR}")
    if args.export:
        print(f"model folder written to {export_model_folder(args.model, args.out, args.export)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
