"""Long-form generation: a shot longer than one model window, made of overlapping chunks.

Wan2.2's causal VAE maps ``4k + 1`` video frames to ``k + 1`` latent frames, so every
chunk is a ``4k + 1`` window. Consecutive chunks share ``overlap`` video frames: the tail
of chunk ``i``, its last ``m`` latent frames (the *motion latents*, taken from the
sampled latents themselves, never decoded and re-encoded), is pasted, as known clean
frames, at the head of chunk ``i + 1`` (the masking Wan2.2 TI2V uses for its first-frame
image latent). The decoded head reproduces the tail, and the two are crossfaded.

With ``reference_frame`` (the default) every chunk also starts with the portrait's
latent, as the very first chunk does in TI2V: chunk ``i > 0`` is conditioned on
``[portrait, m motion latents]``. The portrait latent decodes to one *lead* frame that is
dropped, then ``overlap = 4m`` frames follow. Without it the motion latents alone start
the chunk and ``overlap = 4(m - 1) + 1``. Either way the identity is also held by the
codebook (:mod:`.codebook`) applied to the motion latents at every border.

Three independent pieces:

* :func:`plan_chunks` is pure arithmetic: frames → chunk windows (video frames, latent
  frames, audio sample ranges), exact total frame count.
* :class:`OverlapBlender` streams chunks into a frame sink and crossfades each overlap so
  a cut is invisible; it holds at most one overlap of frames.
* :func:`generate_long` drives any :class:`ChunkGenerator` chunk by chunk, applies the
  codebook correction at every border, reports ``chunk i/n`` progress and streams frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from engine.backends.base import FrameSink, Progress, RenderContext
from engine.timebase import fps_fraction

if TYPE_CHECKING:
    from engine.backends.soul.codebook import CodebookConfig

TEMPORAL_SCALE = 4  # Wan2.2 VAE: 4 video frames per latent frame after the first

BlendCurve = Literal["linear", "cosine"]


def latent_frames(num_frames: int) -> int:
    """Latent frames for ``num_frames`` video frames (which must be ``4k + 1``)."""
    if num_frames < 1 or (num_frames - 1) % TEMPORAL_SCALE:
        raise ValueError(f"{num_frames} frames is not of the form 4k+1")
    return (num_frames - 1) // TEMPORAL_SCALE + 1


def round_up_4k1(frames: int) -> int:
    """Smallest ``4k + 1`` that is at least ``frames``."""
    return 1 + TEMPORAL_SCALE * max(0, -(-(frames - 1) // TEMPORAL_SCALE))


def overlap_for_motion_latents(motion_latents: int, reference_frame: bool = True) -> int:
    """Video frames the ``m`` motion latents reproduce at a chunk's head.

    ``4m`` after a portrait lead latent (each motion latent is a 4-frame group), else
    ``4(m - 1) + 1`` (the first motion latent stands for a single frame).
    """
    if motion_latents < 1:
        raise ValueError("at least one motion latent frame is needed to link chunks")
    if reference_frame:
        return TEMPORAL_SCALE * motion_latents
    return TEMPORAL_SCALE * (motion_latents - 1) + 1


@dataclass(frozen=True)
class ChunkWindow:
    """One chunk of a long shot.

    Local frame ``k`` of the chunk is shot frame ``frame_start + k`` (so its audio is the
    audio of that shot frame). The first ``lead`` frames are dropped (the decoded portrait
    latent), the next ``overlap`` repeat the previous chunk's tail and are crossfaded with
    it, and only the first ``keep`` local frames fall inside the shot (the last chunk may
    run past its end). The chunk has ``latent_count`` latent frames, the first
    ``cond_latents`` of which are known conditioning frames.
    ``audio_start``/``audio_end`` are the source samples under the whole window.
    """

    index: int
    count: int
    frame_start: int
    num_frames: int
    lead: int
    overlap: int
    keep: int
    latent_count: int
    cond_latents: int
    audio_start: int
    audio_end: int

    @property
    def frame_end(self) -> int:
        """One past the last generated shot frame (may exceed the shot on the last chunk)."""
        return self.frame_start + self.num_frames

    @property
    def new_frames(self) -> int:
        """Frames this chunk adds to the shot beyond the previous chunk's tail."""
        return self.keep - self.lead - self.overlap


