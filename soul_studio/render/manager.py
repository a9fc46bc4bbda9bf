"""The render manager: shots in, takes out, through the engine process.

Pure asyncio (no Qt), shared by the studio and the headless ``soul-studio render``.
It snapshots shots into JobSpecs, reuses a take whose inputs match, submits the rest
to the engine (drafts preempt finals there), follows the engine's events into
:class:`JobState` objects, and records each finished take on its shot through the
``apply_edit`` callback (so the studio can route it through its undo stack).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.jobs import JobSpec
from soul_studio.engine_client import EngineClient
from soul_studio.project.edits import AddTake, Edit
from soul_studio.project.model import Project, Take
from soul_studio.render.planner import FingerprintCache, ShotNotRenderable, job_for_shot, take_with_hash
from soul_studio.render.recover import FinishedTakes

ACTIVE = frozenset({"pending", "queued", "running"})
FINISHED = frozenset({"done", "failed", "cancelled", "reused"})


@dataclass
class JobState:
    """What the render queue shows for one job."""

    job_id: str
    shot_id: str
    quality: str
    job: JobSpec | None = None
    status: str = "pending"
    fraction: float = 0.0
    eta_s: float | None = None
    message: str = ""
    preview_jpeg: bytes | None = None
    error: str = ""
    hint: str = ""
    take_path: str | None = None
    backend: str = ""
    submitted_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    attempts: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def label(self) -> str:
        return f"{self.quality} · {self.shot_id}"


Listener = Callable[[str, "JobState | None"], Any]


class RenderManager:
    """Keeps the engine busy with the project's shots and files the results as takes.

    ``backend_options`` go into every job for the soul backend (see :func:`registered_model_options`).
    """

    def __init__(
        self,
        project: Project,
        apply_edit: Callable[[Edit], None],
        journal_dir: Path | None = None,
        backend: str | None = None,
        client: EngineClient | None = None,
        backend_options: dict[str, Any] | None = None,
    ) -> None:
        self.project = project
        self.backend_options = dict(backend_options or {})
        self.apply_edit = apply_edit
        self.backend = backend
        self.journal_dir = journal_dir
        self.client = client
        self.jobs: dict[str, JobState] = {}
        self.engine_info: dict[str, Any] = {}
        self.engine_state = "stopped"
        self._listeners: list[Listener] = []
        self._fingerprints = FingerprintCache()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    # --------------------------------------------------------------- engine
    async def start(self) -> dict[str, Any]:
        """Start the engine process and handshake; returns its ``hello``."""
        if self.client is None:
            self.client = EngineClient(journal_dir=self.journal_dir)
        self.client.add_listener(self._on_event)
        info = await self.client.start()
        self.engine_info = dict(getattr(info, "raw", None) or {})
        self.engine_state = "running"
        self._emit("engine", None)
        return self.engine_info

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.client is not None:
            await self.client.shutdown()
        self.engine_state = "stopped"
        self._emit("engine", None)

    def set_project(self, project: Project) -> None:
        self.project = project

    # ------------------------------------------------------------ listeners
    def add_listener(self, listener: Listener) -> None:
        """``listener(kind, state)``; kinds: job, progress, preview, engine."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, kind: str, state: JobState | None) -> None:
        for listener in list(self._listeners):
            result = listener(kind, state)
            if inspect.isawaitable(result):
                self._spawn(result)

    # --------------------------------------------------------------- render
    def render(self, shot_ids: list[str], quality: str = "draft", force: bool = False) -> list[str]:
        """Queue renders of ``shot_ids``; returns the job ids (reused takes finish at once).

        A draft of a shot supersedes that shot's earlier unfinished draft.
        """
        ids: list[str] = []
        takes = self.project.takes_folder
        if takes is not None:
            takes.mkdir(parents=True, exist_ok=True)
        finished = FinishedTakes(self.project)
        for shot_id in shot_ids:
            shot = self.project.shots.get(shot_id)
            if shot is None:
                continue
            try:
                job = job_for_shot(self.project, shot, quality, self.backend, self._fingerprints,
                                   backend_options=self.backend_options)
            except ShotNotRenderable as exc:
                state = JobState(job_id=f"invalid-{shot_id}-{quality}", shot_id=shot_id, quality=quality,
                                 status="failed", error=str(exc), hint="fix the shot and render again")
                state.finished_at = time.time()
                self.jobs[state.job_id] = state
                self._emit("job", state)
                ids.append(state.job_id)
                continue
            state = JobState(job_id=job.job_id, shot_id=shot_id, quality=quality, job=job, backend=job.backend)
            found = None if force or take_with_hash(self.project, shot, quality, job.content_hash()) else \
                finished.unrecorded(shot, quality, job.content_hash())
            if found is not None:  # finished by an earlier run that stopped before saving it
                self.apply_edit(AddTake(shot_id, found))
                state.take_path = str(self.project.resolve(found.file))
            if not force and take_with_hash(self.project, shot, quality, job.content_hash()):
                state.status, state.fraction, state.message = "reused", 1.0, "inputs unchanged: take reused"
                state.finished_at = time.time()
                self.jobs[state.job_id] = state
                self._emit("job", state)
                ids.append(state.job_id)
                continue
            if quality == "draft":
                for other in self.jobs.values():
                    if other.shot_id == shot_id and other.quality == "draft" and other.active:
                        other.status, other.message = "cancelled", "superseded by a newer draft"
                        self._emit("job", other)
            self.jobs[job.job_id] = state
            self._emit("job", state)
            self._spawn(self._submit(state))
            ids.append(job.job_id)
        self._update_idle()
        return ids

    def render_job(self, job: JobSpec) -> str:
        """Queue one prebuilt job (e.g. ``soul-studio shot``'s, with its own output path and options)."""
        state = JobState(job_id=job.job_id, shot_id=job.shot_id, quality=job.quality, job=job, backend=job.backend)
        self.jobs[job.job_id] = state
        self._emit("job", state)
        self._spawn(self._submit(state))
        self._update_idle()
        return job.job_id

    async def _submit(self, state: JobState) -> None:
        assert self.client is not None and state.job is not None
        state.attempts += 1
        try:
            await self.client.submit(state.job)
        except Exception as exc:  # noqa: BLE001 - shown in the queue, never raised into the UI
            state.status, state.error = "failed", f"could not submit: {exc}"
            state.finished_at = time.time()
            self._emit("job", state)
            self._update_idle()

    def cancel(self, job_id: str) -> None:
        state = self.jobs.get(job_id)
        if state is None or not state.active:
            return
        state.message = "cancelling…"
        self._emit("job", state)
        if self.client is not None:
            self._spawn(self.client.cancel(job_id))

    def retry(self, job_id: str) -> list[str]:
        """Render the job's shot again at the same quality (a new job)."""
        state = self.jobs.get(job_id)
        if state is None or state.active:
            return []
        return self.render([state.shot_id], state.quality, force=True)

    def set_priority(self, job_id: str, priority: int) -> None:
        state = self.jobs.get(job_id)
        if state is not None and state.active and self.client is not None:
            self._spawn(self.client.set_priority(job_id, priority))

    def clear_finished(self) -> None:
        for job_id in [j for j, s in self.jobs.items() if not s.active]:
            del self.jobs[job_id]
        self._emit("job", None)

    def active_jobs(self) -> list[JobState]:
        return [s for s in self.jobs.values() if s.active]

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no job is queued or running; False on timeout."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # --------------------------------------------------------------- events
    def _on_event(self, event: Any) -> None:
        kind = event.kind
        if kind in ("engine_restarted", "engine_stopped", "engine_failed"):
            self.engine_state = {"engine_restarted": "running", "engine_stopped": "stopped"}.get(kind, "failed")
            self._emit("engine", None)
            return
        if kind == "backends":  # the engine finished probing slow backends after hello
            backends = event.get("backends")
            if backends is not None:
                self.engine_info["backends"] = backends
            self._emit("engine", None)
            return
        state = self.jobs.get(event.job_id) if event.job_id else None
        if state is None:
            return
        if kind == "queued":
            if state.status == "pending":
                state.status = "queued"
            self._emit("job", state)
        elif kind == "started":
            state.status, state.message = "running", "rendering"
            self._emit("job", state)
        elif kind == "progress":
            state.status = "running"
            state.fraction = float(event.get("fraction") or 0.0)
            state.eta_s = event.get("eta_s")
            state.message = event.get("message") or state.message
            self._emit("progress", state)
        elif kind == "preview":
            import base64

            data = event.get("jpeg")
            if data:
                state.preview_jpeg = base64.b64decode(data)
                self._emit("preview", state)
        elif kind == "done":
            state.status, state.fraction, state.take_path = "done", 1.0, event.get("take_path")
            state.finished_at = time.time()
            state.message = "done"
            self._record_take(state)
            self._emit("job", state)
        elif kind == "failed":
            state.status = "failed"
            state.error = event.get("message") or "render failed"
            state.hint = event.get("hint") or ""
            state.finished_at = time.time()
            self._emit("job", state)
        elif kind == "cancelled":
            state.status = "cancelled"
            state.message = event.get("reason") or "cancelled"
            state.finished_at = time.time()
            self._emit("job", state)
        self._update_idle()

    def _record_take(self, state: JobState) -> None:
        shot = self.project.shots.get(state.shot_id)
        if shot is None or state.take_path is None or state.job is None:
            return  # the shot was deleted meanwhile: its take stays on disk, unlisted
        take_file = self.project.relative(state.take_path)
        if any(t.file == take_file for t in shot.takes):
            return
        take = Take(file=take_file, job_hash=state.job.content_hash(), backend=state.job.backend,
                    quality=state.quality, status="done", seed=state.job.seed)
        self.apply_edit(AddTake(state.shot_id, take))

    # --------------------------------------------------------------- helpers
    def _spawn(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _update_idle(self) -> None:
        if any(s.active for s in self.jobs.values()):
            self._idle.clear()
        else:
            self._idle.set()


def registered_model_options() -> dict[str, Any]:
    """Job options for the model folders registered on this machine (``soul-studio models``).

    The soul backend's are at the top level; the infinitetalk backend's under ``"infinitetalk"``
    (see :func:`~soul_studio.render.planner.options_for_backend`).
    """
    from soul_studio.models.registry import ModelRegistry, infinitetalk_render_options, soul_render_options
    from soul_studio.models.settings import StudioPaths

    try:
        registry = ModelRegistry(StudioPaths.default())
    except (OSError, ValueError):
        return {}
    options: dict[str, Any] = dict(soul_render_options(registry))
    talk = infinitetalk_render_options(registry)
    if talk:
        options["infinitetalk"] = talk
    return options
