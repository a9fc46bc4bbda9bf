"""The ``soul-studio export`` sub-command: deliver a project from a script or a farm.

Exit codes: 0 done (warnings are printed), 1 the export failed, 2 the command line or
the project could not be used.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from soul_studio.export.options import (
    FORMAT_LABELS,
    FORMATS,
    MEDIA_CHOICES,
    MISSING_CHOICES,
    MOVIE_FORMATS,
    ExportError,
    ExportOptions,
)

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``export`` to the ``soul-studio`` command line."""
    p = subparsers.add_parser(
        "export", help="export a movie, image sequence or editor timeline",
        description="Export the timeline as a movie (MP4, ProRes), a PNG sequence, or a timeline for "
                    "Premiere, Resolve, Final Cut or Avid.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="formats:\n" + "\n".join(f"  {k:12} {v}" for k, v in FORMAT_LABELS.items()),
    )
    p.add_argument("project", type=Path, help="the .soulproj file")
    p.add_argument("--format", "-f", required=True, choices=FORMATS, help="what to write")
    p.add_argument("--out", "-o", required=True, type=Path, help="output file (folder for png)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--range", dest="frame_range", metavar="IN-OUT",
                   help="timeline frames IN to OUT (OUT exclusive), or timecodes HH:MM:SS:FF-HH:MM:SS:FF")
    p.add_argument("--shots", nargs="+", metavar="SHOT", help="export only these shots (ids, names or positions)")
    p.add_argument("--burn-in", action="store_true", help="burn shot name and timecode into the picture")
    p.add_argument("--missing", choices=MISSING_CHOICES, default="portrait",
                   help="what shots without a take show (default: portrait)")
    p.add_argument("--relative-paths", action="store_true", help="timeline files link media by relative path")
    p.add_argument("--media", choices=MEDIA_CHOICES, default="export",
                   help="timeline files link freshly exported shot clips (export) or the takes on disk (takes)")
    p.add_argument("--media-codec", default="prores422hq", choices=tuple(MOVIE_FORMATS),
                   help="format of the exported shot clips (default: prores422hq)")
    p.add_argument("--start-timecode", help="record timecode of the first frame (default: project setting)")
    p.add_argument("--timecode", choices=("df", "ndf"),
                   help="at 29.97 fps: drop-frame (df, the default) or non-drop (ndf) timecode")
    p.add_argument("--take-audio", action="store_true", help="use the takes' own audio instead of the dialogue files")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run_export)
    return p


def parse_range(text: str, fps: float, start_tc_frames: int) -> tuple[int, int]:
    """``IN-OUT`` as frames, or as record timecodes (counted from the start timecode)."""
    from engine.timebase import timecode_to_frames

    m = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", text)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = re.fullmatch(r"\s*(\d\d:\d\d:\d\d[:;]\d\d)\s*-\s*(\d\d:\d\d:\d\d[:;]\d\d)\s*", text)
    if m:
        a = timecode_to_frames(m.group(1), fps) - start_tc_frames
        b = timecode_to_frames(m.group(2), fps) - start_tc_frames
        return a, b
    raise ValueError(f"range {text!r} is not IN-OUT (frames or timecodes)")


def run_export(args: argparse.Namespace) -> int:
    """Run the export the parsed arguments ask for; returns the exit code."""
    from rich.console import Console

    from soul_studio.project import ProjectError
    from soul_studio.project.lock import ProjectLock

    err = Console(stderr=True)
    lock = ProjectLock(args.project, "soul-studio export", readonly_ok=True)
    try:
        lock.acquire()  # one writer at a time: no render may save the project while it is exported
    except (ProjectError, OSError) as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True)
        return EXIT_USAGE
    try:
        return _run_export_locked(args, err)
    finally:
        lock.release()


def _run_export_locked(args: argparse.Namespace, err: Console) -> int:
    from rich.console import Console

    from soul_studio.export.cut import parse_timecode
    from soul_studio.project import ProjectError, load_project

    try:
        project = load_project(args.project)
    except (ProjectError, OSError) as exc:
        err.print(f"[red]error:[/] cannot open project: {exc}", soft_wrap=True)
        return EXIT_USAGE
    options = ExportOptions(
        shots=args.shots, start_timecode=args.start_timecode, burn_in=args.burn_in, missing=args.missing,
        relative_paths=args.relative_paths, overwrite=args.overwrite, media=args.media,
        media_codec=args.media_codec, take_audio=args.take_audio,
        drop_frame=None if not getattr(args, "timecode", None) else args.timecode == "df",
    )
    try:
        if args.frame_range:
            tc = parse_timecode(args.start_timecode or project.settings.start_timecode, project.fps,
                                options.drop_frame)
            options.frame_range = parse_range(args.frame_range, project.fps, tc)
        options.validate()
    except (ValueError, ExportError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return EXIT_USAGE
    try:
        result = _with_progress(project, args, options, err)
    except KeyboardInterrupt:
        err.print("[yellow]export cancelled[/]")
        return EXIT_ERROR
    except ExportError as exc:
        err.print(f"[red]error:[/] {exc}", soft_wrap=True)
        return EXIT_ERROR
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", soft_wrap=True)
    out = Console()
    out.print(f"wrote {result.path} ({result.frames} frames, {result.duration_s:.2f} s from "
              f"{result.start_timecode}) in {result.elapsed_s:.1f} s")
    return EXIT_OK


def _with_progress(project: object, args: argparse.Namespace, options: ExportOptions, err: object) -> object:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from engine.backends.base import CancelToken
    from soul_studio.export.api import export_project

    cancel = CancelToken()
    if args.quiet or not sys.stderr.isatty():
        try:
            return export_project(project, args.format, args.out, options, cancel=cancel)  # type: ignore[arg-type]
        except KeyboardInterrupt:
            cancel.cancel()
            raise
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as bar:  # type: ignore[arg-type]
        task = bar.add_task(f"export {args.format}", total=1.0)

        def report(fraction: float, message: str) -> None:
            bar.update(task, completed=fraction, description=message or f"export {args.format}")

        return export_project(project, args.format, args.out, options, progress=report, cancel=cancel)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m soul_studio.export.command``), same as ``soul-studio export``."""
    parser = argparse.ArgumentParser(prog="soul-studio")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
