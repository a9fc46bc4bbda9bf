"""InfiniteTalk speed and memory: seconds per sampling step (final CFG and draft), VAE decode, peak VRAM.

Default: a tiny random-weight folder on CPU (published adapter layout), loaded through the
real loader, timed at two small sizes. ``--full`` (or a CUDA GPU): Wan2.1-I2V-14B-sized
transformer, the InfiniteTalk adapter and the Wan2.1 VAE with random weights (nothing
downloaded), at the 480p and 720p buckets (832×480, 1280×704), 81 frames, one streaming
window. Without CUDA, ``--full`` builds every full-size module on the ``meta`` device and
reports parameter counts only. Text and CLIP embeddings are random tensors of the real
shapes: those encoders run once per job and do not change the per-step numbers.

Metrics: ``s_per_step_cfg`` (40-step final: text CFG 5 + audio CFG 4, 3 transformer passes),
``s_per_step_draft`` (draft: the lightx2v-style LoRA hooked on, audio CFG 2, 2 passes),
``vae_decode_s`` (one 81-frame window), ``peak_vram_gb`` (CUDA max allocated; process RSS on CPU).
Writes benchmarks/results/infinitetalk_gpu.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.infinitetalk.adapter import InfiniteTalkAdapter  # noqa: E402
from engine.backends.infinitetalk.pipeline import (  # noqa: E402
    InfiniteTalkConditioning,
    InfiniteTalkPipeline,
    reference_scheduler,
)

FULL_SIZES = {"480p": (832, 480), "720p": (1280, 704)}
TINY_SIZES = {"tiny_small": (64, 48), "tiny_large": (96, 64)}
FULL_TRANSFORMER = dict(
    patch_size=(1, 2, 2), num_attention_heads=40, attention_head_dim=128, in_channels=36, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=13824, num_layers=40, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=1280, added_kv_proj_dim=5120, rope_max_seq_len=1024,
)
FULL_ADAPTER = dict(audio_dim=768, audio_layers=12, audio_window=5, temporal_stride=4, intermediate_dim=512,
                    cross_dim=768, context_tokens=32, model_dim=5120, num_heads=40, num_blocks=40)
FULL_VAE = dict(base_dim=96, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
                temperal_downsample=[False, True, True], dropout=0.0)


def _keep_fp32(model: torch.nn.Module) -> tuple[str, ...]:
    return tuple(getattr(model, "_keep_in_fp32_modules", None) or ())


def materialise(model: torch.nn.Module, device: torch.device, dtype: torch.dtype, seed: int = 0) -> torch.nn.Module:
    """A meta-built model on ``device`` in ``dtype`` (fp32-kept modules stay fp32), random N(0, 0.02) weights.

    Building on meta first means a 16B model never exists in fp32 anywhere.
    """
    keep = _keep_fp32(model)
    for name, param in model.named_parameters():
        if not any(k in name.split(".") for k in keep):
            param.data = param.data.to(dtype)
    model.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.zero_()
            elif param.ndim == 1:
                param.fill_(1.0)
            else:
                param.normal_(0.0, 0.02, generator=gen)
    return model.eval().requires_grad_(False)


def full_models(device: torch.device, dtype: torch.dtype) -> dict[str, Any]:
    """Full-size transformer, adapter and VAE; on meta when ``device`` is meta."""
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from diffusers.models.transformers.transformer_wan import WanRotaryPosEmbed

    with torch.device("meta"):
        transformer = WanTransformer3DModel(**FULL_TRANSFORMER)
        adapter = InfiniteTalkAdapter(**FULL_ADAPTER)
    if device.type == "meta":
        with torch.device("meta"):
            vae = AutoencoderKLWan(**FULL_VAE)
        return {"transformer": transformer, "adapter": adapter, "vae": vae}
    materialise(transformer, device, dtype)
    cfg = transformer.config
    transformer.rope = WanRotaryPosEmbed(cfg.attention_head_dim, cfg.patch_size, cfg.rope_max_seq_len).to(device)
    materialise(adapter, device, dtype, seed=1)
    vae = AutoencoderKLWan(**FULL_VAE).eval().requires_grad_(False).to(device)
    return {"transformer": transformer, "adapter": adapter, "vae": vae}


def full_pipeline(device: torch.device, dtype: torch.dtype) -> InfiniteTalkPipeline:
    parts = full_models(device, dtype)
    return InfiniteTalkPipeline(tokenizer=None, text_encoder=None, image_encoder=None, image_processor=None,
                                vae=parts["vae"], scheduler=reference_scheduler(7.0), transformer=parts["transformer"],
                                audio_adapter=parts["adapter"])


def tiny_pipeline() -> InfiniteTalkPipeline:
    from engine.backends.infinitetalk.loader import load_infinitetalk_pipeline
    from engine.backends.infinitetalk.testing import build_tiny_infinitetalk_folder

    folder = build_tiny_infinitetalk_folder(Path(tempfile.mkdtemp(prefix="infinitetalk_bench_")) / "tiny")
    pipe = load_infinitetalk_pipeline(folder)
    pipe.scheduler = reference_scheduler(7.0)
    return pipe


def draft_lora(pipe: InfiniteTalkPipeline, rank: int) -> Any:
    """A random rank-``rank`` LoRA on every linear layer lightx2v adapts, attached by hooks."""
    from engine.backends.infinitetalk.lora import DraftLoRA, convert_lora_state_dict
    from engine.backends.infinitetalk.lora_testing import tiny_lora_state_dict

    state = tiny_lora_state_dict(pipe.transformer, rank=rank)
    lora = DraftLoRA(convert_lora_state_dict(state), 1.0, "random")
    lora.attach(pipe.transformer)
    return lora


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(pipe: InfiniteTalkPipeline, width: int, height: int, frames: int, steps: int, lora_rank: int,
            device: torch.device) -> dict[str, float]:
    """Per-step seconds for the final and the draft preset, decode seconds and peak memory at one size."""
    dtype = pipe.transformer.dtype
    cfg, a = pipe.transformer.config, pipe.audio_adapter.config
    gen = torch.Generator().manual_seed(0)
    exec_device = pipe._execution_device
    pos = torch.randn(1, 512, cfg.text_dim, generator=gen).to(exec_device, dtype)
    neg = torch.randn(1, 512, cfg.text_dim, generator=gen).to(exec_device, dtype)
    image = torch.randn(1, 257, cfg.image_dim, generator=gen).to(exec_device, dtype)
    shape = pipe.latent_shape(frames, height, width)
    condition = torch.randn(1, cfg.in_channels - shape[1], *shape[2:], generator=gen).to(exec_device)
    windows = torch.randn(1, frames, a.audio_window, a.audio_layers, a.audio_dim, generator=gen)
    cond = InfiniteTalkConditioning(pos, neg, image, condition)
    cond.audio_tokens, cond.null_audio_tokens = pipe.audio_tokens(windows.to(exec_device))
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()

    def per_step(gt: float, ga: float) -> float:
        latents = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(1))
        known = latents[:, :, :1].clone()
        pipe.denoise(latents, cond, 1, gt, ga, known=known)  # warm-up
        sync(device)
        start = time.perf_counter()
        pipe.denoise(latents, cond, steps, gt, ga, known=known)
        sync(device)
        return (time.perf_counter() - start) / steps

    s_cfg = per_step(5.0, 4.0)
    lora = draft_lora(pipe, lora_rank)
    try:
        s_draft = per_step(1.0, 2.0)
    finally:
        lora.detach()
    latents = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(2))
    sync(device)
    start = time.perf_counter()
    video = pipe.decode(latents)
    sync(device)
    vae_s = time.perf_counter() - start
    assert video.shape[2] == frames, video.shape
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 1024**3
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux reports KiB
    return {"s_per_step_cfg": round(s_cfg, 4), "s_per_step_draft": round(s_draft, 4),
            "vae_decode_s": round(vae_s, 4), "peak_vram_gb": round(peak, 3)}


def params_of(models: dict[str, torch.nn.Module]) -> dict[str, int]:
    return {f"{k}_params": sum(p.numel() for p in m.parameters()) for k, m in models.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full-size modules at 480p and 720p, 81 frames")
    parser.add_argument("--tiny", action="store_true", help="force the tiny CPU case even with CUDA present")
    parser.add_argument("--steps", type=int, default=None, help="timed steps after one warm-up (2 full, 10 tiny)")
    parser.add_argument("--frames", type=int, default=None, help="frames per window (81 full, 33 tiny)")
    parser.add_argument("--sizes", nargs="+", default=None, help="480p / 720p (full)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "infinitetalk_gpu.json"))
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    full = (args.full or cuda) and not args.tiny
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    frames = args.frames or (81 if full else 33)
    steps = args.steps or (2 if full else 10)
    sizes = {k: FULL_SIZES[k] for k in (args.sizes or FULL_SIZES)} if full else TINY_SIZES
    params: dict[str, Any] = {"size": "full" if full else "tiny", "frames": frames, "timed_steps": steps,
                              "dtype": str(dtype).replace("torch.", ""), "cfg_passes": 3, "draft_passes": 2,
                              "sizes": {k: list(v) for k, v in sizes.items()}}
    metrics: dict[str, Any] = {}
    if full and not cuda:
        t0 = time.perf_counter()
        models = full_models(torch.device("meta"), dtype)
        params.update(params_of(models), built_on="meta (no CUDA: nothing timed)",
                      build_s=round(time.perf_counter() - t0, 2))
        device_name = f"meta ({platform.machine()}, no CUDA)"
        per_size: dict[str, dict[str, float]] = {}
    else:
        t0 = time.perf_counter()
        pipe = full_pipeline(device, dtype) if full else tiny_pipeline()
        params.update(params_of({"transformer": pipe.transformer, "adapter": pipe.audio_adapter, "vae": pipe.vae}),
                      build_s=round(time.perf_counter() - t0, 2))
        lora_rank = 64 if full else 4
        params["draft_lora_rank"] = lora_rank
        per_size = {name: measure(pipe, w, h, frames, steps, lora_rank, device) for name, (w, h) in sizes.items()}
        params["peak_mem"] = "cuda max_memory_allocated" if cuda else "process max RSS"
        device_name = torch.cuda.get_device_name(0) if cuda else (
            f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)")
    # flat numbers: KEY_SIZE for every size; the plain KEY is the first (480p) size
    for i, (name, values) in enumerate(per_size.items()):
        for key, value in values.items():
            metrics[f"{key}_{name}"] = value
            if i == 0:
                metrics[key] = value
    params["timed"] = bool(per_size)
    result = {"benchmark": "infinitetalk_gpu", "device": device_name, "params": params, "metrics": metrics}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"infinitetalk_gpu [{params['size']}] on {device_name}, {frames} frames")
    if not per_size:
        print("  no CUDA: full-size modules built on meta, nothing timed")
    for name, values in per_size.items():
        w, h = sizes[name]
        print(f"  {name} ({w}x{h}): " + ", ".join(f"{k} {v}" for k, v in values.items()))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