@dataclass(frozen=True)
class ChunkPlan:
    """All chunks of a shot plus the numbers they were derived from."""

    total_frames: int
    window: int
    overlap: int
    lead: int
    motion_latents: int
    reference_frame: bool
    fps: float
    sample_rate: int
    audio_offset: int
    chunks: tuple[ChunkWindow, ...] = field(default_factory=tuple)

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self) -> Iterator[ChunkWindow]:
        return iter(self.chunks)

    @property
    def motion_source_frames(self) -> int:
        """Tail frames of a chunk encoded into the next chunk's motion latents (``4k + 1``)."""
        return self.overlap + self.lead

    def frame_to_sample(self, frame: int) -> int:
        """First audio sample of shot frame ``frame`` (floor, so consecutive frames tile)."""
        return frame_to_sample(frame, self.fps, self.sample_rate, self.audio_offset)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["chunks"] = [asdict(c) for c in self.chunks]
        return data


def frame_to_sample(frame: int, fps: float, sample_rate: int, offset: int = 0) -> int:
    """Sample index where ``frame`` starts, exact for rational rates like 24000/1001."""
    return offset + math.floor(Fraction(frame) * sample_rate / fps_fraction(fps))


def plan_chunks(
    total_frames: int,
    window: int = 121,
    motion_latents: int = 2,
    fps: float = 24.0,
    sample_rate: int = 16_000,
    audio_offset: int = 0,
    reference_frame: bool = True,
) -> ChunkPlan:
    """Split ``total_frames`` into overlapping ``4k + 1`` windows.

    ``window`` is the model's longest chunk (``4k + 1``; 121 = 5 s at 24 fps for Wan2.2);
    ``motion_latents`` how many latent frames carry motion into the next chunk;
    ``reference_frame`` whether later chunks also start with the portrait latent.
    ``audio_offset`` is the source sample of shot frame 0 (the audio-in point). A shot
    that fits one window gets one chunk of the smallest ``4k + 1`` that holds it. The
    chunks' ``new_frames`` add up to ``total_frames`` exactly.
    """
    if total_frames < 1:
        raise ValueError("a shot has at least one frame")
    latent_frames(window)  # validates 4k+1
    overlap = overlap_for_motion_latents(motion_latents, reference_frame)
    lead = 1 if reference_frame else 0
    fresh = window - lead - overlap
    if fresh < TEMPORAL_SCALE:
        raise ValueError(f"window {window} leaves no new frames after {lead + overlap} conditioned ones")
    spans = [(0, min(window, round_up_4k1(total_frames)))]
    while spans[-1][0] + spans[-1][1] < total_frames:
        start = spans[-1][0] + spans[-1][1] - overlap - lead
        size = min(window, max(round_up_4k1(total_frames - start), lead + overlap + TEMPORAL_SCALE))
        spans.append((start, size))
    count = len(spans)
    chunks = tuple(
        ChunkWindow(
            index=i,
            count=count,
            frame_start=start,
            num_frames=size,
            lead=lead if i else 0,
            overlap=overlap if i else 0,
            keep=min(size, total_frames - start),
            latent_count=latent_frames(size),
            cond_latents=(lead + motion_latents) if i else 1,
            audio_start=frame_to_sample(start, fps, sample_rate, audio_offset),
            audio_end=frame_to_sample(start + size, fps, sample_rate, audio_offset),
        )
        for i, (start, size) in enumerate(spans)
    )
    return ChunkPlan(
        total_frames, window, overlap, lead, motion_latents, reference_frame, fps, sample_rate, audio_offset, chunks
    )


def audio_window(samples: np.ndarray, start: int, end: int) -> np.ndarray:
    """``samples[start:end]`` of mono audio, zero-padded where the window leaves the clip."""
    out = np.zeros(max(0, end - start), dtype=np.float32)
    lo, hi = max(0, start), min(len(samples), end)
    if hi > lo:
        out[lo - start : hi - start] = samples[lo:hi]
    return out


