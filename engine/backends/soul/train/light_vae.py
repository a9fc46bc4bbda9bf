"""Distil a :class:`~engine.backends.soul.light_vae.LightVAE` from the full Wan2.2 VAE decoder.

The teacher encodes video clips to latents and decodes them again; the light decoder
learns to produce the teacher's decoded frames from the same latents (L1 + MSE). It
never sees pixels the teacher did not make, so it learns the teacher's decoder, not a
new autoencoder, and slots in wherever ``vae.decode`` is called.

Clips come from a folder of movies (``--videos``), from synthetic moving shapes
(``--synthetic N``, enough to check the loop anywhere), or from the training export
(``--data``, see :mod:`.export`) that distillation reads too. Weights are read from and written
to safetensors only::

    python -m engine.backends.soul.train.light_vae --vae MODEL/vae --videos clips/ --out light_vae/
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from engine.backends.soul.light_vae import LightVAE, light_vae_for
from engine.backends.soul.train.common import component_folder, mean_first_last, pick_device, refuse_pickles, write_log


def synthetic_clips(count: int, frames: int, height: int, width: int, seed: int = 0) -> list[torch.Tensor]:
    """Moving coloured discs over drifting gradients, (3, F, H, W) in [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    clips = []
    for _ in range(count):
        base = rng.uniform(-0.8, 0.8, size=(3, 1, 1))
        grad = rng.uniform(-0.5, 0.5, size=(3, 2))
        discs = [(rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-2, 2), rng.uniform(-2, 2),
                  rng.uniform(height / 8, height / 3), rng.uniform(-1, 1, size=3)) for _ in range(2)]
        video = np.empty((3, frames, height, width), dtype=np.float32)
        for t in range(frames):
            img = base + grad[:, :1, None] * (xx / width - 0.5 + 0.02 * t) + grad[:, 1:, None] * (yy / height - 0.5)
            for cx, cy, vx, vy, r, colour in discs:
                mask = ((xx - cx - vx * t) ** 2 + (yy - cy - vy * t) ** 2) < r * r
                img = np.where(mask[None], colour[:, None, None], img)
            video[:, t] = img
        clips.append(torch.from_numpy(np.clip(video, -1, 1)))
    return clips


def video_clips(folder: str | Path, frames: int, height: int, width: int, limit: int = 64) -> list[torch.Tensor]:
    """Up to ``limit`` clips of ``frames`` frames cut from the movies in ``folder``."""
    from engine.media import fit_image, iter_frames

    clips: list[torch.Tensor] = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in (".mp4", ".mov", ".mkv", ".webm", ".avi"):
            continue
        buffer: list[np.ndarray] = []
        for frame in iter_frames(path):
            buffer.append(fit_image(frame, width, height, mode="cover"))
            if len(buffer) == frames:
                video = torch.from_numpy(np.stack(buffer)).permute(3, 0, 1, 2).float().div(127.5).sub(1.0)
                clips.append(video)
                buffer = []
                if len(clips) >= limit:
                    return clips
    if not clips:
        raise ValueError(f"no clips of {frames} frames found in {folder}")
    return clips


@torch.no_grad()
def teacher_pairs(vae: torch.nn.Module, clips: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(raw latents, teacher-decoded frames) for every clip; the teacher runs once per clip."""
    device = next(vae.parameters()).device
    pairs = []
    for clip in clips:
        x = clip[None].to(device=device, dtype=vae.dtype)
        z = vae.encode(x).latent_dist.mode()
        target = vae.decode(z).sample
        pairs.append((z.float().cpu(), target.float().cpu()))
    return pairs


def train_light_vae(
    student: LightVAE,
    pairs: list[tuple[torch.Tensor, torch.Tensor]],
    steps: int = 1000,
    lr: float = 1e-3,
    seed: int = 0,
    device: torch.device | str = "cpu",
    on_log: Callable[[int, float], None] | None = None,
    log_every: int = 50,
) -> list[float]:
    """Fit ``student`` to the teacher's decodes; returns the loss of every step."""
    device = torch.device(device)
    student.to(device).train()
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, steps)))))
    gen = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    for step in range(steps):
        z, target = pairs[int(torch.randint(len(pairs), (1,), generator=gen))]
        z, target = z.to(device), target.to(device)
        out = student(z)
        loss = F.l1_loss(out, target) + F.mse_loss(out, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if on_log is not None and (step % log_every == 0 or step == steps - 1):
            on_log(step, losses[-1])
    student.eval()
    return losses


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m engine.backends.soul.train.light_vae",
        description="Distil a light VAE decoder from a Wan2.2 AutoencoderKLWan (safetensors in, safetensors out).",
    )
    p.add_argument("--vae", required=True, help="AutoencoderKLWan folder, or a soul model folder holding vae/")
    p.add_argument("--out", required=True, help="folder to write the light VAE (config.json + safetensors)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--videos", help="folder of movies to cut training clips from")
    src.add_argument("--synthetic", type=int, metavar="N", help="train on N synthetic moving-shape clips")
    src.add_argument("--data", help="a folder written by engine.backends.soul.train.export --with-decoded "
                                    "(the same export distillation reads)")
    p.add_argument("--frames", type=int, default=17, help="frames per clip (4k+1)")
    p.add_argument("--size", default="256x256", help="clip size WxH (multiples of the VAE's spatial scale)")
    p.add_argument("--clips", type=int, default=64, help="most clips to take from --videos")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--channels", default="128,96,64,48", help="widths of the light decoder's stages")
    p.add_argument("--blocks", type=int, default=1, help="memory blocks per stage")
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from diffusers import AutoencoderKLWan

    args = parse_args(argv)
    if (args.frames - 1) % 4:
        raise SystemExit(f"--frames {args.frames} is not of the form 4k+1")
    width, height = (int(v) for v in args.size.lower().split("x"))
    device = pick_device(args.device)
    vae_dir = component_folder(args.vae, "vae")
    refuse_pickles(vae_dir)
    vae = AutoencoderKLWan.from_pretrained(vae_dir, use_safetensors=True).to(device).eval()
    torch.manual_seed(args.seed)
    started = time.monotonic()
    if args.data:
        from engine.backends.soul.train.export import decoder_pairs

        pairs = decoder_pairs(args.data)
        clips = pairs
    else:
        if args.videos:
            clips = video_clips(args.videos, args.frames, height, width, args.clips)
        else:
            clips = synthetic_clips(args.synthetic, args.frames, height, width, args.seed)
        pairs = teacher_pairs(vae, clips)
    del vae
    student = light_vae_for(AutoencoderKLWan.load_config(vae_dir), tuple(int(c) for c in args.channels.split(",")),
                            args.blocks)
    losses = train_light_vae(student, pairs, args.steps, args.lr, args.seed, device,
                             on_log=lambda s, v: print(f"step {s:6d}  loss {v:.5f}", flush=True))
    out = Path(args.out)
    student.to("cpu").save_pretrained(out, safe_serialization=True)
    first, last = mean_first_last(losses)
    write_log(out / "training.json", {
        "teacher": str(vae_dir), "clips": len(clips), "frames": args.frames, "size": [width, height],
        "steps": args.steps, "lr": args.lr, "loss_first": first, "loss_last": last,
        "seconds": round(time.monotonic() - started, 2), "losses": losses[:: max(1, len(losses) // 200)],
    })
    print(f"light VAE saved to {out} (loss {first:.4f} -> {last:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
