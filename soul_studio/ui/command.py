"""``soul-studio open [PATH]``: the desktop studio from the command line."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("open", help="open the studio (optionally on a .soulproj project)")
    parser.add_argument("path", nargs="?", help="project file to open")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from soul_studio.ui.app import run_studio
    except ImportError as exc:  # Qt missing from this installation
        print(f"soul-studio: the desktop studio cannot start: {exc}", file=sys.stderr)
        return 1
    return run_studio(args.path)