def blend_weights(overlap: int, curve: BlendCurve = "cosine") -> np.ndarray:
    """Weights of the *incoming* chunk over an overlap, strictly inside (0, 1), rising.

    Frame ``k`` of the overlap is ``(1 - w[k]) * old + w[k] * new``; neither end is a hard
    switch so the crossfade has no visible step.
    """
    t = np.arange(1, overlap + 1, dtype=np.float64) / (overlap + 1)
    if curve == "linear":
        return t
    if curve == "cosine":
        return 0.5 - 0.5 * np.cos(np.pi * t)
    raise ValueError(f"unknown blend curve {curve!r}")


class OverlapBlender:
    """Streams chunk frames into ``sink`` in order, crossfading each overlap.

    Feed chunks in plan order with :meth:`push`; frames are written as soon as they are
    final. Only the tail of the current chunk (``overlap`` frames) waits for the next
    chunk, so memory does not grow with the length of the shot.
    """

    def __init__(self, sink: FrameSink, plan: ChunkPlan, curve: BlendCurve = "cosine") -> None:
        self.sink = sink
        self.plan = plan
        self.curve: BlendCurve = curve
        self.written = 0
        self._held: list[np.ndarray] = []
        self._next = 0

    def push(self, window: ChunkWindow, frames: Iterable[np.ndarray]) -> int:
        """Consume the frames of ``window`` (H×W×3 uint8, in order); returns frames written."""
        if window.index != self._next:
            raise ValueError(f"chunk {window.index} pushed, expected chunk {self._next}")
        self._next += 1
        last = window.index == window.count - 1
        hold_from = window.num_frames if last else window.num_frames - self.plan.overlap
        weights = blend_weights(window.overlap, self.curve) if window.overlap else None
        tail: list[np.ndarray] = []
        before = self.written
        seen = 0
        for k, frame in enumerate(frames):
            seen += 1
            if k < window.lead or k >= window.keep:
                continue  # the dropped portrait frame, or past the end of the shot
            j = k - window.lead
            frame = np.asarray(frame)
            if weights is not None and j < window.overlap:
                w = weights[j]
                mixed = self._held[j].astype(np.float32) * (1 - w) + frame.astype(np.float32) * w
                frame = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
            if k >= hold_from:
                tail.append(frame)
            else:
                self._write(frame)
        if seen != window.num_frames:
            raise ValueError(f"chunk {window.index} gave {seen} frames, expected {window.num_frames}")
        self._held = tail
        if last:
            self.finish()
        return self.written - before

    def held_frames(self) -> int:
        """Frames waiting for the next chunk's crossfade."""
        return len(self._held)

    def finish(self) -> None:
        """Write whatever is still held (only when a plan was cut short)."""
        for frame in self._held:
            self._write(frame)
        self._held = []

    def _write(self, frame: np.ndarray) -> None:
        self.sink.write(frame)
        self.written += 1


# ----------------------------------------------------------------------------- driver


@dataclass
class ChunkRequest:
    """What a generator needs for one chunk.

    ``audio`` is mono float32 at the plan's sample rate under exactly the window's frames.
    ``cond_latents`` (``1×C×k×h×w``, normalised like the pipeline's latents) are the known
    frames that start the chunk: the portrait latent on the first chunk, then
    ``[portrait, motion latents]`` (or the motion latents alone without a reference frame).
    ``on_step(step, total)`` reports sampling progress and raises when cancelled;
    ``preview`` (None when nobody watches) takes a cheap RGB preview whenever
    ``wants_preview()`` says one is due.
    """

    window: ChunkWindow
    audio: np.ndarray
    cond_latents: Any
    seed: int
    on_step: Callable[[int, int], None]
    preview: Callable[[np.ndarray], None] | None = None
    wants_preview: Callable[[], bool] = lambda: False


@dataclass
class ChunkResult:
    """Frames of one chunk (``num_frames`` H×W×3 uint8) and, optionally, its latents."""

    frames: np.ndarray
    latents: Any = None


class ChunkGenerator(Protocol):
    """The three calls long-form generation needs from a model pipeline."""

    def encode_reference(self, image: np.ndarray) -> Any:
        """Portrait (H×W×3 uint8) → normalised latent ``1×C×1×h×w`` at the render size."""
        ...

    def encode_frames(self, frames: np.ndarray) -> Any:
        """``4k + 1`` rendered frames (F×H×W×3 uint8) → normalised latents ``1×C×(k+1)×h×w``."""
        ...

    def generate_chunk(self, request: ChunkRequest) -> ChunkResult:
        """Generate ``request.window.num_frames`` frames starting from ``request.cond_latents``."""
        ...


