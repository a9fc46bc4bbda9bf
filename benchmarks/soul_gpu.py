"""Soul model speed and memory: seconds per sampling step with and without CFG, VAE decode.

Default: a tiny random-weight model folder on CPU, loaded through the real loader.
``--full`` (or a CUDA GPU): Wan2.2-TI2V-5B-sized transformer, Wan2.2 VAE and audio
adapter with random weights (nothing downloaded) at 1280×704, 121 frames. The UMT5-XXL
text encoder is not built at full size: prompt embeddings of its shape are random,
since the encoder runs once per job and does not affect the per-step numbers.

Then a draft and a final of the same clip, **at the same output resolution, on the same
seed**: the final is the teacher with 40 steps of text and audio guidance (3 passes a step)
decoded by the full VAE; the draft is a LoRA student (run unmerged, by hooks) with 4
single-pass steps decoded by the light VAE. ``draft_final_speedup`` is the ratio of their
wall times in this run, next to the quality of the draft against the final: PSNR, and an
LPIPS proxy (no LPIPS weights are downloaded: a multi-scale distance of normalised image
gradients, 0 = same structure). ``psnr_same_decoder_db`` decodes the draft's latents with
the full VAE too, separating the student's loss from the light VAE's. The tiny CPU case
uses a quickly distilled student and an untrained light VAE, and random weights at full
size: its quality numbers exercise the measurement, they are not the model's quality.

Writes benchmarks/results/soul_gpu.json with metrics s_per_step_cfg, s_per_step_nocfg,
vae_decode_s, peak_mem_gb, final_s, draft_s, draft_final_speedup, psnr_draft_vs_final_db,
psnr_same_decoder_db and lpips_proxy_draft_vs_final.
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

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.soul.adapter import SoulAudioAdapter  # noqa: E402
from engine.backends.soul.pipeline import SoulConditioning, SoulPipeline  # noqa: E402

WIDTH, HEIGHT, FRAMES = 1280, 704, 121
FULL_TRANSFORMER = dict(
    patch_size=(1, 2, 2), num_attention_heads=24, attention_head_dim=128, in_channels=48, out_channels=48,
    text_dim=4096, freq_dim=256, ffn_dim=14336, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=1024,
)
FULL_VAE = dict(
    base_dim=160, decoder_base_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2, attn_scales=[],
    temperal_downsample=[False, True, True], dropout=0.0, in_channels=12, out_channels=12, patch_size=2,
    scale_factor_spatial=16, scale_factor_temporal=4, is_residual=True,
    latents_mean=[0.0] * 48, latents_std=[1.0] * 48,
)
# whisper-large-v3 features (32 layers × 1280), one audio attention per block after the text attention
FULL_ADAPTER = dict(audio_dim=1280, audio_layers=32, audio_encoder_type="whisper", context_frames=2,
                    temporal_stride=4, tokens_per_frame=4, proj_dim=1024, model_dim=3072, num_heads=24, num_blocks=30)


def cast(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Cast as ``from_pretrained(torch_dtype=...)`` does: modules the class keeps in fp32 stay fp32."""
    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    for name, param in model.named_parameters():
        if not any(k in name.split(".") for k in keep):
            param.data = param.data.to(dtype)
    return model.eval()


def full_pipeline(device: torch.device, dtype: torch.dtype, offload: bool, tiling: bool) -> SoulPipeline:
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanTransformer3DModel

    build_on = torch.device("cpu") if offload else device
    torch.manual_seed(0)
    with build_on:
        transformer = cast(WanTransformer3DModel(**FULL_TRANSFORMER), dtype)
        adapter = cast(SoulAudioAdapter(**FULL_ADAPTER), dtype)
        vae = AutoencoderKLWan(**FULL_VAE).eval()
    scheduler = UniPCMultistepScheduler(num_train_timesteps=1000, prediction_type="flow_prediction",
                                        use_flow_sigmas=True, flow_shift=5.0)
    pipe = SoulPipeline(tokenizer=None, text_encoder=None, vae=vae, scheduler=scheduler, transformer=transformer,
                        audio_adapter=adapter)
    if tiling:
        vae.enable_tiling()
    if offload and device.type == "cuda":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe


def tiny_pipeline() -> SoulPipeline:
    from engine.backends.soul.loader import load_soul_pipeline
    from engine.backends.soul.testing import build_tiny_soul_folder

    folder = build_tiny_soul_folder(Path(tempfile.mkdtemp(prefix="soul_bench_")) / "tiny", trained_adapter=True)
    return load_soul_pipeline(folder)


