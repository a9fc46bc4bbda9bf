"""Hands JobSpecs to a pool of Ray worker actors and follows them to a take.

One thread drives the pool: it gives the next queued job (drafts first, then priority,
then first submitted) to an idle worker, waits on the running calls, polls each running
worker for progress, and reports everything through ``on_event(kind, job_id, fields)``
with the same event kinds the engine process sends (queued, started, progress, done,
failed, cancelled, log).

Failure handling: each worker actor restarts after a crash (``max_restarts``) and Ray
retries its call there (``max_task_retries``); when a worker is gone for good
(``ActorDiedError``) the dispatcher replaces it and gives the job to the next free worker,
up to ``max_attempts`` tries. A job is written with :func:`engine.takes.write_take`, which
removes a dead attempt's partial files and reuses a finished take of the same job, so
every job yields exactly one take however often it is run.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.jobs import JobSpec
from soul_studio.farm.cluster import FarmError, import_ray

EventSink = Callable[[str, "str | None", dict[str, Any]], None]
TERMINAL = frozenset({"done", "failed", "cancelled"})


@dataclass
class FarmJob:
    """One job's life on the farm."""

    job: JobSpec
    seq: int
    status: str = "queued"
    attempts: int = 0
    worker: int | None = None
    fraction: float = 0.0
    result: dict[str, Any] = field(default_factory=dict)
    cancel_reason: str = ""
    history: list[str] = field(default_factory=list)

    @property
    def job_id(self) -> str:
        return self.job.job_id

    def order(self) -> tuple[int, int, int]:
        return (0 if self.job.quality == "draft" else 1, -self.job.priority, self.seq)


@dataclass
class _Slot:
    index: int
    actor: Any
    job_id: str | None = None
    ref: Any = None
    generation: int = 0


def worker_options(num_gpus: float, num_cpus: float, max_restarts: int, max_task_retries: int) -> dict[str, Any]:
    """Ray actor options of a farm worker."""
    return {"num_gpus": num_gpus, "num_cpus": num_cpus, "max_restarts": max_restarts,
            "max_task_retries": max_task_retries, "max_concurrency": 2}