@dataclass
class LongformResult:
    """What a long render reports for the take sidecar."""

    frames: int
    chunks: int
    codebook_replacements: list[int]
    codebook_drift: list[float]
    plan: dict[str, Any]
    codebook: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "chunks": self.chunks,
            "window": self.plan["window"],
            "overlap": self.plan["overlap"],
            "motion_latents": self.plan["motion_latents"],
            "reference_frame": self.plan["reference_frame"],
            "codebook": self.codebook,
            "codebook_replacements": list(self.codebook_replacements),
            "codebook_replacements_total": int(sum(self.codebook_replacements)),
            "codebook_drift": [round(d, 6) for d in self.codebook_drift],
        }


def generate_long(
    generator: ChunkGenerator,
    plan: ChunkPlan,
    audio: np.ndarray,
    reference: np.ndarray,
    sink: FrameSink,
    ctx: RenderContext | None = None,
    seed: int = 0,
    codebook: CodebookConfig | None = None,
    blend: BlendCurve = "cosine",
    face_box: tuple[float, float, float, float] | None = None,
    codebook_folder: str | None = None,
) -> LongformResult:
    """Generate a whole shot chunk by chunk and stream it to ``sink``.

    ``audio`` is the mono source at ``plan.sample_rate``; windows are cut by absolute
    sample index, so ``plan.audio_offset`` selects the audio-in point. With a
    ``codebook`` config, a codebook is built from the portrait latent and the first
    chunk's face region (``face_box`` = normalised x0, y0, x1, y1; whole frame if None)
    and every border's motion latents are corrected against it before they condition
    the next chunk. ``codebook_folder`` names an offline codebook (built from training
    latents by ``python -m engine.backends.soul.train.codebook``) to use instead; it is
    position-aware, matching face tokens (inside ``face_box``) against face centroids.
    Chunk ``i`` uses seed ``seed + i``.
    """
    import torch

    from engine.backends.soul.codebook import Codebook, face_tokens

    ctx = ctx or RenderContext()
    blender = OverlapBlender(sink, plan, blend)
    ref_latents = generator.encode_reference(np.asarray(reference))
    book: Codebook | None = None
    if codebook is not None and codebook_folder:
        book = Codebook.load(codebook_folder, codebook)
    replacements: list[int] = []
    drifts: list[float] = []
    cond = ref_latents
    n = len(plan)
    for window in plan:
        ctx.cancel.check()

        def on_step(step: int, total: int, _w: ChunkWindow = window) -> None:
            ctx.cancel.check()
            ctx.progress(
                Progress(
                    step=step,
                    total=total,
                    chunk=_w.index,
                    chunks=n,
                    frames_done=blender.written,
                    frames_total=plan.total_frames,
                    message=f"chunk {_w.index + 1}/{n} step {step}/{total}",
                )
            )

        request = ChunkRequest(
            window=window,
            audio=audio_window(audio, window.audio_start, window.audio_end),
            cond_latents=cond,
            seed=seed + window.index,
            on_step=on_step,
            preview=ctx.preview,
            wants_preview=ctx.wants_preview,
        )
        result = generator.generate_chunk(request)
        frames = np.asarray(result.frames)
        if frames.shape[0] != window.num_frames:
            raise ValueError(f"generator gave {frames.shape[0]} frames for a {window.num_frames}-frame chunk")
        if window.index < n - 1:
            # The next chunk continues from this chunk's own last latents, never from a
            # decode/re-encode round trip (which is not what fine-tuning trains on).
            if result.latents is not None:
                motion = result.latents[:, :, -plan.motion_latents :]
            else:  # a generator without latents (tests, external models)
                motion = generator.encode_frames(frames[-plan.motion_source_frames :])[:, :, plan.lead :]
            if codebook is not None:
                if book is None:
                    source = result.latents if result.latents is not None else motion
                    book = Codebook.build([ref_latents, face_tokens(source, face_box)], codebook)
                motion, report = book.correct(motion, face_box)
                replacements.append(report.replaced)
                drifts.append(report.max_drift_before)
            cond = torch.cat([ref_latents.to(motion), motion], dim=2) if plan.reference_frame else motion
        blender.push(window, frames)
        del frames, result
        ctx.progress(
            Progress(
                chunk=window.index + 1,
                chunks=n,
                frames_done=blender.written,
                frames_total=plan.total_frames,
                message=f"chunk {window.index + 1}/{n} done",
            )
        )
    blender.finish()
    if blender.written != plan.total_frames:
        raise RuntimeError(f"long-form wrote {blender.written} frames, the shot has {plan.total_frames}")
    return LongformResult(
        blender.written, n, replacements, drifts, plan.to_dict(), book.state() if book is not None else None
    )


