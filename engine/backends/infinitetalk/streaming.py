"""Long shots window by window, InfiniteTalk's streaming scheme (see :mod:`.windows`).

Every window is conditioned on the portrait (CLIP tokens and the I2V condition, as the
reference does for an image) and on its own audio; after the first, its head holds the
previous window's last motion latents. Those stay in memory as float latents: they are
never decoded and encoded again. Each window is decoded once, colour-anchored
(:mod:`.colour`), its repeated head dropped, and streamed into a 25 fps sink.

Optional Soul anchoring (``soul_anchor``): the portrait latent is a clean pivot at the
head of every window (followed by the motion latents), and the soul backend's codebook
replaces drifting motion-latent tokens by the nearest portrait/first-window token.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from engine.backends.base import FrameSink, Progress, RenderContext
from engine.backends.infinitetalk.audio import frame_windows
from engine.backends.infinitetalk.colour import ColourAnchor
from engine.backends.infinitetalk.windows import Window, plan_dict, plan_windows


@dataclass
class StreamSettings:
    """How the windows are sampled and stitched; recorded in the take's sidecar."""

    steps: int = 40
    guidance_text: float = 5.0
    guidance_audio: float = 4.0
    window: int = 81
    motion: int = 9
    min_window: int = 33
    colour_anchor: str = "portrait"
    colour_strength: float = 1.0
    soul_anchor: bool = False
    codebook_size: int = 256
    codebook_threshold: float = 0.2
    face_box: tuple[float, float, float, float] | None = None
    motion_noise: bool = False
    seed: int = 0


@dataclass
class StreamInputs:
    """A shot's encoded inputs: portrait at the render size, text, CLIP tokens, per-speaker audio."""

    portrait: np.ndarray
    prompt_embeds: torch.Tensor
    negative_prompt_embeds: torch.Tensor | None
    image_embeds: torch.Tensor
    features: list[torch.Tensor] = field(default_factory=list)  # per speaker: (frames at 25 fps, layers, width)
    masks: torch.Tensor | None = None


class _Stitcher:
    """Drops each window's repeated head and passes new frames to the sink in order."""

    def __init__(self, sink: FrameSink, total: int) -> None:
        self.sink, self.total, self.written = sink, total, 0

    def push(self, window: Window, frames: np.ndarray) -> None:
        if len(frames) != window.frames:
            raise ValueError(f"window {window.index} decoded {len(frames)} frames, expected {window.frames}")
        for frame in frames[window.drop : window.drop + window.keep]:
            self.sink.write(frame)
            self.written += 1


class StreamRenderer:
    """Drives an :class:`~.pipeline.InfiniteTalkPipeline` over a plan of windows."""

    def __init__(self, pipe: Any, inputs: StreamInputs, settings: StreamSettings, ctx: RenderContext | None = None
                 ) -> None:
        self.pipe, self.inputs, self.s = pipe, inputs, settings
        self.ctx = ctx or RenderContext()
        self.height, self.width = inputs.portrait.shape[:2]
        self.codebook: Any = None
        self.replacements: list[int] = []

    def condition(self, frames: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The I2V condition of a ``frames``-long window and the portrait latent (the pipeline caches them)."""
        return self.pipe.encode_condition(self.inputs.portrait, frames)

    def _windows(self, w: Window) -> torch.Tensor | None:
        if not self.inputs.features:
            return None
        width = self.pipe.audio_adapter.config.audio_window
        return torch.stack([frame_windows(f, w.start, w.frames, width) for f in self.inputs.features])

    def _known(self, w: Window, first: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """Head latents: the portrait on window 0; the motion latents (after the pivot) later."""
        if previous is None:
            return first
        if not self.s.soul_anchor:
            return previous[:, :, -w.known :]
        motion = previous[:, :, -(w.known - 1) :]
        if self.codebook is not None:
            motion, report = self.codebook.correct(motion)
            self.replacements.append(report.replaced)
        return torch.cat([first, motion.to(first)], dim=2)

    def _build_codebook(self, first: torch.Tensor, latents: torch.Tensor) -> None:
        from engine.backends.soul.codebook import Codebook, CodebookConfig, face_tokens

        config = CodebookConfig(size=self.s.codebook_size, threshold=self.s.codebook_threshold)
        self.codebook = Codebook.build([first[0], face_tokens(latents, self.s.face_box)], config)

    def run(self, total: int, sink: FrameSink) -> dict[str, Any]:
        """Render ``total`` 25 fps frames into ``sink``; returns the sidecar's streaming record."""
        s, pipe, ctx = self.s, self.pipe, self.ctx
        plan = plan_windows(total, s.window, s.motion, s.min_window)
        anchor = ColourAnchor(s.colour_anchor, s.colour_strength,
                              torch.from_numpy(self.inputs.portrait).float() / 255.0 if s.colour_anchor == "portrait" else None)
        stitch = _Stitcher(sink, total)
        generator = torch.Generator().manual_seed(int(s.seed))
        previous: torch.Tensor | None = None
        passes, timings = 0, {"sample_s": 0.0, "decode_s": 0.0}
        for w in plan:
            ctx.cancel.check()
            condition, first = self.condition(w.frames)
            cond = pipe.conditioning(self.inputs.prompt_embeds, self.inputs.negative_prompt_embeds,
                                     self.inputs.image_embeds, condition, self._windows(w), self.inputs.masks)
            passes = pipe.passes_per_step(cond, s.guidance_text, s.guidance_audio)
            known = self._known(w, first, previous)
            latents = pipe.prepare_latents(w.frames, self.height, self.width, generator)
            known_noise = torch.randn(known.shape, generator=generator).to(known) if s.motion_noise and w.index else None

            def on_step(i: int, n: int, t: float, lat: torch.Tensor, x0: torch.Tensor, w: Window = w) -> None:
                ctx.cancel.check()
                ctx.progress(Progress(step=i + 1, total=n, chunk=w.index, chunks=len(plan), frames_done=stitch.written,
                                      frames_total=total, message=f"window {w.index + 1}/{len(plan)}, step {i + 1}/{n}"))
                if ctx.wants_preview():
                    ctx.preview(pipe.preview.image(x0))

            t0 = time.monotonic()
            latents = pipe.denoise(latents, cond, s.steps, s.guidance_text, s.guidance_audio, on_step,
                                   known=known, known_noise=known_noise)
            timings["sample_s"] += time.monotonic() - t0
            if s.soul_anchor and self.codebook is None and len(plan) > 1:
                self._build_codebook(first, latents)
            ctx.cancel.check()
            t0 = time.monotonic()
            video = pipe.decode(latents)[0].permute(1, 2, 3, 0).add(1.0).div(2.0)  # (n, H, W, 3) in [0, 1]
            video = anchor(video)
            frames = video.mul(255.0).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
            timings["decode_s"] += time.monotonic() - t0
            stitch.push(w, frames)
            ctx.progress(Progress(step=s.steps, total=s.steps, chunk=w.index, chunks=len(plan),
                                  frames_done=stitch.written, frames_total=total,
                                  message=f"window {w.index + 1}/{len(plan)} done"))
            previous = latents
        return {
            "windows": len(plan),
            "plan": plan_dict(plan),
            "model_frames": total,
            "passes_per_step": passes,
            "colour_anchor": s.colour_anchor,
            "colour_strength": s.colour_strength,
            "soul_anchor": s.soul_anchor,
            "codebook_replacements": list(self.replacements),
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
