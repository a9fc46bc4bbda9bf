"""``soul-studio render``: render a project's shots headless, through the engine process.

Exit codes for scripts: 0 every requested shot has a take, 1 some failed (or the project
could not be saved: the run's state is then in a recovery file), 2 bad usage, a project
that cannot be opened or one another process is writing, 130/143 interrupted by Ctrl-C
or SIGTERM (finished takes are saved; run it again to render the rest).

Each take is recorded in the project as it lands, so a run that is killed keeps its
finished takes and the next run reuses them (see :mod:`soul_studio.render.headless`).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from soul_studio.project import ProjectError, archive_autosave, has_newer_autosave, load_project
from soul_studio.project.edits import EditHistory
from soul_studio.project.lock import ProjectLock
from soul_studio.project.model import Project
from soul_studio.render.headless import EngineLog, Interrupt, RunSaver

if TYPE_CHECKING:
    from soul_studio.render.manager import RenderManager

ENGINE_START_ATTEMPTS = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render shots of a project headless",
                              description="Render shots into takes and save the project.")
    p.add_argument("project", type=Path, help="the .soulproj file")
    p.add_argument("--shots", nargs="+", metavar="SHOT",
                   help="shots by id, name or 1-based timeline position (default: all)")
    p.add_argument("--quality", choices=("draft", "final"), default="final")
    p.add_argument("--backend", choices=("sketch", "soul", "infinitetalk"), default=None,
                   help="engine backend (default: the project's setting)")
    p.add_argument("--force", action="store_true", help="render again even when a matching take exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="when another process is writing the project, wait up to this long for it")
    from soul_studio.farm.command import add_farm_arguments

    add_farm_arguments(p)
    p.set_defaults(func=run)


def select_shots(project: Project, selectors: list[str] | None) -> list[str]:
    """Resolve shot selectors (id, name, or 1-based position) to ids, in timeline order."""
    order = project.timeline.shot_ids()
    if not selectors:
        return order
    chosen: list[str] = []
    for sel in selectors:
        match = None
        if sel in project.shots:
            match = sel
        elif sel.isdigit() and 1 <= int(sel) <= len(order):
            match = order[int(sel) - 1]
        else:
            for sid in order:
                if project.shots[sid].name.casefold() == sel.casefold():
                    match = sid
                    break
        if match is None:
            raise ValueError(f"no shot {sel!r} (use an id, a name or a position 1–{len(order)})")
        if match not in chosen:
            chosen.append(match)
    return chosen


def face_notice(shot_name: str, take_path: str) -> str | None:
    """The line that says which face of a group portrait spoke (None for a single face)."""
    from engine.takes import read_sidecar

    sidecar = read_sidecar(take_path) or {}
    face = (sidecar.get("metadata") or {}).get("face") or {}
    count, index = face.get("count") or 0, face.get("index")
    if count < 2 or index is None:
        return None
    return (f"Shot '{shot_name}': animated face {int(index) + 1} of {count} (numbered left to right, detector "
            f"confidence {float(face.get('confidence') or 0):.2f}); choose another with --face N or in the Cast panel")


async def _start_manager(project: Project, history: EditHistory, journal: Path, backend: str | None,
                         attempts: int = ENGINE_START_ATTEMPTS, lock_fd: int | None = None) -> RenderManager:
    """Start the engine, trying again (bounded) when it dies while starting.

    The engine inherits the project's lock, so a new run waits until a killed run's
    engine has really stopped writing takes.
    """
    from soul_studio.engine_client import EngineClient, EngineStartError
    from soul_studio.render.manager import RenderManager, registered_model_options

    options = registered_model_options()
    last: Exception | None = None
    for attempt in range(max(1, attempts)):
        folder = journal / f"engine-{attempt}"
        folder.mkdir()
        client = EngineClient(journal_dir=folder, pass_fds=(lock_fd,) if lock_fd is not None else ())
        manager = RenderManager(project, history.push, journal_dir=folder, backend=backend, backend_options=options,
                                client=client)
        try:
            await manager.start()
            return manager
        except EngineStartError as exc:
            last = exc
            await manager.stop()
    raise EngineStartError(f"the engine did not start ({attempts} tries): {last}")


async def render_project(project: Project, shot_ids: list[str], quality: str, backend: str | None,
                         force: bool = False, show_progress: bool = True, saver: RunSaver | None = None,
                         interrupt: Interrupt | None = None, lock_fd: int | None = None) -> dict[str, str]:
    """Render ``shot_ids`` and record their takes on ``project``; returns job status by shot.

    ``saver`` saves the project each time a take lands; ``interrupt`` (installed here)
    stops the run cleanly on SIGTERM / Ctrl-C.
    """
    from soul_studio.render.recover import run_folder

    history = EditHistory(project)
    journal = run_folder()
    interrupt = interrupt or Interrupt()
    interrupt.install()
    engine_log = EngineLog()
    engine_log.__enter__()
    try:
        manager = await _start_manager(project, history, journal, backend, lock_fd=lock_fd)
        warned: set[str] = set()

        def on_engine_event(event: object) -> None:  # warnings (a truncated recording): each once
            if getattr(event, "kind", "") == "log" and event.get("level") == "warning":  # type: ignore[attr-defined]
                message = str(event.get("message") or "")  # type: ignore[attr-defined]
                if message and message not in warned:
                    warned.add(message)
                    print(f"soul-studio: warning: {message}", file=sys.stderr)

        if manager.client is not None:
            manager.client.add_listener(on_engine_event)
        progress = None
        try:
            if show_progress:
                from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

                progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                    TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                    transient=False)
                progress.start()
            bars: dict[str, int] = {}

            def on_change(kind: str, state: object) -> None:
                if progress is None or state is None:
                    return
                job_id = state.job_id  # type: ignore[attr-defined]
                if job_id not in bars:
                    shot = project.shots.get(state.shot_id)  # type: ignore[attr-defined]
                    label = (shot.name or shot.id) if shot else state.shot_id  # type: ignore[attr-defined]
                    bars[job_id] = progress.add_task(f"{label} ({state.quality})", total=1.0)  # type: ignore[attr-defined]
                desc = None
                if state.status in ("failed", "cancelled"):  # type: ignore[attr-defined]
                    desc = f"[red]{state.status}: {state.error or state.message}"  # type: ignore[attr-defined]
                progress.update(bars[job_id], completed=state.fraction)  # type: ignore[attr-defined]
                if desc:
                    progress.update(bars[job_id], description=desc)

            manager.add_listener(on_change)

            def on_take(kind: str, state: object) -> None:
                if kind == "job" and getattr(state, "status", "") == "done" and saver is not None:
                    saver.save()

            manager.add_listener(on_take)

            def stop_jobs() -> None:
                for job in manager.active_jobs():
                    manager.cancel(job.job_id)

            interrupt.on_request(stop_jobs)
            ids = manager.render(shot_ids, quality, force=force)
            if any(manager.jobs[j].status == "reused" for j in ids) and saver is not None:
                saver.save()  # takes an earlier, killed run finished are now listed
            idle = asyncio.ensure_future(manager.wait_idle())
            stop = asyncio.ensure_future(interrupt.event.wait())  # type: ignore[union-attr]
            await asyncio.wait({idle, stop}, return_when=asyncio.FIRST_COMPLETED)
            if not idle.done():  # interrupted: the cancels come back, a take that lands meanwhile is kept
                await manager.wait_idle(timeout=15.0)
            for task in (idle, stop):
                task.cancel()
            result = {manager.jobs[j].shot_id: manager.jobs[j].status for j in ids}
            for j in ids:
                state = manager.jobs[j]
                if state.status == "done" and state.take_path:
                    shot = project.shots.get(state.shot_id)
                    notice = face_notice((shot.name or shot.id) if shot else state.shot_id, state.take_path)
                    if notice:
                        print(notice)
                if state.status == "failed":
                    from soul_studio.render.oneshot import failure_message

                    shot = project.shots.get(state.shot_id)
                    name = (shot.name or shot.id) if shot else state.shot_id
                    logged = engine_log.point_to(state.hint)  # where the traceback is: not a fix in the studio
                    message = failure_message(name, state.error, "" if logged != state.hint else state.hint,
                                              state.backend or "sketch", one_shot=False)
                    if logged != state.hint:
                        message += f" ({logged})"
                    print("soul-studio: " + message, file=sys.stderr)
        finally:
            if progress is not None:
                progress.stop()
            await manager.stop()
    finally:
        engine_log.__exit__(None, None, None)
        interrupt.uninstall()
        shutil.rmtree(journal, ignore_errors=True)
    return result


def run(args: argparse.Namespace) -> int:
    try:
        lock = ProjectLock(args.project, "soul-studio render", wait_s=max(0.0, getattr(args, "wait", 0.0)))
        lock.acquire()
    except ProjectError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    try:
        return _run_locked(args, lock)
    finally:
        lock.release()


def _run_locked(args: argparse.Namespace, lock: ProjectLock) -> int:
    from soul_studio.engine_client import EngineStartError
    from soul_studio.render.recover import sweep_leftovers

    try:
        project = load_project(args.project)
    except ProjectError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    try:
        shot_ids = select_shots(project, args.shots)
    except ValueError as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    if not shot_ids:
        print("soul-studio: the project has no shots on its timeline", file=sys.stderr)
        return 2
    if has_newer_autosave(project.path):  # unsaved studio work: kept, never overwritten or deleted
        try:
            kept = archive_autosave(project.path)
        except ProjectError as exc:
            print(f"soul-studio: warning: {exc}", file=sys.stderr)
        else:
            print(f"soul-studio: a newer autosave of unsaved studio work was kept as {kept}; to get that work back, "
                  f"copy it over {project.path.name} (after this render, or its takes are not listed)", file=sys.stderr)
    sweep_leftovers(project)
    from soul_studio.models.settings import StudioPaths

    saver = RunSaver(project, recovery_dir=StudioPaths.default().recovery_dir)
    interrupt = Interrupt()
    if getattr(args, "farm", None):
        from soul_studio.farm.cluster import FarmError
        from soul_studio.farm.command import run_farm_render

        try:
            statuses = run_farm_render(args, project, shot_ids)
        except FarmError as exc:
            print(f"soul-studio: {exc} ({exc.hint})", file=sys.stderr)
            return 2
    else:
        try:
            statuses = asyncio.run(render_project(project, shot_ids, args.quality, args.backend, args.force,
                                                  show_progress=not args.quiet, saver=saver, interrupt=interrupt,
                                                  lock_fd=lock.fileno()))
        except EngineStartError as exc:
            print(f"soul-studio: {exc}", file=sys.stderr)
            return 1
    saved, message = saver.finish()
    done = sum(1 for s in statuses.values() if s in ("done", "reused"))
    if interrupt.requested:
        print(f"soul-studio: interrupted ({interrupt.signal_name}): {done}/{len(statuses)} shots have takes; "
              f"{message}; run the same command again to render the rest", file=sys.stderr)
        return interrupt.exit_code if saved else 1
    if not saved:
        print(f"soul-studio: {done}/{len(statuses)} shots rendered ({args.quality}), but {message}", file=sys.stderr)
        return 1
    print(f"soul-studio: {done}/{len(statuses)} shots rendered ({args.quality}); {message}")
    return 0 if done == len(statuses) else 1
