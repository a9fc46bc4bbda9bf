"""FarmRenderManager: the studio's render manager, rendering on a Ray farm instead of the local engine.

It has the shape of :class:`~soul_studio.render.manager.RenderManager` (``start``, ``stop``,
``render``, ``cancel``, ``retry``, ``set_priority``, listeners, ``jobs``, ``wait_idle``) and
reuses all of its bookkeeping — take reuse, superseded drafts, recording finished takes
through ``apply_edit`` — so the render queue can swap one for the other. Events from the
dispatcher's thread are handed to the asyncio loop before any listener sees them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from soul_studio.farm.cluster import ClusterInfo, FarmError, connect, disconnect
from soul_studio.farm.dispatcher import FarmDispatcher
from soul_studio.project.edits import Edit
from soul_studio.project.model import Project
from soul_studio.render.manager import JobState, RenderManager


@dataclass
class FarmEvent:
    """An engine-style event (``kind``, ``job_id``, fields) built from a dispatcher report."""

    kind: str
    job_id: str | None
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


class FarmRenderManager(RenderManager):
    """Renders the project's shots on a Ray cluster; same API as :class:`RenderManager`."""

    def __init__(self, project: Project, apply_edit: Callable[[Edit], None], address: str = "local",
                 workers: int = 1, backend: str | None = None, num_cpus: int | None = None,
                 num_gpus_per_worker: float | None = None, max_attempts: int = 3, ship_engine: bool = False,
                 backend_options: dict[str, Any] | None = None) -> None:
        super().__init__(project, apply_edit, journal_dir=None, backend=backend, client=None,
                         backend_options=backend_options)
        self.address = address
        self.workers = workers
        self.num_cpus = num_cpus
        self.num_gpus_per_worker = num_gpus_per_worker
        self.max_attempts = max_attempts
        self.ship_engine = ship_engine
        self.cluster: ClusterInfo | None = None
        self.dispatcher: FarmDispatcher | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> dict[str, Any]:
        """Join the cluster and start the worker actors; returns what was found there."""
        self._loop = asyncio.get_running_loop()
        self.cluster = await asyncio.to_thread(connect, self.address, self.num_cpus, None, self.ship_engine)
        dispatcher = FarmDispatcher(workers=self.workers, num_gpus=self.num_gpus_per_worker,
                                    max_attempts=self.max_attempts, on_event=self._from_thread)
        try:
            await asyncio.to_thread(dispatcher.start)
        except FarmError:
            await asyncio.to_thread(disconnect, self.cluster)
            raise
        self.dispatcher = dispatcher
        self.engine_info = {"farm": self.cluster.to_dict(), "workers": self.workers,
                            "gpus_per_worker": dispatcher.num_gpus}
        self.engine_state = "running"
        self._emit("engine", None)
        return self.engine_info

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.dispatcher is not None:
            await asyncio.to_thread(self.dispatcher.stop)
            self.dispatcher = None
        if self.cluster is not None:
            await asyncio.to_thread(disconnect, self.cluster)
            self.cluster = None
        self.engine_state = "stopped"
        self._emit("engine", None)

    def render(self, shot_ids: list[str], quality: str = "draft", force: bool = False) -> list[str]:
        ids = super().render(shot_ids, quality, force)
        if self.dispatcher is not None:  # drafts superseded above must stop on the farm too
            for job_id, state in self.jobs.items():
                farm_job = self.dispatcher.jobs.get(job_id)
                if state.status == "cancelled" and farm_job is not None and farm_job.status in ("queued", "running"):
                    self.dispatcher.cancel(job_id, state.message or "cancelled")
        return ids

    async def _submit(self, state: JobState) -> None:
        assert state.job is not None
        if state.status == "cancelled":  # superseded before it reached the farm
            self._update_idle()
            return
        state.attempts += 1
        if self.dispatcher is None:
            self._on_event(FarmEvent("failed", state.job_id, {"message": "the farm is not started",
                                                              "hint": "start the farm render manager first"}))
            return
        try:
            self.dispatcher.submit(state.job)
        except Exception as exc:  # noqa: BLE001 - shown in the queue, never raised into the UI
            self._on_event(FarmEvent("failed", state.job_id, {"message": f"could not submit: {exc}"}))

    def cancel(self, job_id: str) -> None:
        state = self.jobs.get(job_id)
        if state is None or not state.active:
            return
        state.message = "cancelling…"
        self._emit("job", state)
        if self.dispatcher is not None:
            self.dispatcher.cancel(job_id)

    def set_priority(self, job_id: str, priority: int) -> None:
        if self.dispatcher is not None:
            self.dispatcher.set_priority(job_id, priority)

    def _from_thread(self, kind: str, job_id: str | None, fields: dict[str, Any]) -> None:
        loop = self._loop
        event = FarmEvent(kind, job_id, dict(fields))
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._on_farm_event, event)

    def _on_farm_event(self, event: FarmEvent) -> None:
        state = self.jobs.get(event.job_id) if event.job_id else None
        if state is not None and event.kind == "log":
            state.message = str(event.get("message") or state.message)
            self._emit("job", state)
            return
        self._on_event(event)


def farm_manager_factory(address: str = "local", workers: int = 1, backend: str | None = None,
                         **options: Any) -> Callable[[Any, Callable[[Edit], None]], FarmRenderManager]:
    """A factory with the shape the studio's render controller takes (``document, apply_edit``)."""

    def make(document: Any, apply_edit: Callable[[Edit], None]) -> FarmRenderManager:
        return FarmRenderManager(document.project, apply_edit, address=address, workers=workers, backend=backend,
                                 **options)

    return make
