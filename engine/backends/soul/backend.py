"""SoulBackend: renders a JobSpec with the soul model (Wan2.2-TI2V-5B + audio injection).

Options read from ``job.options`` (all optional except the model folder):

- ``model_folder``: local folder in the layout of :mod:`.folder` (or ``SOUL_MODEL_FOLDER``)
- ``allow_cpu``: run without CUDA (slow; tests use it with tiny models)
- ``device``, ``dtype``, ``vae_dtype``: see :class:`LoadOptions`
- ``placement`` (auto, resident, model_offload, group_offload), ``vae_tiling`` (auto by default),
  ``group_blocks``, ``cpu_offload`` (the older spelling of model_offload): decided from the
  measured free VRAM unless pinned; an out-of-memory names the option that fits
- ``attention_backend`` (diffusers' dispatcher: native, flash, sage, ...), ``torch_compile``
- ``steps``, ``guidance_text``, ``guidance_audio``, ``negative_prompt`` (Wan's official one by
  default), ``batch_cfg``
- ``resolution``: a preset of :data:`RESOLUTIONS`, or ``render_size``: [width, height]
- ``max_frames``: the longest single pass (default and maximum 121, the length the model was
  trained on); longer shots are generated in chunks

The model renders at a preset resolution and ``4k+1`` frames; frames are then scaled
to cover ``job.width``×``job.height`` and exactly ``job.frame_count`` are written.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

import numpy as np

from engine.backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    Capabilities,
    FrameSink,
    Progress,
    RenderContext,
)
from engine.backends.placement import cuda_device
from engine.jobs import JobSpec

MODEL_FOLDER_ENV = "SOUL_MODEL_FOLDER"
MAX_SINGLE_PASS_FRAMES = 121  # Wan2.2-TI2V's training length (5 s at 24 fps); longer shots are chunked
# quality → (steps, guidance_text, guidance_audio)
QUALITY_DEFAULTS: dict[str, tuple[int, float, float]] = {
    "draft": (12, 1.0, 3.0),
    "final": (40, 5.0, 4.0),
}


def _model_folder(options: dict[str, Any] | None) -> str | None:
    folder = (options or {}).get("model_folder") or os.environ.get(MODEL_FOLDER_ENV)
    return str(folder) if folder else None


def _load_key(o: dict[str, Any]) -> tuple[Any, ...]:
    """The options that change how the model is loaded and placed (a change reloads it)."""
    return (o.get("device"), o.get("dtype"), o.get("vae_dtype"), o.get("placement") or "auto",
            o.get("vae_tiling"), o.get("group_blocks"), bool(o.get("cpu_offload")),
            o.get("attention_backend") or None, o.get("torch_compile") or None)


class SoulBackend(Backend):
    """The GPU generator; see the module docstring for the options it reads."""

    name = "soul"

    def __init__(self) -> None:
        self.pipe: Any = None
        self._key: tuple[Any, ...] | None = None
        self._folder: str | None = None

    # ------------------------------------------------------------ capabilities
    @classmethod
    def capabilities(cls, options: dict[str, Any] | None = None) -> Capabilities:
        """Whether CUDA is here and the model folder is complete (headers only, no weights)."""
        from engine.backends.soul.folder import validate_model_folder
        from engine.backends.soul.presets import RESOLUTIONS

        cuda, gpu, vram = cuda_device(isolated=True)
        folder = _model_folder(options)
        extra: dict[str, Any] = {"cuda": cuda, "gpu": gpu, "vram_gb": round(vram, 1), "model_folder": folder,
                                 "resolutions": {k: list(v) for k, v in RESOLUTIONS.items()}}
        reasons = []
        if not cuda and not (options or {}).get("allow_cpu"):
            reasons.append("no CUDA GPU found")
        if folder is None:
            reasons.append(f"no model folder set (option model_folder or {MODEL_FOLDER_ENV})")
        else:
            report = validate_model_folder(folder, check_shapes=False)
            extra["folder_ok"] = report.ok
            extra["problems"] = report.errors
            if not report.ok:
                reasons.append(f"model folder has {len(report.errors)} problem(s)")
        return Capabilities(
            name=cls.name, available=not reasons, devices=["cuda"] if cuda else ["cpu"],
            max_resolution=(1280, 704), reason="; ".join(reasons), extra=extra,
        )

    def load_key(self, job: JobSpec) -> tuple[Any, ...]:
        o = job.options
        return (self.name, _model_folder(o), *_load_key(o))

    # -------------------------------------------------------------- loading
    def load(self, options: dict[str, Any], shape: tuple[int, int, int] | None = None) -> None:
        """Validate and load the model folder named in ``options``; a no-op when already warm.

        ``shape`` (width, height, frames of the largest chunk) sizes the automatic placement.
        """
        from engine.backends.soul.loader import LoadOptions, load_soul_pipeline

        folder = _model_folder(options)
        if folder is None:
            raise BackendUnavailable("the soul backend needs a model folder",
                                     hint=f"set the model folder in Preferences (option model_folder or {MODEL_FOLDER_ENV})")
        cuda, _, _ = cuda_device()
        load_options = LoadOptions.from_options(options, **({"shape": shape} if shape else {}))
        if not cuda and not options.get("allow_cpu") and load_options.device in (None, "cuda"):
            raise BackendUnavailable("the soul backend needs a CUDA GPU", hint="use the sketch backend on this machine")
        key = (folder, *_load_key(options), tuple(load_options.shape))
        if self.pipe is not None and self._key == key:
            return
        self.unload()
        self.pipe = load_soul_pipeline(folder, load_options)
        self._key, self._folder = key, folder

    def unload(self) -> None:
        if self.pipe is None:
            return
        self.pipe = None
        self._key = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a dependency
            pass

    def _oom_guard(self, stage: str) -> Any:
        """An out-of-memory inside becomes a GpuMemoryError naming the placement that would fit."""
        from engine.backends.placement import oom_guard

        return oom_guard(stage, getattr(self.pipe, "soul_placement", None), getattr(self.pipe, "soul_memory_plan", None),
                         smaller="render a draft at 480p")

    def _placement_meta(self) -> dict[str, Any]:
        placement = getattr(self.pipe, "soul_placement", None)
        return {"placement": placement.to_dict() if placement is not None else None,
                "speed": dict(getattr(self.pipe, "soul_speed", {}) or {})}

    # -------------------------------------------------------------- render
    def _render_size(self, job: JobSpec) -> tuple[int, int]:
        from engine.backends.soul.presets import RESOLUTIONS

        o = job.options
        if o.get("render_size"):
            w, h = (int(v) for v in o["render_size"])
        else:
            preset = o.get("resolution")
            if preset is None:
                base = "720p" if job.quality == "final" else "draft"
                preset = base + ("_portrait" if job.height > job.width else "")
            if preset not in RESOLUTIONS:
                raise BackendError(f"unknown soul resolution {preset!r}", hint=f"choose one of {', '.join(RESOLUTIONS)}")
            w, h = RESOLUTIONS[preset]
        from engine.backends.soul.presets import SIZE_MULTIPLE

        m = SIZE_MULTIPLE
        if w % m or h % m:
            raise BackendError(f"render size {w}x{h} is not a multiple of {m}", hint="use a resolution preset")
        return w, h

    def _audio(self, job: JobSpec) -> np.ndarray | None:
        if not job.audio_path:
            return None
        from engine.media import MODEL_RATE, load_audio

        end = job.audio_out if job.audio_out is not None else job.audio_in + job.duration - job.lead_in
        return load_audio(job.audio_path, MODEL_RATE, 1, start=job.audio_in, end=end).with_lead(job.lead_in).mono()

    def _draft_parts(self, job: JobSpec) -> dict[str, str | None]:
        """The distilled student and light VAE a draft uses, when they are installed."""
        from engine.backends.soul.presets import find_draft_parts

        if job.quality != "draft":
            return {"student": None, "light_vae": None}
        return find_draft_parts(self._folder, job.options)

    def _render_long(self, job: JobSpec, sink: FrameSink, ctx: RenderContext, width: int, height: int,
                     max_frames: int, parts: dict[str, str | None]) -> dict[str, Any]:
        """Shots longer than one pass, and drafts with a student/light VAE: chunked generation."""

        from engine.backends.soul.longform import render_long
        from engine.backends.soul.presets import resolve_preset
        from engine.media import load_portrait

        o = job.options
        preset = resolve_preset(job.quality, o, parts, portrait=job.height > job.width)
        preset["width"], preset["height"] = width, height
        window = max(13, ((max_frames - 1) // 4) * 4 + 1)  # 13: portrait + 2 motion latents + 4 new frames
        preset["chunk_frames"] = min(int(preset["chunk_frames"]), window)
        for key, kind in (("steps", int), ("guidance_text", float), ("guidance_audio", float), ("batch_cfg", bool)):
            if key in o:
                preset[key] = kind(o[key])
        with self._oom_guard("rendering the long shot chunk by chunk"):
            meta = render_long(self.pipe, job, preset, sink, ctx, self._audio(job), load_portrait(job.portrait_path))
        report = getattr(self.pipe, "soul_report", None)
        return {
            "backend": self.name,
            "model_folder": self._folder,
            "model_hash": report.fingerprint if report is not None else None,
            "device": str(self.pipe._execution_device),
            "dtype": str(self.pipe.transformer.dtype).replace("torch.", ""),
            **self._placement_meta(),
            **meta,
        }

    def render(self, job: JobSpec, sink: FrameSink, ctx: RenderContext) -> dict[str, Any]:
        import torch

        from engine.backends.soul.presets import DEFAULT_NEGATIVE, valid_frame_count
        from engine.media import fit_image, load_portrait

        o = job.options
        width, height = self._render_size(job)
        max_frames = min(int(o.get("max_frames", MAX_SINGLE_PASS_FRAMES)), MAX_SINGLE_PASS_FRAMES)
        self.load(o, shape=(width, height, max_frames))  # a no-op while the same model is warm
        pipe = self.pipe
        steps_d, gt_d, ga_d = QUALITY_DEFAULTS.get(job.quality, QUALITY_DEFAULTS["final"])
        steps = int(o.get("steps", steps_d))
        guidance_text = float(o.get("guidance_text", gt_d))
        guidance_audio = float(o.get("guidance_audio", ga_d))
        batch_cfg = bool(o.get("batch_cfg", False))
        frames_out = job.frame_count
        frames = valid_frame_count(frames_out, pipe.vae_scale_factor_temporal)
        parts = self._draft_parts(job)
        if frames > max_frames or o.get("longform") or parts["student"] or parts["light_vae"]:
            return self._render_long(job, sink, ctx, width, height, max_frames, parts)
        prompt = job.prompt or (f"a person speaking: {job.text}" if job.text else "a person speaking to the camera")
        negative = o.get("negative_prompt", DEFAULT_NEGATIVE) if guidance_text != 1.0 else None
        pieces = (frames - 1) // pipe.vae_scale_factor_temporal + 1
        total = steps + pieces
        timings: dict[str, float] = {}
        started = time.monotonic()

        with self._oom_guard("sampling"):
            ctx.progress(Progress(step=0, total=total, message="encoding portrait, line and audio"))
            portrait = load_portrait(job.portrait_path)
            pos, neg = pipe.encode_prompt(prompt, negative)
            ctx.cancel.check()
            samples = self._audio(job)
            feats = pipe.encode_audio(samples, job.fps, frames) if samples is not None else None
            ctx.cancel.check()
            cond = pipe.conditioning(pos, neg, feats, pipe.encode_image(portrait, width, height))
            latents = pipe.prepare_latents(frames, height, width, torch.Generator().manual_seed(int(job.seed)))
            timings["encode_s"] = time.monotonic() - started

            def on_step(i: int, n: int, t: float, lat: torch.Tensor, x0: torch.Tensor) -> None:
                ctx.cancel.check()
                ctx.progress(Progress(step=i + 1, total=total, message=f"sampling step {i + 1}/{n}"))
                if ctx.wants_preview():
                    ctx.preview(pipe.preview_image(x0))

            t0 = time.monotonic()
            ctx.cancel.check()
            latents = pipe.denoise(latents, cond, steps, guidance_text, guidance_audio, on_step, batch_cfg)
            timings["sample_s"] = time.monotonic() - t0

            t0 = time.monotonic()
            written = 0
            for k, piece in enumerate(pipe.decode_latents(latents)):
                ctx.cancel.check()
                for frame in piece:
                    if written >= frames_out:
                        break
                    if frame.shape[0] != job.height or frame.shape[1] != job.width:
                        frame = fit_image(frame, job.width, job.height, mode="cover")
                    sink.write(frame)
                    written += 1
                ctx.progress(Progress(step=steps + k + 1, total=total, frames_done=written, frames_total=frames_out,
                                      message="decoding"))
            last = frame if written else np.zeros((job.height, job.width, 3), np.uint8)
            while written < frames_out:  # never happens with 4k+1 ≥ frame_count; kept as a guard
                sink.write(last)
                written += 1
            timings["decode_s"] = time.monotonic() - t0

        report = getattr(pipe, "soul_report", None)
        return {
            "backend": self.name,
            "model_folder": self._folder,
            "model_hash": report.fingerprint if report is not None else None,
            "steps": steps,
            "guidance_text": guidance_text,
            "guidance_audio": guidance_audio,
            "passes_per_step": pipe.passes_per_step(cond, guidance_text, guidance_audio),
            "render_size": [width, height],
            "model_frames": frames,
            "frames": frames_out,
            "device": str(pipe._execution_device),
            "dtype": str(pipe.transformer.dtype).replace("torch.", ""),
            **self._placement_meta(),
            "seed": int(job.seed),
            "audio": samples is not None,
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
