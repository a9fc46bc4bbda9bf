"""Soul drafts versus finals, and the memory of long shots.

Two measurements:

- ``preset_wall_ratio``: wall time of a ``final`` render divided by that of a ``draft``
  render of the same shot on the same device, one run each, *each at its own preset size*
  (so it is not a like-for-like speedup: ``benchmarks/soul_gpu.py`` measures
  ``draft_final_speedup`` at one output size, with quality next to it), both through
  ``longform.render_long`` (presets → student/light VAE → chunked generation → encoder).
  ``final`` = 40 steps with text and audio guidance (3 passes a step) and the full VAE;
  ``draft`` = the distilled student's 4 single-pass steps and the light VAE, at the
  smaller draft size.
- ``peak_mem_1min_mb`` / ``peak_mem_5min_mb``: peak resident memory of a process that
  renders a 1-minute and a 5-minute shot (draft path, chunks streamed into an H.264
  file). Each length runs in a fresh process; a sampler thread reads the RSS every 5 ms
  during the render. Streaming keeps the two close; ``frames_held_*_mb`` (tracemalloc
  peak of Python/numpy allocations) shows the frames never pile up.

Default: the tiny random-weight soul folder on CPU (one thread, as the tests use), with a
quickly distilled LoRA student and a small light VAE, sizes scaled down from 1280×704 and
832×480. ``--full`` (or a CUDA GPU) renders with ``--model-folder`` (real weights, with
``student/`` and ``light_vae/`` inside or the presets' fallbacks) at the preset sizes.
Timing compares like with like; the tiny models do not predict full-size ratios.

Writes benchmarks/results/soul_speedup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.base import RenderContext  # noqa: E402
from engine.backends.soul.longform import render_long  # noqa: E402
from engine.backends.soul.presets import find_draft_parts, resolve_preset  # noqa: E402
from engine.jobs import JobSpec  # noqa: E402
from engine.media import VideoWriter  # noqa: E402

FPS = 24.0
RATE = 16_000
TINY_SIZES = {"final": (320, 192), "draft": (224, 128)}  # ≈ 1280×704 and 832×480 scaled, multiples of 32
TINY_CHUNK = 41
MEMORY_SIZE = (128, 128)


def speech(seconds: float, seed: int = 0) -> np.ndarray:
    """Mono 16 kHz harmonic bursts with a little noise, built in one float32 buffer."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE), dtype=np.float32) / RATE
    out = 0.02 * rng.standard_normal(t.shape, dtype=np.float32)
    gate = np.sin(2 * np.pi * 3.0 * t) > 0
    for k in range(1, 5):
        out += 0.3 / k * gate * np.sin(2 * np.pi * 180.0 * k * t)
    return out


def portrait(width: int = 256, height: int = 256) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width, 3), np.uint8)
    img[..., 0] = (40 + 150 * yy / height).astype(np.uint8)
    img[..., 1] = (30 + 120 * xx / width).astype(np.uint8)
    img[..., 2] = 100
    return img


def build_tiny(folder: Path) -> Path:
    """Tiny soul folder plus a LoRA student (a few distillation iterations) and a small light VAE."""
    from engine.backends.soul.light_vae import light_vae_for
    from engine.backends.soul.loader import load_soul_pipeline
    from engine.backends.soul.testing import build_tiny_soul_folder
    from engine.backends.soul.train import distill as D

    root = build_tiny_soul_folder(folder / "tiny", seed=0, trained_adapter=True)
    pipe = load_soul_pipeline(root)
    teacher = pipe.transformer
    samples = D.synthetic_samples(2, teacher.config.in_channels, 5, 4, 4, teacher.config.text_dim, seed=0)
    config = D.DistillConfig(guidance_text=5.0, teacher_steps=8, student_steps=4, cfg_iters=4, step_iters=2,
                             lr=1e-3, lora_rank=4)
    student, report = D.distill(teacher, samples, config)
    D.save_student(student, root / "student", config, report)
    light_vae_for(pipe.vae.config, (8, 8, 8, 8)).save_pretrained(root / "light_vae")
    return root


def render(pipe, folder: Path, quality: str, frames: int, out: Path, size: tuple[int, int] | None,
           chunk: int | None, audio: np.ndarray | None = None) -> tuple[float, dict]:
    """One render of ``frames`` frames through ``render_long`` (presets, student, light VAE, chunks).

    ``size``/``chunk`` scale the preset down for tiny models (a ``custom`` preset based on
    ``quality``); ``audio`` is the shot's 16 kHz dialogue, loaded whole as the backend does.
    Returns (wall seconds, preset and render facts).
    """
    options: dict = {}
    if size or chunk:
        options = {"preset": "custom", "base": quality}
        if size:
            options.update(width=size[0], height=size[1])
        if chunk:
            options["chunk_frames"] = chunk
    preset = resolve_preset(quality, options, available=find_draft_parts(folder))
    width, height = preset["width"], preset["height"]
    job = JobSpec(shot_id="bench", portrait_path="/bench/portrait.png", duration=frames / FPS, fps=FPS, width=width,
                  height=height, output_path=str(out), quality=quality, backend="soul", seed=1, options=options)
    audio = speech(frames / FPS + 1.0) if audio is None else audio
    started, cpu = time.perf_counter(), time.process_time()
    with VideoWriter(out, FPS, width, height, overwrite=True) as writer:
        meta = render_long(pipe, job, preset, writer, RenderContext(), audio, portrait())
    seconds = time.perf_counter() - started
    return seconds, {**preset, "render_size": [width, height], "chunks": meta["longform"]["chunks"],
                     "passes": meta["passes_per_step"], "cpu_s": time.process_time() - cpu}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_child(folder: Path, seconds: float, out: Path) -> dict:
    """Render a ``seconds``-long draft in this process and report its memory."""
    from engine.backends.soul.loader import load_soul_pipeline

    torch.set_num_threads(1)
    pipe = load_soul_pipeline(folder)
    frames = int(round(seconds * FPS))
    render(pipe, folder, "draft", 49, out, MEMORY_SIZE, TINY_CHUNK)  # warm every code path once
    stop = threading.Event()

    def sample() -> None:  # reads `peak`, bound below before the thread starts
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb())
            stop.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    audio = speech(seconds + 1.0)  # the input, like a loaded dialogue clip; not part of the render's growth
    base = rss_mb()
    peak = [base]
    tracemalloc.start()
    sampler.start()
    took, preset = render(pipe, folder, "draft", frames, out, MEMORY_SIZE, 121, audio)
    stop.set()
    sampler.join()
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"frames": frames, "seconds": took, "chunks": preset["chunks"], "rss_before_mb": base,
            "peak_rss_mb": max(peak[0], rss_mb()), "traced_peak_mb": traced / 2**20}


