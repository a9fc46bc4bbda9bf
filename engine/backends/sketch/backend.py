"""The sketch backend: a timing-accurate talking animatic of a portrait, on any CPU.

One render: analyse the portrait (every face's mesh, cached per picture; the chosen
face), measure the dialogue audio per frame, frame the shot, then for every frame start
from the still stage, move the photo's own lips and jaw, blink, move the head and
(optionally) zoom, and stream the frame to the encoder. The models ship inside the
MediaPipe wheel and nothing is downloaded, so the backend is always available.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.backends.base import Backend, Capabilities, FrameSink, Progress, RenderContext
from engine.backends.sketch.audio import MouthTrack, frame_centres
from engine.backends.sketch.eyes import EyeRig
from engine.backends.sketch.face import FaceAnalysis, analyse_portrait, require_mouth
from engine.backends.sketch.framing import choose_crop, render_stage, stage_analysis
from engine.backends.sketch.head import HeadRig
from engine.backends.sketch.lids import lid_rigs
from engine.backends.sketch.lips import LipRig
from engine.backends.sketch.lipsync import plan_lipsync
from engine.backends.sketch.mesh import mediapipe_available
from engine.backends.sketch.motion import motion_track
from engine.backends.sketch.mouth import MouthRig
from engine.jobs import JobSpec
from engine.media import MODEL_RATE, AudioClip, load_audio, load_portrait
from engine.media.spool import SpooledAudio, spool_audio

VERSION = "2"
# Lines longer than this are spooled to an unlinked temporary file and analysed a window at a
# time (an hour held as 16 kHz float32 would cost 230 MB); shorter ones stay in memory.
SPOOL_OVER_S = 60.0
# Gentle zoom-in over the shot for ``options["ken_burns"] = True`` (or a number: the zoom).
_KEN_BURNS = {"portrait": 0.03, "upper_body": 0.05, "full_body": 0.08}


def load_dialogue(job: JobSpec, spool_over: float = SPOOL_OVER_S,
                  check: Callable[[], None] | None = None) -> AudioClip | SpooledAudio:
    """The shot's dialogue at 16 kHz mono after its lead-in, exactly ``job.duration`` long.

    A shot longer than ``spool_over`` seconds comes back as a :class:`SpooledAudio` (decoded
    block by block beside the take, read back a window at a time), so its memory does not
    grow with its length; both slice alike, so the mouth track is the same to the bit.
    ``check`` runs between decoded blocks (a cancel stops a long decode).
    """
    if job.duration > spool_over:
        return spool_audio(job.audio_path, MODEL_RATE, job.audio_in, job.audio_out, job.duration,
                           directory=Path(job.output_path).parent, check=check, lead=job.lead_in)
    if not job.audio_path:
        return AudioClip.silence(job.duration, MODEL_RATE, 1)
    clip = load_audio(job.audio_path, MODEL_RATE, 1, job.audio_in, job.audio_out)
    return clip.with_lead(job.lead_in).fit_duration(job.duration)


def plan_mouth(job: JobSpec, clip: AudioClip | SpooledAudio, check: Callable[[], None] | None = None,
               report: Callable[[str], None] | None = None) -> MouthTrack:
    """Per-frame mouth controls for the job (frame i measured on audio centred at i / fps).

    Phones aligned to ``job.text`` where it fits, else recognised, else spectral (see
    ``lipsync``); ``options["lipsync"] = "spectral"`` skips the phone decoder.
    """
    phones = str(job.options.get("lipsync", "auto")) != "spectral"
    track = plan_lipsync(clip.mono(), clip.sample_rate, job.fps, job.frame_count, job.text, phones, check, report)
    gain = float(job.options.get("mouth_gain", 1.0))
    if gain != 1.0:
        track.open = np.clip(track.open * gain, 0.0, 1.0)
    return track


def face_index_option(job: JobSpec) -> int | None:
    """The job's ``face_index`` option (0-based, faces left to right), or None for the surest face."""
    value = job.options.get("face_index")
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _track(mouth: MouthTrack, name: str) -> np.ndarray:
    """A MouthTrack control by name; zeros for controls an older track does not carry."""
    value = getattr(mouth, name, None)
    return np.zeros(mouth.n_frames) if value is None else np.asarray(value, np.float64)