# ----------------------------------------------------------------- soul pipeline


class PipelineChunkGenerator:
    """:class:`ChunkGenerator` over a :class:`~engine.backends.soul.pipeline.SoulPipeline`.

    Uses the pipeline's separate stages: the prompt is encoded once, each chunk encodes
    its own audio window, samples from its known latents and is decoded by ``decoder``
    (a callable latents → uint8 frame pieces; ``pipe.decode_latents`` by default, a
    light VAE's ``decode_frames`` for drafts). Live previews of the clean-latent estimate
    come from ``previewer`` (``pipe.preview_image`` by default, a light VAE's
    ``preview_frame`` when one is loaded).
    """

    def __init__(
        self,
        pipe: Any,
        prompt: str,
        width: int,
        height: int,
        fps: float,
        steps: int,
        guidance_text: float = 5.0,
        guidance_audio: float = 4.0,
        negative_prompt: str | None = None,
        batch_cfg: bool = False,
        decoder: Callable[[Any], Iterable[np.ndarray]] | None = None,
        use_audio: bool = True,
        previewer: Callable[[Any], np.ndarray] | None = None,
    ) -> None:
        self.pipe = pipe
        self.previewer = previewer or pipe.preview_image
        self.width, self.height, self.fps = width, height, fps
        self.steps = steps
        self.guidance_text, self.guidance_audio = guidance_text, guidance_audio
        self.batch_cfg = batch_cfg
        self.decoder = decoder or pipe.decode_latents
        negative = negative_prompt if guidance_text != 1.0 else None
        if guidance_text != 1.0 and negative is None:
            from engine.backends.soul.presets import DEFAULT_NEGATIVE

            negative = DEFAULT_NEGATIVE
        self.prompt_embeds, self.negative_embeds = pipe.encode_prompt(prompt, negative)
        has_encoder = getattr(pipe, "audio_encoder", None) is not None and pipe.feature_extractor is not None
        self.has_audio = use_audio and has_encoder
        self.passes_per_step = 0

    def encode_reference(self, image: np.ndarray) -> Any:
        return self.pipe.encode_image(image, self.width, self.height)

    def encode_frames(self, frames: np.ndarray) -> Any:
        return self.pipe.encode_video(frames)

    def generate_chunk(self, request: ChunkRequest) -> ChunkResult:
        import torch

        pipe = self.pipe
        w = request.window
        pipe.check_geometry(self.width, self.height, w.num_frames)
        features = None
        if self.has_audio and len(request.audio):
            features = pipe.encode_audio(request.audio, self.fps, w.num_frames)
        cond = pipe.conditioning(self.prompt_embeds, self.negative_embeds, features, request.cond_latents)
        self.passes_per_step = pipe.passes_per_step(cond, self.guidance_text, self.guidance_audio)
        latents = pipe.prepare_latents(w.num_frames, self.height, self.width, torch.Generator().manual_seed(request.seed))

        def on_step(i: int, total: int, t: float, lat: Any, x0: Any) -> None:
            request.on_step(i + 1, total)
            if request.preview is not None and request.wants_preview():
                request.preview(self.previewer(x0))

        latents = pipe.denoise(latents, cond, self.steps, self.guidance_text, self.guidance_audio, on_step,
                               self.batch_cfg)
        frames = np.concatenate(list(self.decoder(latents)), axis=0)
        return ChunkResult(frames=frames, latents=latents)