def make_draft_parts(pipe: SoulPipeline, folder: Path, full: bool) -> tuple[Path, Path]:
    """A LoRA student (distilled a little on the tiny model, random at full size) and a light VAE."""
    from engine.backends.soul.light_vae import light_vae_for
    from engine.backends.soul.train import distill as D
    from engine.backends.soul.train.lora import add_lora, lora_modules

    config = D.DistillConfig(guidance_text=5.0, guidance_audio=4.0, teacher_steps=8, student_steps=4, cfg_iters=4,
                             step_iters=2, lr=1e-3, lora_rank=64 if full else 4)
    if full:  # no weights to distil: random factors of the real size (timing only), never a 5B copy
        add_lora(pipe.transformer, config.lora_rank)
        gen = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for mod in lora_modules(pipe.transformer).values():
                mod.lora_B.weight.copy_(torch.randn(mod.lora_B.weight.shape, generator=gen) * 1e-3)
        D.save_student(pipe.transformer, folder / "student", config)
        from engine.backends.soul.train.lora import merge_lora

        with torch.no_grad():
            for mod in lora_modules(pipe.transformer).values():
                mod.lora_B.weight.zero_()
        merge_lora(pipe.transformer)  # zero delta: the teacher's weights are unchanged
    else:
        samples = D.synthetic_samples(2, pipe.transformer.config.in_channels, 5, 4, 4, pipe.transformer.config.text_dim)
        student, report = D.distill(pipe.transformer, samples, config)
        D.save_student(student, folder / "student", config, report)
    light_vae_for(pipe.vae.config, (128, 96, 64, 48) if full else (8, 8, 8, 8)).save_pretrained(folder / "light_vae")
    return folder / "student", folder / "light_vae"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def lpips_proxy(a: np.ndarray, b: np.ndarray, scales: int = 3) -> float:
    """Mean over scales of the distance between unit-normalised gradient fields (structure, not colour)."""
    def grads(x: torch.Tensor) -> torch.Tensor:
        gx, gy = x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
        g = torch.cat([gx[..., :-1, :], gy[..., :, :-1]], dim=1)
        return g / g.norm(dim=1, keepdim=True).clamp_min(1e-3)

    x = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
    total = 0.0
    for _ in range(scales):
        total += float((grads(x) - grads(y)).pow(2).sum(1).mean()) / 4  # in [0, 1]
        if min(x.shape[-2:]) < 8:
            break
        x, y = torch.nn.functional.avg_pool2d(x, 2), torch.nn.functional.avg_pool2d(y, 2)
    return total / scales


