"""A deterministic backend for exercising the engine: no model, frames that say who they are.

Each frame is a flat colour whose red and green channels encode the frame index (16
levels each, so it survives lossy H.264), over a blue left-to-right gradient.
:func:`decode_frame_index` reads the index back from a decoded frame. Options shape the
job so tests can make it slow, failing or cancellable:

- ``steps`` (int, 4): sampling steps per chunk; the cancel token is checked every step
- ``chunks`` (int, 1): the frames are written in this many chunks
- ``step_delay`` (seconds, 0): sleep per step (wakes at once on cancel)
- ``frame_delay`` (seconds, 0): sleep per written frame
- ``load_delay`` (seconds, 0): time ``load`` takes, to show the engine keeps it warm
- ``fail`` (str): raise :class:`BackendError` with this message at step ``fail_at_step``
- ``hint`` (str): the hint of that error
- ``frame_count_delta`` (int, 0): write this many frames too many (or too few)
- ``print`` (str): print this to stdout, from Python and to file descriptor 1

The environment variable ``SOUL_TEST_BACKEND_PROBE_S`` makes ``capabilities`` slow.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import numpy as np

from engine.backends.base import Backend, BackendError, Capabilities, FrameSink, Progress, RenderContext
from engine.jobs import JobSpec
from engine.media import load_portrait

LEVELS = 16
PROBE_DELAY_ENV = "SOUL_TEST_BACKEND_PROBE_S"


def frame_colour(index: int) -> tuple[int, int]:
    """(red, green) encoding ``index`` in base 16, centred in each level's band."""
    step = 256 // LEVELS
    return (index % LEVELS) * step + step // 2, (index // LEVELS) % LEVELS * step + step // 2


def make_frame(index: int, width: int, height: int) -> np.ndarray:
    red, green = frame_colour(index)
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:, :, 0] = red
    frame[:, :, 1] = green
    frame[:, :, 2] = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)[None, :]
    return frame


def decode_frame_index(frame: np.ndarray) -> int:
    """The frame index (mod 256) a :class:`TestBackend` frame encodes."""
    step = 256 // LEVELS
    red = float(np.median(frame[:, :, 0]))
    green = float(np.median(frame[:, :, 1]))
    return int(green // step) * LEVELS + int(red // step)


class TestBackend(Backend):
    """Renders index-coded frames; every knob lives in ``job.options``."""

    __test__ = False  # not a pytest test class
    name: ClassVar[str] = "test"
    _loads_lock = threading.Lock()
    loads: ClassVar[int] = 0

    def __init__(self) -> None:
        self.loaded_key: Any = None

    @classmethod
    def capabilities(cls, options: dict[str, Any] | None = None) -> Capabilities:
        delay = float(os.environ.get(PROBE_DELAY_ENV, "0") or 0)
        if delay > 0:  # stands in for a backend whose probe imports heavy packages
            threading.Event().wait(delay)
        return Capabilities(name=cls.name, available=True, devices=["cpu"], extra={"purpose": "engine tests"})

    def load(self, options: dict[str, Any]) -> None:
        delay = float(options.get("load_delay", 0.0))
        if delay > 0:
            threading.Event().wait(delay)
        with TestBackend._loads_lock:
            TestBackend.loads += 1
        self.loaded_key = options.get("model_folder")

    def unload(self) -> None:
        self.loaded_key = None

    def render(self, job: JobSpec, sink: FrameSink, ctx: RenderContext) -> dict[str, Any]:
        opts = job.options
        steps = max(1, int(opts.get("steps", 4)))
        chunks = max(1, int(opts.get("chunks", 1)))
        step_delay = float(opts.get("step_delay", 0.0))
        frame_delay = float(opts.get("frame_delay", 0.0))
        fail = opts.get("fail")
        fail_at = int(opts.get("fail_at_step", 0))
        if opts.get("print"):
            # Stray output, as careless libraries produce: it must never reach the protocol stream.
            print(opts["print"], flush=True)
            os.write(1, f"{opts['print']}\n".encode())
        load_portrait(job.portrait_path)  # a missing portrait fails like a real backend
        total_frames = max(0, job.frame_count + int(opts.get("frame_count_delta", 0)))
        bounds = np.linspace(0, total_frames, chunks + 1).round().astype(int)
        written = 0
        global_step = 0
        for chunk in range(chunks):
            for step in range(steps):
                if fail and global_step >= fail_at:
                    raise BackendError(str(fail), hint=str(opts.get("hint", "")))
                if step_delay > 0 and ctx.cancel.wait(step_delay):
                    ctx.cancel.check()
                ctx.cancel.check()
                global_step += 1
                # Frames are not counted while sampling, so the fraction follows the steps.
                ctx.progress(Progress(step + 1, steps, chunk, chunks, 0, 0, "sampling"))
                if ctx.wants_preview():
                    ctx.preview(make_frame(bounds[chunk], job.width, job.height))
            for index in range(bounds[chunk], bounds[chunk + 1]):
                ctx.cancel.check()
                if frame_delay > 0 and ctx.cancel.wait(frame_delay):
                    ctx.cancel.check()
                sink.write(make_frame(index, job.width, job.height))
                written += 1
            ctx.progress(Progress(steps, steps, chunk, chunks, written, total_frames, "encoded chunk"))
        return {"steps": steps, "chunks": chunks, "device": "cpu", "frames": written}