class FarmDispatcher:
    """A pool of ``workers`` render actors fed from one queue."""

    def __init__(self, workers: int = 1, num_gpus: float | None = None, num_cpus: float = 1.0,
                 max_attempts: int = 3, max_restarts: int = 1, max_task_retries: int = 1,
                 poll_s: float = 0.2, on_event: EventSink | None = None) -> None:
        if workers < 1:
            raise ValueError("a farm needs at least one worker")
        self.workers = workers
        self.num_gpus = num_gpus
        self.num_cpus = num_cpus
        self.max_attempts = max_attempts
        self.max_restarts = max_restarts
        self.max_task_retries = max_task_retries
        self.poll_s = poll_s
        self.on_event = on_event
        self.jobs: dict[str, FarmJob] = {}
        self.slots: list[_Slot] = []
        self.replaced = 0
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._actor_class: Any = None
        self._ray: Any = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Create the worker actors and the driving thread (Ray must be initialised)."""
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            raise FarmError("not connected to a Ray cluster", hint="call soul_studio.farm.cluster.connect first")
        from engine.farm_worker import FarmWorker

        if self.num_gpus is None:
            self.num_gpus = 1.0 if ray.cluster_resources().get("GPU", 0.0) >= 1 else 0.0
        self._actor_class = ray.remote(FarmWorker)
        self.slots = [_Slot(i, self._new_actor()) for i in range(self.workers)]
        self._thread = threading.Thread(target=self._loop, name="soul-farm", daemon=True)
        self._thread.start()

    def stop(self, cancel_running: bool = True) -> None:
        """Stop driving, cancel what runs and release the actors."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        ray = self._ray
        if ray is None:
            return
        with self._lock:
            for fj in self.jobs.values():
                if fj.status not in TERMINAL:
                    self._finish(fj, "cancelled", {"reason": "farm stopped"})
        for slot in self.slots:
            try:
                ray.kill(slot.actor, no_restart=True)
            except Exception:  # noqa: BLE001 - an actor that is already gone is fine
                pass
        self.slots = []

    def _new_actor(self) -> Any:
        opts = worker_options(float(self.num_gpus or 0.0), self.num_cpus, self.max_restarts, self.max_task_retries)
        return self._actor_class.options(**opts).remote()

    # ------------------------------------------------------------ requests
    def submit(self, job: JobSpec) -> FarmJob:
        """Queue ``job``; a job id already known is returned as it is."""
        job.validate()
        with self._changed:
            existing = self.jobs.get(job.job_id)
            if existing is not None and existing.status not in TERMINAL:
                return existing
            fj = FarmJob(job=job, seq=next(self._seq))
            self.jobs[job.job_id] = fj
            self._changed.notify_all()
        self._emit("queued", fj.job_id, {"position": self.queued_count()})
        return fj

    def cancel(self, job_id: str, reason: str = "cancelled") -> bool:
        """Cancel a queued job at once, or ask its worker to stop a running one."""
        with self._lock:
            fj = self.jobs.get(job_id)
            if fj is None or fj.status in TERMINAL:
                return False
            if fj.status == "queued":
                self._finish(fj, "cancelled", {"reason": reason})
                return True
            fj.cancel_reason = reason
            slot = self.slots[fj.worker] if fj.worker is not None else None
        if slot is not None:
            try:
                slot.actor.cancel.remote(job_id, reason)
            except Exception:  # noqa: BLE001 - its death is handled by the loop
                pass
        return True

    def set_priority(self, job_id: str, priority: int) -> None:
        with self._lock:
            fj = self.jobs.get(job_id)
            if fj is not None and fj.status == "queued":
                fj.job = fj.job.replace(priority=int(priority))

    def queued_count(self) -> int:
        with self._lock:
            return sum(1 for j in self.jobs.values() if j.status == "queued")

    def busy(self) -> bool:
        with self._lock:
            return any(j.status not in TERMINAL for j in self.jobs.values())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted job is finished; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while self.busy():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(0.2 if left is None else min(0.2, left))
        return True

    def running_on(self, job_id: str) -> Any:
        """The actor handle running ``job_id`` now (None when it is not running)."""
        with self._lock:
            fj = self.jobs.get(job_id)
            if fj is None or fj.status != "running" or fj.worker is None:
                return None
            return self.slots[fj.worker].actor

    # ------------------------------------------------------------ the loop
    def _loop(self) -> None:
        ray = self._ray
        while not self._stop.is_set():
            self._assign()
            with self._lock:
                running = [s for s in self.slots if s.ref is not None]
            if not running:
                with self._changed:
                    self._changed.wait(self.poll_s)
                continue
            refs = [s.ref for s in running]
            try:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=self.poll_s)
            except Exception as exc:  # noqa: BLE001 - the cluster itself went away
                self._fail_all(f"lost the Ray cluster: {exc}")
                return
            ready_set = set(ready)
            for slot in running:
                if slot.ref in ready_set:
                    self._collect(slot)
            self._poll_progress([s for s in running if s.ref not in ready_set])

    def _assign(self) -> None:
        started: list[tuple[FarmJob, _Slot]] = []
        with self._lock:
            idle = [s for s in self.slots if s.ref is None]
            queued = sorted((j for j in self.jobs.values() if j.status == "queued"), key=FarmJob.order)
            for slot, fj in zip(idle, queued):
                fj.status, fj.worker, fj.fraction = "running", slot.index, 0.0
                fj.attempts += 1
                slot.job_id = fj.job_id
                slot.ref = slot.actor.run.remote(fj.job.to_dict())
                started.append((fj, slot))
        for fj, slot in started:
            self._emit("started", fj.job_id, {"worker": slot.index, "attempt": fj.attempts})

    def _collect(self, slot: _Slot) -> None:
        ray = self._ray
        with self._lock:
            fj = self.jobs.get(slot.job_id or "")
            ref, slot.ref, slot.job_id = slot.ref, None, None
        if fj is None:
            return
        try:
            result = ray.get(ref)
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError) as exc:
            self._worker_lost(slot, fj, exc)
            return
        except Exception as exc:  # noqa: BLE001 - anything else fails this job only
            self._finish(fj, "failed", {"message": str(exc), "hint": "see the farm worker's log",
                                        "error_type": type(exc).__name__})
            return
        status = str(result.get("status", "failed"))
        if fj.cancel_reason and status == "cancelled":
            result.setdefault("reason", fj.cancel_reason)
        self._finish(fj, status if status in TERMINAL else "failed", result)

    def _worker_lost(self, slot: _Slot, fj: FarmJob, exc: Exception) -> None:
        """A worker died for good: replace it, and run its job again elsewhere if tries are left."""
        with self._lock:
            slot.actor = self._new_actor()
            slot.generation += 1
            self.replaced += 1
            fj.history.append(f"attempt {fj.attempts} on worker {slot.index} lost: {type(exc).__name__}")
            again = fj.attempts < self.max_attempts and not fj.cancel_reason
            if again:
                fj.status, fj.worker, fj.fraction = "queued", None, 0.0
                self._changed.notify_all()
        if again:
            self._emit("log", fj.job_id, {"level": "warning",
                                          "message": f"worker {slot.index} died; rendering the job again"})
            self._emit("queued", fj.job_id, {"position": self.queued_count(), "retry": True})
        elif fj.cancel_reason:
            self._finish(fj, "cancelled", {"reason": fj.cancel_reason})
        else:
            self._finish(fj, "failed", {"message": f"the job's workers died {fj.attempts} times ({exc})",
                                        "hint": "check the farm nodes' logs (out of memory?)",
                                        "error_type": "WorkerDied"})

    def _poll_progress(self, slots: list[_Slot]) -> None:
        ray = self._ray
        asks = []
        for slot in slots:
            try:
                asks.append((slot.job_id, slot.actor.progress.remote(slot.job_id)))
            except Exception:  # noqa: BLE001 - a dying actor is reported by its run call
                continue
        if not asks:
            return
        ready, _ = ray.wait([a[1] for a in asks], num_returns=len(asks), timeout=self.poll_s)
        ready_set = set(ready)
        for job_id, ref in asks:
            if ref not in ready_set:
                continue
            try:
                report = ray.get(ref)
            except Exception:  # noqa: BLE001
                continue
            with self._lock:
                fj = self.jobs.get(job_id or "")
                if fj is None or fj.status != "running" or not report:
                    continue
                fj.fraction = float(report.get("fraction") or 0.0)
            self._emit("progress", job_id, report)

    def _finish(self, fj: FarmJob, status: str, fields: dict[str, Any]) -> None:
        with self._changed:
            if fj.status in TERMINAL:
                return
            fj.status, fj.result = status, dict(fields)
            if status == "done":
                fj.fraction = 1.0
            self._changed.notify_all()
        self._emit(status, fj.job_id, dict(fields))

    def _fail_all(self, message: str) -> None:
        with self._lock:
            open_jobs = [j for j in self.jobs.values() if j.status not in TERMINAL]
        for fj in open_jobs:
            self._finish(fj, "failed", {"message": message, "hint": "reconnect to the farm and render again"})
        self._emit("engine_failed", None, {"message": message})

    def _emit(self, kind: str, job_id: str | None, fields: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(kind, job_id, fields)