def draft_vs_final(pipe: SoulPipeline, cond: SoulConditioning, frames: int, width: int, height: int, full: bool,
                   device: torch.device) -> dict[str, float]:
    """Time a final and a draft of the same clip at the same size and seed; compare their frames."""
    from engine.backends.soul.presets import light_decoder, use_student

    folder = Path(tempfile.mkdtemp(prefix="soul_draft_"))
    student_dir, light_dir = make_draft_parts(pipe, folder, full)
    noise = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(7))

    def timed(fn):
        sync(device)
        start = time.perf_counter()
        out = fn()
        sync(device)
        return out, time.perf_counter() - start

    final_latents, final_sample_s = timed(lambda: pipe.denoise(noise, cond, 40, 5.0, 4.0))
    final_frames, final_decode_s = timed(lambda: np.concatenate(list(pipe.decode_latents(final_latents))))
    decode = light_decoder(pipe, light_dir)
    with use_student(pipe, student_dir) as meta:
        draft_latents, draft_sample_s = timed(lambda: pipe.denoise(noise, cond, int(meta["steps"]), 1.0, 1.0))
    draft_frames, draft_decode_s = timed(lambda: np.concatenate(list(decode(draft_latents))))
    same_decoder = np.concatenate(list(pipe.decode_latents(draft_latents)))
    final_s, draft_s = final_sample_s + final_decode_s, draft_sample_s + draft_decode_s
    return {
        "final_s": round(final_s, 4), "draft_s": round(draft_s, 4),
        "draft_final_speedup": round(final_s / draft_s, 2),
        "final_sample_s": round(final_sample_s, 4), "draft_sample_s": round(draft_sample_s, 4),
        "final_decode_s": round(final_decode_s, 4), "draft_decode_s": round(draft_decode_s, 4),
        "psnr_draft_vs_final_db": round(psnr(draft_frames, final_frames), 2),
        "psnr_same_decoder_db": round(psnr(same_decoder, final_frames), 2),
        "lpips_proxy_draft_vs_final": round(lpips_proxy(draft_frames, final_frames), 4),
    }


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full-size model at 1280x704, 121 frames")
    parser.add_argument("--tiny", action="store_true", help="force the tiny CPU case even with CUDA present")
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps per measurement after one warm-up (default: 3 full, 10 tiny)")
    parser.add_argument("--batch-cfg", action="store_true", help="run the 3 CFG passes as one batch")
    parser.add_argument("--offload", action="store_true", help="model CPU offload (24 GB cards)")
    parser.add_argument("--tiling", action="store_true", help="VAE tiling (24 GB cards)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "soul_gpu.json"))
    args = parser.parse_args()

    cuda = torch.cuda.is_available()
    full = (args.full or cuda) and not args.tiny
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    width, height, frames = (WIDTH, HEIGHT, FRAMES) if full else (64, 64, 9)
    args.steps = args.steps or (3 if full else 10)

    t0 = time.perf_counter()
    pipe = full_pipeline(device, dtype, args.offload, args.tiling) if full else tiny_pipeline()
    build_s = time.perf_counter() - t0
    exec_device = pipe._execution_device
    text_dim = pipe.transformer.config.text_dim
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(1, 512, text_dim, generator=gen).to(exec_device, pipe.transformer.dtype)
    neg = torch.randn(1, 512, text_dim, generator=gen).to(exec_device, pipe.transformer.dtype)
    a = pipe.audio_adapter.config
    feats = torch.randn(frames, 2 * a.context_frames + 1, a.audio_layers, a.audio_dim, generator=gen)
    tokens, null = pipe.project_audio(feats)
    shape = pipe.latent_shape(frames, height, width)
    cond_latent = torch.randn(1, shape[1], 1, shape[3], shape[4], generator=gen).to(exec_device)
    cond = SoulConditioning(pos, neg, tokens, null, cond_latent)
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    def per_step(gt: float, ga: float) -> float:
        latents = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(1))
        pipe.denoise(latents, cond, 1, gt, ga, batch_cfg=args.batch_cfg)  # warm-up
        sync(device)
        start = time.perf_counter()
        pipe.denoise(latents, cond, args.steps, gt, ga, batch_cfg=args.batch_cfg)
        sync(device)
        return (time.perf_counter() - start) / args.steps

    s_nocfg = per_step(1.0, 1.0)
    s_cfg = per_step(5.0, 4.0)
    latents = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(2))
    sync(device)
    start = time.perf_counter()
    decoded = sum(piece.shape[0] for piece in pipe.decode_latents(latents))
    sync(device)
    vae_s = time.perf_counter() - start
    assert decoded == frames, (decoded, frames)
    compare = draft_vs_final(pipe, cond, frames, width, height, full, device)
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 1024**3
        device_name = torch.cuda.get_device_name(0)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: KiB
        device_name = f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"

    result = {
        "benchmark": "soul_gpu",
        "device": device_name,
        "params": {
            "size": "full" if full else "tiny", "width": width, "height": height, "frames": frames,
            "latent_shape": list(shape), "dtype": str(dtype).replace("torch.", ""),
            "timed_steps": args.steps, "cfg_passes": 3, "batch_cfg": args.batch_cfg,
            "cpu_offload": args.offload, "vae_tiling": args.tiling,
            "transformer_params": sum(p.numel() for p in pipe.transformer.parameters()),
            "adapter_params": sum(p.numel() for p in pipe.audio_adapter.parameters()),
            "peak_mem": "cuda max_memory_allocated" if cuda else "process max RSS",
            "build_s": round(build_s, 2),
            "draft_vs_final": {"same_output_size": [width, height, frames], "seed": 7,
                               "final": "teacher, 40 steps, guidance text 5 / audio 4 (3 passes), full VAE",
                               "draft": "LoRA student by hooks, 4 steps, 1 pass, light VAE",
                               "weights": "random (timing only)" if full else
                               "tiny: briefly distilled student, untrained light VAE (measurement check only)"},
        },
        "metrics": {
            "s_per_step_cfg": round(s_cfg, 4),
            "s_per_step_nocfg": round(s_nocfg, 4),
            "vae_decode_s": round(vae_s, 4),
            "peak_mem_gb": round(peak, 3),
            **compare,
        },
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"soul_gpu [{result['params']['size']}] on {device_name}: {width}x{height}x{frames}")
    for key, value in result["metrics"].items():
        print(f"  {key:18s} {value}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
