"""One render-farm worker: a long-lived process that keeps backends warm and renders JobSpecs.

The studio's farm driver wraps :class:`FarmWorker` as a Ray actor (one GPU each on a GPU
cluster); this module itself needs no Ray, so it can be tested and reused on its own.
A worker renders one job at a time through :func:`engine.takes.write_take`, which is
atomic and reuses a complete take of the same job, so a job re-run after its worker
died finishes exactly once. While a job runs, :meth:`FarmWorker.progress` answers from
another thread (the actor is created with ``max_concurrency=2``), which is how progress
reaches the driver.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from typing import Any

from engine.backends import backend_class
from engine.backends.base import (
    Backend,
    BackendError,
    BackendUnavailable,
    CancelToken,
    JobCancelled,
    Progress,
    RenderContext,
)
from engine.backends.placement import gpu_driver_present
from engine.jobs import JobSpec, JobSpecError
from engine.media import MediaError
from engine.takes import write_take


def cuda_device_count() -> int:
    """Visible CUDA devices, without importing torch when it is not installed or there is no driver."""
    if not gpu_driver_present():
        return 0
    try:
        import torch
    except ImportError:
        return 0
    try:
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken driver means no GPU for us
        return 0


class FarmWorker:
    """Renders jobs one after another, keeping one backend instance per backend name warm."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._warm: dict[str, tuple[Backend, tuple[Any, ...]]] = {}
        self._progress: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, CancelToken] = {}
        self.loads = 0
        self.jobs_run = 0

    # ------------------------------------------------------------ queries
    def info(self) -> dict[str, Any]:
        """Who this worker is: host, pid, visible GPUs, warm backends, counters."""
        with self._lock:
            warm = sorted(self._warm)
        return {"host": platform.node(), "pid": os.getpid(), "cuda_devices": cuda_device_count(),
                "warm": warm, "loads": self.loads, "jobs_run": self.jobs_run}

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """The latest progress of a running job (None before its first report)."""
        with self._lock:
            report = self._progress.get(job_id)
            return dict(report) if report is not None else None

    def cancel(self, job_id: str, reason: str = "cancelled") -> bool:
        """Fire the cancel token of a running job; False when it is not running here."""
        with self._lock:
            token = self._tokens.get(job_id)
        if token is None:
            return False
        token.cancel(reason)
        return True

    # ------------------------------------------------------------- render
    def run(self, job_data: dict[str, Any]) -> dict[str, Any]:
        """Render one job (a :meth:`JobSpec.to_dict`); returns a terminal event as a dict.

        ``status`` is ``done`` (with the take's paths), ``failed`` (message and hint) or
        ``cancelled``. Only the death of the process itself escapes as an error.
        """
        job_id = str(job_data.get("job_id", ""))
        token = CancelToken()
        with self._lock:
            self._tokens[job_id] = token
            self._progress[job_id] = {"fraction": 0.0, "message": "loading", "eta_s": None}
        base = {"job_id": job_id, "host": platform.node(), "pid": os.getpid()}
        try:
            job = JobSpec.from_dict(job_data).validate()
            backend = self._backend_for(job)
            token.check()
            result = write_take(backend, job, self._context(job_id, token))
            self.jobs_run += 1
            return {**base, "status": "done", **result.to_dict()}
        except JobCancelled:
            return {**base, "status": "cancelled", "reason": token.reason or "cancelled"}
        except (BackendError, MediaError) as exc:
            return {**base, "status": "failed", "error_type": type(exc).__name__, "message": str(exc),
                    "hint": getattr(exc, "hint", "") or ""}
        except JobSpecError as exc:
            return {**base, "status": "failed", "error_type": "JobSpecError", "message": str(exc),
                    "hint": "the studio sent an invalid job"}
        except Exception as exc:  # noqa: BLE001 - a bad job must not take the worker down
            return {**base, "status": "failed", "error_type": type(exc).__name__, "message": str(exc),
                    "hint": "see the farm worker's log"}
        finally:
            with self._lock:
                self._tokens.pop(job_id, None)
                self._progress.pop(job_id, None)

    def unload(self) -> list[str]:
        """Unload every warm backend; returns their names."""
        with self._lock:
            warm, self._warm = self._warm, {}
        for backend, _key in warm.values():
            try:
                backend.unload()
            except Exception:  # noqa: BLE001 - unloading must not fail the worker
                pass
        return sorted(warm)

    def _backend_for(self, job: JobSpec) -> Backend:
        with self._lock:
            warm = self._warm.get(job.backend)
        if warm is not None:
            backend, key = warm
            if backend.load_key(job) == key:
                return backend
            backend.unload()
        cls = backend_class(job.backend)
        caps = cls.capabilities(dict(job.options))
        if not caps.available:
            raise BackendUnavailable(f"backend {job.backend!r} is not available on {platform.node()}: {caps.reason}",
                                     hint=caps.reason)
        backend = cls()
        key = backend.load_key(job)
        backend.load(dict(job.options))
        with self._lock:
            self._warm[job.backend] = (backend, key)
            self.loads += 1
        return backend

    def _context(self, job_id: str, token: CancelToken) -> RenderContext:
        def on_progress(report: Progress, eta: float | None) -> None:
            fields = {"fraction": round(report.fraction, 4), "eta_s": None if eta is None else round(eta, 2),
                      "message": report.message, "frames_done": report.frames_done,
                      "frames_total": report.frames_total, "time": time.time()}
            with self._lock:
                self._progress[job_id] = fields

        return RenderContext(cancel=token, on_progress=on_progress)