def prefetched(draw: Callable[[int], np.ndarray], n: int, depth: int = 2) -> Generator[np.ndarray, None, None]:
    """Yield ``draw(0)`` .. ``draw(n - 1)`` in order, drawn ahead on a worker thread.

    At most ``depth`` finished frames wait, so memory stays flat. An error in ``draw``
    is raised here; closing the generator (cancel, sink error) stops the worker.
    """
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        for i in range(n):
            if stop.is_set():
                return
            try:
                item: tuple[bool, Any] = (True, draw(i))
            except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
                put((False, exc))
                return
            if not put(item):
                return

    worker = threading.Thread(target=work, name="sketch-draw", daemon=True)
    worker.start()
    try:
        for _ in range(n):
            ok, value = ready.get()
            if not ok:
                raise value
            yield value
    finally:
        stop.set()
        worker.join(timeout=10)


def ahead(items: Iterator[Any], fn: Callable[[Any], Any], depth: int = 2) -> Generator[tuple[Any, Any], None, None]:
    """Yield ``(item, fn(item))`` for each of ``items``, ``fn`` running ahead on a worker thread.

    The same flat-memory hand-over as :func:`prefetched` (``items`` is pulled on the
    worker, so an upstream generator's own worker feeds this one).
    """
    source = iter(items)
    done = object()

    def step(_i: int) -> tuple[Any, Any]:
        item = next(source, done)
        return (item, None) if item is done else (item, fn(item))

    inner = prefetched(step, 1 << 62, depth)
    try:
        for item, value in inner:
            if item is done:
                return
            yield item, value
    finally:
        inner.close()


def _ken_burns_amount(job: JobSpec) -> float:
    """Total zoom-in over the shot: off unless the job asks (a full-frame resample per frame)."""
    value = job.options.get("ken_burns", False)
    if value is True:
        return _KEN_BURNS.get(job.framing, 0.04)
    if not value:
        return 0.0
    return float(np.clip(float(value), 0.0, 0.3))


