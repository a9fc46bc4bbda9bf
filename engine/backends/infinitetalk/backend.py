"""InfiniteTalkBackend: a JobSpec → lip-synced frames with released InfiniteTalk weights.

Options read from ``job.options`` (all optional except the model folder):

- ``model_folder`` (or ``INFINITETALK_MODEL_FOLDER``), ``adapter_folder``, ``audio_encoder_folder``:
  the three downloads, laid out as :mod:`.folder` describes
- ``allow_cpu``: run without CUDA (slow; tests use it with tiny models)
- ``device``, ``dtype``, ``vae_dtype``, ``cpu_offload``, ``vae_tiling``: see :class:`~.loader.LoadOptions`
- ``adapter``: ``auto`` (multi for two speakers), ``single`` or ``multi``
- ``speakers``: two ``{audio_path, audio_in, audio_out, box}`` dicts for a two-shot
- ``steps``, ``guidance_text``, ``guidance_audio``, ``shift``, ``resolution`` (480p/720p), ``render_size``,
  ``negative_prompt``: see :mod:`.presets`
- ``window_frames`` (81), ``motion_frames`` (9), ``min_window_frames`` (33), ``motion_noise``
- ``colour_anchor`` (portrait / first_window / off), ``colour_strength``; ``soul_anchor``,
  ``codebook_size``, ``codebook_threshold``, ``face_box``
- ``draft_lora``, ``draft_lora_scale``: the distillation LoRA a draft uses

The model renders 25 fps at a bucket size; frames are retimed to ``job.fps`` with the
audio as master, scaled to cover ``job.width``×``job.height`` and exactly
``job.frame_count`` are written.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
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

MODEL_FOLDER_ENV = "INFINITETALK_MODEL_FOLDER"
RATE = 16_000


def _model_folder(options: dict[str, Any] | None) -> str | None:
    folder = (options or {}).get("model_folder") or os.environ.get(MODEL_FOLDER_ENV)
    return str(folder) if folder else None


def speakers_of(job: JobSpec) -> list[dict[str, Any]]:
    """The job's speakers: ``options["speakers"]`` (two-shot), else the job's own audio."""
    listed = job.options.get("speakers")
    if not listed:
        return [{"audio_path": job.audio_path, "audio_in": job.audio_in, "audio_out": job.audio_out, "box": None}]
    if len(listed) != 2:
        raise BackendError(f"a two-shot needs exactly 2 speakers, the job lists {len(listed)}",
                           hint="assign two characters to the shot")
    for i, sp in enumerate(listed):
        if not sp.get("box") or len(sp["box"]) != 4:
            raise BackendError(f"speaker {i + 1} has no face box", hint="detect the faces of the two-shot portrait")
    return [dict(sp) for sp in listed]


def adapter_variant(options: dict[str, Any]) -> str:
    choice = str(options.get("adapter", "auto"))
    if choice == "auto":
        return "multi" if options.get("speakers") else "single"
    if choice not in ("single", "multi"):
        raise BackendError(f"unknown adapter {choice!r}", hint="choose auto, single or multi")
    return choice


def draft_lora_path(folder: str | None, options: dict[str, Any]) -> str | None:
    """The draft LoRA a job uses when it is on disk (see :func:`.lora.default_draft_lora`)."""
    from engine.backends.infinitetalk.lora import default_draft_lora

    path = default_draft_lora(folder, options)
    return path if path and Path(path).is_file() else None


class InfiniteTalkBackend(Backend):
    """The GPU generator on released weights; see the module docstring for its options."""

    name = "infinitetalk"

    def __init__(self) -> None:
        from engine.backends.infinitetalk.lora import DraftLoRACache

        self.pipe: Any = None
        self._key: tuple[Any, ...] | None = None
        self._folder: str | None = None
        self._loras = DraftLoRACache()  # a 700 MB LoRA file is read once per session

    @classmethod
    def capabilities(cls, options: dict[str, Any] | None = None) -> Capabilities:
        """Whether CUDA is here and the folder is complete (headers only, no weights read)."""
        from engine.backends.infinitetalk.folder import installed_adapters, validate_model_folder
        from engine.backends.infinitetalk.presets import BUCKETS

        options = options or {}
        cuda, gpu, vram = cuda_device(isolated=True)
        folder = _model_folder(options)
        extra: dict[str, Any] = {"cuda": cuda, "gpu": gpu, "vram_gb": round(vram, 1), "model_folder": folder,
                                 "resolutions": sorted(BUCKETS), "model_fps": 25}
        reasons = []
        if not cuda and not options.get("allow_cpu"):
            reasons.append("no CUDA GPU found")
        if folder is None:
            reasons.append(f"no model folder set (option model_folder or {MODEL_FOLDER_ENV})")
        else:
            report = validate_model_folder(folder, adapter_folder=options.get("adapter_folder"),
                                           audio_encoder_folder=options.get("audio_encoder_folder"), check_shapes=False)
            adapters = installed_adapters(report)
            extra.update(folder_ok=report.ok, problems=report.errors, adapters=adapters,
                         max_speakers=2 if "multi" in adapters else 1)
            if not report.ok:
                reasons.append(f"model folder has {len(report.errors)} problem(s)")
        return Capabilities(name=cls.name, available=not reasons, devices=["cuda"] if cuda else ["cpu"],
                            max_resolution=(1280, 704), reason="; ".join(reasons), extra=extra)

    def _load_options(self, options: dict[str, Any]) -> Any:
        from engine.backends.infinitetalk.loader import LoadOptions

        return LoadOptions.from_options(options, adapter=adapter_variant(options))

    def load_key(self, job: JobSpec) -> tuple[Any, ...]:
        return (self.name, _model_folder(job.options), *self._load_options(job.options).key())

    def load(self, options: dict[str, Any]) -> None:
        """Validate and load the folder (and adapter variant) ``options`` name; a no-op while warm."""
        from engine.backends.infinitetalk.loader import load_infinitetalk_pipeline

        folder = _model_folder(options)
        if folder is None:
            raise BackendUnavailable("the infinitetalk backend needs a model folder",
                                     hint=f"set it in Preferences (option model_folder or {MODEL_FOLDER_ENV})")
        load_options = self._load_options(options)
        if not cuda_device()[0] and not options.get("allow_cpu") and load_options.device in (None, "cuda"):
            raise BackendUnavailable("the infinitetalk backend needs a CUDA GPU", hint="use the sketch backend here")
        key = (folder, *load_options.key())
        if self.pipe is not None and self._key == key:
            return
        self.unload()
        self.pipe = _guard_oom(lambda: load_infinitetalk_pipeline(folder, load_options), "loading", options, {})
        self._key, self._folder = key, folder

    def unload(self) -> None:
        if self.pipe is None:
            return
        self.pipe, self._key = None, None
        gc.collect()
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # ------------------------------------------------------------------ render
    def _audio(self, job: JobSpec, speaker: dict[str, Any]) -> np.ndarray:
        """The speaker's 16 kHz mono audio under the shot (after the lead-in), exactly ``duration`` long."""
        n = int(round(job.duration * RATE))
        if not speaker.get("audio_path"):
            return np.zeros(n, np.float32)
        from engine.media import load_audio

        start = float(speaker.get("audio_in") or 0.0)
        end = start + job.duration - job.lead_in
        if speaker.get("audio_out") is not None:
            end = min(end, float(speaker["audio_out"]))  # the line stops at its out point; silence after
        samples = load_audio(speaker["audio_path"], RATE, 1, start=start, end=end).with_lead(job.lead_in).mono()
        samples = np.asarray(samples, np.float32).reshape(-1)[:n]
        return np.pad(samples, (0, n - samples.shape[0]))

    def _render_size(self, job: JobSpec, resolution: str) -> tuple[int, int]:
        from engine.backends.infinitetalk.presets import bucket_size

        if job.options.get("render_size"):
            w, h = (int(v) for v in job.options["render_size"])
        else:
            w, h = bucket_size(resolution, job.width, job.height)
        m = self.pipe.size_multiple
        if w % m or h % m:
            raise BackendError(f"render size {w}x{h} is not a multiple of {m}", hint="use resolution 480p or 720p")
        return w, h

    def render(self, job: JobSpec, sink: FrameSink, ctx: RenderContext) -> dict[str, Any]:

        from engine.backends.infinitetalk.lora import draft_lora
        from engine.backends.infinitetalk.pipeline import reference_scheduler
        from engine.backends.infinitetalk.presets import DEFAULT_NEGATIVE, PresetError, resolve_preset
        from engine.backends.infinitetalk.routing import latent_masks, masks_from_boxes
        from engine.backends.infinitetalk.streaming import StreamInputs, StreamRenderer, StreamSettings
        from engine.backends.infinitetalk.windows import FpsConformer, source_frames_for
        from engine.backends.soul.longform import ResizingSink
        from engine.media import fit_image, load_portrait

        o = job.options
        speakers = speakers_of(job)
        self.load(o)
        pipe = self.pipe
        lora = draft_lora_path(self._folder, o) if job.quality == "draft" else None
        try:
            preset = resolve_preset(job.quality, o, lora)
        except PresetError as exc:
            raise BackendError(str(exc), hint="fix the render options") from exc
        width, height = self._render_size(job, preset["resolution"])
        started = time.monotonic()
        ctx.progress(Progress(message="encoding portrait, line and audio"))
        source = load_portrait(job.portrait_path)
        portrait = fit_image(source, width, height, mode="cover")
        prompt = job.prompt or (f"a person speaking: {job.text}" if job.text else "a person speaking to the camera")
        negative = o.get("negative_prompt", DEFAULT_NEGATIVE) if preset["guidance_text"] != 1.0 else None
        frames_out = job.frame_count
        frames_25 = source_frames_for(frames_out, job.fps)
        settings = StreamSettings(
            steps=preset["steps"], guidance_text=preset["guidance_text"], guidance_audio=preset["guidance_audio"],
            window=int(o.get("window_frames", 81)), motion=int(o.get("motion_frames", 9)),
            min_window=int(o.get("min_window_frames", 33)), colour_anchor=str(o.get("colour_anchor", "portrait")),
            colour_strength=float(o.get("colour_strength", 1.0)), soul_anchor=bool(o.get("soul_anchor", False)),
            codebook_size=int(o.get("codebook_size", 256)), codebook_threshold=float(o.get("codebook_threshold", 0.2)),
            face_box=tuple(o["face_box"]) if o.get("face_box") else None, motion_noise=bool(o.get("motion_noise")),
            seed=int(job.seed),
        )
        if not any(sp.get("audio_path") for sp in speakers):
            settings.guidance_audio = 1.0  # silence is the null audio: its guidance pass would change nothing
        scheduler = pipe.scheduler
        try:
            pos, neg = pipe.encode_prompt(prompt, negative)
            ctx.cancel.check()
            features = [pipe.encode_audio(self._audio(job, sp), max(1, round(job.duration * 25))) for sp in speakers]
            ctx.cancel.check()
            masks = None
            if len(speakers) > 1:
                full = masks_from_boxes([sp["box"] for sp in speakers], source.shape[1], source.shape[0], width, height)
                s = pipe.vae_scale_factor_spatial
                masks = latent_masks(full, (height // s, width // s), pipe.token_grid(height, width))
            inputs = StreamInputs(portrait, pos, neg, pipe.encode_image(portrait), features, masks)
            encode_s = time.monotonic() - started
            pipe.scheduler = reference_scheduler(preset["shift"])
            conform = FpsConformer(ResizingSink(sink, job.width, job.height), frames_out, job.fps)
            shape = {"width": width, "height": height, "frames": min(frames_25, settings.window),
                     "speakers": len(speakers), "current": getattr(pipe, "placement", None)}
            with draft_lora(pipe, preset["lora"], float(o.get("draft_lora_scale", 1.0)), cache=self._loras) as lora_info:
                record = _guard_oom(lambda: StreamRenderer(pipe, inputs, settings, ctx).run(frames_25, conform),
                                    "sampling", o, shape)
        finally:
            pipe.scheduler = scheduler
        if conform.written != frames_out:
            raise BackendError(f"rendered {conform.written} frames, the take needs {frames_out}",
                               hint="report this: the window plan did not cover the shot")
        report = getattr(pipe, "model_report", None)
        return {
            "backend": self.name,
            "model_folder": self._folder,
            "model_hash": report.fingerprint if report is not None else None,
            "adapter": getattr(pipe, "adapter_variant", None),
            "preset": preset,
            "lora": lora_info or None,
            "placement": pipe.placement.to_dict() if getattr(pipe, "placement", None) is not None else None,
            "speed": getattr(pipe, "speed", None) or None,
            "render_size": [width, height],
            "model_fps": 25,
            "fps": job.fps,
            "frames": frames_out,
            "speakers": len(speakers),
            "streaming": record,
            "steps": preset["steps"],
            "guidance_text": preset["guidance_text"],
            "guidance_audio": preset["guidance_audio"],
            "passes_per_step": record["passes_per_step"],
            "device": str(pipe._execution_device),
            "dtype": str(pipe.transformer.dtype).replace("torch.", ""),
            "seed": int(job.seed),
            "audio": any(sp.get("audio_path") for sp in speakers),
            "timings": {"encode_s": round(encode_s, 3), **record["timings"],
                        "render_s": round(time.monotonic() - started, 3)},
        }


def _guard_oom(fn: Any, stage: str, options: dict[str, Any], shape: dict[str, Any]) -> Any:
    """Run ``fn``; a GPU out-of-memory becomes a BackendError naming the option that would fit."""
    from engine.backends.infinitetalk.placement import oom_error
    from engine.backends.placement import is_out_of_memory

    try:
        return fn()
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise oom_error(exc, stage, options, **shape) from exc
