"""``soul-studio demo``: the bundled demo scene, opened in the studio or rendered headless.

The demo is copied to a folder of the user's first (the bundled copy is never edited).
With a display it opens in the studio; without one (a server, CI) it renders every shot
with the CPU sketch engine and exports the cut as an MP4.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
from pathlib import Path

import platformdirs

from soul_studio.resources import demo_dir

DEMO_PROJECT = "demo.soulproj"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="open (or render headless) the bundled demo scene")
    p.add_argument("--folder", type=Path, default=None, help="where to put the working copy of the demo")
    p.add_argument("--fresh", action="store_true", help="start from a clean copy of the demo")
    p.add_argument("--headless", action="store_true", help="render and export without opening the studio")
    p.set_defaults(func=run)


def has_display() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and platform not in ("offscreen", "minimal"):
        return True
    if platform in ("offscreen", "minimal"):
        return False
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def working_copy(folder: Path | None = None, fresh: bool = False) -> Path:
    """Copy the bundled demo to ``folder`` (default: the user's data folder); returns the project path."""
    source = demo_dir()
    if not (source / DEMO_PROJECT).exists():
        raise FileNotFoundError(f"the bundled demo is missing from {source}")
    target = folder or Path(platformdirs.user_data_dir("soul-studio", appauthor=False)) / "Demo Scene"
    if fresh and target.exists():
        shutil.rmtree(target)
    if not (target / DEMO_PROJECT).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("takes", ".backups", "*.autosave"))
    return target / DEMO_PROJECT


def render_headless(project_path: Path) -> int:
    """Render every demo shot with the sketch engine, save, and export the cut."""
    from soul_studio.project import load_project, save_project
    from soul_studio.render.command import render_project

    project = load_project(project_path)
    statuses = asyncio.run(render_project(project, project.timeline.shot_ids(), "final", "sketch"))
    save_project(project)
    failed = [s for s, status in statuses.items() if status not in ("done", "reused")]
    print(f"Rendered {len(statuses) - len(failed)}/{len(statuses)} shots into {project.takes_folder}")
    if failed:
        return 1
    from soul_studio.export import export_project

    out = project_path.parent / "exports" / "demo_cut.mp4"
    out.parent.mkdir(exist_ok=True)
    if out.exists():
        out.unlink()
    result = export_project(project, "mp4", out)
    print(f"Exported the cut to {result.path}")
    for warning in result.warnings:
        print(f"  note: {warning}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        project_path = working_copy(args.folder, args.fresh)
    except (OSError, FileNotFoundError) as exc:
        print(f"soul-studio: {exc}", file=sys.stderr)
        return 1
    print(f"Demo project: {project_path}")
    if args.headless or not has_display():
        if not args.headless:
            print("No display found: rendering the demo headless with the sketch engine.")
        return render_headless(project_path)
    from soul_studio.ui.app import run_studio

    return run_studio(str(project_path))
