"""Export the encoded training set once: latents, prompt embeddings, audio features per clip window.

Distillation and the light decoder then train from these files alone, so the 11 GB text
encoder, the audio encoder and the VAE encoder never share the GPU with the 5B teacher and
its student. One ``window-NNNNN.safetensors`` per clip window holds

* ``latents`` (1, C, T, h, w): normalised, as sampling sees them;
* ``cond_latents`` (1, C, 1, h, w): the first frame's latent (the portrait of a first chunk);
* ``reference_latents`` (1, C, 1, h, w): the pivot reference (a frame from elsewhere in the clip);
* ``prompt_embeds`` / ``negative_prompt_embeds`` (1, L, D): the caption and Wan's negative prompt;
* ``audio_features`` (F, window, layers, width): the audio encoder's per-frame windows;
* with ``--with-decoded``, ``decoded`` (F, H, W, 3) uint8: the full VAE's decode of ``latents``,
  the target a light decoder learns (``python -m engine.backends.soul.train.light_vae --data``).

    python -m engine.backends.soul.train.export --model MODEL --manifest clips.jsonl --out export/ \\
        --resolution 832x480 --frames 81 --with-decoded
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch


@torch.no_grad()
def export_windows(pipe: Any, manifest: str | Path, out: str | Path, width: int, height: int, frames: int,
                   epochs: int = 1, seed: int = 0, with_decoded: bool = False, negative_prompt: str | None = None) -> int:
    """Encode every clip window of ``manifest`` (``epochs`` windows per clip) into ``out``; returns the count."""
    from safetensors.torch import save_file

    from engine.backends.soul.presets import DEFAULT_NEGATIVE
    from engine.backends.soul.train.dataset import ClipDataset
    from engine.backends.soul.train.finetune import BatchEncoder

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    dataset = ClipDataset(manifest, width, height, frames, seed=seed, temporal_stride=pipe.vae_scale_factor_temporal)
    encoder = BatchEncoder(pipe, frames)
    negative = pipe.encode_prompt("", negative_prompt or DEFAULT_NEGATIVE)[1]
    count = 0
    for epoch in range(epochs):
        for index in range(len(dataset)):
            item = dataset[(index, epoch)]
            batch = {k: [v] for k, v in item.items()}
            batch["frames"] = item["frames"][None]
            batch["reference"] = item["reference"][None]
            latents, text, features, reference = encoder(batch)
            tensors = {
                "latents": latents.float().cpu(), "cond_latents": latents[:, :, :1].float().cpu(),
                "reference_latents": reference.float().cpu(), "prompt_embeds": text.float().cpu(),
                "negative_prompt_embeds": negative.float().cpu(), "audio_features": features[0].float().cpu(),
            }
            if with_decoded:
                tensors["decoded"] = torch.from_numpy(np.concatenate(list(pipe.decode_latents(latents))))
            meta = {"clip": str(dataset.clips[index].path), "caption": item["caption"], "start": str(item["start"]),
                    "fps": str(item["fps"]), "epoch": str(epoch)}
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(root / f"window-{count:05d}.safetensors"),
                      metadata=meta)
            count += 1
    (root / "export.json").write_text(json.dumps({
        "windows": count, "clips": len(dataset), "resolution": [width, height], "frames": frames,
        "vae_latents_mean": list(pipe.vae.config.latents_mean), "vae_latents_std": list(pipe.vae.config.latents_std),
        "with_decoded": with_decoded,
    }, indent=2))
    return count


def decoder_pairs(folder: str | Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(raw VAE latents, decoded frames in [-1, 1] as 1×3×F×H×W) pairs for light-decoder training."""
    from safetensors.torch import load_file

    root = Path(folder)
    info = json.loads((root / "export.json").read_text())
    mean = torch.tensor(info["vae_latents_mean"]).view(1, -1, 1, 1, 1)
    std = torch.tensor(info["vae_latents_std"]).view(1, -1, 1, 1, 1)
    pairs = []
    for path in sorted(root.glob("window-*.safetensors")):
        d = load_file(str(path))
        if "decoded" not in d:
            raise ValueError(f"{path.name} has no decoded frames: export with --with-decoded")
        target = d["decoded"].permute(3, 0, 1, 2)[None].float().div(127.5).sub(1.0)
        pairs.append((d["latents"] * std + mean, target))
    if not pairs:
        raise ValueError(f"no exported windows in {root}")
    return pairs


def main(argv: list[str] | None = None) -> int:
    from engine.backends.soul.loader import LoadOptions, load_soul_pipeline

    p = argparse.ArgumentParser(prog="python -m engine.backends.soul.train.export", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--manifest", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--resolution", default="832x480")
    p.add_argument("--frames", type=int, default=81)
    p.add_argument("--epochs", type=int, default=1, help="windows per clip (each epoch draws new windows)")
    p.add_argument("--with-decoded", action="store_true", help="also store the full VAE's decode (light VAE target)")
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.resolution.lower().split("x"))
    pipe = load_soul_pipeline(args.model, LoadOptions(device=args.device, shape=(width, height, args.frames)))
    n = export_windows(pipe, args.manifest, args.out, width, height, args.frames, args.epochs, args.seed,
                       args.with_decoded)
    print(f"{n} windows written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
