"""The ``soul-studio`` command: open the studio, render, export, build scenes from scripts.

Each sub-command lives next to the code it drives and registers itself here through a
``register(subparsers)`` function, so this module stays a thin dispatcher.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from soul_studio import __version__

# Modules that add sub-commands, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "soul_studio.ui.command",
    "soul_studio.demo",
    "soul_studio.render.command",
    "soul_studio.render.oneshot",
    "soul_studio.export.command",
    "soul_studio.script.command",
    "soul_studio.bench.command",
    "soul_studio.annotate.command",
    "soul_studio.models.command",
    "soul_studio.farm.command",
)

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soul-studio",
        description="Soul Studio: storyboard dialogue scenes and render talking digital humans.",
    )
    parser.add_argument("--version", action="version", version=f"soul-studio {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue  # that feature is not part of this build (an app bundle leaves some out)
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``soul-studio`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        if args.command is None and sys.stdout.isatty() is False and argv is None:
            parser.print_help()
            return EXIT_USAGE
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("soul-studio: interrupted", file=sys.stderr)
        return 130


def gui_main() -> int:
    """Entry point for desktop launchers: open the studio (on a project, when given)."""
    argv = sys.argv[1:]
    return main(["open", *argv])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
