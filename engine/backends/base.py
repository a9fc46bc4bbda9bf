"""The Backend interface every generator implements.

A backend is loaded once and kept warm by the engine. ``render`` streams frames into a
:class:`FrameSink` (the encoder) so a five-minute shot never sits in memory, reports
progress and previews through a :class:`RenderContext`, and checks the cancel token at
least once per sampling step or chunk.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from engine.jobs import JobSpec


class BackendError(RuntimeError):
    """A render failed for a reason the user can act on; ``hint`` says how."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class BackendUnavailable(BackendError):
    """The backend cannot run here (no weights, no GPU, missing package)."""


class JobCancelled(Exception):
    """Raised inside a render when its cancel token fires."""


class CancelToken:
    """Thread-safe flag a render polls; ``check()`` raises :class:`JobCancelled`."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise JobCancelled(self.reason or "cancelled")

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancel; True when cancelled."""
        return self._event.wait(timeout)


@dataclass
class Progress:
    """One progress report. ``fraction`` is the overall completion in [0, 1]."""

    step: int = 0
    total: int = 0
    chunk: int = 0
    chunks: int = 1
    frames_done: int = 0
    frames_total: int = 0
    message: str = ""

    @property
    def fraction(self) -> float:
        """Overall completion: the further of frames written and sampling steps taken."""
        by_frames = self.frames_done / self.frames_total if self.frames_total else 0.0
        by_steps = 0.0
        if self.total:
            by_steps = (self.chunk * self.total + self.step) / max(1, self.chunks * self.total)
        return min(1.0, max(by_frames, by_steps))


class FrameSink(Protocol):
    """Where rendered RGB frames (H×W×3 uint8) go, in order."""

    def write(self, frame: np.ndarray) -> None: ...


class RenderContext:
    """What a render may use besides its job: progress, previews, cancel, logging.

    Callbacks are plain callables so the same backend runs in the engine process, a
    test, or a farm worker. ``progress`` fills in an ETA from elapsed time.
    """

    def __init__(
        self,
        cancel: CancelToken | None = None,
        on_progress: Callable[[Progress, float | None], None] | None = None,
        on_preview: Callable[[np.ndarray], None] | None = None,
        on_log: Callable[[str, str], None] | None = None,
        preview_interval_s: float = 0.5,
    ) -> None:
        self.cancel = cancel or CancelToken()
        self._on_progress = on_progress
        self._on_preview = on_preview
        self._on_log = on_log
        self._preview_interval = preview_interval_s
        self._last_preview = 0.0
        self.started = time.monotonic()
        self.info: dict[str, Any] = {}

    def progress(self, report: Progress) -> None:
        eta = None
        frac = report.fraction
        if frac > 0:
            elapsed = time.monotonic() - self.started
            eta = max(0.0, elapsed / frac - elapsed)
        if self._on_progress is not None:
            self._on_progress(report, eta)

    def wants_preview(self) -> bool:
        """True when a preview is due; lets a backend skip decoding one otherwise."""
        return self._on_preview is not None and (
            time.monotonic() - self._last_preview >= self._preview_interval
        )

    def preview(self, frame: np.ndarray, force: bool = False) -> None:
        if self._on_preview is None:
            return
        if force or self.wants_preview():
            self._last_preview = time.monotonic()
            self._on_preview(frame)

    def log(self, message: str, level: str = "info") -> None:
        if self._on_log is not None:
            self._on_log(level, message)


@dataclass
class Capabilities:
    """What a backend can do here, sent to the studio in the engine's ``hello``."""

    name: str
    available: bool
    devices: list[str] = field(default_factory=list)
    qualities: list[str] = field(default_factory=lambda: ["draft", "final"])
    max_resolution: tuple[int, int] | None = None
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "devices": list(self.devices),
            "qualities": list(self.qualities),
            "max_resolution": list(self.max_resolution) if self.max_resolution else None,
            "reason": self.reason,
            "extra": dict(self.extra),
        }


class Backend(ABC):
    """A generator. Subclasses set ``name`` and implement the abstract methods."""

    name: ClassVar[str] = ""

    @classmethod
    @abstractmethod
    def capabilities(cls, options: dict[str, Any] | None = None) -> Capabilities:
        """Report availability without loading anything heavy.

        ``options`` are a job's options: availability may depend on them (the soul
        backend's model folder and ``allow_cpu``). None asks about the machine alone.
        """

    def load(self, options: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Load weights for ``options`` (model folder, device); called once while warm."""

    def unload(self) -> None:  # noqa: B027 - optional hook
        """Free memory; the engine calls this on memory pressure or request."""

    def load_key(self, job: JobSpec) -> tuple[Any, ...]:
        """Jobs with equal keys share one loaded model; a different key reloads."""
        return (self.name, job.options.get("model_folder"))

    @abstractmethod
    def render(self, job: JobSpec, sink: FrameSink, ctx: RenderContext) -> dict[str, Any]:
        """Write exactly ``job.frame_count`` frames of ``job.width``×``job.height`` to ``sink``.

        Returns metadata for the take's sidecar (steps, chunks, model hash, …).
        """
