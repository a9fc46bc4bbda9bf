"""``soul-studio render``: render a project's shots headless, through the engine process.

Exit codes for scripts: 0 every requested shot has a take, 1 some failed, 2 bad usage
or a project that cannot be opened.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from soul_studio.project import ProjectFileError, load_project, save_project
from soul_studio.project.edits import EditHistory
from soul_studio.project.model import Project


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="render shots of a project headless",
                              description="Render shots into takes and save the project.")
    p.add_argument("project", type=Path, help="the .soulproj file")
    p.add_argument("--shots", nargs="+", metavar="SHOT",
                   help="shots by id, name or 1-based timeline position (default: all)")
    p.add_argument("--quality", choices=("draft", "final"), default="final")
    p.add_argument("--backend", choices=("sketch", "soul"), default=None,
                   help="engine backend (default: the project's setting)")
    p.add_argument("--force", action="store_true", help="render again even when a matching take exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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


async def render_project(project: Project, shot_ids: list[str], quality: str, backend: str | None,
                         force: bool = False, show_progress: bool = True) -> dict[str, str]:
    """Render ``shot_ids`` and record their takes on ``project``; returns job status by shot."""
    from soul_studio.render.manager import RenderManager

    history = EditHistory(project)
    with tempfile.TemporaryDirectory(prefix="soul-engine-") as journal:
        from soul_studio.render.manager import registered_model_options

        manager = RenderManager(project, history.push, journal_dir=Path(journal), backend=backend,
                                backend_options=registered_model_options())
        await manager.start()
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
            ids = manager.render(shot_ids, quality, force=force)
            await manager.wait_idle()
            result = {manager.jobs[j].shot_id: manager.jobs[j].status for j in ids}
            for j in ids:
                state = manager.jobs[j]
                if state.status == "failed":
                    from soul_studio.render.oneshot import failure_message

                    shot = project.shots.get(state.shot_id)
                    name = (shot.name or shot.id) if shot else state.shot_id
                    print("soul-studio: " + failure_message(name, state.error, state.hint, state.backend or "sketch",
                                                            one_shot=False), file=sys.stderr)
        finally:
            if progress is not None:
                progress.stop()
            await manager.stop()
    return result


def run(args: argparse.Namespace) -> int:
    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
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
    if getattr(args, "farm", None):
        from soul_studio.farm.cluster import FarmError
        from soul_studio.farm.command import run_farm_render

        try:
            statuses = run_farm_render(args, project, shot_ids)
        except FarmError as exc:
            print(f"soul-studio: {exc} ({exc.hint})", file=sys.stderr)
            return 2
    else:
        statuses = asyncio.run(render_project(project, shot_ids, args.quality, args.backend, args.force,
                                              show_progress=not args.quiet))
    save_project(project)
    done = sum(1 for s in statuses.values() if s in ("done", "reused"))
    print(f"soul-studio: {done}/{len(statuses)} shots rendered ({args.quality}); project saved to {project.path}")
    return 0 if done == len(statuses) else 1