class ResizingSink:
    """Scales frames to the take's size on their way to ``sink`` (renders happen at preset sizes)."""

    def __init__(self, sink: FrameSink, width: int, height: int) -> None:
        self.sink, self.width, self.height = sink, width, height

    def write(self, frame: np.ndarray) -> None:
        if frame.shape[0] != self.height or frame.shape[1] != self.width:
            from engine.media import fit_image

            frame = fit_image(frame, self.width, self.height, mode="cover")
        self.sink.write(frame)


def _installed_codebook(pipe: Any) -> str | None:
    """``codebook/`` inside the loaded model folder, when the offline codebook was built there."""
    from pathlib import Path

    from engine.backends.soul.codebook import WEIGHTS_FILE

    report = getattr(pipe, "soul_report", None)
    folder = Path(report.folder) / "codebook" if report is not None else None
    return str(folder) if folder is not None and (folder / WEIGHTS_FILE).is_file() else None


def render_long(
    pipe: Any,
    job: Any,
    preset: dict[str, Any],
    sink: FrameSink,
    ctx: RenderContext,
    audio: np.ndarray | None,
    portrait: np.ndarray,
) -> dict[str, Any]:
    """Render a :class:`~engine.jobs.JobSpec` of any length with a resolved preset.

    ``preset`` comes from :func:`~engine.backends.soul.presets.resolve_preset`; the
    student and light VAE it names are swapped in for the render and out again.
    ``audio`` is the shot's 16 kHz mono dialogue from its audio-in point (None: silent).
    Writes exactly ``job.frame_count`` frames of ``job.width``×``job.height`` to ``sink``
    and returns the sidecar metadata (preset, chunks, codebook replacements, timings).
    """
    import time

    from engine.backends.soul.codebook import CodebookConfig
    from engine.backends.soul.presets import DEFAULT_NEGATIVE, light_decoder, use_student

    started = time.monotonic()
    total = job.frame_count
    plan = plan_chunks(total, window=preset["chunk_frames"], motion_latents=preset["motion_latents"], fps=job.fps,
                       sample_rate=16_000, reference_frame=preset["reference_frame"])
    prompt = job.prompt or (f"a person speaking: {job.text}" if job.text else "a person speaking to the camera")
    samples = np.zeros(1, np.float32) if audio is None else np.asarray(audio, np.float32).reshape(-1)
    with use_student(pipe, preset.get("student_folder")) as student:
        decoder = light_decoder(pipe, preset["light_vae_folder"]) if preset.get("light_vae_folder") else None
        gen = PipelineChunkGenerator(
            pipe, prompt, preset["width"], preset["height"], job.fps, steps=int(student.get("steps", preset["steps"])),
            guidance_text=preset["guidance_text"], guidance_audio=preset["guidance_audio"],
            negative_prompt=job.options.get("negative_prompt", DEFAULT_NEGATIVE), batch_cfg=preset["batch_cfg"],
            decoder=decoder, use_audio=audio is not None,
            previewer=decoder.__self__.preview_frame if decoder is not None else None,
        )
        codebook = CodebookConfig(size=preset["codebook_size"], threshold=preset["codebook_threshold"],
                                  rule=preset.get("codebook_rule", "replace"))
        face_box = job.options.get("face_box")
        book_folder = preset.get("codebook_folder") or _installed_codebook(pipe)
        if face_box is None and len(plan) > 1:
            from engine.backends.soul.face_region import find_face_box
            from engine.media import fit_image

            face_box = find_face_box(fit_image(portrait, preset["width"], preset["height"], mode="cover"))
        result = generate_long(gen, plan, samples, portrait, ResizingSink(sink, job.width, job.height), ctx,
                               seed=int(job.seed), codebook=codebook if len(plan) > 1 else None,
                               blend=preset["blend"], face_box=face_box, codebook_folder=book_folder)
    return {
        "preset": preset,
        "longform": result.to_dict(),
        "passes_per_step": gen.passes_per_step,
        "render_size": [preset["width"], preset["height"]],
        "frames": result.frames,
        "seed": int(job.seed),
        "audio": audio is not None,
        "timings": {"render_s": round(time.monotonic() - started, 3)},
    }