class SketchBackend(Backend):
    """Procedural animatic: face-mesh analysis + audio-driven lips, blinks and head motion."""

    name = "sketch"

    @classmethod
    def capabilities(cls, options: dict[str, Any] | None = None) -> Capabilities:
        return Capabilities(
            name=cls.name,
            available=True,
            devices=["cpu"],
            extra={"version": VERSION, "face_detector": "mediapipe" if mediapipe_available() else "opencv-haar",
                   "realtime": True},
        )

    def load_key(self, job: JobSpec) -> tuple[Any, ...]:
        return (self.name,)

    def analyse(self, job: JobSpec, ctx: RenderContext | None = None) -> tuple[np.ndarray, FaceAnalysis]:
        """Load the portrait and find its face; warnings go to the log, no mouth is an error."""
        rgb = load_portrait(job.portrait_path)
        analysis = analyse_portrait(rgb, job.mouth_box, face_index=face_index_option(job))
        if ctx is not None:
            for warning in analysis.warnings:
                ctx.log(warning, "warning")
        require_mouth(analysis, Path(job.portrait_path).name)
        return rgb, analysis

    def render(self, job: JobSpec, sink: FrameSink, ctx: RenderContext) -> dict[str, Any]:
        started = time.monotonic()
        W, H, n = job.width, job.height, job.frame_count
        # Bilinear everywhere: the motions are sub-pixel to a few pixels, and cubic
        # resampling costs six times as much on a CPU for no visible gain.
        interp = cv2.INTER_LINEAR
        ctx.progress(Progress(frames_done=0, frames_total=n, message="analysing portrait"))

        rgb, analysis = self.analyse(job, ctx)
        ctx.cancel.check()
        mouth = plan_mouth(job, load_dialogue(job, check=ctx.cancel.check), ctx.cancel.check,  # freed once timed
                           lambda text: ctx.progress(Progress(frames_done=0, frames_total=n, message=text)))
        if job.text.strip() and mouth.method != "aligned":
            ctx.log(f"mouth shapes {mouth.method}: {(mouth.alignment or {}).get('reason', 'the script was not aligned')}",
                    "warning")
        ctx.cancel.check()

        crop = choose_crop(analysis, W, H, job.framing)
        stage = render_stage(rgb, crop, W, H)
        staged = stage_analysis(analysis, crop, W, H)
        assert staged.mouth is not None
        face_w = staged.face.w if staged.face is not None else 2.4 * staged.mouth.w
        lip_rig = LipRig(stage, staged.points, job.quality) if staged.points is not None else None
        mouth_rig = MouthRig(stage, staged.mouth, job.quality) if lip_rig is None or not lip_rig.valid else None
        if staged.points is not None:
            eye_rigs: list[Any] = list(lid_rigs(stage.shape, staged.points))
        else:
            eye_rigs = [EyeRig(stage.shape, e) for e in staged.eyes] if staged.face is not None else []
        head_rig = HeadRig(stage.shape, staged.head_box(), face_w, interp, staged.mask)
        press, tuck = _track(mouth, "press"), _track(mouth, "tuck")
        anchor = staged.face or staged.mouth

        ken_burns = _ken_burns_amount(job)
        motion = motion_track(
            frame_centres(n, job.fps), float(job.fps), job.duration, mouth.energy, job.seed,
            has_eyes=bool(eye_rigs), head_amount=float(job.options.get("head_motion", 1.0)), ken_burns=ken_burns,
        )
        setup_s = time.monotonic() - started

        def draw(i: int) -> np.ndarray:
            frame = stage.copy()
            if mouth_rig is not None:
                mouth_rig.apply(frame, float(mouth.open[i]) * (1.0 - float(press[i])), float(mouth.width[i]))
            elif lip_rig is not None:
                lip_rig.apply(frame, float(mouth.open[i]), float(mouth.width[i]), float(press[i]), float(tuck[i]))
            for rig in eye_rigs:
                rig.apply(frame, float(motion.blink[i]))
            head_rig.apply(frame, float(motion.roll[i]), float(motion.shift_x[i]), float(motion.shift_y[i]))
            z = float(motion.zoom[i])
            if z > 1.0005:
                m = np.array([[z, 0, (1 - z) * anchor.cx], [0, z, (1 - z) * anchor.cy]], np.float64)
                frame = cv2.warpAffine(frame, m, (W, H), flags=interp, borderMode=cv2.BORDER_REPLICATE)
            return frame

        # Frames are drawn one or two ahead on a worker thread, converted to the encoder's
        # pixel format on a second one (when the sink offers that) while this thread
        # encodes: OpenCV, swscale and x264 release the GIL, so the three share the cores.
        pipelined = bool(job.options.get("pipeline", True))
        prepare = getattr(sink, "prepare", None) if pipelined else None
        frames = prefetched(draw, n) if pipelined else (draw(i) for i in range(n))
        stream = ahead(frames, prepare) if prepare is not None else ((f, f) for f in frames)
        try:
            for i, (frame, ready) in enumerate(stream):
                ctx.cancel.check()
                sink.write(ready)
                ctx.progress(Progress(frames_done=i + 1, frames_total=n))
                if ctx.wants_preview():
                    ctx.preview(frame)
        finally:
            stream.close()
            frames.close()

        return {
            "backend": self.name,
            "version": VERSION,
            "frames": n,
            "fps": job.fps,
            "quality": job.quality,
            "seed": job.seed,
            "framing": job.framing,
            "analysis": analysis.to_dict(),
            "face": analysis.face_report(),
            "rig": "mesh" if mouth_rig is None else "box",
            "crop": [round(crop.x, 2), round(crop.y, 2), round(crop.w, 2), round(crop.h, 2)],
            "visemes": mouth.viseme_counts(),
            "mouth": mouth.summary(),
            "blinks": len(motion.blink_times),
            "ken_burns": ken_burns,
            "setup_s": round(setup_s, 3),
            "render_s": round(time.monotonic() - started, 3),
        }


__all__ = ["SketchBackend", "ahead", "face_index_option", "load_dialogue", "plan_mouth", "prefetched"]
