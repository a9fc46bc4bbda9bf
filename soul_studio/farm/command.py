"""Farm options of ``soul-studio render`` and the stand-alone ``soul-studio farm-render``.

``--farm local`` starts a private Ray cluster on this machine; ``--farm ray://HOST:PORT``
sends the jobs to a running cluster whose workers see the project folder at the same path.
Exit codes match ``soul-studio render``: 0 all shots have takes, 1 some failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from soul_studio.project.model import Project


def add_farm_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--farm``, ``--workers``, ``--farm-cpus`` and ``--ship-engine`` to a render parser."""
    group = parser.add_argument_group("render farm (Ray)")
    group.add_argument("--farm", metavar="ADDRESS", default=None,
                       help="render on a Ray cluster: 'local', 'auto' or ray://HOST:PORT")
    group.add_argument("--workers", type=int, default=None,
                       help="worker actors, one GPU each on a GPU cluster (default: GPUs in the cluster, else 1)")
    group.add_argument("--farm-cpus", type=int, default=None, help="CPUs of a --farm local cluster")
    group.add_argument("--ship-engine", action="store_true",
                       help="upload the engine package to the workers instead of using their installed copy")


def _progress_printer(project: Project, quiet: bool) -> Any:
    """A listener printing one line per status change and per quarter of progress."""
    if quiet:
        return None
    seen: dict[str, tuple[str, int]] = {}

    def show(kind: str, state: Any) -> None:
        if state is None or kind not in ("job", "progress"):
            return
        mark = (state.status, int(state.fraction * 4))
        if seen.get(state.job_id) == mark:
            return
        seen[state.job_id] = mark
        shot = project.shots.get(state.shot_id)
        label = (shot.name or shot.id) if shot else state.shot_id
        extra = f": {state.error}" if state.status == "failed" else ""
        print(f"[farm] {label} ({state.quality}) {state.status} {int(state.fraction * 100):3d}%{extra}",
              file=sys.stderr, flush=True)

    return show


def run_farm_render(args: argparse.Namespace, project: Project, shot_ids: list[str]) -> dict[str, str]:
    """Render ``shot_ids`` on the farm named by ``args.farm``; returns each shot's status."""
    from soul_studio.farm.api import render_on_farm
    from soul_studio.farm.cluster import import_ray

    workers = args.workers
    if workers is None:
        workers = 1
        if args.farm not in ("local", None):
            ray = import_ray()
            if ray.is_initialized():
                workers = max(1, int(ray.cluster_resources().get("GPU", 0)))
    return render_on_farm(project, shot_ids, args.quality, args.backend, args.farm or "local",
                          workers=max(1, workers), progress=_progress_printer(project, getattr(args, "quiet", False)),
                          force=getattr(args, "force", False), num_cpus=args.farm_cpus,
                          ship_engine=args.ship_engine)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("farm-render", help="render shots of a project on a Ray render farm",
                              description="Render shots into takes on a Ray cluster and save the project.")
    p.add_argument("project", type=Path, help="the .soulproj file")
    p.add_argument("--shots", nargs="+", metavar="SHOT", help="shots by id, name or 1-based position (default: all)")
    p.add_argument("--quality", choices=("draft", "final"), default="final")
    p.add_argument("--backend", choices=("sketch", "soul", "infinitetalk"), default=None)
    p.add_argument("--force", action="store_true", help="render again even when a matching take exists")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_farm_arguments(p)
    p.set_defaults(func=run, farm="local")


def run(args: argparse.Namespace) -> int:
    from soul_studio.farm.cluster import FarmError
    from soul_studio.project import ProjectFileError, load_project, save_project
    from soul_studio.render.command import select_shots

    try:
        project = load_project(args.project)
        shot_ids = select_shots(project, args.shots)
    except (ProjectFileError, ValueError) as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 2
    if not shot_ids:
        print("soul-studio: the project has no shots on its timeline", file=sys.stderr)
        return 2
    try:
        statuses = run_farm_render(args, project, shot_ids)
    except FarmError as exc:
        print(f"soul-studio: {exc}" + (f" ({exc.hint})" if exc.hint else ""), file=sys.stderr)
        return 2
    save_project(project)
    done = sum(1 for s in statuses.values() if s in ("done", "reused"))
    print(f"soul-studio: {done}/{len(statuses)} shots rendered on the farm ({args.quality}); "
          f"project saved to {project.path}")
    return 0 if done == len(statuses) else 1
