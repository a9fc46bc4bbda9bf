"""``soul-studio new-from-script``: a new project from one scene of a screenplay.

Exit codes: 0 done, 1 the script, media or tools failed, 2 the arguments are wrong.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.media import MediaError
from soul_studio.project import PROJECT_SUFFIX, Project, ProjectError, save_project
from soul_studio.project.edits import EditHistory
from soul_studio.project.model import Voice
from soul_studio.script.errors import ImportChoiceError, ScreenplayError, ScriptError
from soul_studio.script.model import Screenplay
from soul_studio.script.parse import parse_screenplay
from soul_studio.script.scene import ImportOptions, import_scene

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """An argument that cannot be used; exit code 2."""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``new-from-script`` to the CLI's subcommands."""
    p = subparsers.add_parser(
        "new-from-script",
        help="create a project from one scene of a Fountain or Final Draft script",
        description="Create a project from one scene of a screenplay: one shot per line of dialogue, "
        "a cast member per speaker, optional temp voices (espeak-ng) or a recording split across the lines.",
    )
    p.add_argument("script", type=Path, help=".fountain or .fdx screenplay")
    p.add_argument("--scene", type=int, help="scene number, 1 = first scene heading (see --list)")
    p.add_argument("--list", action="store_true", help="list the scenes with their dialogue count and exit")
    p.add_argument("--out", type=Path, help="project file to create (.soulproj)")
    p.add_argument("--name", help="project name (default: the script's title)")
    p.add_argument("--fps", type=float, default=24.0, help="frame rate: 23.976, 24, 25, 29.97 or 30 (default 24)")
    p.add_argument("--resolution", default="1280x720", help="WIDTHxHEIGHT (default 1280x720)")
    p.add_argument("--temp-voices", action="store_true", help="speak lines without a recording with espeak-ng")
    p.add_argument("--recording", type=Path, help="one recording of the scene's dialogue, split across the shots")
    p.add_argument("--min-silence", type=float, default=0.30, help="shortest pause between lines, seconds")
    p.add_argument("--padding", type=float, default=0.05, help="audio kept either side of each line, seconds")
    p.add_argument("--portrait", action="append", default=[], metavar="NAME=PATH", help="portrait of a character")
    p.add_argument("--voice", action="append", default=[], metavar="NAME=VOICE[:PITCH[:RATE]]", help="temp voice")
    p.add_argument("--force", action="store_true", help="replace an existing project file")
    p.set_defaults(func=run)
    return p


def parse_resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError as exc:
        raise UsageError(f"--resolution {text!r} is not WIDTHxHEIGHT (e.g. 1280x720)") from exc
    return w, h


def parse_pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"{flag} {item!r} is not NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def parse_voice(text: str) -> Voice:
    parts = text.split(":")
    try:
        voice = Voice(voice=parts[0])
        if len(parts) > 1 and parts[1]:
            voice.pitch = int(parts[1])
        if len(parts) > 2 and parts[2]:
            voice.rate = int(parts[2])
    except ValueError as exc:
        raise UsageError(f"--voice {text!r}: pitch and rate are whole numbers (VOICE[:PITCH[:RATE]])") from exc
    return voice


def list_scenes(screenplay: Screenplay) -> str:
    rows = []
    for scene in screenplay.scenes:
        names = ", ".join(scene.characters) or "-"
        rows.append(f"{scene.index:>4}  {len(scene.dialogue):>3} lines  {scene.heading or '(before the first heading)'}  [{names}]")
    return "\n".join(rows)


def _options(args: argparse.Namespace) -> ImportOptions:
    portraits = parse_pairs(args.portrait, "--portrait")
    for name, path in portraits.items():
        if not Path(path).is_file():
            raise UsageError(f"--portrait {name}={path}: file not found")
    voices = {name: parse_voice(v) for name, v in parse_pairs(args.voice, "--voice").items()}
    if args.recording is not None and not args.recording.is_file():
        raise UsageError(f"--recording {args.recording}: file not found")
    if args.min_silence <= 0 or args.padding < 0:
        raise UsageError("--min-silence must be positive and --padding not negative")
    return ImportOptions(
        portraits=dict(portraits),
        voices=voices,
        temp_voices=args.temp_voices,
        recording=args.recording.resolve() if args.recording is not None else None,
        min_silence=args.min_silence,
        padding=args.padding,
    )


def create_project(args: argparse.Namespace, screenplay: Screenplay) -> Path:
    """Build and save the project the arguments describe; returns the file written."""
    if args.scene is None:
        raise UsageError("choose a scene with --scene N (see --list)")
    if args.out is None:
        raise UsageError("say where to write the project with --out FILE.soulproj")
    try:
        scene = screenplay.scene(args.scene)
    except KeyError:
        raise UsageError(f"there is no scene {args.scene}; the script has:\n{list_scenes(screenplay)}") from None
    out = args.out if args.out.suffix == PROJECT_SUFFIX else args.out.with_suffix(PROJECT_SUFFIX)
    out = out.resolve()
    if out.exists() and not args.force:
        raise UsageError(f"{out} already exists (use --force to replace it)")
    if not out.parent.is_dir():
        raise UsageError(f"folder {out.parent} does not exist")
    width, height = parse_resolution(args.resolution)
    try:
        project = Project(name=args.name or screenplay.title or scene.heading, fps=args.fps, width=width, height=height)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    project.path = out
    options = _options(args)
    try:
        group = import_scene(project, scene, options, progress=_progress)
    except ImportChoiceError as exc:
        raise UsageError(str(exc)) from exc
    EditHistory(project).push(group)
    return save_project(project, out)


def _progress(done: int, total: int, text: str) -> None:
    if text:
        print(f"  temp voice {done + 1}/{total}: {text[:60]}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Entry point of the subcommand; returns the exit code."""
    try:
        screenplay = parse_screenplay(args.script)
        if args.list:
            print(list_scenes(screenplay))
            return EXIT_OK
        path = create_project(args, screenplay)
    except UsageError as exc:
        print(f"soul-studio new-from-script: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ScreenplayError, ScriptError, ProjectError, MediaError) as exc:
        print(f"soul-studio new-from-script: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(path)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand on its own (``python -m soul_studio.script.command``)."""
    parser = argparse.ArgumentParser(prog="soul-studio")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