def run_child(folder: Path, seconds: float, work: Path) -> dict:
    cmd = [sys.executable, __file__, "--memory-child", str(seconds), "--model-folder", str(folder),
           "--work", str(work)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="full-size render with --model-folder (needs a GPU)")
    p.add_argument("--model-folder", type=Path, help="soul model folder (required with --full)")
    p.add_argument("--seconds", type=float, default=2.0, help="length of the draft/final shot")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--memory-child", type=float, help=argparse.SUPPRESS)
    p.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.memory_child is not None:
        print(json.dumps(memory_child(args.model_folder, args.memory_child, args.work / "memory.mp4")))
        return 0

    from engine.backends.soul.loader import LoadOptions, load_soul_pipeline

    full = args.full or torch.cuda.is_available()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if full:
            if args.model_folder is None:
                p.error("--full needs --model-folder with the real weights")
            folder, sizes, chunk = args.model_folder, {"draft": None, "final": None}, None
            device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
            pipe = load_soul_pipeline(folder, LoadOptions(cpu_offload=False))
        else:
            torch.set_num_threads(1)
            t0 = time.perf_counter()
            folder = build_tiny(work)
            build_s = time.perf_counter() - t0
            sizes, chunk = TINY_SIZES, TINY_CHUNK
            device = f"cpu ({platform.machine()}, 1 thread)"
            pipe = load_soul_pipeline(folder)
        frames = int(round(args.seconds * FPS))
        render(pipe, folder, "draft", 9, work / "warm.mp4", sizes["draft"], chunk)  # warm-up, not timed
        draft_s, draft = render(pipe, folder, "draft", frames, work / "draft.mp4", sizes["draft"], chunk)
        final_s, final = render(pipe, folder, "final", frames, work / "final.mp4", sizes["final"], chunk)
        metrics = {"preset_wall_ratio": round(final_s / draft_s, 2), "draft_s": round(draft_s, 3),
                   "final_s": round(final_s, 3), "preset_cpu_time_ratio": round(final["cpu_s"] / draft["cpu_s"], 2)}
        params = {
            "size": "full" if full else "tiny",
            "shot_frames": frames,
            "fps": FPS,
            "draft": {k: draft[k] for k in ("transformer", "steps", "passes", "vae", "render_size", "chunks",
                                            "fallbacks")},
            "final": {k: final[k] for k in ("transformer", "steps", "passes", "vae", "render_size", "chunks",
                                            "fallbacks")},
            "runs": 1,
        }
        if not full:
            params["build_s"] = round(build_s, 2)
        if not args.skip_memory and not full:
            one = run_child(folder, 60.0, work)
            five = run_child(folder, 300.0, work)
            metrics.update({
                "peak_mem_1min_mb": round(one["peak_rss_mb"], 1),
                "peak_mem_5min_mb": round(five["peak_rss_mb"], 1),
                "render_mem_1min_mb": round(one["peak_rss_mb"] - one["rss_before_mb"], 1),
                "render_mem_5min_mb": round(five["peak_rss_mb"] - five["rss_before_mb"], 1),
                "frames_held_1min_mb": round(one["traced_peak_mb"], 2),
                "frames_held_5min_mb": round(five["traced_peak_mb"], 2),
                "render_1min_s": round(one["seconds"], 1),
                "render_5min_s": round(five["seconds"], 1),
            })
            params["memory"] = {"render_size": list(MEMORY_SIZE), "chunk_frames": 121, "chunks_1min": one["chunks"],
                                "chunks_5min": five["chunks"], "preset": "draft",
                                "peak": "sampled RSS during the render, fresh process per length",
                                "all_frames_5min_mb": round(five["frames"] * MEMORY_SIZE[0] * MEMORY_SIZE[1] * 3 / 2**20, 1)}
    result = {"benchmark": "soul_speedup", "device": device, "params": params, "metrics": metrics}
    out = ROOT / "benchmarks" / "results" / "soul_speedup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"soul_speedup on {device}: draft {metrics['draft_s']:.2f}s, final {metrics['final_s']:.2f}s, "
          f"wall ratio at the preset sizes x{metrics['preset_wall_ratio']}")
    if "peak_mem_1min_mb" in metrics:
        print(f"  peak RSS 1 min {metrics['peak_mem_1min_mb']} MB, 5 min {metrics['peak_mem_5min_mb']} MB "
              f"(render adds {metrics['render_mem_1min_mb']} / {metrics['render_mem_5min_mb']} MB)")
    print(f"  wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
