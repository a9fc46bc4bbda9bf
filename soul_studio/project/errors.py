"""Errors of the document model: one type for a project file that cannot be used."""

from __future__ import annotations

import os


class ProjectError(Exception):
    """A project problem the user can act on; the message says which file and why."""


class ProjectFileError(ProjectError):
    """A ``.soulproj`` file that cannot be opened or saved; the original is never touched."""

    def __init__(self, path: str | os.PathLike[str], reason: str, hint: str = "") -> None:
        self.path = os.fspath(path)
        self.reason = reason
        self.hint = hint
        text = f"{self.path}: {reason}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)
