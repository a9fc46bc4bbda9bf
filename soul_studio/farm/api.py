"""Render a project's shots on a Ray farm, headless: the farm twin of ``render_project``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from soul_studio.project.edits import EditHistory
from soul_studio.project.model import Project
from soul_studio.render.manager import JobState, registered_model_options

ProgressCallback = Callable[[str, "JobState | None"], Any]


async def render_on_farm_async(project: Project, shot_ids: list[str], quality: str = "final",
                               backend: str | None = None, address: str = "local", workers: int = 1,
                               progress: ProgressCallback | None = None, force: bool = False,
                               num_cpus: int | None = None, num_gpus_per_worker: float | None = None,
                               max_attempts: int = 3, ship_engine: bool = False,
                               timeout: float | None = None) -> dict[str, JobState]:
    """Render ``shot_ids`` on the farm and record their takes on ``project``; returns the job states by shot."""
    from soul_studio.farm.manager import FarmRenderManager

    history = EditHistory(project)
    manager = FarmRenderManager(project, history.push, address=address, workers=workers, backend=backend,
                                num_cpus=num_cpus, num_gpus_per_worker=num_gpus_per_worker,
                                max_attempts=max_attempts, ship_engine=ship_engine,
                                backend_options=registered_model_options())
    if progress is not None:
        manager.add_listener(progress)
    await manager.start()
    try:
        ids = manager.render(shot_ids, quality, force=force)
        if not await manager.wait_idle(timeout):
            for job_id in ids:
                manager.cancel(job_id)
            await manager.wait_idle(30)
        return {manager.jobs[j].shot_id: manager.jobs[j] for j in ids}
    finally:
        await manager.stop()


def render_on_farm(project: Project, shot_ids: list[str], quality: str = "final", backend: str | None = None,
                   address: str = "local", workers: int = 1, progress: ProgressCallback | None = None,
                   force: bool = False, **options: Any) -> dict[str, str]:
    """Blocking form of :func:`render_on_farm_async`; returns each shot's final status
    (``done``, ``reused``, ``failed`` or ``cancelled``)."""
    states = asyncio.run(render_on_farm_async(project, shot_ids, quality, backend, address, workers,
                                              progress, force, **options))
    return {shot_id: state.status for shot_id, state in states.items()}
