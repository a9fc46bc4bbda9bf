"""Moving a project's file to another folder without breaking its media links.

Media paths inside a project are relative to its file. Saving to another folder (Save
As, or a recovery file written in the user's data folder because the project's own
folder is read-only) rewrites them so they still name the same files from there.
:func:`relocate` does that and hands back its undo, so a save that fails leaves the
open project exactly as it was; :func:`relocated` is the same for one ``with`` block
(a copy written elsewhere).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from soul_studio.project.model import Project


def _path_fields(project: Project) -> Iterator[tuple[Any, str]]:
    """Every (object, attribute) of ``project`` that holds a project-relative file path."""
    for character in project.characters:
        yield character, "portrait"
    for shot in project.shots.values():
        yield shot, "audio"
        yield shot, "partner_audio"
        yield shot, "two_shot_image"
        for take in shot.takes:
            yield take, "file"
    for item in project.media:
        yield item, "path"
    for clip in project.timeline.music:
        yield clip, "path"


def rebase_paths(project: Project, new_folder: Path) -> None:
    """Rewrite relative media paths so they still point at the same files from ``new_folder``."""
    old = project.folder
    if old is None:
        return
    base = new_folder.resolve()
    for owner, name in _path_fields(project):
        rel = getattr(owner, name)
        if not rel or Path(rel).is_absolute():
            continue
        absolute = (old / rel).resolve()
        try:
            moved = Path(os.path.relpath(absolute, base)).as_posix()
        except ValueError:  # another drive (Windows): keep it absolute
            moved = absolute.as_posix()
        setattr(owner, name, moved)


def relocate(project: Project, target: Path) -> Callable[[], None]:
    """Point ``project`` at ``target`` (paths rebased when the folder changes); returns the undo."""
    saved_path = project.path
    saved = [(owner, name, getattr(owner, name)) for owner, name in _path_fields(project)]
    if saved_path is not None and target.parent.resolve() != saved_path.parent.resolve():
        rebase_paths(project, target.parent)
    project.path = target

    def undo() -> None:
        project.path = saved_path
        for owner, name, value in saved:
            setattr(owner, name, value)

    return undo


@contextlib.contextmanager
def relocated(project: Project, target: Path) -> Iterator[Project]:
    """``project`` as if its file were ``target`` inside the block (a copy written elsewhere)."""
    undo = relocate(project, target)
    try:
        yield project
    finally:
        undo()
